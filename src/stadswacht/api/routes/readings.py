"""Readings: devices post them (signed), users query them (paginated; their agency's and, under
sharing agreements, other agencies')."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import anyio
from fastapi import APIRouter, HTTPException, Query, Request, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from stadswacht.api.deps import CurrentUser, PlatformDep, epoch_us
from stadswacht.api.policy import gate
from stadswacht.errors import InvalidReading
from stadswacht.ingest.service import SpoolFull, parse_body
from stadswacht.model import StoredReading
from stadswacht.sharing.model import Action, ObjectKind
from stadswacht.store.base import ReadingQuery

router = APIRouter(tags=["readings"])


class Rejected(BaseModel):
    """Why one item of a batch was refused."""

    index: int
    reason: str
    message: str


class IngestAnswer(BaseModel):
    """The answer to a batch, item by item."""

    accepted: int
    duplicates: list[int]
    rejected: list[Rejected]
    buffered: list[int] = Field(
        default_factory=list,
        description="Items kept in the ingest spool while the store is down (answered 202); "
        "they are stored later and must not be sent again",
    )


class ReadingPage(BaseModel):
    """A page of readings; pass ``next_after_id`` as ``after_id`` for the next one."""

    items: list[dict[str, Any]] = Field(
        description="Readings (as stored; another agency's may come redacted: see _withheld)"
    )
    next_after_id: int | None


async def _read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise HTTPException(
            status.HTTP_413_CONTENT_TOO_LARGE,
            f"body of {declared} bytes exceeds the limit of {limit}; send smaller batches",
        )
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise HTTPException(
                status.HTTP_413_CONTENT_TOO_LARGE,
                f"body exceeds the limit of {limit} bytes; send smaller batches",
            )
        chunks.append(chunk)
    return b"".join(chunks)


@router.post(
    "/v1/readings",
    response_model=IngestAnswer,
    responses={
        202: {
            "model": IngestAnswer,
            "description": "The store is down: the readings that passed their checks are kept "
            "in the ingest spool (listed in buffered) and stored once it answers",
        },
        503: {
            "description": "The store is down and the spool is full: nothing was kept; keep "
            "the readings and retry after Retry-After seconds"
        },
    },
    openapi_extra={
        "security": [],
        "requestBody": {
            "content": {
                "application/json": {"schema": {"type": "object"}},
                "application/x-ndjson": {"schema": {"type": "string"}},
            }
        },
    },
)
async def post_readings(request: Request, platform: PlatformDep) -> Any:
    """Submit readings: ``{"readings": [...]}``, a JSON array, NDJSON, or a gateway batch.

    Authentication is per reading: each carries its device's Ed25519 signature (a gateway
    batch, the gateway's). The answer is per item: one bad reading never sinks the others.

    While the store is down, readings that pass their checks are kept in the ingest spool and
    the answer is 202 with their indices in ``buffered`` (``docs/degraded-mode.md``); when the
    spool is full too, 503 with ``Retry-After``: nothing was kept, send the batch again later.
    """
    client = request.client.host if request.client else "?"
    if not request.app.state.ip_limiter.take(client):
        wait = request.app.state.ip_limiter.retry_after(client)
        raise HTTPException(
            status.HTTP_429_TOO_MANY_REQUESTS,
            f"too many requests from this address; retry in {wait:.1f} s",
            headers={"Retry-After": str(max(1, round(wait)))},
        )
    settings = platform.settings
    body = await _read_body(request, settings.max_body_bytes)
    ctype = request.headers.get("content-type", "application/json")
    try:
        items = parse_body(body, ctype)
    except InvalidReading as exc:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, str(exc)) from exc
    if len(items) > settings.max_batch_items:
        raise HTTPException(
            status.HTTP_413_CONTENT_TOO_LARGE,
            f"batch of {len(items)} readings exceeds the limit of {settings.max_batch_items}",
        )
    try:
        result = await anyio.to_thread.run_sync(
            lambda: platform.ingestor.ingest(items, transport="http", source=client)
        )
    except SpoolFull as exc:
        return JSONResponse(
            {"detail": str(exc)},
            status_code=status.HTTP_503_SERVICE_UNAVAILABLE,
            headers={"Retry-After": str(max(1, round(exc.retry_after)))},
        )
    code = status.HTTP_202_ACCEPTED if result.buffered else status.HTTP_200_OK
    return JSONResponse(result.as_dict(), status_code=code)


@router.get("/v1/readings", response_model=ReadingPage)
async def query_readings(
    request: Request,
    user: CurrentUser,
    platform: PlatformDep,
    device: str | None = None,
    kind: str | None = None,
    area: str | None = None,
    since: Annotated[datetime | None, Query(description="From this time (RFC 3339)")] = None,
    until: Annotated[datetime | None, Query(description="Before this time (RFC 3339)")] = None,
    after_id: Annotated[int, Query(ge=0, le=2**63 - 1)] = 0,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
) -> ReadingPage:
    """Readings the caller may see, filtered, in arrival order: their agency's, and other
    agencies' under a sharing agreement for the purpose in ``X-Purpose`` (every such read is
    audited; a reading whose fields an agreement does not cover comes redacted).

    Pages follow ids. With several ingest processes on PostgreSQL, a row can become visible
    after a reader has paged past its id (ids are handed out at insert, rows appear at
    commit): to follow new readings, use the live stream, not polling by id.
    """
    g = gate(request, user)
    q = ReadingQuery(
        device=device,
        kind=kind,
        area=area,
        since_us=epoch_us(since),
        until_us=epoch_us(until),
        agencies=g.agencies(ObjectKind.READING),
        after_id=after_id,
        limit=limit,
    )
    items = await anyio.to_thread.run_sync(platform.store.query_readings, q)
    last = items[-1].id if len(items) == limit and items else None
    docs = (_reading_doc(r) for r in items)
    return ReadingPage(items=g.filter(Action.LIST, ObjectKind.READING, docs), next_after_id=last)


def _reading_doc(r: StoredReading) -> dict[str, Any]:
    return {
        "id": r.id, "device": r.device, "seq": r.seq, "time": r.time, "kind": r.kind,
        "values": r.values, "agency": r.agency, "area": r.area, "sig": r.sig,
        "received_us": r.received_us,
    }  # fmt: skip
