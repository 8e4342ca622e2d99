"""A status or size filter's sorted matches are kept with the fleet snapshot (resolvers/listing.py):
the same rows in any spelling of the filter, and a write shows in the next page."""

from datetime import timedelta

from tests.support import T0, Api, make_deployment, make_job

PAGE = """
query($filter: DeploymentFilter, $after: String) {
  deployments(first: 2, after: $after, filter: $filter, orderBy: [{field: CREATED_AT, direction: DESC}]) {
    totalCount pageInfo { endCursor hasNextPage } nodes { modelName status modelSize }
  }
}"""


async def seed(api: Api) -> None:
    async with api.db.write() as s:
        for n, (status, size) in enumerate(
            [
                ("ACTIVE", "NANO"),
                ("PAUSED", "NANO"),
                ("ACTIVE", "SMALL"),
                ("FAILED", "NANO"),
                ("ACTIVE", "NANO"),
            ]
        ):
            job = make_job(s, model_name=f"kept-{n}", model_size=size)
            await make_deployment(s, job, status=status, created_at=T0 - timedelta(hours=10 - n))


async def all_pages(api: Api, flt: dict[str, object]) -> tuple[int, list[str]]:
    names: list[str] = []
    after = None
    while True:
        conn = (await api.query(PAGE, {"filter": flt, "after": after}))["deployments"]
        names += [n["modelName"] for n in conn["nodes"]]
        if not conn["pageInfo"]["hasNextPage"]:
            return conn["totalCount"], names
        after = conn["pageInfo"]["endCursor"]


async def test_any_spelling_of_a_filter_pages_the_same_rows(api: Api) -> None:
    await seed(api)
    active_paused = await all_pages(api, {"status": ["ACTIVE", "PAUSED"]})
    assert active_paused == (4, ["kept-4", "kept-2", "kept-1", "kept-0"])
    assert await all_pages(api, {"status": ["PAUSED", "ACTIVE", "PAUSED"]}) == active_paused
    assert await all_pages(api, {"status": ["ACTIVE"], "modelSize": ["NANO"]}) == (2, ["kept-4", "kept-0"])
    assert await all_pages(api, {"status": ["ACTIVE"], "modelName": "kept-2"}) == (1, ["kept-2"])
    assert await all_pages(api, {"status": []}) == (0, [])


async def test_a_write_shows_in_the_next_filtered_page(api: Api) -> None:
    await seed(api)
    assert (await all_pages(api, {"status": ["ACTIVE"]}))[0] == 3
    async with api.db.write() as s:
        await make_deployment(s, make_job(s, model_name="kept-new"), created_at=T0)
    assert await all_pages(api, {"status": ["ACTIVE"]}) == (4, ["kept-new", "kept-4", "kept-2", "kept-0"])
