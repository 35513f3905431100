"""Detections: what the detectors found, as a list and as GeoJSON.

A user sees their own agency's detections and, through the sharing agreements, other agencies'
(redacted to the fields an agreement covers; ``_withheld`` names the rest). Every decision
about another agency's detection is written to the audit log (:mod:`stadswacht.api.policy`).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated, Any

import anyio
from fastapi import APIRouter, Query, Request, Response

from stadswacht.api.deps import CurrentUser, PlatformDep, epoch_us
from stadswacht.api.policy import gate
from stadswacht.errors import PermissionDenied
from stadswacht.sharing.model import Action, ObjectKind
from stadswacht.sharing.policy import role_allows
from stadswacht.store.base import DetectionQuery

router = APIRouter(tags=["detections"])


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
) -> list[dict[str, Any]]:
    """Detections the caller may see, oldest first (or ``newest_first``): their agency's, and
    other agencies' under a sharing agreement for the purpose stated in ``X-Purpose``
    (redacted to its fields).

    Each carries its position with a 95 % uncertainty ellipse, the class probability and the
    evidence (readings as ``device:seq``).
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
    found = await anyio.to_thread.run_sync(platform.store.list_detections, q)
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
