"""deployJob, pause, resume and delete: transitions, versions, events, and every UserError."""

import base64
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.support import T0, Api, Clock, make_deployment, make_job, rollout_succeeds, running_api

FIELDS = "id databaseId modelName version status statusReason endpoint deployedBy createdAt updatedAt"
DEPLOY = f"""mutation($job: ID!) {{ deployJob(input: {{jobId: $job}}) {{
  deployment {{ {FIELDS} }} errors {{ code message field }} }} }}"""
PAUSE = f"""mutation($id: ID!) {{ pauseDeployment(input: {{id: $id}}) {{
  deployment {{ {FIELDS} }} errors {{ code message field }} }} }}"""
RESUME = f"""mutation($id: ID!) {{ resumeDeployment(input: {{id: $id}}) {{
  deployment {{ {FIELDS} }} errors {{ code message field }} }} }}"""
DELETE = """mutation($id: ID!) { deleteDeployment(input: {id: $id}) { deletedId errors { code message field } } }"""
DELETE_JOB = """mutation($id: ID!) { deleteTrainingJob(input: {id: $id}) { deletedId errors { code message field } } }"""
DETAIL = f"""query($id: ID!) {{ deployment(id: $id) {{ {FIELDS}
  events {{ kind fromStatus toStatus actor message at }} }} }}"""


def gid(type_name: str, row_id: int) -> str:
    return base64.b64encode(f"{type_name}:{row_id}".encode()).decode()


async def complete_job(api: Api, **overrides: Any) -> str:
    async with api.db.write() as s:
        job = make_job(s, **overrides)
    return gid("TrainingJob", job.id)


async def deploy(api: Api, job: str) -> dict[str, Any]:
    payload = (await api.query(DEPLOY, {"job": job}))["deployJob"]
    assert payload["errors"] == []
    return payload["deployment"]  # type: ignore[no-any-return]


async def test_deploy_creates_next_versions_and_rolls_out(tmp_path: Path) -> None:
    clock = Clock()
    async with running_api(tmp_path, clock, rollout_seconds=45) as api:
        job = await complete_job(api, model_name="Invoice Extractor")
        # when
        first = await deploy(api, job)
        second = await deploy(api, job)
        # then
        assert first["version"] == "v1.0.0" and second["version"] == "v1.1.0"
        assert first["status"] == "DEPLOYING"
        assert first["endpoint"] == "/api/inference/invoice-extractor/v1.0.0"
        assert first["deployedBy"] == "anonymous"
        assert first["createdAt"] == T0.isoformat()
        # still rolling out before the rollout time
        clock.advance(seconds=44)
        assert (await api.query(DETAIL, {"id": first["id"]}))["deployment"]["status"] == "DEPLOYING"
        # finished at the scheduled instant, whoever asks afterwards
        clock.advance(seconds=60)
        detail = (await api.query(DETAIL, {"id": first["id"]}))["deployment"]
        assert detail["status"] in ("ACTIVE", "FAILED")
        assert detail["updatedAt"] == (T0 + timedelta(seconds=45)).isoformat()
        kinds = [(e["kind"], e["fromStatus"], e["toStatus"], e["actor"]) for e in detail["events"]]
        assert kinds[0] == ("CREATED", None, "DEPLOYING", "anonymous")
        assert kinds[1][1:] == ("DEPLOYING", detail["status"], "system")
        assert detail["events"][1]["at"] == detail["updatedAt"]


async def test_a_small_deterministic_share_of_rollouts_fail_with_a_reason(api: Api) -> None:
    job = await complete_job(api)
    ids = [(await deploy(api, job))["id"] for _ in range(60)]
    nodes = (await api.query("{ deployments(first: 100) { nodes { id status statusReason } } }"))[
        "deployments"
    ]["nodes"]
    failed = [n for n in nodes if n["status"] == "FAILED"]
    assert {n["status"] for n in nodes} <= {"ACTIVE", "FAILED"}
    assert 0 < len(failed) <= 10
    assert all(n["statusReason"] for n in failed)
    assert all(n["statusReason"] is None for n in nodes if n["status"] == "ACTIVE")
    assert len(nodes) == len(ids)


