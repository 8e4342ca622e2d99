"""Endpoint paths: every model name gets a slug of its own, readable where it can be."""

from hypothesis import given
from hypothesis import strategies as st

from db.endpoints import slug
from tests.support import Api, make_job
from tests.test_api_mutations import DEPLOY, gid

# Names the old slug (ASCII letters and digits, lower-cased) mapped onto two paths.
ONCE_SHARED = ["ai", "AI", "Ai", "ΣΊΣΥΦΟΣ-ai", "ai!", "模型", "モデル", "model", "ai--0"]


def test_clean_names_are_their_own_slugs_and_others_are_readable() -> None:
    assert slug("ticket-router") == "ticket-router"
    assert slug("ΣΊΣΥΦΟΣ-ai").startswith("sisyfos-ai--")
    assert slug("Straße Ranker").startswith("strasse-ranker--")
    assert slug("模型").startswith("moxing--")
    assert slug("\x00").startswith("model--")  # nothing readable at all


@given(st.lists(st.text(min_size=1, max_size=100), min_size=2, max_size=20, unique=True))
def test_no_two_names_share_a_slug(names: list[str]) -> None:
    slugs = [slug(name) for name in names]
    assert len(set(slugs)) == len(slugs)
    assert all(s == s.strip("-") and set(s) <= set("abcdefghijklmnopqrstuvwxyz0123456789-") for s in slugs)


async def test_deployed_models_never_share_an_endpoint(api: Api) -> None:
    async with api.db.write() as s:
        jobs = [make_job(s, model_name=name) for name in ONCE_SHARED]
    endpoints = {}
    for job in jobs:
        payload = (await api.query(DEPLOY, {"job": gid("TrainingJob", job.id)}))["deployJob"]
        assert payload["errors"] == [], payload
        endpoints[job.model_name] = payload["deployment"]["endpoint"]
    assert endpoints["ai"] == "/api/inference/ai/v1.0.0"
    assert len(set(endpoints.values())) == len(ONCE_SHARED)
