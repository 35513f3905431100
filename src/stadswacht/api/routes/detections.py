"""Detections: what the detectors found, as a list and as GeoJSON.

A user sees their own agency's detections and, through the sharing agreements, other agencies'
(redacted to the fields an agreement covers; ``_withheld`` names the rest). Every decision
about another agency's detection is written to the audit log (:mod:`stadswacht.api.policy`).
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime
from typing import Annotated, Any

import anyio
from fastapi import APIRouter, Query, Request, Response

from stadswacht.api.deps import CurrentUser, PlatformDep, epoch_us
from stadswacht.api.policy import gate
from stadswacht.errors import PermissionDenied
from stadswacht.model import Detection
from stadswacht.sharing.model import Action, ObjectKind
from stadswacht.sharing.policy import role_allows
from stadswacht.store.base import DetectionQuery, Store

router = APIRouter(tags=["detections"])

_OVER_STATUSES = frozenset({"ended", "cleared"})
_SCAN_PAGE = 1000
"""Detections read from the store at a time while looking for open (or ended) ones."""


def is_open(details: dict[str, Any]) -> bool:
    """Whether a detection is still going on, from its ``details``.

    One is over once its details say so: an infra finding with an ``ended`` time (or
    ``cleared``), a crowd warning or web-signal burst whose ``status`` is ``ended`` or
    ``cleared``, a hazard warning whose last change was the all clear. A detection with none
    of these (a shot) counts as open.

    >>> is_open({"check": "outage", "ended": None})
    True
    >>> is_open({"check": "outage", "ended": "2026-11-26T03:30:00.000000Z"})
    False
    >>> is_open({"status": "cleared"}), is_open({"change": "allclear"})
    (False, False)
    """
    if details.get("ended") is not None or details.get("cleared") is True:
        return False
    return details.get("status") not in _OVER_STATUSES and details.get("change") != "allclear"


def _scan(store: Store, query: DetectionQuery, want_open: bool) -> list[Detection]:
    """The first ``query.limit`` detections matching ``query`` that are open (or over), in the
    query's order; the store is read a page at a time, since whether one is open lies in its
    details, which the store does not index."""
    out: list[Detection] = []
    seen: set[str] = set()
    q = replace(query, limit=_SCAN_PAGE)
    while True:
        page = store.list_detections(q)
        fresh = [d for d in page if d.id not in seen]
        seen.update(d.id for d in fresh)
        out += [d for d in fresh if is_open(d.details) == want_open]
        if len(out) >= query.limit or len(page) < _SCAN_PAGE:
            return out[: query.limit]
        # The next page starts at the last time seen (inclusive, so that detections sharing
        # that microsecond are not skipped; those already seen are left out above). A page
        # of nothing new means more than a page share one microsecond: step past it.
        edge = page[-1].time_us
        step = 0 if fresh else 1
        if query.newest_first:
            q = replace(q, until_us=edge + 1 - step)
        else:
            q = replace(q, since_us=edge + step)


@router.get("/v1/detections")
async def list_detections(
    request: Request,
    user: CurrentUser,
    platform: PlatformDep,
    kind: str | None = None,
    area: str | None = None,
    since: Annotated[datetime | None, Query(description="From this time (RFC 3339)")] = None,
    until: Annotated[datetime | None, Query(description="Before this time (RFC 3339)")] = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
    newest_first: Annotated[
        bool, Query(description="Newest first: with a limit, the newest are kept")
    ] = False,
    open_state: Annotated[
        bool | None,
        Query(
            alias="open",
            description="true: only detections still going on (an infra finding not ended, a "
            "warning not cleared), whenever they began; false: only those that are over",
        ),
    ] = None,
) -> list[dict[str, Any]]:
    """Detections the caller may see, oldest first (or ``newest_first``): their agency's, and
    other agencies' under a sharing agreement for the purpose stated in ``X-Purpose``
    (redacted to its fields).

    Each carries its position with a 95 % uncertainty ellipse, the class probability and the
    evidence (readings as ``device:seq``). ``since`` and ``until`` bound when a detection
    began; to see every outage still going on, ask ``open=true`` without ``since``.
    """
    g = gate(request, user)
    q = DetectionQuery(
        kind=kind,
        area=area,
        since_us=epoch_us(since),
        until_us=epoch_us(until),
        agencies=g.agencies(ObjectKind.DETECTION),
        limit=limit,
        newest_first=newest_first,
    )
    if open_state is None:
        found = await anyio.to_thread.run_sync(platform.store.list_detections, q)
    else:
        found = await anyio.to_thread.run_sync(_scan, platform.store, q, open_state)
    return g.filter(Action.LIST, ObjectKind.DETECTION, (d.model_dump(mode="json") for d in found))


@router.get("/v1/detections/{detection_id}")
async def get_detection(
    request: Request, user: CurrentUser, platform: PlatformDep, detection_id: str
) -> dict[str, Any]:
    """One detection, if the caller may read it (otherwise: not found, so ids of other
    agencies are not disclosed)."""
    det = await anyio.to_thread.run_sync(platform.store.get_detection, detection_id)
    return gate(request, user).one(Action.READ, ObjectKind.DETECTION, det.model_dump(mode="json"))


@router.get("/v1/detections.geojson")
async def detections_geojson(
    request: Request,
    user: CurrentUser,
    platform: PlatformDep,
    kind: str | None = None,
    since: Annotated[datetime | None, Query(description="From this time (RFC 3339)")] = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
) -> dict[str, Any]:
    """The same detections as a GeoJSON FeatureCollection of points (RFC 7946); a detection
    whose position is withheld or unknown is left out."""
    g = gate(request, user)
    q = DetectionQuery(
        kind=kind,
        since_us=epoch_us(since),
        agencies=g.agencies(ObjectKind.DETECTION),
        limit=limit,
    )
    found = await anyio.to_thread.run_sync(platform.store.list_detections, q)
    shown = g.filter(Action.LIST, ObjectKind.DETECTION, (d.model_dump(mode="json") for d in found))
    return {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "id": d["id"],
                "geometry": {
                    "type": "Point",
                    "coordinates": [d["position"]["lon"], d["position"]["lat"]],
                },
                "properties": {k: v for k, v in d.items() if k != "position"},
            }
            for d in shown
            if d.get("position") is not None
        ],
    }


@router.get("/v1/export/detections")
async def export_detections(
    request: Request,
    user: CurrentUser,
    platform: PlatformDep,
    kind: str | None = None,
    since: Annotated[datetime | None, Query(description="From this time (RFC 3339)")] = None,
    until: Annotated[datetime | None, Query(description="Before this time (RFC 3339)")] = None,
    limit: Annotated[int, Query(ge=1, le=100_000)] = 10_000,
) -> Response:
    """Detections as a JSON Lines download, for roles that may export (analysts, supervisors,
    information managers). Another agency's detections come only under an agreement that
    allows export, redacted as for reading; every exported object of another agency is on the
    audit log."""
    if not role_allows(user.role, ObjectKind.DETECTION, Action.EXPORT):
        raise PermissionDenied(f"a user with role {user.role.value} may not export detections")
    g = gate(request, user)
    q = DetectionQuery(
        kind=kind,
        since_us=epoch_us(since),
        until_us=epoch_us(until),
        agencies=g.agencies(ObjectKind.DETECTION),
        limit=limit,
    )
    found = await anyio.to_thread.run_sync(platform.store.list_detections, q)
    docs = g.filter(Action.EXPORT, ObjectKind.DETECTION, (d.model_dump(mode="json") for d in found))
    body = "".join(json.dumps(d, separators=(",", ":")) + "\n" for d in docs)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    return Response(
        body,
        media_type="application/x-ndjson",
        headers={"Content-Disposition": f'attachment; filename="detections-{stamp}.jsonl"'},
    )
