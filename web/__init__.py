"""HTTP layer: the GraphQL endpoint over HTTP, GraphiQL, middleware. Imports schema and resolvers."""
