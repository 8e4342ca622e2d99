"""The vocabulary, declared once: statuses, event kinds, health levels, model sizes, error codes,
and the table of legal moves. Plain standard-library enums that every layer may import (the
simulator included): it imports nothing of the project.

A member's order is meaningful: it is the order of the database CHECK constraints, the
lifecycle order of `orderBy: STATUS`, and the index of the simulator's integer codes.
"""

from dataclasses import dataclass
from enum import StrEnum, unique


@unique
class DeploymentStatus(StrEnum):
    DEPLOYING = "DEPLOYING"
    ACTIVE = "ACTIVE"
    PAUSED = "PAUSED"
    FAILED = "FAILED"


@unique
class JobStatus(StrEnum):
    QUEUED = "QUEUED"
    RUNNING = "RUNNING"
    COMPLETE = "COMPLETE"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"


@unique
class EventKind(StrEnum):
    CREATED = "CREATED"
    ACTIVATED = "ACTIVATED"
    PAUSED = "PAUSED"
    RESUMED = "RESUMED"
    FAILED = "FAILED"
    DELETED = "DELETED"
    # Not moves of the status (it stays as it is): changes of the version's share of its model's traffic.
    TRAFFIC_CHANGED = "TRAFFIC_CHANGED"
    ALIAS_SET = "ALIAS_SET"
    ALIAS_REMOVED = "ALIAS_REMOVED"
    # A progressive rollout of the version (resolvers/rollouts.py): started, promoted to all, rolled back.
    ROLLOUT_STARTED = "ROLLOUT_STARTED"
    ROLLOUT_PROMOTED = "ROLLOUT_PROMOTED"
    ROLLED_BACK = "ROLLED_BACK"


@unique
class Health(StrEnum):
    HEALTHY = "HEALTHY"
    WARNING = "WARNING"
    CRITICAL = "CRITICAL"
    NO_TRAFFIC = "NO_TRAFFIC"


@unique
class ModelSize(StrEnum):
    NANO = "NANO"
    SMALL = "SMALL"
    LARGE = "LARGE"


@unique
class Code(StrEnum):
    """Every `extensions.code` and `UserError.code` the API produces."""

    # Mutation payload errors (UserErrorCode in the schema).
    NOT_FOUND = "NOT_FOUND"
    INVALID_ID = "INVALID_ID"
    INVALID_INPUT = "INVALID_INPUT"
    JOB_NOT_COMPLETE = "JOB_NOT_COMPLETE"
    INVALID_TRANSITION = "INVALID_TRANSITION"
    HAS_DEPLOYMENTS = "HAS_DEPLOYMENTS"
    CONFLICT = "CONFLICT"
    INVALID_SPLIT = "INVALID_SPLIT"
    PROTECTED = "PROTECTED"
    ROLLOUT_IN_PROGRESS = "ROLLOUT_IN_PROGRESS"
    # GraphQL request errors (nothing ran): Apollo Server's names, which Apollo clients know.
    GRAPHQL_PARSE_FAILED = "GRAPHQL_PARSE_FAILED"
    GRAPHQL_VALIDATION_FAILED = "GRAPHQL_VALIDATION_FAILED"
    OPERATION_RESOLUTION_FAILURE = "OPERATION_RESOLUTION_FAILURE"
    # GraphQL errors: the query's arguments (and, as a request error, its variables).
    BAD_USER_INPUT = "BAD_USER_INPUT"
    INVALID_CURSOR = "INVALID_CURSOR"
    INVALID_PAGINATION = "INVALID_PAGINATION"
    PAGE_SIZE_LIMIT = "PAGE_SIZE_LIMIT"
    INVALID_ORDER = "INVALID_ORDER"
    TOO_MANY_IDS = "TOO_MANY_IDS"
    FUTURE_AS_OF = "FUTURE_AS_OF"
    AS_OF_OUT_OF_RANGE = "AS_OF_OUT_OF_RANGE"
    # GraphQL errors: the storage.
    DATABASE_BUSY = "DATABASE_BUSY"
    DATABASE_READ_ONLY = "DATABASE_READ_ONLY"
    DATABASE_FULL = "DATABASE_FULL"
    # Limits, access and transport.
    COST_LIMIT_EXCEEDED = "COST_LIMIT_EXCEEDED"
    QUERY_TOO_COMPLEX = "QUERY_TOO_COMPLEX"  # graphql-core's validation gave up on the document
    RATE_LIMITED = "RATE_LIMITED"
    TIMEOUT = "TIMEOUT"
    RESPONSE_TOO_LARGE = "RESPONSE_TOO_LARGE"
    BODY_TOO_LARGE = "BODY_TOO_LARGE"
    INVALID_JSON = "INVALID_JSON"
    INVALID_REQUEST = "INVALID_REQUEST"  # JSON, but not the shape of a GraphQL request
    UNSUPPORTED_MEDIA_TYPE = "UNSUPPORTED_MEDIA_TYPE"
    MISSING_QUERY = "MISSING_QUERY"
    TOO_MANY_OPERATIONS = "TOO_MANY_OPERATIONS"
    METHOD_NOT_ALLOWED = "METHOD_NOT_ALLOWED"
    UNAUTHENTICATED = "UNAUTHENTICATED"
    UNTRUSTED_HOST = "UNTRUSTED_HOST"
    PERSISTED_QUERY_NOT_FOUND = "PERSISTED_QUERY_NOT_FOUND"
    PERSISTED_QUERY_INVALID = "PERSISTED_QUERY_INVALID"
    PERSISTED_QUERY_HASH_MISMATCH = "PERSISTED_QUERY_HASH_MISMATCH"
    PERSISTED_QUERY_VERSION_NOT_SUPPORTED = "PERSISTED_QUERY_VERSION_NOT_SUPPORTED"
    INTERNAL_SERVER_ERROR = "INTERNAL_SERVER_ERROR"


