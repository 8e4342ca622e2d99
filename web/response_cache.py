"""The response cache: a poll of an unchanged query is answered from memory, without executing it.

A dashboard polls the same few operations over and over, and within one metrics window nothing in
their results moves unless something was written or a scheduled change came due. So a successful
query result is kept under its key (the resolved document, operationName, variables as canonical
JSON, and the caller's read scope) together with what it is valid for:

- the data revision it was made at (`fleet_state.data_revision`, bumped by every write transaction
  of any process; the Settler reads it with the earliest due change in its one per-request query);
- the metrics window it was made in, and no later than the next scheduled change (a rollout
  finishing, a training job starting or stopping): an entry expires at the earlier of the two.

Never kept: mutations, results with errors, results of a request whose observation is behind the
schedule (something was due), and results that read the exact instant (`serverTime`, a running
job's progress: Context.exact_now). A hit is charged its stored cost against the client's budget.

Bounded by entries and by bytes, least recently used dropped first; `hits`, `misses` and
`evictions` count what happened (GET /metrics reads them by these names).
"""

import hashlib
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from graphql import GraphQLError, OperationType, get_operation_ast, parse
from strawberry.types import ExecutionResult

from db.schedule import Observed
from resolvers.metric_records import window_of
from simulator.windows import WINDOW_SECONDS
from web.ratelimit import RequestBudget

_OVERHEAD = 256  # bytes an entry costs beyond its body: key, bookkeeping


@dataclass(frozen=True)
class Entry:
    data: bytes  # the result's `data`, encoded
    extensions: dict[str, Any]  # `extensions` without rateLimit (per request): the cost
    cost: int | None  # what a hit charges the client's budget
    revision: int
    window: int
    made_at: datetime
    expires_at: datetime  # the window's end or the next due change, whichever is first

    @property
    def size(self) -> int:
        return len(self.data) + _OVERHEAD


@dataclass(frozen=True)
class Lookup:
    """One operation's place in the cache: its key, and what the request observed."""

    key: bytes
    observed: Observed
    now: datetime

    @property
    def storable(self) -> bool:
        """Nothing was due at the observation: the committed state is the state of the schedule."""
        return self.observed.due_at is None or self.observed.due_at > self.now


def is_query(document: str, operation_name: str | None) -> bool:
    """Does the document's selected operation read (never a mutation or subscription)?"""
    if "mutation" not in document and "subscription" not in document:
        return True  # the common case, without parsing (a document that does not parse never has an entry)
    try:
        operation = get_operation_ast(parse(document, no_location=True), operation_name)
    except GraphQLError:
        return False
    return operation is not None and operation.operation == OperationType.QUERY


def key_of(document: str, operation_name: str | None, variables: Any, scope: tuple[bool, ...]) -> bytes:
    """A digest of everything that decides the result: what to run, with what, and what the caller may see."""
    digest = hashlib.blake2b(digest_size=20)
    for part in (
        document.encode(),
        (operation_name or "").encode(),
        orjson.dumps(variables or {}, option=orjson.OPT_SORT_KEYS),
        bytes(scope),
    ):
        digest.update(len(part).to_bytes(8, "little"))
        digest.update(part)
    return digest.digest()


