"""Liveness, readiness and Prometheus metrics.

``/healthz`` and ``/readyz`` answer without a token: probes of an orchestrator cannot log in,
and they disclose nothing but "up" (and, degraded, how much waits). ``/metrics`` needs an
administrator's token.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import anyio
from fastapi import APIRouter, Response, status
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from stadswacht.api.auth import require
from stadswacht.api.deps import CurrentUser, PlatformDep
from stadswacht.errors import StadswachtError

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


async def _answers(ping: Any) -> bool:
    try:
        await anyio.to_thread.run_sync(ping)
    except (StadswachtError, OSError):
        return False
    return True


@router.get(
    "/readyz",
    responses={
        200: {
            "description": '{"status": "ready"}, or degraded: {"status": "degraded", "store": '
            '"ok"|"down", "bus": "ok"|"down", "buffered_readings": N, "unpublished": M, '
            '"since": RFC 3339}'
        },
        503: {"description": "Ingest cannot accept readings now (same fields, status unready)"},
    },
)
async def readyz(platform: PlatformDep) -> Any:
    """Whether this process can take readings now.

    - **200** ``{"status": "ready"}``: the store and the bus answer and nothing waits.
    - **200** ``{"status": "degraded", "store": "down", "bus": "ok", "buffered_readings": N,
      "unpublished": M, "since": "..."}``: ingest still accepts readings but the store or the
      bus is down (or just back, with a backlog): ``buffered_readings`` wait in the ingest
      spool for the store, ``unpublished`` messages in the outbox for the bus; ``since`` is
      when it began. A load balancer should keep sending: nothing is lost.
    - **503** with the same fields and ``"status": "unready"``: ingest cannot accept
      readings: the store is down and the spool is full or off (or the bus is down and the
      outbox is off). A load balancer should send
      elsewhere; devices keep their readings and retry.

    See ``docs/degraded-mode.md``.
    """
    health = platform.ingestor.health()
    store_ok = await _answers(platform.store.ping)
    bus_ok = await _answers(platform.bus.ping)
    if (store_ok and health.store == "down") or (bus_ok and health.bus == "down"):
        platform.ingestor.kick()  # the drainer may be in a long back-off
    if store_ok and bus_ok and not health.degraded:
        return {"status": "ready"}
    accepting = (store_ok or health.spool == "ok") and (
        bus_ok or platform.ingestor.outbox is not None
    )
    since = health.since
    if since is None and not (store_ok and bus_ok):
        since = platform.ingestor.clock()
    doc = {
        "status": "degraded" if accepting else "unready",
        "store": "ok" if store_ok else "down",
        "bus": "ok" if bus_ok else "down",
        "buffered_readings": health.buffered_readings,
        "unpublished": health.unpublished,
        "since": None if since is None else datetime.fromtimestamp(since, UTC).isoformat(),
    }
    if accepting:
        return doc
    if not bus_ok and platform.ingestor.outbox is None:
        doc["detail"] = "the bus is unavailable (no outbox configured)"
    elif health.spool == "full":
        doc["detail"] = "the store is unavailable and the ingest spool is full"
    else:
        doc["detail"] = "the store is unavailable (no ingest spool configured)"
    return JSONResponse(
        doc, status_code=status.HTTP_503_SERVICE_UNAVAILABLE, headers={"Retry-After": "30"}
    )


@router.get("/metrics")
async def metrics(user: CurrentUser) -> Response:
    """Prometheus metrics (administrators only)."""
    require(user)
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