async def test_versions_are_never_reused_after_delete(api: Api) -> None:
    async with api.db.write() as s:
        job = make_job(s, model_name="sql-copilot")
        old = await make_deployment(s, job, minor=9, status="PAUSED")
    assert (await api.query(DELETE, {"id": gid("Deployment", old.id)}))["deleteDeployment"]["errors"] == []
    new = await deploy(api, gid("TrainingJob", job.id))
    assert new["version"] == "v1.10.0"
    # another model's versions are independent
    other = await complete_job(api, model_name="other")
    assert (await deploy(api, other))["version"] == "v1.0.0"


async def test_pause_resume_delete_round_trip_with_audit_trail(api: Api) -> None:
    # given: an active deployment
    dep = await deploy(api, await complete_job(api))
    assert rollout_succeeds(dep["id"]), "the simulator fails this id's rollout (simulator.rollout_fails)"
    api.clock.advance(seconds=1)
    dep = (await api.query(DETAIL, {"id": dep["id"]}))["deployment"]
    # when
    api.clock.advance(minutes=1)
    paused = (await api.query(PAUSE, {"id": dep["id"]}))["pauseDeployment"]
    api.clock.advance(minutes=1)
    resumed = (await api.query(RESUME, {"id": dep["id"]}))["resumeDeployment"]
    api.clock.advance(minutes=1)
    again = (await api.query(PAUSE, {"id": dep["id"]}))["pauseDeployment"]
    trail = (await api.query(DETAIL, {"id": dep["id"]}))["deployment"]["events"]
    api.clock.advance(minutes=1)
    deleted = (await api.query(DELETE, {"id": dep["id"]}))["deleteDeployment"]
    # then
    assert paused["errors"] == [] and paused["deployment"]["status"] == "PAUSED"
    assert paused["deployment"]["updatedAt"] == (T0 + timedelta(seconds=61)).isoformat()
    assert resumed["deployment"]["status"] == "ACTIVE"
    assert again["deployment"]["status"] == "PAUSED"
    # the model's only version: it takes all the traffic, gives it up, and so on (issue 15)
    assert [(e["kind"], e["fromStatus"], e["toStatus"]) for e in trail] == [
        ("CREATED", None, "DEPLOYING"),
        ("ACTIVATED", "DEPLOYING", "ACTIVE"),
        ("TRAFFIC_CHANGED", "ACTIVE", "ACTIVE"),
        ("PAUSED", "ACTIVE", "PAUSED"),
        ("TRAFFIC_CHANGED", "PAUSED", "PAUSED"),
        ("RESUMED", "PAUSED", "ACTIVE"),
        ("TRAFFIC_CHANGED", "ACTIVE", "ACTIVE"),
        ("PAUSED", "ACTIVE", "PAUSED"),
        ("TRAFFIC_CHANGED", "PAUSED", "PAUSED"),
    ]
    assert deleted == {"deletedId": dep["id"], "errors": []}
    assert (await api.query(DETAIL, {"id": dep["id"]}))["deployment"] is None
    again = (await api.query(DELETE, {"id": dep["id"]}))["deleteDeployment"]
    assert again["errors"][0]["code"] == "NOT_FOUND"


async def snapshot(api: Api) -> Any:
    return await api.query("""{ deployments(first: 100) { nodes { id status updatedAt events { kind } } }
                              trainingJobs(first: 100) { nodes { id status } } }""")


@pytest.mark.parametrize(
    ("mutation", "status", "code", "phrase"),
    [
        (PAUSE, "PAUSED", "INVALID_TRANSITION", "only ACTIVE deployments can be paused"),
        (PAUSE, "DEPLOYING", "INVALID_TRANSITION", "only ACTIVE deployments can be paused"),
        (PAUSE, "FAILED", "INVALID_TRANSITION", "only ACTIVE deployments can be paused"),
        (RESUME, "ACTIVE", "INVALID_TRANSITION", "only PAUSED deployments can be resumed"),
        (RESUME, "FAILED", "INVALID_TRANSITION", "only PAUSED deployments can be resumed"),
        (DELETE, "ACTIVE", "INVALID_TRANSITION", "only PAUSED or FAILED deployments can be deleted"),
        (DELETE, "DEPLOYING", "INVALID_TRANSITION", "only PAUSED or FAILED deployments can be deleted"),
    ],
)
async def test_wrong_state_is_a_user_error_and_changes_nothing(
    api: Api, mutation: str, status: str, code: str, phrase: str
) -> None:
    async with api.db.write() as s:
        dep = await make_deployment(s, make_job(s), status=status, rollout_due_at=T0 + timedelta(hours=1))
    before = await snapshot(api)
    payload = next(iter((await api.query(mutation, {"id": gid("Deployment", dep.id)})).values()))
    assert payload["errors"] == [
        {"code": code, "message": f"Deployment is {status}; {phrase}", "field": ["input", "id"]}
    ]
    assert payload.get("deployment") is None and payload.get("deletedId") is None
    assert await snapshot(api) == before


