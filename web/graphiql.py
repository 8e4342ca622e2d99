"""GraphiQL, served entirely from this server (placeholder: strawberry's CDN page until vendored)."""

from starlette.routing import BaseRoute
from strawberry.http.ides import get_graphql_ide_html


def page() -> str:
    return get_graphql_ide_html(graphql_ide="graphiql")


def routes() -> list[BaseRoute]:
    return []
