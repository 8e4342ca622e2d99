"""The domain's vocabulary as GraphQL enums: sizes, statuses, event kinds, health, rollouts and error
codes, each mirroring its StrEnum in domain.py and saying what every value means."""

from collections.abc import Callable
from enum import Enum, StrEnum
from typing import TypeVar

import strawberry

import domain
from domain import Code

E = TypeVar("E", bound=type[Enum])


def described_enum(
    description: str, mirrors: type[StrEnum] | None = None, *, subset: bool = False
) -> Callable[[E], E]:
    """Publish a GraphQL enum whose class body says what each member means (`ACTIVE = "Serving."`).

    With `mirrors` (a domain StrEnum) each member is valued by the domain member of its name, and the
    names must be the domain's, in its order (with `subset`, some of them): a typo fails at import.
    Without it, a member's value is its name."""

    def publish(cls: E) -> E:
        meanings = {name: member.value for name, member in cls.__members__.items()}
        if mirrors is not None:
            expected = [m.name for m in mirrors if not subset or m.name in meanings]
            if list(meanings) != expected:
                raise TypeError(f"{cls.__name__} does not mirror {mirrors.__name__}: {list(meanings)}")
        values = [
            (name, strawberry.enum_value(name if mirrors is None else mirrors[name], description=meaning))
            for name, meaning in meanings.items()
        ]
        made = Enum(cls.__name__, values, module=cls.__module__, qualname=cls.__qualname__)  # type: ignore[misc]
        return strawberry.enum(made, description=description)  # type: ignore[return-value]

    return publish


@described_enum("Size class of a model by parameter count.", domain.ModelSize)
class ModelSize(Enum):
    NANO = "Under 1B parameters"
    SMALL = "1B to under 7B parameters"
    LARGE = "7B parameters and over"


@described_enum("Lifecycle of a deployment.", domain.DeploymentStatus)
class DeploymentStatus(Enum):
    DEPLOYING = "Rolling out; not serving yet."
    ACTIVE = "Serving traffic."
    PAUSED = "Stopped by a user; may be resumed."
    FAILED = "Rollout failed; see statusReason."


@described_enum("Lifecycle of a training job.", domain.JobStatus)
class TrainingJobStatus(Enum):
    QUEUED = "Waiting for a GPU."
    RUNNING = "Training."
    COMPLETE = "Finished; deployable."
    FAILED = "Stopped by an error; see statusReason."
    CANCELLED = "Stopped by a user."


@described_enum("What happened in one audit-trail entry.", domain.EventKind)
class DeploymentEventKind(Enum):
    CREATED = "deployJob created the deployment."
    ACTIVATED = "The rollout finished; serving."
    PAUSED = "A user paused it."
    RESUMED = "A user resumed it."
    FAILED = "The rollout failed."
    DELETED = "A user deleted it."
    TRAFFIC_CHANGED = "Its share of the model's traffic changed; the message says from and to."
    ALIAS_SET = "A model alias now points at it."
    ALIAS_REMOVED = "A model alias no longer points at it."
    ROLLOUT_STARTED = "A CANARY or LINEAR rollout of it started."
    ROLLOUT_PROMOTED = "Its rollout held: it has all the model's traffic."
    ROLLED_BACK = "Its rollout stopped (CRITICAL health, or the split set by hand); the message says why."


@described_enum("How a deployment is doing, by the thresholds in the README.", domain.Health)
class DeploymentHealth(Enum):
    HEALTHY = "Every figure within its threshold."
    WARNING = "A figure past its warning threshold."
    CRITICAL = "A figure past its critical threshold."
    NO_TRAFFIC = "Not serving traffic: deploying, paused or failed"


@described_enum("How a new version takes its model's traffic.", domain.RolloutStrategy)
class RolloutStrategy(Enum):
    ALL_AT_ONCE = "The new version takes all traffic at once."
    CANARY = "The new version takes `percent`, bakes, then takes all."
    LINEAR = "The new version gains `percent` per step, baking after each, until it has all."


@described_enum("Where a rollout is.", domain.RolloutState)
class RolloutState(Enum):
    BAKING = "Holding its current share while its health is watched."
    PROMOTED = "Finished: the version has all the traffic."
    ROLLED_BACK = "Stopped: the split is back to what it was before the rollout."


@described_enum("Why a mutation did not happen.", Code, subset=True)
class UserErrorCode(Enum):
    NOT_FOUND = "No such object (or it was deleted)."
    INVALID_ID = "The ID is malformed or of another type."
    INVALID_INPUT = "An input value is out of bounds."
    JOB_NOT_COMPLETE = "Only COMPLETE jobs can be deployed."
    INVALID_TRANSITION = "The object's status does not allow this change."
    HAS_DEPLOYMENTS = "Deployments still reference this training job."
    CONFLICT = "A concurrent change won; retry."
    INVALID_SPLIT = "Traffic shares that do not sum to 100 or name a version that is not ACTIVE in the model."
    PROTECTED = "The version has an alias: remove the alias first."
    ROLLOUT_IN_PROGRESS = "Another rollout of the model is baking."
