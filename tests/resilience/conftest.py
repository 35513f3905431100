"""A small city in metres: helpers that place nodes by their projected coordinates."""

from __future__ import annotations

from typing import Any

import numpy as np
import shapely

from stadswacht.resilience.geo import LocalProjection

LON0, LAT0 = 4.30, 52.08
"""The centre of the test city (The Hague)."""

PROJ = LocalProjection(LON0, LAT0)


def lonlat(x: float, y: float) -> list[float]:
    """The WGS84 ``[lon, lat]`` of a point ``x`` m east and ``y`` m north of the centre."""
    p = PROJ.inverse(shapely.points([x, y]))
    return [float(p.x), float(p.y)]


def square(half: float) -> list[list[float]]:
    """A square ring ``2 * half`` m wide around the centre, as ``[lon, lat]`` vertices."""
    return [lonlat(x, y) for x, y in ((-half, -half), (half, -half), (half, half), (-half, half))]


def metric(geojson: dict[str, Any]) -> Any:
    """A GeoJSON geometry (WGS84) back in the test city's metres."""
    return PROJ.forward(shapely.geometry.shape(geojson))


def lens_area(r: float, d: float) -> float:
    """Area of the intersection of two circles of radius ``r`` whose centres are ``d`` apart."""
    return float(2 * r * r * np.arccos(d / (2 * r)) - d / 2 * np.sqrt(4 * r * r - d * d))
