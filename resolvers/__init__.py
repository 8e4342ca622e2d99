"""Query and mutation logic: validation, pagination, transitions. Returns rows, never Strawberry types."""
