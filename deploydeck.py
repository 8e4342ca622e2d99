"""The `deploydeck` command an installed package provides: `deploydeck serve [flags]`, `deploydeck migrate`.

`serve` is `python server.py` and `migrate` is `python -m db.migrate`, with the same flags.
"""

import sys
from collections.abc import Sequence

USAGE = """usage: deploydeck {serve,migrate} [flags]

  serve    run the GraphQL server (`deploydeck serve --help` lists its flags)
  migrate  apply pending schema migrations to the database (`deploydeck migrate --help`)
"""


def main(argv: Sequence[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    command, rest = (args[0], args[1:]) if args else ("", [])
    if command == "serve":
        import server

        server.main(rest, prog="deploydeck serve")
    elif command == "migrate":
        from db import migrate

        migrate.main(rest, prog="deploydeck migrate")
    elif command in ("-h", "--help"):
        print(USAGE, end="")
    else:
        error = f"\ndeploydeck: error: unknown command {command!r}" if command else ""
        print(USAGE + error, file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
