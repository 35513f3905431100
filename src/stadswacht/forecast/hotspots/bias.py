"""Bias audit of a hotspot forecast: who lives where the patrols would go.

For each area (neighbourhood, district: any polygons in the grid's CRS) the **exposure ratio**
is the area's share of flagged cells divided by its share of reported crime::

    exposure[a] = (flagged cell-days in a / flagged cell-days in all areas)
                  / (incidents in a / incidents in all areas)

1 means the area is flagged in proportion to its reported crime; above 1 it gets more
attention than its crime share, below 1 less. A cell belongs to the area containing its
centre (cells whose centre is in no area are left out of both shares). Reported crime is
itself shaped by past policing, so a ratio of 1 is parity with the record, not with the truth
(see :mod:`stadswacht.forecast.hotspots.feedback`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from numpy.typing import NDArray

__all__ = ["Exposure", "area_of_cells", "area_of_points", "exposure_ratio", "read_areas"]


@dataclass(frozen=True)
class Exposure:
    """Exposure ratio per area, with the two shares it is made of."""

    names: tuple[str, ...]
    flagged_share: NDArray[np.float64]
    crime_share: NDArray[np.float64]
    ratio: NDArray[np.float64]

    def as_dict(self) -> dict[str, float]:
        """Area name -> exposure ratio."""
        return {n: float(r) for n, r in zip(self.names, self.ratio, strict=True)}


def read_areas(
    path: str | Path, *, crs: int, name_field: str | None = None
) -> tuple[tuple[str, ...], list[Any]]:
    """Polygons of a GeoJSON file (longitude/latitude) reprojected to EPSG ``crs`` [m].

    ``name_field`` is the property naming each area (default: the first string property).

    Returns
    -------
    names, shapely geometries
    """
    from pyproj import Transformer

    data = json.loads(Path(path).read_text(encoding="utf-8"))
    to_m = Transformer.from_crs(4326, crs, always_xy=True)
    names: list[str] = []
    geoms: list[Any] = []
    for i, feat in enumerate(data["features"]):
        props = feat.get("properties") or {}
        field = name_field or next((k for k, v in props.items() if isinstance(v, str)), None)
        names.append(str(props.get(field, i)) if field else str(i))
        geom = shapely.geometry.shape(feat["geometry"])
        geoms.append(shapely.transform(geom, lambda c: np.column_stack(to_m.transform(*c.T))))
    return tuple(names), geoms


def area_of_points(
    x: NDArray[np.floating], y: NDArray[np.floating], areas: list[Any]
) -> NDArray[np.int64]:
    """Index of the first area containing each point, -1 outside every area.

    >>> sq = shapely.box(0, 0, 1, 1)
    >>> area_of_points(np.array([0.5, 2.0]), np.array([0.5, 0.5]), [sq]).tolist()
    [0, -1]
    """
    out = np.full(len(x), -1, dtype=np.int64)
    for i, geom in reversed(list(enumerate(areas))):
        out[shapely.contains_xy(geom, x, y)] = i
    return out


def area_of_cells(
    centres: tuple[NDArray[Any], NDArray[Any]] | NDArray[Any], areas: list[Any]
) -> NDArray[np.int64]:
    """Area index of each cell from its centre (``grid.centres()``: (x, y) or (n, 2))."""
    if isinstance(centres, tuple):
        cx, cy = np.asarray(centres[0]).ravel(), np.asarray(centres[1]).ravel()
    else:
        c = np.asarray(centres).reshape(-1, 2)
        cx, cy = c[:, 0], c[:, 1]
    return area_of_points(cx, cy, areas)


def exposure_ratio(
    flagged: NDArray[np.integer],
    cell_area: NDArray[np.integer],
    incident_area: NDArray[np.integer],
    names: tuple[str, ...],
) -> Exposure:
    """Exposure ratio of each area.

    Parameters
    ----------
    flagged : per cell, how many times it was flagged (e.g. days in the top 5 %)
    cell_area : per cell, the index of its area (-1: none)
    incident_area : per reported incident, the index of its area (-1: none)
    names : area names, in index order

    Examples
    --------
    Two areas; area 0 has 3 of the 4 flagged cell-days but half of the crime:

    >>> e = exposure_ratio(np.array([2, 1, 1, 0]), np.array([0, 0, 1, 1]),
    ...                    np.array([0, 1, 0, 1]), ("a", "b"))
    >>> e.as_dict()
    {'a': 1.5, 'b': 0.5}
    """
    k = len(names)
    cell_area = np.asarray(cell_area)
    inside = cell_area >= 0
    f = np.bincount(
        cell_area[inside], weights=np.asarray(flagged, dtype=np.float64)[inside], minlength=k
    )
    inc = np.asarray(incident_area)
    c = np.bincount(inc[inc >= 0], minlength=k).astype(np.float64)
    fs = f / max(f.sum(), 1.0)
    cs = c / max(c.sum(), 1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(cs > 0, fs / np.where(cs > 0, cs, 1.0), np.where(fs > 0, np.inf, np.nan))
    return Exposure(tuple(names), fs, cs, ratio)
