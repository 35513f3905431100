"""Live streams of new readings and detections as Server-Sent Events: each message goes through
the policy decision point (own agency, or a sharing agreement for the stated purpose),
redacted to the fields the agreement covers and audited when it is another agency's."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request
from sse_starlette.sse import EventSourceResponse

from stadswacht.api.deps import PlatformDep, StreamUser
from stadswacht.api.policy import Gate, gate
from stadswacht.bus.base import DETECTIONS_PREFIX, READINGS_PREFIX, Message
from stadswacht.fusion.service import INCIDENTS_PREFIX
from stadswacht.pipeline import Platform
from stadswacht.sharing.model import Action, ObjectKind

router = APIRouter(tags=["stream"])


def _relay(
    platform: Platform,
    subject: str,
    event: str,
    g: Gate,
    kind: ObjectKind,
    event_id: Callable[[Message, dict[str, Any]], str],
    keep: Callable[[dict[str, Any]], bool] = lambda doc: True,
) -> EventSourceResponse:
    """Relay bus messages on ``subject`` as SSE events named ``event``: first a ``ready``
    event, then each message that ``keep`` accepts and the gate allows, as the user may see
    it (the policy is asked per message, at the time it comes)."""

    async def events() -> AsyncIterator[dict[str, Any]]:
        sub = await platform.bus.subscribe(subject)
        try:
            yield {"event": "ready", "data": json.dumps({"subject": subject})}
            async for msg in sub:
                await msg.ack()
                doc = json.loads(msg.data)
                if not keep(doc):
                    continue
                g.at = datetime.now(UTC)
                shown = g.filter(Action.STREAM, kind, [doc])
                if shown:
                    data = json.dumps(shown[0], separators=(",", ":"))
                    yield {"event": event, "id": event_id(msg, doc), "data": data}
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

    Filter by ``area``, ``kind`` or ``device``. Readings of the user's agency are sent, and
    other agencies' under a sharing agreement for the purpose in ``X-Purpose`` (or
    ``?purpose=``).
    """
    return _relay(
        platform,
        f"{READINGS_PREFIX}.{area or '*'}.{kind or '*'}",
        "reading",
        gate(request, user),
        ObjectKind.READING,
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
    the detection JSON (``GET /v1/detections/{id}``), as the user may see it."""
    return _relay(
        platform,
        f"{DETECTIONS_PREFIX}.{area or '*'}.{kind or '*'}",
        "detection",
        gate(request, user),
        ObjectKind.DETECTION,
        lambda msg, doc: msg.msg_id,
    )


@router.get("/v1/stream/incidents")
async def stream_incidents(
    request: Request,
    user: StreamUser,
    platform: PlatformDep,
    area: str | None = None,
) -> EventSourceResponse:
    """Incidents as they are opened and changed (a detection joins, a status changes, a step
    is done, an escalation): one SSE event ``incident`` per version, data the incident JSON
    (``GET /v1/incidents/{id}``) as the user may see it."""
    return _relay(
        platform,
        f"{INCIDENTS_PREFIX}.{area or '*'}",
        "incident",
        gate(request, user),
        ObjectKind.INCIDENT,
        lambda msg, doc: msg.msg_id,
    )
