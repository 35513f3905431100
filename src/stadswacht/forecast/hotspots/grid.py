"""A square grid over a study area, the unit every hotspot model forecasts for.

Cells are numbered row by row from the south-west corner: cell ``k`` is column ``k % nx``,
row ``k // nx``. A cell belongs to the study area when its centre lies inside the polygon
(``Grid.mask``); model outputs are flat arrays of ``nx * ny`` values with 0 outside it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyogrio
import shapely
from numpy.typing import ArrayLike, NDArray
from pyproj import CRS, Transformer

__all__ = ["DEFAULT_CELL", "Grid", "grid_over", "read_polygon"]

DEFAULT_CELL = 150.0
"""Default cell size [m]: the scale of a few street blocks, as in most hotspot trials."""


@dataclass(frozen=True, eq=False)
class Grid:
    """A square grid with a mask of the cells inside a study area.

    Parameters
    ----------
    x0, y0 : float
        South-west corner of cell 0 [m].
    cell : float
        Cell side [m].
    nx, ny : int
        Number of columns and rows.
    mask : ndarray of bool, shape (ny, nx)
        True for cells whose centre is inside the study area.
    crs : int
        EPSG code of the projected CRS of ``x0``, ``y0``.

    Examples
    --------
    >>> g = grid_over(shapely.box(0, 0, 300, 150), cell=150.0, crs=26971)
    >>> g.nx, g.ny, g.n_inside, g.cell_of([10.0, 200.0, 999.0], [10.0, 10.0, 10.0]).tolist()
    (2, 1, 2, [0, 1, -1])
    """

    x0: float
    y0: float
    cell: float
    nx: int
    ny: int
    mask: NDArray[np.bool_]
    crs: int

    @property
    def n_cells(self) -> int:
        """Number of cells, inside the area or not (the length of a model's output)."""
        return self.nx * self.ny

    @property
    def n_inside(self) -> int:
        """Number of cells inside the study area."""
        return int(self.mask.sum())

    @property
    def inside(self) -> NDArray[np.bool_]:
        """Flat mask, shape ``(n_cells,)``."""
        return self.mask.ravel()

    @property
    def area(self) -> float:
        """Area of the cells inside the study area [m²]."""
        return self.n_inside * self.cell**2

    def cell_of(self, x: ArrayLike, y: ArrayLike, *, inside: bool = True) -> NDArray[np.intp]:
        """Flat index of the cell holding each point, or -1 when outside.

        Parameters
        ----------
        x, y : array_like
            Points [m] in the grid's CRS.
        inside
            Also give -1 for points in cells outside the study area.
        """
        ix = np.floor((np.asarray(x, dtype=float) - self.x0) / self.cell)
        iy = np.floor((np.asarray(y, dtype=float) - self.y0) / self.cell)
        ok = (ix >= 0) & (ix < self.nx) & (iy >= 0) & (iy < self.ny)
        k = np.where(ok, iy * self.nx + ix, -1).astype(np.intp)
        if inside:
            k[ok] = np.where(self.inside[k[ok]], k[ok], -1)
        return k

    def centres(self) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """Centres of all cells [m], two flat arrays of length ``n_cells``."""
        xs = self.x0 + (np.arange(self.nx) + 0.5) * self.cell
        ys = self.y0 + (np.arange(self.ny) + 0.5) * self.cell
        gx, gy = np.meshgrid(xs, ys)
        return gx.ravel(), gy.ravel()

    def to_geojson(self, values: ArrayLike, crs: int = 4326) -> dict[str, Any]:
        """Cells inside the area as a GeoJSON FeatureCollection of squares.

        Parameters
        ----------
        values : array_like, shape (n_cells,)
            One value per cell (a forecast), written as the property ``value``.
        crs
            EPSG code of the output coordinates; RFC 7946 GeoJSON is 4326 (longitude, latitude).

        Returns
        -------
        dict
            Features with properties ``cell`` (flat index) and ``value``.
        """
        v = np.asarray(values, dtype=float).ravel()
        if v.size != self.n_cells:
            raise ValueError(f"need {self.n_cells} values (one per cell), got {v.size}")
        k = np.flatnonzero(self.inside)
        cx, cy = k % self.nx, k // self.nx
        xs = self.x0 + np.stack([cx, cx + 1, cx + 1, cx, cx], axis=1) * self.cell
        ys = self.y0 + np.stack([cy, cy, cy + 1, cy + 1, cy], axis=1) * self.cell
        if crs != self.crs:
            xs, ys = Transformer.from_crs(self.crs, crs, always_xy=True).transform(xs, ys)
        ring = np.round(np.stack([xs, ys], axis=2), 7 if CRS.from_epsg(crs).is_geographic else 2)
        features = [
            {
                "type": "Feature",
                "geometry": {"type": "Polygon", "coordinates": [r.tolist()]},
                "properties": {"cell": int(c), "value": float(v[c])},
            }
            for c, r in zip(k, ring, strict=True)
        ]
        return {"type": "FeatureCollection", "features": features}


def read_polygon(path: str | Path, *, crs: int | None = None) -> tuple[Any, dict[str, Any]]:
    """Read the union of a layer's polygons (gpkg, shp, geojson...), projected to ``crs``.

    Parameters
    ----------
    path
        Any vector file GDAL reads.
    crs
        EPSG code of the projected CRS to return. Default: the layer's CRS when projected,
        else the UTM zone of the polygon's centroid. A layer without a CRS (an empty ``.prj``)
        is taken to be in ``crs`` already.

    Returns
    -------
    polygon : shapely.Geometry
    metadata : dict
        ``path``, ``layer_crs`` (as GDAL states it, or ``None``), ``crs`` (EPSG code).
    """
    from stadswacht.forecast.hotspots.incidents import utm_epsg

    meta, _, geometry, _ = pyogrio.raw.read(path)
    geom = shapely.union_all(shapely.from_wkb(geometry))
    layer_crs = meta.get("crs")
    if layer_crs is None:
        if crs is None:
            raise ValueError(f"{Path(path).name} states no CRS: pass crs (the EPSG code it is in)")
        return geom, {"path": str(path), "layer_crs": None, "crs": crs}
    src = CRS.from_user_input(layer_crs)
    if crs is None:
        if src.is_projected and src.to_epsg() is not None:
            crs = int(src.to_epsg())  # type: ignore[arg-type]
        else:
            c = geom.centroid
            crs = utm_epsg(float(c.x), float(c.y))
    dst = CRS.from_epsg(crs)
    if not src.equals(dst):
        tr = Transformer.from_crs(src, dst, always_xy=True)
        geom = shapely.transform(geom, lambda xy: np.column_stack(tr.transform(xy[:, 0], xy[:, 1])))
    return geom, {"path": str(path), "layer_crs": str(layer_crs), "crs": crs}


def grid_over(
    area: Any,
    cell: float = DEFAULT_CELL,
    offset: tuple[float, float] = (0.0, 0.0),
    *,
    crs: int | None = None,
) -> Grid:
    """A grid of square cells over a study area.

    Parameters
    ----------
    area : shapely.Geometry or path
        Polygon in metres, or a vector file read with :func:`read_polygon`.
    cell
        Cell side [m].
    offset
        Shift of the cell lattice [m]: cell edges fall on ``offset[0] + i * cell`` in x and
        ``offset[1] + j * cell`` in y (to test that results do not hinge on where lines fall).
    crs
        EPSG code: required for a polygon; for a file the CRS to project it to (see
        :func:`read_polygon`).

    Returns
    -------
    Grid
        Covering the polygon's bounding box; a cell is inside when its centre is inside (or on
        the boundary of) the polygon.
    """
    if isinstance(area, str | Path):
        area, meta = read_polygon(area, crs=crs)
        crs = meta["crs"]
    if crs is None:
        raise ValueError("pass crs, the EPSG code of the polygon's coordinates")
    if cell <= 0:
        raise ValueError(f"cell must be positive [m], not {cell}")
    minx, miny, maxx, maxy = area.bounds
    ox, oy = offset
    x0 = ox + np.floor((minx - ox) / cell) * cell
    y0 = oy + np.floor((miny - oy) / cell) * cell
    nx = max(int(np.ceil((maxx - x0) / cell)), 1)
    ny = max(int(np.ceil((maxy - y0) / cell)), 1)
    xs = x0 + (np.arange(nx) + 0.5) * cell
    ys = y0 + (np.arange(ny) + 0.5) * cell
    gx, gy = np.meshgrid(xs, ys)
    shapely.prepare(area)
    mask = np.asarray(shapely.intersects_xy(area, gx, gy), dtype=bool)
    mask.flags.writeable = False
    return Grid(float(x0), float(y0), float(cell), nx, ny, mask, int(crs))
