"""Live streams of new readings and detections as Server-Sent Events, limited to the user's
agency."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from typing import Any

from fastapi import APIRouter, Request
from sse_starlette.sse import EventSourceResponse

from stadswacht.api.deps import PlatformDep, StreamUser
from stadswacht.bus.base import DETECTIONS_PREFIX, READINGS_PREFIX, Message
from stadswacht.pipeline import Platform

router = APIRouter(tags=["stream"])


def _relay(
    platform: Platform,
    subject: str,
    event: str,
    agencies: frozenset[str] | None,
    event_id: Callable[[Message, dict[str, Any]], str],
    keep: Callable[[dict[str, Any]], bool] = lambda doc: True,
) -> EventSourceResponse:
    """Relay bus messages on ``subject`` as SSE events named ``event``: first a ``ready``
    event, then each message owned by one of ``agencies`` (None: all) that ``keep`` accepts."""

    async def events() -> AsyncIterator[dict[str, Any]]:
        sub = await platform.bus.subscribe(subject)
        try:
            yield {"event": "ready", "data": json.dumps({"subject": subject})}
            async for msg in sub:
                await msg.ack()
                doc = json.loads(msg.data)
                if agencies is not None and doc.get("agency") not in agencies:
                    continue
                if keep(doc):
                    yield {"event": event, "id": event_id(msg, doc), "data": msg.data.decode()}
        finally:
            await sub.close()

    return EventSourceResponse(events(), ping=15)


@router.get("/v1/stream/readings")
async def stream_readings(
    request: Request,
    user: StreamUser,
    platform: PlatformDep,
    area: str | None = None,
    kind: str | None = None,
    device: str | None = None,
) -> EventSourceResponse:
    """New readings as they are stored: one SSE event ``reading`` each, data the reading JSON.

    Filter by ``area``, ``kind`` or ``device``. Only readings of the user's agency are sent
    (administrators: all).
    """
    return _relay(
        platform,
        f"{READINGS_PREFIX}.{area or '*'}.{kind or '*'}",
        "reading",
        user.agencies(),
        lambda msg, doc: str(doc.get("id", "")),
        lambda doc: device is None or doc.get("device") == device,
    )


@router.get("/v1/stream/detections")
async def stream_detections(
    request: Request,
    user: StreamUser,
    platform: PlatformDep,
    area: str | None = None,
    kind: str | None = None,
) -> EventSourceResponse:
    """Detections as they are raised or updated: one SSE event ``detection`` per version, data
    the detection JSON (``GET /v1/detections/{id}``). Only the user's agency's (administrators:
    all)."""
    return _relay(
        platform,
        f"{DETECTIONS_PREFIX}.{area or '*'}.{kind or '*'}",
        "detection",
        user.agencies(),
        lambda msg, doc: msg.msg_id,
    )
