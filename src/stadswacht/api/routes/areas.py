"""Areas (GeoJSON) and agencies."""

from __future__ import annotations

from typing import Any

import anyio
from fastapi import APIRouter

from stadswacht.api.auth import require
from stadswacht.api.deps import CurrentUser, PlatformDep
from stadswacht.model import Agency, Area

router = APIRouter(tags=["areas"])


@router.get("/v1/areas")
async def list_areas(user: CurrentUser, platform: PlatformDep) -> dict[str, Any]:
    """All areas as a GeoJSON FeatureCollection (RFC 7946)."""
    areas = await anyio.to_thread.run_sync(platform.store.list_areas)
    return {"type": "FeatureCollection", "features": [a.to_geojson() for a in areas]}


@router.put("/v1/areas/{area_id}", response_model=Area)
async def put_area(area_id: str, body: Area, user: CurrentUser, platform: PlatformDep) -> Area:
    """Create or replace an area (administrators only)."""
    require(user)
    area = body.model_copy(update={"id": area_id})
    await anyio.to_thread.run_sync(platform.store.put_area, area)
    return area


@router.get("/v1/agencies", response_model=list[Agency])
async def list_agencies(user: CurrentUser, platform: PlatformDep) -> list[Agency]:
    """All agencies taking part."""
    return await anyio.to_thread.run_sync(platform.store.list_agencies)


@router.put("/v1/agencies/{agency_id}", response_model=Agency)
async def put_agency(
    agency_id: str, body: Agency, user: CurrentUser, platform: PlatformDep
) -> Agency:
    """Create or replace an agency (administrators only)."""
    require(user)
    agency = body.model_copy(update={"id": agency_id})
    await anyio.to_thread.run_sync(platform.store.put_agency, agency)
    return agency
