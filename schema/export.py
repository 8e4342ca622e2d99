"""Write the served SDL to schema.graphql: `python -m schema.export`."""

from pathlib import Path

from schema import schema

if __name__ == "__main__":
    target = Path(__file__).resolve().parent.parent / "schema.graphql"
    target.write_text(schema.as_str() + "\n")
    print(f"wrote {target}")
