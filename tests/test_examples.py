"""Every document in examples/ is valid against the served schema and runs on the demo data.

A new file in examples/ is picked up on its own: give it variables in VARIABLES (and a check in
CHECKS) when it needs them.
"""

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from graphql import FragmentDefinitionNode, OperationDefinitionNode, parse, validate

from schema import schema
from tests.support import Api, running_api

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
FILES = sorted(p.name for p in EXAMPLES.glob("*.graphql"))

# file → variables, or a list of variable sets run in order. "$name" stands for an id from the
# demo data (see demo_ids); {"run": file, ...} runs another example first, e.g. pause to resume.
VARIABLES: dict[str, Any] = {
    "deployments-table.graphql": {
        "first": 5,
        "status": ["ACTIVE", "PAUSED"],
        "orderBy": [{"field": "P95_LATENCY", "direction": "DESC"}],
    },
    "deployments-sparklines.graphql": [{"first": 100, "range": "LAST_24_HOURS"}, {"first": 100}],
    "deployment-detail.graphql": {"id": "$active", "range": "LAST_24_HOURS"},
    "summary-cards.graphql": {},
    "deploy.graphql": {"jobId": "$completeJob"},
    # a standby: the versions carrying traffic in the demo have aliases, which protect them (PROTECTED)
    "pause.graphql": {"id": "$standby"},
    "resume.graphql": [{"run": "pause.graphql", "id": "$standby"}, {"id": "$standby"}],
    "delete-deployment.graphql": {"id": "$failed"},
    "refetch-node.graphql": [{"id": "$active"}, {"id": "$completeJob"}],
    "training-jobs.graphql": {
        "deployable": True,
        "orderBy": [{"field": "COMPLETED_AT", "direction": "DESC"}],
    },
    "create-training-job.graphql": {
        "modelName": "ticket-router",
        "baseModel": "LFM2-350M",
        "dataset": "tickets",
    },
    "watch-training-job.graphql": {"id": "$runningJob", "points": 20},
    "cancel-training-job.graphql": {"id": "$runningJob"},
    "base-models.graphql": {},
    "model-page.graphql": [
        {"name": "support-triage", "range": "LAST_24_HOURS"},
        {"name": "incident-postmortem-writer"},  # the demo's recent rollback
    ],
    "models.graphql": [
        {"first": 5},
        {"first": 5, "orderBy": [{"field": "REQUEST_VOLUME", "direction": "DESC"}]},
    ],
    "set-traffic-split.graphql": {
        "modelName": "support-triage",
        "shares": [{"deploymentId": "$holder", "percent": 90}, {"deploymentId": "$standby", "percent": 10}],
    },
    "rollback-model.graphql": {"modelName": "support-triage"},
    "start-canary.graphql": {"deploymentId": "$standby", "percent": 10, "bakeSeconds": 600},
    "set-model-alias.graphql": {
        "modelName": "support-triage",
        "alias": "production",
        "deploymentId": "$holder",
    },
    "remove-model-alias.graphql": [
        {
            "run": "set-model-alias.graphql",
            "modelName": "support-triage",
            "alias": "production",
            "deploymentId": "$holder",
        },
        {"modelName": "support-triage", "alias": "production"},
    ],
}

DEMO_IDS = """{
  active: deployments(first: 1, filter: {status: [ACTIVE], health: [HEALTHY]}) { nodes { id } }
  failed: deployments(first: 1, filter: {status: [FAILED]}) { nodes { id } }
  completeJob: trainingJobs(first: 1, filter: {deployable: true}) { nodes { id } }
  runningJob: trainingJobs(first: 1, filter: {status: [RUNNING]}) { nodes { id } }
  holder: deployments(first: 1, filter: {modelName: "support-triage", status: [ACTIVE], health: [HEALTHY, WARNING]},
    orderBy: [{field: VERSION, direction: DESC}]) { nodes { id } }
  standby: deployments(first: 1, filter: {modelName: "support-triage", status: [ACTIVE], health: [NO_TRAFFIC]},
    orderBy: [{field: VERSION, direction: DESC}]) { nodes { id } }
}"""


def check_table(data: dict[str, Any], variables: dict[str, Any]) -> None:
    table = data["deployments"]
    rows = [edge["node"] for edge in table["edges"]]
    assert all(edge["cursor"] for edge in table["edges"])
    assert len(rows) == 5 and table["totalCount"] > 5 and table["pageInfo"]["hasNextPage"]
    assert {row["status"] for row in rows} <= {"ACTIVE", "PAUSED"}
    p95 = [row["metrics"]["p95Latency"] for row in rows]
    assert None not in p95 and p95 == sorted(p95, reverse=True)


