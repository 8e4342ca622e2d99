"""Inference endpoint paths: one slug per model name, never shared by two names.

A name that already is a clean slug (lowercase ASCII letters, digits and single inner dashes)
is its own slug. Any other name is transliterated (anyascii: `ΣΊΣΥΦΟΣ-ai` reads `sisyfos-ai`,
`模型` reads `moxing`) and gets `--` plus a hash of the exact name, so `AI`, `ai` and `Ai` are
three endpoints. Clean slugs never hold `--`, so the two kinds cannot meet.
"""

import hashlib
import re

from anyascii import anyascii

_CLEAN = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
_NOT_SLUG = re.compile(r"[^a-z0-9]+")
_READABLE_LENGTH = 60  # names are at most 100 characters; the path stays short


def slug(name: str) -> str:
    if _CLEAN.fullmatch(name):
        return name
    readable = _NOT_SLUG.sub("-", anyascii(name).lower()).strip("-")[:_READABLE_LENGTH].strip("-")
    digest = hashlib.blake2b(name.encode("utf-8", "surrogatepass"), digest_size=6).hexdigest()
    return f"{readable or 'model'}--{digest}"


def endpoint(name: str, major: int, minor: int, patch: int) -> str:
    return f"/api/inference/{slug(name)}/v{major}.{minor}.{patch}"
