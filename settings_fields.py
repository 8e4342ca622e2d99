"""How a setting is declared (flag, environment variable, parser, help), its parsers, and the reading.

settings.py declares each setting once, as a field of `Settings` made by `setting()`; the command
line, the environment, `--help` and the README check (tests/test_settings.py) all read these.
"""

import argparse
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import Any, Literal, Protocol, TypeVar

Kind = Literal["value", "switch", "list", "tokens"]
_METADATA = "deploydeck.setting"


class Checked(Protocol):
    def problems(self) -> list[str]: ...


S = TypeVar("S", bound=Checked)


@dataclass(frozen=True)
class Declared:
    """One setting: where it comes from and what it means. The flag is --name-with-dashes and the
    environment variable DEPLOYDECK_NAME unless given."""

    help: str
    # Raises ValueError or argparse.ArgumentTypeError on bad input; tokens: (inline pairs, file) -> pairs.
    parse: Callable[..., Any] = str
    kind: Kind = "value"
    choices: tuple[str, ...] = ()
    flag: str = ""
    shown_default: str = ""  # what --help says when the default is no single value (lists, tokens)
    file_env: str = ""  # tokens: the variable naming their file, the file flag's fallback
    env: str = ""


def setting(default: Any, help: str, parse: Callable[..., Any] = str, **more: Any) -> Any:
    """A `Settings` field with its declaration; a boolean parser makes an --x/--no-x switch."""
    kind: Kind = more.pop("kind", "switch" if parse is boolean else "value")
    return field(default=default, metadata={_METADATA: Declared(help, parse, kind, **more)})


@dataclass(frozen=True)
class Declaration:
    name: str
    default: Any
    declared: Declared

    @property
    def flag(self) -> str:
        return self.declared.flag or "--" + self.name.replace("_", "-")

    @property
    def env(self) -> str:
        return self.declared.env or "DEPLOYDECK_" + self.name.upper()

    @property
    def variables(self) -> tuple[str, ...]:
        return tuple(v for v in (self.env, self.declared.file_env) if v)


def declarations(settings_type: type) -> Iterator[Declaration]:
    """Every declared setting of a settings dataclass, in field order."""
    for f in fields(settings_type):
        yield Declaration(f.name, f.default, f.metadata[_METADATA])


def non_negative(raw: str) -> float:
    value = float(raw)
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {raw}")
    return value


def positive(raw: str) -> float:
    value = float(raw)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {raw}")
    return value


def positive_int(raw: str) -> int:
    value = int(raw)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {raw}")
    return value


def non_negative_int(raw: str) -> int:
    value = int(raw)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {raw}")
    return value


def worker_count(raw: str) -> int:
    if raw.strip().lower() == "auto":
        return os.cpu_count() or 1
    try:
        return positive_int(raw)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number >= 1 or auto, got {raw!r}") from None


def boolean(raw: str) -> bool:
    if raw.lower() in ("1", "true", "yes", "on"):
        return True
    if raw.lower() in ("0", "false", "no", "off"):
        return False
    raise argparse.ArgumentTypeError(f"must be true or false, got {raw!r}")


def split(raw: str) -> list[str]:
    """A comma-separated environment variable's items."""
    return [part.strip() for part in raw.split(",") if part.strip()]


def parse_declared(
    settings_type: type[S], argv: Sequence[str] | None, env: Mapping[str, str], prog: str, description: str
) -> S:
    """Settings from flags, falling back to environment variables, then defaults; exits on bad values."""
    declared = list(declarations(settings_type))
    parser = argparse.ArgumentParser(prog=prog, description=description)
    for declaration in declared:
        _add_argument(parser, declaration, env)
    args = parser.parse_args(argv)
    values = {}
    for declaration in declared:
        d, name = declaration.declared, declaration.name
        if d.kind == "list":
            values[name] = tuple(getattr(args, name) or split(env.get(declaration.env, "")))
        elif d.kind == "tokens":
            try:
                values[name] = d.parse(env.get(declaration.env, ""), getattr(args, name))
            except ValueError as exc:
                parser.error(str(exc))
        else:
            values[name] = getattr(args, name)
    settings = settings_type(**values)
    for problem in settings.problems():
        parser.error(problem)
    return settings


def _add_argument(parser: argparse.ArgumentParser, declaration: Declaration, env: Mapping[str, str]) -> None:
    d, flag, name = declaration.declared, declaration.flag, declaration.name
    if d.kind == "list":
        help_text = (
            f"{d.help}; repeatable (env {declaration.env}, comma-separated; default: {d.shown_default})"
        )
        parser.add_argument(flag, action="append", dest=name, default=None, help=help_text)
        return
    if d.kind == "tokens":  # the flag names the file; the variable itself is never a flag
        help_text = f"{d.help} (env {d.file_env}; default: {d.shown_default})"
        parser.add_argument(flag, dest=name, default=env.get(d.file_env), help=help_text)
        return
    # String defaults go through `type`, so a bad environment value fails like a bad flag.
    default = env.get(declaration.env, str(declaration.default))
    help_text = f"{d.help} (env {declaration.env}; default %(default)s)"
    if d.kind == "switch":
        try:
            switch_default = boolean(default)
        except argparse.ArgumentTypeError as exc:
            parser.error(f"{declaration.env} {exc}")
        parser.add_argument(
            flag, action=argparse.BooleanOptionalAction, default=switch_default, help=help_text
        )
    elif d.choices:
        parser.add_argument(flag, choices=d.choices, default=default, help=help_text)
    else:
        parser.add_argument(flag, type=d.parse, default=default, help=help_text)
