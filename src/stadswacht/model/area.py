"""Positions (WGS84), areas (polygons) and agencies.

>>> a = Area(id="iz", name="International Zone",
...          polygon=[(4.28, 52.09), (4.30, 52.09), (4.30, 52.10), (4.28, 52.10)])
>>> a.contains(Position(lat=52.095, lon=4.29))
True
>>> a.contains(Position(lat=52.2, lon=4.29))
False
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

__all__ = ["Agency", "AgencyId", "Area", "AreaId", "Position"]

_ID_PATTERN = r"^[a-z0-9][a-z0-9_.-]{0,63}$"
AgencyId = Annotated[str, StringConstraints(pattern=_ID_PATTERN)]
"""Lower-case id of an agency, e.g. ``police``, ``municipality-den-haag``."""
AreaId = Annotated[str, StringConstraints(pattern=_ID_PATTERN)]
"""Lower-case id of an area, e.g. ``international-zone``."""


class Position(BaseModel):
    """A point in WGS84 (EPSG:4326)."""

    model_config = ConfigDict(frozen=True)

    lat: float = Field(ge=-90, le=90, description="Latitude [degrees north]")
    lon: float = Field(ge=-180, le=180, description="Longitude [degrees east]")


class Agency(BaseModel):
    """An organisation that owns devices and data: municipality, police, water board, ..."""

    model_config = ConfigDict(frozen=True)

    id: AgencyId
    name: str = Field(min_length=1, max_length=200)


class Area(BaseModel):
    """A named area bounded by one polygon ring of ``(lon, lat)`` vertices (GeoJSON order)."""

    model_config = ConfigDict(frozen=True)

    id: AreaId
    name: str = Field(min_length=1, max_length=200)
    polygon: tuple[tuple[float, float], ...] = Field(min_length=3)
    walkable_area_m2: float | None = Field(
        default=None, gt=0, description="Area people can stand or walk on [m²] (crowd density)"
    )
    gates: dict[str, float] = Field(
        default_factory=dict, description="Gates into the area: id → clear width [m]"
    )
    agency: AgencyId | None = Field(
        default=None, description="The agency responsible for the area (warnings go to it)"
    )
    security_lead: str | None = Field(
        default=None, max_length=200, description="Who can stop the show (an event's lead)"
    )

    @field_validator("polygon")
    @classmethod
    def _check_ring(cls, ring: tuple[tuple[float, float], ...]) -> tuple[tuple[float, float], ...]:
        for lon, lat in ring:
            if not (-180 <= lon <= 180 and -90 <= lat <= 90):
                raise ValueError(f"vertex ({lon}, {lat}) is not a WGS84 (lon, lat) pair")
        if ring[0] == ring[-1]:
            ring = ring[:-1]
        if len(ring) < 3:
            raise ValueError("a polygon needs at least 3 distinct vertices")
        return ring

    def contains(self, point: Position) -> bool:
        """Whether ``point`` lies inside the polygon (ray casting; edges count as outside)."""
        x, y = point.lon, point.lat
        inside = False
        ring = self.polygon
        j = len(ring) - 1
        for i in range(len(ring)):
            xi, yi = ring[i]
            xj, yj = ring[j]
            if (yi > y) != (yj > y) and x < (xj - xi) * (y - yi) / (yj - yi) + xi:
                inside = not inside
            j = i
        return inside

    def to_geojson(self) -> dict[str, Any]:
        """The area as a GeoJSON Feature (RFC 7946), ring closed."""
        ring = [list(v) for v in self.polygon]
        ring.append(ring[0])
        return {
            "type": "Feature",
            "id": self.id,
            "properties": {"name": self.name},
            "geometry": {"type": "Polygon", "coordinates": [ring]},
        }
