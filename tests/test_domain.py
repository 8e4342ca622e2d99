"""The table of moves (domain.MOVES) and the enums of domain.py are what the API does and publishes,
and nothing outside domain.py spells a state or an error code by hand."""

import ast
import base64
from enum import Enum
from pathlib import Path

import pytest

import domain
from domain import MOVES, By, Code, DeploymentStatus, Move
from schema.vocabulary import described_enum
from tests.support import Api, Clock, make_deployment, make_job, running_api

MUTATION_OF = {
    domain.PAUSE: "pauseDeployment",
    domain.RESUME: "resumeDeployment",
    domain.DELETE: "deleteDeployment",
}
TRAIL = "query($id: ID!) { deployment(id: $id) { status events { kind fromStatus toStatus } } }"


def gid(type_name: str, row_id: int) -> str:
    return base64.b64encode(f"{type_name}:{row_id}".encode()).decode()


def test_every_move_a_client_makes_on_a_deployment_has_a_mutation_here() -> None:
    assert {m for m in MOVES if m.by is By.MUTATION and m.sources} == set(MUTATION_OF)


@pytest.mark.parametrize("move", list(MUTATION_OF), ids=lambda m: m.kind)
@pytest.mark.parametrize("status", list(DeploymentStatus))
async def test_a_mutation_makes_its_move_from_its_sources_only(
    api: Api, move: Move, status: DeploymentStatus
) -> None:
    # given
    async with api.db.write() as s:
        deployment = await make_deployment(s, make_job(s), status=status)
    deployment_id = gid("Deployment", deployment.id)
    before = (await api.query(TRAIL, {"id": deployment_id}))["deployment"]["events"]
    result = "deletedId" if move is domain.DELETE else "deployment { id }"
    # when
    payload = (
        await api.query(
            f"mutation($id: ID!) {{ {MUTATION_OF[move]}(input: {{id: $id}}) {{ {result} errors {{ code message field }} }} }}",
            {"id": deployment_id},
        )
    )[MUTATION_OF[move]]
    after = (await api.query(TRAIL, {"id": deployment_id}))["deployment"]
    # then
    if status not in move.sources:
        assert payload["errors"] == [
            {"code": Code.INVALID_TRANSITION, "message": move.refusal(status), "field": ["input", "id"]}
        ]
        assert after["events"] == before
    elif move.target is None:
        assert payload == {"deletedId": deployment_id, "errors": []}
        assert after is None
    else:
        assert payload["errors"] == []
        assert after["status"] == move.target
        # (the split's own TRAFFIC_CHANGED events may follow: tests/test_api_traffic.py)
        assert [e for e in after["events"] if e["kind"] not in domain.NOT_MOVES] == [
            *before,
            {"kind": move.kind, "fromStatus": status, "toStatus": move.target},
        ]


async def test_every_audit_trail_is_a_chain_of_moves_from_the_table(tmp_path: Path) -> None:
    # given: the demo fleet (every status, pauses and resumes), then a fresh rollout settled by the clock
    clock = Clock()
    async with running_api(tmp_path, clock, demo=True, rollout_seconds=30, rate_limit_capacity=0) as api:
        async with api.db.write() as s:
            job = make_job(s)
        await api.query(
            "mutation($j: ID!) { deployJob(input: {jobId: $j}) { errors { code } } }",
            {"j": gid("TrainingJob", job.id)},
        )
        clock.advance(seconds=60)
        # when
        nodes = (
            await api.query(
                "{ deployments(first: 100) { totalCount nodes { status events { kind fromStatus toStatus } } } }"
            )
        )["deployments"]["nodes"]
    # then
    assert len(nodes) > 50
    seen = set()
    for node in nodes:
        status = None
        for event in node["events"]:
            if event["kind"] in domain.NOT_MOVES:  # a traffic change leaves the status as it was
                assert event["fromStatus"] == event["toStatus"] == status, event
                continue
            move = domain.BY_KIND[event["kind"]]
            seen.add(move)
            assert event["fromStatus"] == status and (status in move.sources or not move.sources), event
            assert event["toStatus"] == move.target
            status = event["toStatus"]
        assert status == node["status"]
    assert seen >= {domain.DEPLOY, domain.ACTIVATE, domain.PAUSE}


GRAPHQL_ENUMS = {
    "DeploymentStatus": domain.DeploymentStatus,
    "TrainingJobStatus": domain.JobStatus,
    "DeploymentEventKind": domain.EventKind,
    "DeploymentHealth": domain.Health,
    "ModelSize": domain.ModelSize,
    "RolloutStrategy": domain.RolloutStrategy,
    "RolloutState": domain.RolloutState,
}


@pytest.mark.parametrize("name", [*GRAPHQL_ENUMS, "UserErrorCode"])
async def test_published_enums_are_the_domain_enums(api: Api, name: str) -> None:
    # when
    values = (await api.query(f'{{ __type(name: "{name}") {{ enumValues {{ name }} }} }}'))["__type"][
        "enumValues"
    ]
    # then
    names = [v["name"] for v in values]
    if name == "UserErrorCode":
        assert names and set(names) <= set(Code)
    else:
        assert names == list(GRAPHQL_ENUMS[name])


def test_a_graphql_enum_that_misspells_a_domain_value_fails_at_import() -> None:
    with pytest.raises(TypeError, match="does not mirror"):

        @described_enum("Sizes.", domain.ModelSize)
        class Sizes(Enum):
            NANO = "n"
            SMAL = "s"
            LARGE = "l"


ROOT = Path(__file__).resolve().parents[1]
STATES = {
    m.value
    for e in (domain.DeploymentStatus, domain.JobStatus, domain.EventKind, domain.Health, domain.ModelSize)
    for m in e
}
# Strings that only look like states: a log level, and the simulator's exported constant names.
NOT_STATES = {("web/logs.py", "CRITICAL"), *(("simulator/__init__.py", h) for h in domain.Health)}


def _literals() -> list[tuple[str, int, str]]:
    """(file, line, text) of every string constant of the application's packages but migrations,
    which must keep the values they were written with."""
    found = []
    for package in ("web", "schema", "resolvers", "db", "simulator"):
        for path in (ROOT / package).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            name = str(path.relative_to(ROOT))
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.Constant) and isinstance(node.value, str):
                    found.append((name, node.lineno, node.value))
    return found


def test_no_error_code_is_spelt_outside_domain() -> None:
    assert [hit for hit in _literals() if hit[2] in set(Code)] == []


def test_no_state_is_spelt_outside_domain() -> None:
    assert [hit for hit in _literals() if hit[2] in STATES and (hit[0], hit[2]) not in NOT_STATES] == []