def check_detail(data: dict[str, Any], variables: dict[str, Any]) -> None:
    dep = data["deployment"]
    assert dep["id"] == variables["id"]
    assert dep["status"] == "ACTIVE" and dep["health"] != "NO_TRAFFIC"
    assert dep["metricsHistory"]["stepSeconds"] == 15 * 60
    assert len(dep["metricsHistory"]["points"]) == 96
    assert [e["kind"] for e in dep["events"]][:2] == ["CREATED", "ACTIVATED"]


def check_cards(data: dict[str, Any], variables: dict[str, Any]) -> None:
    stats = data["deploymentStats"]
    assert stats["total"] > 0
    assert (
        sum(s["count"] for s in stats["byStatus"])
        == sum(h["count"] for h in stats["byHealth"])
        == stats["total"]
    )
    assert stats["totalRequestVolume"] > 0 and stats["p95Latency"] > 0


def check_jobs(data: dict[str, Any], variables: dict[str, Any]) -> None:
    jobs = data["trainingJobs"]["nodes"]
    assert jobs and all(job["status"] == "COMPLETE" and job["deployable"] for job in jobs)
    finished = [job["completedAt"] for job in jobs]
    assert finished == sorted(finished, reverse=True)
    assert any(job["deployments"]["totalCount"] > 0 for job in jobs)


def check_node(data: dict[str, Any], variables: dict[str, Any]) -> None:
    node = data["node"]
    assert node["id"] == variables["id"]
    if node["__typename"] == "Deployment":
        expect(node, status="ACTIVE")
    else:
        expect(node, __typename="TrainingJob", jobStatus="COMPLETE", deployable=True)


def check_model(data: dict[str, Any], variables: dict[str, Any]) -> None:
    model = data["model"]
    expect(model, name=variables["name"], endpoint=f"/api/inference/{variables['name']}")
    split = model["trafficSplit"]
    assert sum(share["percent"] for share in split) == 100.0 and max(s["percent"] for s in split) == 100.0
    assert all(share["deployment"]["status"] == "ACTIVE" for share in split)
    standbys = [share["deployment"] for share in split if share["percent"] == 0.0]
    assert standbys and all(d["healthReasons"] == ["standby: 0 % of model traffic"] for d in standbys)
    serving = next(share["deployment"]["id"] for share in split if share["percent"] == 100.0)
    assert {a["name"]: a["deployment"]["id"] for a in model["aliases"]}.get("production") == serving
    if variables["name"] == "support-triage":  # never rolled out progressively
        assert model["rollout"] is None
    else:  # a canary a user stopped with rollbackModel: its version stands by again
        rollout = model["rollout"]
        assert (rollout["state"], rollout["strategy"]) == ("ROLLED_BACK", "CANARY"), rollout
        assert rollout["reason"].endswith("the model was rolled back"), rollout
        assert rollout["deployment"]["id"] in {d["id"] for d in standbys}
    assert model["metrics"]["requestVolume"] > 0 and len(model["metricsHistory"]["points"]) == 96
    assert model["deployments"]["totalCount"] >= len(split)


def check_models(data: dict[str, Any], variables: dict[str, Any]) -> None:
    models = data["models"]
    assert models["totalCount"] == 18 and models["pageInfo"]["hasNextPage"]
    rows = [edge["node"] for edge in models["edges"]]
    if "orderBy" in variables:
        volumes = [row["metrics"]["requestVolume"] for row in rows]
        assert volumes == sorted(volumes, reverse=True)
    else:
        assert [row["name"] for row in rows] == sorted(row["name"] for row in rows)


def split_of(payload: dict[str, Any]) -> list[float]:
    return [share["percent"] for share in payload["model"]["trafficSplit"]]


def expect(obj: dict[str, Any] | None, **fields: Any) -> None:
    assert obj is not None
    assert {key: obj.get(key) for key in fields} == fields, obj