class ResponseCache:
    def __init__(self, max_entries: int, max_bytes: int) -> None:
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self.hits = 0
        self.misses = 0
        self.evictions = 0  # entries dropped to stay within the bounds
        self.bytes = 0
        self._entries: OrderedDict[bytes, Entry] = OrderedDict()
        self._newest: tuple[int, int] = (-1, -1)  # (revision, window) of the newest observation
        self._kinds: OrderedDict[bytes, bool] = OrderedDict()  # key -> is_query, bounded like the entries

    def __len__(self) -> int:
        return len(self._entries)

    def reads(self, key: bytes, document: str, operation_name: str | None) -> bool:
        """is_query, remembered per key: a mutation's document is parsed once, not per request."""
        kind = self._kinds.get(key)
        if kind is None:
            kind = self._kinds[key] = is_query(document, operation_name)
            if len(self._kinds) > 4 * self.max_entries:
                self._kinds.popitem(last=False)
        return kind

    def get(self, lookup: Lookup) -> Entry | None:
        """The entry still valid for this request, or None."""
        self._observe(lookup)
        entry = self._entries.get(lookup.key)
        now = lookup.now
        if (
            entry is not None
            and entry.revision == lookup.observed.data_revision
            and entry.window == window_of(now)
            and entry.made_at <= now < entry.expires_at
        ):
            self._entries.move_to_end(lookup.key)
            return entry
        return None

    def serve(
        self, lookup: Lookup, budget: RequestBudget | None, spent: int, max_cost: int
    ) -> tuple[ExecutionResult, int] | None:
        """The cached result and its cost, charged to the budget; None: execute (a miss, or a refusal
        that executing reports as it always does: COST_LIMIT_EXCEEDED for a batch, RATE_LIMITED)."""
        entry = self.get(lookup)
        if entry is not None and (result := _charged(entry, budget, spent, max_cost)) is not None:
            self.hits += 1
            return result, entry.cost or 0
        self.misses += 1
        return None

    def remember(self, lookup: Lookup, result: ExecutionResult, instant_used: bool, max_bytes: int) -> None:
        """Keep a successful result that is the same for every request of its window and revision."""
        if result.errors or result.data is None or instant_used:
            return
        data = orjson.dumps(result.data)
        if len(data) > max_bytes:
            return  # it becomes RESPONSE_TOO_LARGE every time
        extensions = {k: v for k, v in (result.extensions or {}).items() if k != "rateLimit"}
        self.put(lookup, data, extensions, extensions.get("cost", {}).get("requested"))

    def put(self, lookup: Lookup, data: bytes, extensions: dict[str, Any], cost: int | None) -> None:
        if not lookup.storable or (lookup.observed.data_revision, window_of(lookup.now)) != self._newest:
            return  # behind the schedule, or an older observation than one already seen
        window = window_of(lookup.now)
        end = datetime.fromtimestamp((window + 1) * WINDOW_SECONDS, lookup.now.tzinfo)
        due = lookup.observed.due_at
        entry = Entry(
            data=data,
            extensions=extensions,
            cost=cost,
            revision=lookup.observed.data_revision,
            window=window,
            made_at=lookup.now,
            expires_at=min(end, due) if due is not None else end,
        )
        if entry.size > self.max_bytes:
            return
        self._drop(lookup.key)
        self._entries[lookup.key] = entry
        self.bytes += entry.size
        while len(self._entries) > self.max_entries or self.bytes > self.max_bytes:
            _, oldest = self._entries.popitem(last=False)
            self.bytes -= oldest.size
            self.evictions += 1

    def _observe(self, lookup: Lookup) -> None:
        """A newer revision or window makes every entry dead: free them at once."""
        seen = (lookup.observed.data_revision, window_of(lookup.now))
        if seen != self._newest and seen[0] >= self._newest[0]:  # not a straggler's older revision
            self._newest = seen
            self._entries.clear()
            self.bytes = 0

    def _drop(self, key: bytes) -> None:
        old = self._entries.pop(key, None)
        if old is not None:
            self.bytes -= old.size


def _charged(entry: Entry, budget: RequestBudget | None, spent: int, max_cost: int) -> ExecutionResult | None:
    cost = entry.cost or 0
    if spent + cost > max_cost:
        return None
    extensions = dict(entry.extensions)
    if budget is not None:
        charge = budget.charge(cost)
        if not charge.allowed:
            return None
        extensions["rateLimit"] = charge.extension()  # per request: never stored
    return ExecutionResult(data=orjson.loads(entry.data), errors=None, extensions=extensions or None)