# Integer codes (the simulator's and the fleet snapshot's arrays): a value's index in its enum.
#: Length of the aggregation window: every figure is one window's (the simulator's, the API's).
WINDOW_SECONDS = 60
DEPLOYMENT_STATUSES = tuple(DeploymentStatus)
#: Each status's code: its index in DEPLOYMENT_STATUSES (the fleet snapshot's int8 statuses).
STATUS_CODE: dict[str, int] = {name: i for i, name in enumerate(DEPLOYMENT_STATUSES)}
JOB_STATUSES = tuple(JobStatus)
EVENT_KINDS = tuple(EventKind)
HEALTH_LEVELS = tuple(Health)
MODEL_SIZES = tuple(ModelSize)


class By(StrEnum):
    """Who may make a move."""

    MUTATION = "MUTATION"  # a client, through the named mutation
    CLOCK = "CLOCK"  # time: written when due by whichever request first sees it (resolvers/lifecycle.py)


class Share(StrEnum):
    """What a move does to the version's share of its model's traffic (db/traffic.py makes it so)."""

    TAKE_ALL = "TAKE_ALL"  # it takes 100 %; the versions that had it stay ACTIVE at 0 % (standbys)
    STANDBY = "STANDBY"  # it comes back at 0 %, or 100 % when it is the model's only ACTIVE version
    RELEASE = "RELEASE"  # its share goes to the other ACTIVE versions, in proportion (or to the newest)


@dataclass(frozen=True)
class Move:
    """One legal change of a deployment, and the event the audit trail records for it."""

    sources: tuple[DeploymentStatus, ...]  # statuses it starts from; () creates the deployment
    target: DeploymentStatus | None  # None: the deployment is deleted and keeps its status
    kind: EventKind
    serving: bool | None  # True: it starts serving; False: it stops; None: no change
    by: By
    verb: str  # for messages: "only ACTIVE deployments can be paused"
    share: Share | None = None  # its effect on the model's traffic split; None: none

    def refusal(self, status: str) -> str:
        return f"Deployment is {status}; only {' or '.join(self.sources)} deployments can be {self.verb}"


