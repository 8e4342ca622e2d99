"""Settings: flags win over environment variables, which win over defaults; bad values fail clearly."""

from pathlib import Path

import pytest

from settings import SETTINGS, Settings, parse_settings


def test_defaults() -> None:
    assert parse_settings([], env={}) == Settings()


def test_environment_then_flags() -> None:
    env = {
        "DEPLOYDECK_PORT": "9000",
        "DATABASE_URL": "x.db",
        "DEPLOYDECK_DEMO": "false",
        "DEPLOYDECK_ROLLOUT_SECONDS": "5",
        "DEPLOYDECK_HOST": "127.0.0.2",
        "DEPLOYDECK_LOG_LEVEL": "debug",
    }
    assert parse_settings([], env=env) == Settings(
        host="127.0.0.2", port=9000, db="x.db", demo=False, rollout_seconds=5, log_level="debug"
    )
    flags = ["--port", "9100", "--demo", "--rollout-seconds", "0", "--db", "sqlite+aiosqlite:///y.db"]
    settings = parse_settings(flags, env=env)
    assert (settings.port, settings.demo, settings.rollout_seconds, settings.db) == (
        9100,
        True,
        0,
        "sqlite+aiosqlite:///y.db",
    )


def test_workers_and_log_format(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("os.cpu_count", lambda: 6)
    assert parse_settings(["--workers", "auto"], env={}).workers == 6
    assert parse_settings([], env={"DEPLOYDECK_WORKERS": "AUTO"}).workers == 6
    assert parse_settings(["--workers", "3"], env={"DEPLOYDECK_WORKERS": "auto"}).workers == 3
    assert parse_settings([], env={"DEPLOYDECK_LOG_FORMAT": "json"}).log_format == "json"
    assert (Settings().workers, Settings().log_format) == (1, "text")


@pytest.mark.parametrize(
    ("argv", "env"),
    [
        (["--rollout-seconds", "-1"], {}),
        (["--port", "eighty"], {}),
        ([], {"DEPLOYDECK_DEMO": "maybe"}),
        (["--log-level", "loud"], {}),
        (["--log-format", "xml"], {}),
        (["--workers", "0"], {}),
        ([], {"DEPLOYDECK_WORKERS": "many"}),
    ],
)
def test_bad_values_exit_with_a_message(
    argv: list[str], env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exc:
        parse_settings(argv, env=env)
    assert exc.value.code != 0


def test_the_readme_table_names_every_declared_flag_and_variable() -> None:
    # given: the README's settings table, one row per line
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    table = readme.split("## Settings", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in table.splitlines() if line.startswith("| `--") or line.startswith("| —")]
    # when
    missing = [
        (declaration.flag, variable)
        for declaration in SETTINGS
        for variable in declaration.variables
        # a row of its flag; DEPLOYDECK_TOKENS is never a flag (a row of its own, starting `| —`)
        if not any(
            f"`{variable}`" in row and (f"`{declaration.flag}" in row or row.startswith("| —"))
            for row in rows
        )
    ]
    # then
    assert rows, "no settings table found in README.md"
    assert missing == []
