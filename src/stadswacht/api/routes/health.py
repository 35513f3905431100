"""Liveness, readiness and Prometheus metrics.

``/healthz`` and ``/readyz`` answer without a token: probes of an orchestrator cannot log in,
and they disclose nothing but "up". ``/metrics`` needs an administrator's token.
"""

from __future__ import annotations

import anyio
from fastapi import APIRouter, HTTPException, Response, status
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from stadswacht.api.auth import require
from stadswacht.api.deps import CurrentUser, PlatformDep
from stadswacht.errors import BusError, StorageError

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


@router.get("/readyz")
async def readyz(platform: PlatformDep) -> dict[str, str]:
    """The store and the bus answer; 503 if not."""
    try:
        await anyio.to_thread.run_sync(platform.store.ping)
    except StorageError as exc:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "store unreachable") from exc
    try:
        await anyio.to_thread.run_sync(platform.bus.ping)
    except BusError as exc:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "bus unreachable") from exc
    return {"status": "ready"}


@router.get("/metrics")
async def metrics(user: CurrentUser) -> Response:
    """Prometheus metrics (administrators only)."""
    require(user)
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