# file → a check of `data`, given the variables sent
CHECKS: dict[str, Callable[[dict[str, Any], dict[str, Any]], None]] = {
    "deployments-table.graphql": check_table,
    "deployment-detail.graphql": check_detail,
    "summary-cards.graphql": check_cards,
    "deploy.graphql": lambda d, v: expect(
        d["deployJob"]["deployment"], status="DEPLOYING", trainingJob={"id": v["jobId"]}
    ),
    "pause.graphql": lambda d, v: expect(d["pauseDeployment"]["deployment"], id=v["id"], status="PAUSED"),
    "resume.graphql": lambda d, v: expect(d["resumeDeployment"]["deployment"], id=v["id"], status="ACTIVE"),
    "delete-deployment.graphql": lambda d, v: expect(d["deleteDeployment"], deletedId=v["id"]),
    "refetch-node.graphql": check_node,
    "training-jobs.graphql": check_jobs,
    "create-training-job.graphql": lambda d, v: expect(
        d["createTrainingJob"]["trainingJob"], status="QUEUED"
    ),
    "watch-training-job.graphql": lambda d, v: expect(
        d["trainingJob"], id=v["id"], status="RUNNING", deployable=False
    ),
    "cancel-training-job.graphql": lambda d, v: expect(
        d["cancelTrainingJob"]["trainingJob"], status="CANCELLED"
    ),
    "base-models.graphql": lambda d, v: expect(d["baseModels"][0], name="LFM2-350M", modelSize="NANO"),
    "model-page.graphql": check_model,
    "models.graphql": check_models,
    "set-traffic-split.graphql": lambda d, v: expect(
        {"split": sorted(split_of(d["setTrafficSplit"]))[-2:]}, split=[10.0, 90.0]
    ),
    "rollback-model.graphql": lambda d, v: expect({"held": max(split_of(d["rollbackModel"]))}, held=100.0),
    "start-canary.graphql": lambda d, v: expect(
        d["startRollout"]["model"]["rollout"], strategy="CANARY", state="BAKING", percent=10.0, reason=None
    ),
    "set-model-alias.graphql": lambda d, v: expect(
        d["setModelAlias"]["model"]["aliases"][0], name="production", updatedBy="anonymous"
    ),
    "remove-model-alias.graphql": lambda d, v: expect(d["removeModelAlias"]["model"], aliases=[]),
}


def read(name: str) -> str:
    return (EXAMPLES / name).read_text()


def test_the_examples_folder_has_the_documented_operations() -> None:
    assert FILES, f"no .graphql files in {EXAMPLES}"
    assert set(VARIABLES) <= set(FILES), f"VARIABLES names files that are gone: {set(VARIABLES) - set(FILES)}"
    assert "README.md" in {p.name for p in EXAMPLES.iterdir()}
    readme = read("README.md")
    assert [name for name in FILES if f"`{name}`" not in readme] == [], (
        "list every example in examples/README.md"
    )


def test_operation_and_fragment_names_are_unique_across_examples() -> None:
    # so that the whole folder can be fed to a code generator as one set of documents
    names = [
        d.name.value
        for name in FILES
        for d in parse(read(name)).definitions
        if isinstance(d, OperationDefinitionNode | FragmentDefinitionNode) and d.name
    ]
    assert sorted(names) == sorted(set(names))


@pytest.mark.parametrize("name", FILES)
def test_example_is_one_named_commented_operation_valid_against_the_served_schema(name: str) -> None:
    source = read(name)
    assert source.startswith("# "), "start with a comment: what the screen uses it for, which variables"
    document = parse(source)
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    assert len(operations) == 1 and operations[0].name, "one named operation per file"
    # fragments must be defined in the same file (and used): validate() reports both
    assert validate(schema._schema, document) == []


async def demo_ids(api: Api) -> dict[str, str]:
    data = await api.query(DEMO_IDS)
    return {f"${key}": conn["nodes"][0]["id"] for key, conn in data.items()}


def _with_ids(value: Any, ids: dict[str, str]) -> Any:
    """A variable with every "$name" (in lists and objects too) replaced by its demo id."""
    if isinstance(value, str):
        return ids.get(value, value)
    if isinstance(value, list):
        return [_with_ids(v, ids) for v in value]
    if isinstance(value, dict):
        return {k: _with_ids(v, ids) for k, v in value.items()}
    return value


@pytest.mark.parametrize("name", FILES)
async def test_example_runs_on_the_demo_data(tmp_path: Path, name: str) -> None:
    steps = VARIABLES.get(name, {})
    steps = steps if isinstance(steps, list) else [steps]
    async with running_api(tmp_path, demo=True) as api:
        ids = await demo_ids(api)
        for step in steps:
            variables = {key: _with_ids(value, ids) for key, value in step.items() if key != "run"}
            data = await api.query(read(step.get("run", name)), variables)
            # expected mutation failures come back in `errors` of the payload: none here
            for payload in data.values():
                if isinstance(payload, dict) and "errors" in payload:
                    assert payload["errors"] == [], payload
            if "run" not in step:
                CHECKS.get(name, lambda d, v: None)(data, variables)
