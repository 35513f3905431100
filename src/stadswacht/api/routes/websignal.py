"""Web signals: posts pushed in, counts out, individual posts for the roles that need them.

- ``POST /v1/websignal/posts?source=<feed id>``: a source pushes public posts
  (``{"posts": [...]}``), answered per item like ``/v1/readings``: ``{"accepted",
  "duplicates", "rejected": [{"index", "reason", "message"}], "detections"}``. Role
  ``integrator`` (posts owned by their agency) or ``admin`` (owned by
  ``STADSWACHT_WEBSIGNAL_AGENCY``). Handles are pseudonymised on arrival, never stored.
- ``GET /v1/websignal/counts``: posts per area and information type over a period, for cells
  with at least ``min_published_count`` (5) distinct authors; smaller cells say ``"<5"``.
  Kind ``websignal_count`` (``TLP:GREEN``) under the sharing policy.
- ``GET /v1/websignal/posts``: individual (pseudonymised) posts, kind ``post`` (``TLP:AMBER``):
  only roles that check bursts (analyst, supervisor, admin) of the owning agency, or of another
  agency under an agreement for kind ``post`` and the stated purpose. Every post shown is on the
  audit log, own agency's too, and so is a refused request.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import anyio
from fastapi import APIRouter, HTTPException, Query, Request, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, ValidationError

from stadswacht.api.auth import Principal
from stadswacht.api.deps import CurrentUser, PlatformDep, epoch_us
from stadswacht.api.policy import gate
from stadswacht.detect.websignal.aggregate import count_posts
from stadswacht.errors import PermissionDenied
from stadswacht.model import Role
from stadswacht.pipeline import Platform
from stadswacht.pipeline.websignal import PostIntake, WebsignalService, WebsignalStage
from stadswacht.sharing.model import Action, ObjectKind
from stadswacht.sharing.policy import redact, role_allows
from stadswacht.store.base import PostQuery

__all__ = ["router"]

router = APIRouter(tags=["websignal"])

MAX_PUSH = 5000
"""Most posts in one push."""

DEFAULT_PERIOD = timedelta(hours=1)
"""Counts cover the last hour unless ``since`` says otherwise."""

_SOURCE = r"^[a-z0-9][a-z0-9_.:-]{0,63}$"


class PostBatch(BaseModel):
    """A batch of posts; each is checked on its own (``text``, ``time``, ``author``, and
    optionally ``id``, ``lang``, ``position`` ``[lon, lat]``, ``place``)."""

    posts: list[Any] = Field(max_length=MAX_PUSH)


def intake_of(request: Request) -> PostIntake:
    """The platform's post intake (``platform.websignal``, a
    :class:`~stadswacht.pipeline.websignal.WebsignalService`, when the platform runs one), or
    one made for this app on first use, with its own burst stage."""
    platform: Platform = request.app.state.platform
    wired = getattr(platform, "websignal", None)
    if isinstance(wired, WebsignalService):
        return wired.intake
    intake: PostIntake | None = getattr(request.app.state, "websignal_intake", None)
    if intake is None:
        stage = WebsignalStage(
            areas=platform.store.list_areas, agency=platform.settings.websignal_agency
        )
        intake = PostIntake.from_settings(platform.settings, platform.store, stage=stage)
        request.app.state.websignal_intake = intake
    return intake


def _audit(
    platform: Platform, user: Principal, purpose: str | None, rows: list[dict[str, Any]]
) -> None:
    platform.record_access(
        [
            {
                "actor": user.name,
                "actor_agency": user.agency,
                "actor_role": user.role.value,
                "purpose": purpose,
                **row,
            }
            for row in rows
        ]
    )


def _invalid(errors: list[dict[str, Any]]) -> JSONResponse:
    """A 422 answer that names where and what is wrong, without the value: the body holds
    raw handles and texts of persons, which an error answer (or a log of it) must not echo."""
    return JSONResponse(
        {
            "detail": [
                {"loc": ["body", *e.get("loc", ())], "msg": e["msg"], "type": e["type"]}
                for e in errors
            ]
        },
        status_code=status.HTTP_422_UNPROCESSABLE_CONTENT,
    )


async def _batch(request: Request, limit: int) -> PostBatch | JSONResponse:
    """The request body as a :class:`PostBatch`, or the 422 answer without the input."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise HTTPException(
            status.HTTP_413_CONTENT_TOO_LARGE,
            f"body of {declared} bytes exceeds the limit of {limit}; send smaller batches",
        )
    body = await request.body()
    if len(body) > limit:
        raise HTTPException(
            status.HTTP_413_CONTENT_TOO_LARGE,
            f"body exceeds the limit of {limit} bytes; send smaller batches",
        )
    try:
        doc = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return _invalid([{"loc": (), "msg": "the body is not JSON", "type": "json_invalid"}])
    try:
        return PostBatch.model_validate(doc)
    except ValidationError as exc:
        return _invalid(
            [
                {"loc": e["loc"], "msg": e["msg"], "type": e["type"]}
                for e in exc.errors(include_url=False, include_input=False)
            ]
        )