@pytest.mark.parametrize("mutation", [PAUSE, RESUME, DELETE])
@pytest.mark.parametrize(
    ("bad_id", "code"),
    [
        (gid("Deployment", 4242), "NOT_FOUND"),
        (gid("TrainingJob", 1), "INVALID_ID"),
        ("%%%", "INVALID_ID"),
    ],
)
async def test_deployment_mutations_reject_bad_ids(api: Api, mutation: str, bad_id: str, code: str) -> None:
    async with api.db.write() as s:
        await make_deployment(s, make_job(s))
    before = await snapshot(api)
    payload = next(iter((await api.query(mutation, {"id": bad_id})).values()))
    assert [(e["code"], e["field"]) for e in payload["errors"]] == [(code, ["input", "id"])]
    assert await snapshot(api) == before


@pytest.mark.parametrize(
    ("job_status", "code"),
    [
        ("QUEUED", "JOB_NOT_COMPLETE"),
        ("RUNNING", "JOB_NOT_COMPLETE"),
        ("FAILED", "JOB_NOT_COMPLETE"),
        ("CANCELLED", "JOB_NOT_COMPLETE"),
    ],
)
async def test_deploy_requires_a_complete_job(api: Api, job_status: str, code: str) -> None:
    job = await complete_job(api, status=job_status, final_loss=None)
    before = await snapshot(api)
    payload = (await api.query(DEPLOY, {"job": job}))["deployJob"]
    assert payload["deployment"] is None
    assert [(e["code"], e["field"]) for e in payload["errors"]] == [(code, ["input", "jobId"])]
    assert job_status in payload["errors"][0]["message"]
    assert await snapshot(api) == before


@pytest.mark.parametrize(
    ("job", "code"),
    [
        (gid("TrainingJob", 777), "NOT_FOUND"),
        (gid("Deployment", 1), "INVALID_ID"),
        ("bad id", "INVALID_ID"),
    ],
)
async def test_deploy_rejects_bad_job_ids(api: Api, job: str, code: str) -> None:
    payload = (await api.query(DEPLOY, {"job": job}))["deployJob"]
    assert [(e["code"], e["field"]) for e in payload["errors"]] == [(code, ["input", "jobId"])]
    assert (await snapshot(api))["deployments"]["nodes"] == []


async def test_delete_training_job(api: Api) -> None:
    # given: one job with a live deployment, one with only a deleted deployment, one unused
    async with api.db.write() as s:
        busy, cleaned, unused = make_job(s), make_job(s), make_job(s)
        await make_deployment(s, busy)
        await make_deployment(s, cleaned, status="FAILED", deleted_at=T0)
    # when / then
    refused = (await api.query(DELETE_JOB, {"id": gid("TrainingJob", busy.id)}))["deleteTrainingJob"]
    assert refused["deletedId"] is None
    assert [(e["code"], e["field"]) for e in refused["errors"]] == [("HAS_DEPLOYMENTS", ["input", "id"])]
    for job in (cleaned, unused):
        done = (await api.query(DELETE_JOB, {"id": gid("TrainingJob", job.id)}))["deleteTrainingJob"]
        assert done == {"deletedId": gid("TrainingJob", job.id), "errors": []}
    remaining = (await api.query("{ trainingJobs { nodes { databaseId } totalCount } }"))["trainingJobs"]
    assert remaining == {"nodes": [{"databaseId": busy.id}], "totalCount": 1}
    gone = (await api.query(DELETE_JOB, {"id": gid("TrainingJob", unused.id)}))["deleteTrainingJob"]
    assert gone["errors"][0]["code"] == "NOT_FOUND"
    # a deleted job cannot be deployed
    payload = (await api.query(DEPLOY, {"job": gid("TrainingJob", unused.id)}))["deployJob"]
    assert payload["errors"][0]["code"] == "NOT_FOUND"