S = DeploymentStatus
# Every legal move of a deployment. Adding one: a line here, then its mutation (resolvers/mutations.py)
# or its settling (resolvers/lifecycle.py); db/deployments.py writes any move with its event.
DEPLOY = Move((), S.DEPLOYING, EventKind.CREATED, None, By.MUTATION, "deployed")
ACTIVATE = Move((S.DEPLOYING,), S.ACTIVE, EventKind.ACTIVATED, True, By.CLOCK, "activated", Share.TAKE_ALL)
FAIL_ROLLOUT = Move((S.DEPLOYING,), S.FAILED, EventKind.FAILED, None, By.CLOCK, "failed")
PAUSE = Move((S.ACTIVE,), S.PAUSED, EventKind.PAUSED, False, By.MUTATION, "paused", Share.RELEASE)
RESUME = Move((S.PAUSED,), S.ACTIVE, EventKind.RESUMED, True, By.MUTATION, "resumed", Share.STANDBY)
DELETE = Move((S.PAUSED, S.FAILED), None, EventKind.DELETED, None, By.MUTATION, "deleted")
MOVES = (DEPLOY, ACTIVATE, FAIL_ROLLOUT, PAUSE, RESUME, DELETE)
del S

BY_KIND = {move.kind: move for move in MOVES}
# Events that record something other than a move of the status (which they leave as it was).
NOT_MOVES = (
    EventKind.TRAFFIC_CHANGED,
    EventKind.ALIAS_SET,
    EventKind.ALIAS_REMOVED,
    EventKind.ROLLOUT_STARTED,
    EventKind.ROLLOUT_PROMOTED,
    EventKind.ROLLED_BACK,
)
# Moves an aliased version refuses (PROTECTED): the alias must be removed or moved first.
PROTECTED_BY_ALIAS = (PAUSE, DELETE)
assert len(BY_KIND) == len(MOVES) == len(EventKind) - len(NOT_MOVES), "one move per status event kind"
assert not BY_KIND.keys() & set(NOT_MOVES)
# The fleet snapshot's serving gaps: from an event that stops serving to the next that restarts it.
# (The first start, ACTIVATED, is the deployment's `activated_at`, not the end of a gap.)
STOPS_SERVING = tuple(m.kind for m in MOVES if m.serving is False)
_STOPPED = {m.target for m in MOVES if m.serving is False}
RESTARTS_SERVING = tuple(m.kind for m in MOVES if m.serving and _STOPPED.intersection(m.sources))


@dataclass(frozen=True)
class JobMove:
    """One legal change of a training job (jobs keep no event trail)."""

    sources: tuple[JobStatus, ...]
    target: JobStatus
    by: By
    verb: str

    def refusal(self, status: str) -> str:
        return f"Training job is {status}; only {' or '.join(self.sources)} jobs can be {self.verb}"


J = JobStatus
START_TRAINING = JobMove((J.QUEUED,), J.RUNNING, By.CLOCK, "started")
FINISH_TRAINING = JobMove((J.RUNNING,), J.COMPLETE, By.CLOCK, "finished")
FAIL_TRAINING = JobMove((J.RUNNING,), J.FAILED, By.CLOCK, "failed")
CANCEL_TRAINING = JobMove((J.QUEUED, J.RUNNING), J.CANCELLED, By.MUTATION, "cancelled")
JOB_MOVES = (START_TRAINING, FINISH_TRAINING, FAIL_TRAINING, CANCEL_TRAINING)
del J
# A job is created QUEUED and deployable once COMPLETE.
NEW_JOB_STATUS = JobStatus.QUEUED
DEPLOYABLE_JOB_STATUS = JobStatus.COMPLETE


@unique
class RolloutStrategy(StrEnum):
    ALL_AT_ONCE = "ALL_AT_ONCE"
    CANARY = "CANARY"
    LINEAR = "LINEAR"


@unique
class RolloutState(StrEnum):
    BAKING = "BAKING"
    PROMOTED = "PROMOTED"
    ROLLED_BACK = "ROLLED_BACK"


ROLLOUT_STRATEGIES = tuple(RolloutStrategy)
ROLLOUT_STATES = tuple(RolloutState)
