"""Detections: what the detectors found, for the caller's agency, as a list and as GeoJSON."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import anyio
from fastapi import APIRouter, Query

from stadswacht.api.deps import CurrentUser, PlatformDep, epoch_us
from stadswacht.errors import NotFound
from stadswacht.model import Detection
from stadswacht.store.base import DetectionQuery

router = APIRouter(tags=["detections"])


@router.get("/v1/detections", response_model=list[Detection])
async def list_detections(
    user: CurrentUser,
    platform: PlatformDep,
    kind: str | None = None,
    area: str | None = None,
    since: Annotated[datetime | None, Query(description="From this time (RFC 3339)")] = None,
    until: Annotated[datetime | None, Query(description="Before this time (RFC 3339)")] = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
) -> list[Detection]:
    """Detections owned by the caller's agency (administrators: all), oldest first.

    Each carries its position with a 95 % uncertainty ellipse, the class probability and the
    evidence (readings as ``device:seq``). Sharing with other agencies comes with the sharing
    agreements; until then an agency sees only its own.
    """
    q = DetectionQuery(
        kind=kind,
        area=area,
        since_us=epoch_us(since),
        until_us=epoch_us(until),
        agencies=user.agencies(),
        limit=limit,
    )
    return await anyio.to_thread.run_sync(platform.store.list_detections, q)


@router.get("/v1/detections/{detection_id}", response_model=Detection)
async def get_detection(user: CurrentUser, platform: PlatformDep, detection_id: str) -> Detection:
    """One detection, if the caller's agency owns it (otherwise: not found)."""
    det = await anyio.to_thread.run_sync(platform.store.get_detection, detection_id)
    agencies = user.agencies()
    if agencies is not None and det.agency not in agencies:
        raise NotFound(f"no detection {detection_id!r}")
    return det


@router.get("/v1/detections.geojson")
async def detections_geojson(
    user: CurrentUser,
    platform: PlatformDep,
    kind: str | None = None,
    since: Annotated[datetime | None, Query(description="From this time (RFC 3339)")] = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
) -> dict[str, Any]:
    """The same detections as a GeoJSON FeatureCollection of points (RFC 7946)."""
    q = DetectionQuery(kind=kind, since_us=epoch_us(since), agencies=user.agencies(), limit=limit)
    found = await anyio.to_thread.run_sync(platform.store.list_detections, q)
    return {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "id": d.id,
                "geometry": {"type": "Point", "coordinates": [d.position.lon, d.position.lat]},
                "properties": d.model_dump(mode="json", exclude={"position"}),
            }
            for d in found
            if d.position is not None
        ],
    }
