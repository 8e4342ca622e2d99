"""Automatic persisted queries (APQ), as Apollo Client's PersistedQueryLink speaks them.

A request may carry `extensions.persistedQuery = {version: 1, sha256Hash}` instead of, or beside,
its `query`. Hash only: the document is looked up; unknown, the answer is the error the link
retries on (message `PersistedQueryNotFound`, code `PERSISTED_QUERY_NOT_FOUND`), and the link
sends the query with its hash, which registers it. Registration happens only after the document
parsed and validated (limits included), so the store holds documents that run; every later
request by hash still goes through the same validation and limits as a query sent in full.

The store is a per-process LRU bounded by `--max-persisted-queries`: a replica that has not seen
a hash answers not-found once, and the client registers it there too.
"""

import hashlib
import re
from collections import OrderedDict
from typing import Any

from graphql import GraphQLError
from strawberry.http import GraphQLRequestData
from strawberry.types import ExecutionResult

from domain import Code

VERSION = 1
_SHA256 = re.compile(r"^[0-9a-fA-F]{64}$")


def _refusal(message: str, code: Code) -> ExecutionResult:
    # data None and no path: a request error, so nothing executes and the usual status rules apply
    return ExecutionResult(data=None, errors=[GraphQLError(message, extensions={"code": code})])


class PersistedQueries:
    def __init__(self, max_entries: int) -> None:
        self.max_entries = max_entries
        self._documents: OrderedDict[str, str] = OrderedDict()  # sha256 hex -> document, oldest first

    def __len__(self) -> int:
        return len(self._documents)

    def prepare(self, data: GraphQLRequestData) -> ExecutionResult | str | None:
        """Fill in `data.query` for a hash-only request.

        Returns a refusal to answer instead of executing; or the hash to `register` once the query
        sent with it has run; or None (no persisted query, or one already known).
        """
        persisted: Any = (data.extensions or {}).get("persistedQuery")
        if persisted is None:
            return None
        if not isinstance(persisted, dict) or not isinstance(persisted.get("sha256Hash"), str):
            return _refusal(
                "extensions.persistedQuery must be an object with `version` and `sha256Hash` (a string)",
                Code.PERSISTED_QUERY_INVALID,
            )
        if persisted.get("version") != VERSION:
            return _refusal(
                f"Unsupported persisted query version {persisted.get('version')!r}; only version 1 is",
                Code.PERSISTED_QUERY_VERSION_NOT_SUPPORTED,
            )
        digest = persisted["sha256Hash"].lower()
        if not _SHA256.match(digest):
            return _refusal(
                "extensions.persistedQuery.sha256Hash must be 64 hexadecimal digits (SHA-256)",
                Code.PERSISTED_QUERY_INVALID,
            )
        if data.query is None:
            document = self._documents.get(digest)
            if document is None:
                return _refusal("PersistedQueryNotFound", Code.PERSISTED_QUERY_NOT_FOUND)
            self._documents.move_to_end(digest)
            data.query = document
            return None
        if hashlib.sha256(data.query.encode()).hexdigest() != digest:
            return _refusal(
                "extensions.persistedQuery.sha256Hash is not the SHA-256 of the query sent with it; "
                "nothing was executed",
                Code.PERSISTED_QUERY_HASH_MISMATCH,
            )
        return digest

    def register(self, digest: str, document: str) -> None:
        self._documents[digest] = document
        self._documents.move_to_end(digest)
        while len(self._documents) > self.max_entries:
            self._documents.popitem(last=False)
