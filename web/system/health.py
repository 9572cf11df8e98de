"""Liveness and readiness for load balancers and monitors.

`/healthz`: the process answers and its database answers. `/readyz`: besides, the database has every
migration this version needs, so an instance upgraded before `waybill migrate` ran is kept out of
rotation instead of failing requests.
"""

from __future__ import annotations

from litestar import Response, get

from models import db
from models.db.migrate import pending_migrations


async def _database_problem() -> str | None:
    try:
        await db.fetch("SELECT 1 AS ok")
    except Exception as exc:
        return f"database unavailable: {type(exc).__name__}"
    return None


@get("/healthz", include_in_schema=False)
async def healthz() -> Response:
    problem = await _database_problem()
    if problem:
        return Response({"status": "error", "detail": problem}, status_code=503)
    return Response({"status": "ok"})


@get("/readyz", include_in_schema=False)
async def readyz() -> Response:
    problem = await _database_problem()
    if problem:
        return Response({"status": "error", "detail": problem}, status_code=503)
    pending = await pending_migrations()
    if pending:
        detail = f"{len(pending)} database migration(s) not applied: run `waybill migrate`."
        return Response({"status": "error", "detail": detail, "pending_migrations": pending}, status_code=503)
    return Response({"status": "ready"})
