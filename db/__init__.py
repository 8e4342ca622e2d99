"""Storage: SQLAlchemy 2 async models, queries and demo data. Knows nothing of GraphQL."""
