"""API tokens: `name=token` pairs; a request's bearer token names its actor."""

import hmac
import re
from dataclasses import dataclass
from pathlib import Path

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,99}$")
MIN_TOKEN_LENGTH = 16


class TokenConfigError(ValueError):
    pass


def parse_tokens(text: str, source: str) -> dict[str, str]:
    """name -> token from `name=token` pairs separated by commas or newlines; '#' starts a comment."""
    tokens: dict[str, str] = {}
    for number, raw in enumerate(re.split(r"[,\n]", text), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        name, sep, token = (part.strip() for part in line.partition("="))
        # Never echo the token itself in an error message.
        if not sep or not _NAME.match(name):
            raise TokenConfigError(f"{source}: entry {number} is not `name=token` with a plain name")
        if len(token) < MIN_TOKEN_LENGTH:
            raise TokenConfigError(
                f"{source}: the token of {name!r} is shorter than {MIN_TOKEN_LENGTH} characters"
            )
        if name in tokens:
            raise TokenConfigError(f"{source}: {name!r} is listed twice")
        tokens[name] = token
    return tokens


def load_tokens(inline: str, file: str | None) -> dict[str, str]:
    tokens = parse_tokens(inline, "DEPLOYDECK_TOKENS") if inline else {}
    if file:
        try:
            text = Path(file).read_text()
        except OSError as exc:
            raise TokenConfigError(f"cannot read the tokens file {file}: {exc.strerror}") from None
        for name, token in parse_tokens(text, file).items():
            if name in tokens:
                raise TokenConfigError(f"{name!r} is defined both inline and in {file}")
            tokens[name] = token
    return tokens


@dataclass(frozen=True)
class Identity:
    actor: str | None  # the token's name; None when no valid token came


def identify(authorization: str | None, tokens: dict[str, str]) -> Identity:
    """Who sent the request; every configured token is compared, in constant time."""
    scheme, _, offered = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not offered.strip():
        return Identity(None)
    offered_bytes = offered.strip().encode()
    actor = None
    for name, token in tokens.items():
        if hmac.compare_digest(offered_bytes, token.encode()):
            actor = name
    return Identity(actor)
