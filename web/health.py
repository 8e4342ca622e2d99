"""Probes for load balancers: /healthz (the process answers) and /readyz (the database answers)."""

from sqlalchemy import text
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from db.engine import Database


def routes() -> list[Route]:
    async def healthz(_: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    async def readyz(request: Request) -> JSONResponse:
        db: Database | None = getattr(request.app.state, "db", None)
        if db is None:
            return JSONResponse({"status": "starting"}, status_code=503)
        try:
            async with db.read() as session:
                await session.execute(text("SELECT 1"))
        except Exception as exc:  # any failure means not ready; say which
            return JSONResponse({"status": "unavailable", "reason": type(exc).__name__}, status_code=503)
        return JSONResponse({"status": "ready"})

    return [Route("/healthz", healthz, methods=["GET"]), Route("/readyz", readyz, methods=["GET"])]
