"""Inference endpoint paths: one slug per model name, never shared by two names.

A model's first deployment picks its slug, and every later version keeps it. The slug is the
name made readable (anyascii transliterates any script: `ΣΊΣΥΦΟΣ-ai` reads `sisyfos-ai`, `模型`
reads `moxing`), unless another model name already holds that; then it gets `--` and a hash of
the exact name (`AI` after `ai`: `ai--3f1c…`). Readable slugs never hold `--`, so a hashed slug
can never meet one. Writers to deployments are serialised (the fleet revision row), so two new
models cannot both take one slug.
"""

import hashlib
import re

from anyascii import anyascii

PREFIX = "/api/inference/"
_NOT_SLUG = re.compile(r"[^a-z0-9]+")
_READABLE_LENGTH = 60  # names are at most 100 characters; the path stays short


def readable(name: str) -> str:
    text = _NOT_SLUG.sub("-", anyascii(name).lower()).strip("-")[:_READABLE_LENGTH].strip("-")
    return text or "model"


def choose(name: str, holder: str | None) -> str:
    """The slug for a new model `name`, given the model name that already holds its readable slug."""
    if holder is None or holder == name:
        return readable(name)
    digest = hashlib.blake2b(name.encode("utf-8", "surrogatepass"), digest_size=6).hexdigest()
    return f"{readable(name)}--{digest}"


def path(slug: str, major: int, minor: int, patch: int) -> str:
    return f"{PREFIX}{slug}/v{major}.{minor}.{patch}"


def slug_of(endpoint: str) -> str:
    return endpoint.removeprefix(PREFIX).split("/", 1)[0]
