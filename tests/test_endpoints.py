"""Endpoint paths: every model name gets a slug of its own, readable where it can be."""

from hypothesis import given, settings
from hypothesis import strategies as st

from db.endpoints import choose, readable
from tests.support import Api, make_job
from tests.test_api_mutations import DEPLOY, gid

# Names the old slug (ASCII letters and digits, lower-cased) mapped onto two paths.
ONCE_SHARED = ["ai", "AI", "Ai", "ΣΊΣΥΦΟΣ-ai", "ai!", "模型", "モデル", "model", "ai--0"]


def test_slugs_are_readable_in_any_script() -> None:
    assert readable("Invoice Extractor") == "invoice-extractor"
    assert readable("ΣΊΣΥΦΟΣ-ai") == "sisyfos-ai"
    assert readable("Straße Ranker") == "strasse-ranker"
    assert readable("模型") == "moxing"
    assert readable("\x00") == "model"  # nothing readable at all
    assert choose("AI", holder="ai").startswith("ai--") and choose("AI", holder=None) == "ai"


@settings(deadline=None)  # anyascii loads a script's table on first use
@given(st.lists(st.text(min_size=1, max_size=100), min_size=2, max_size=30, unique=True))
def test_no_two_names_share_a_slug_whatever_order_they_come_in(names: list[str]) -> None:
    holders: dict[str, str] = {}
    slugs = []
    for name in names:
        slugs.append(choose(name, holders.get(readable(name))))
        holders.setdefault(readable(name), name)
    assert len(set(slugs)) == len(slugs)
    assert all(s == s.strip("-") and set(s) <= set("abcdefghijklmnopqrstuvwxyz0123456789-") for s in slugs)


async def test_deployed_models_never_share_an_endpoint_and_versions_keep_theirs(api: Api) -> None:
    async with api.db.write() as s:
        jobs = [make_job(s, model_name=name) for name in ONCE_SHARED]
    endpoints = {}
    for job in jobs:
        payload = (await api.query(DEPLOY, {"job": gid("TrainingJob", job.id)}))["deployJob"]
        assert payload["errors"] == [], payload
        endpoints[job.model_name] = payload["deployment"]["endpoint"]
    assert endpoints["ai"] == "/api/inference/ai/v1.0.0"  # first come: the readable slug
    assert endpoints["ΣΊΣΥΦΟΣ-ai"] == "/api/inference/sisyfos-ai/v1.0.0"
    assert endpoints["AI"].startswith("/api/inference/ai--")  # taken: a hash of the exact name
    assert len(set(endpoints.values())) == len(ONCE_SHARED)
    again = (await api.query(DEPLOY, {"job": gid("TrainingJob", jobs[1].id)}))["deployJob"]["deployment"]
    assert again["endpoint"] == endpoints["AI"].replace("v1.0.0", "v1.1.0")
