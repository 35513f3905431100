"""Live streams of new readings and detections as Server-Sent Events, limited to the user's
agency."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Request
from sse_starlette.sse import EventSourceResponse

from stadswacht.api.deps import PlatformDep, StreamUser
from stadswacht.bus.base import DETECTIONS_PREFIX, READINGS_PREFIX

router = APIRouter(tags=["stream"])


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
    subject = f"{READINGS_PREFIX}.{area or '*'}.{kind or '*'}"
    agencies = user.agencies()

    async def events() -> AsyncIterator[dict[str, Any]]:
        sub = await platform.bus.subscribe(subject)
        try:
            yield {"event": "ready", "data": json.dumps({"subject": subject})}
            async for msg in sub:
                await msg.ack()
                doc = json.loads(msg.data)
                if agencies is not None and doc.get("agency") not in agencies:
                    continue
                if device is not None and doc.get("device") != device:
                    continue
                yield {"event": "reading", "id": str(doc.get("id", "")), "data": msg.data.decode()}
        finally:
            await sub.close()

    return EventSourceResponse(events(), ping=15)


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
    subject = f"{DETECTIONS_PREFIX}.{area or '*'}.{kind or '*'}"
    agencies = user.agencies()

    async def events() -> AsyncIterator[dict[str, Any]]:
        sub = await platform.bus.subscribe(subject)
        try:
            yield {"event": "ready", "data": json.dumps({"subject": subject})}
            async for msg in sub:
                await msg.ack()
                doc = json.loads(msg.data)
                if agencies is not None and doc.get("agency") not in agencies:
                    continue
                yield {"event": "detection", "id": msg.msg_id, "data": msg.data.decode()}
        finally:
            await sub.close()

    return EventSourceResponse(events(), ping=15)
