"""Liveness and readiness for load balancers and monitors."""

from __future__ import annotations

from litestar import Response, get

from models import db


@get("/healthz", include_in_schema=False)
async def healthz() -> Response:
    try:
        await db.fetch("SELECT 1 AS ok")
    except Exception as exc:
        return Response({"status": "error", "detail": f"database unavailable: {type(exc).__name__}"}, status_code=503)
    return Response({"status": "ok"})