@router.post(
    "/v1/websignal/posts",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": PostBatch.model_json_schema()}},
        }
    },
    responses={
        422: {
            "description": "The body is not a batch of posts: where and what, never the "
            "value (it may hold handles)"
        }
    },
)
async def push_posts(
    request: Request,
    user: CurrentUser,
    platform: PlatformDep,
    source: Annotated[str, Query(pattern=_SOURCE, description="The feed's source id")],
) -> Any:
    """Take in a batch of public posts from one source (``{"posts": [...]}``); one bad post
    does not lose the rest. A malformed body is answered 422 with where and what is wrong,
    without echoing the body."""
    if user.role not in (Role.INTEGRATOR, Role.ADMIN):
        raise PermissionDenied(
            f"role {user.role.value} may not push posts; an integrator or admin may"
        )
    batch = await _batch(request, platform.settings.max_body_bytes)
    if isinstance(batch, JSONResponse):
        return batch
    intake = intake_of(request)
    agency = None if user.is_admin else user.agency

    def work() -> dict[str, Any]:
        from stadswacht.pipeline.detectors import publish_detections

        result = intake.ingest(batch.posts, source, agency=agency)
        if result.detections:
            publish_detections(platform.store, platform.bus, result.detections)
        _audit(
            platform,
            user,
            None,
            [{"action": "ingest", "object_kind": ObjectKind.POST.value, "object_id": source,
              "owner": agency or intake.agency, "outcome": "allow", "reason": "push",
              "accepted": result.stored, "duplicates": result.duplicates,
              "rejected": len(result.rejected)}],
        )  # fmt: skip
        return result.as_dict()

    return await anyio.to_thread.run_sync(work)


@router.get("/v1/websignal/counts")
async def websignal_counts(
    request: Request,
    user: CurrentUser,
    platform: PlatformDep,
    area: str | None = None,
    since: Annotated[datetime | None, Query(description="From (RFC 3339); default 1 h ago")] = None,
    until: Annotated[datetime | None, Query(description="Before (RFC 3339); default now")] = None,
    relevant_only: Annotated[bool, Query(description="Only safety-relevant posts")] = True,
) -> dict[str, Any]:
    """Posts per area and information type in a period, for cells of at least
    ``min_published_count`` distinct authors (smaller cells: ``authors`` and ``posts`` are
    ``null`` with ``count_coarse: "<5"``)."""
    g = gate(request, user)
    now = datetime.now(UTC)
    since = since or now - DEFAULT_PERIOD
    until = until or now
    minimum = platform.settings.min_published_count
    query = PostQuery(
        area=area, since_us=epoch_us(since), until_us=epoch_us(until),
        agencies=g.agencies(ObjectKind.WEBSIGNAL_COUNT), relevant_only=relevant_only,
        limit=1_000_000,
    )  # fmt: skip

    def docs() -> list[dict[str, Any]]:
        posts = platform.store.list_posts(query)
        rows = [
            {"agency": p.agency, "area": p.area, "info_type": p.info_type, "author": p.author,
             "relevant": p.relevant}
            for p in posts
        ]  # fmt: skip
        return count_posts(rows, minimum=minimum)

    cells = g.filter(Action.LIST, ObjectKind.WEBSIGNAL_COUNT, await anyio.to_thread.run_sync(docs))
    return {
        "since": since.astimezone(UTC).isoformat(),
        "until": until.astimezone(UTC).isoformat(),
        "min_authors": minimum,
        "cells": cells,
    }


@router.get("/v1/websignal/posts")
async def list_posts(
    request: Request,
    user: CurrentUser,
    platform: PlatformDep,
    area: str | None = None,
    info_type: str | None = None,
    relevant_only: bool = False,
    since: Annotated[datetime | None, Query(description="From this time (RFC 3339)")] = None,
    until: Annotated[datetime | None, Query(description="Before this time (RFC 3339)")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[dict[str, Any]]:
    """Individual posts (pseudonymised), newest first, for the roles that check bursts; every
    post shown is on the audit log."""
    g = gate(request, user)
    if not role_allows(user.role, ObjectKind.POST, Action.LIST):
        _audit(
            platform,
            user,
            g.purpose,
            [{"action": Action.LIST.value, "object_kind": ObjectKind.POST.value,
              "object_id": "*", "owner": user.agency, "outcome": "deny",
              "reason": "role-not-allowed"}],
        )  # fmt: skip
        raise PermissionDenied(f"role {user.role.value} may not read individual posts")
    query = PostQuery(
        area=area, info_type=info_type, relevant_only=relevant_only,
        since_us=epoch_us(since), until_us=epoch_us(until),
        agencies=g.agencies(ObjectKind.POST), limit=limit, newest_first=True,
    )  # fmt: skip

    def work() -> list[dict[str, Any]]:
        shown: list[dict[str, Any]] = []
        audited: list[dict[str, Any]] = []
        for p in platform.store.list_posts(query):
            doc = {**json.loads(p.doc), "kind": "post"}
            d = g.decide(Action.LIST, ObjectKind.POST, doc)
            if not d.allow:
                continue
            out = redact(doc, d) if d.fields is not None else {**doc, "_withheld": []}
            shown.append(out)
            audited.append(
                {"action": Action.LIST.value, "object_kind": ObjectKind.POST.value,
                 "object_id": p.id, "owner": p.agency, "outcome": "allow", "reason": d.code,
                 "basis": d.basis, "withheld": out["_withheld"]}
            )  # fmt: skip
        _audit(platform, user, g.purpose, audited)
        return shown

    return await anyio.to_thread.run_sync(work)
