"""Maps of a forecast run: GeoJSON of its top cells for the dashboard, and a PNG.

The GeoJSON (RFC 7946) holds the top ``top`` fraction of the area's cells as square polygons
in WGS 84 (longitude, latitude; counter-clockwise closed rings), highest forecast first, with
properties ``rank``, ``cell``, ``expected`` [incidents/day] and the explanation's shares
``long_run``, ``recent``, ``near_repeat`` (fractions of ``expected``; see
:mod:`stadswacht.forecast.hotspots.explain`). The collection's ``properties`` name the run,
model, day, agency and classification, so a layer shown alone still says what it is.

The PNG colours every cell by its expected count over the study area's outline, and outlines
the top cells; it is drawn with matplotlib's Agg canvas (no display, no global state).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray
from pyproj import Transformer

from stadswacht.forecast.hotspots.metrics import flagged_count
from stadswacht.forecast.hotspots.runs import ForecastRun

__all__ = ["DEFAULT_TOP", "top_cells_geojson", "write_geojson", "write_png"]

DEFAULT_TOP = 0.05
"""Fraction of the area's cells a map flags: the top 5 %."""


def _top_count(run: ForecastRun, top: float) -> int:
    n_inside = int(run.grid["n_inside"])
    if not 0.0 < top <= run.top_fraction:
        raise ValueError(
            f"top must be in (0, {run.top_fraction}] (the run keeps the top "
            f"{run.top_fraction:.0%} of cells), not {top}"
        )
    return min(flagged_count(n_inside, top), len(run.cells)) if n_inside else 0


def _rings(run: ForecastRun, cells: NDArray[np.intp]) -> NDArray[np.float64]:
    """Closed squares of ``cells`` in WGS 84, shape ``(len(cells), 5, 2)``."""
    g = run.grid
    nx, cell = int(g["nx"]), float(g["cell"])
    cx, cy = cells % nx, cells // nx
    xs = float(g["x0"]) + np.stack([cx, cx + 1, cx + 1, cx, cx], axis=1) * cell
    ys = float(g["y0"]) + np.stack([cy, cy, cy + 1, cy + 1, cy], axis=1) * cell
    lon, lat = Transformer.from_crs(int(g["crs"]), 4326, always_xy=True).transform(xs, ys)
    ring: NDArray[np.float64] = np.round(np.stack([lon, lat], axis=2), 7)
    ring[:, -1] = ring[:, 0]  # closed exactly, whatever the rounding
    return ring


def top_cells_geojson(run: ForecastRun, top: float = DEFAULT_TOP) -> dict[str, Any]:
    """The run's top cells as a GeoJSON FeatureCollection in WGS 84.

    Parameters
    ----------
    run
        A forecast run (it keeps its top ``run.top_fraction`` of cells).
    top
        Fraction of the area's cells to include, at most ``run.top_fraction``.

    Returns
    -------
    dict
        A FeatureCollection, highest forecast first (see the module docstring).
    """
    chosen = run.cells[: _top_count(run, top)]
    rings = _rings(run, np.array([c["cell"] for c in chosen], dtype=np.intp))
    features = []
    for c, ring in zip(chosen, rings, strict=True):
        expected = float(c["expected"])
        shares = {
            k: (float(c[k]) / expected if expected > 0 else 0.0)
            for k in ("long_run", "recent", "near_repeat")
        }
        features.append(
            {
                "type": "Feature",
                "id": int(c["cell"]),
                "geometry": {"type": "Polygon", "coordinates": [ring.tolist()]},
                "properties": {
                    "rank": int(c["rank"]), "cell": int(c["cell"]), "expected": expected,
                    **shares,
                },
            }
        )  # fmt: skip
    return {
        "type": "FeatureCollection",
        "properties": {
            "run": run.id, "model": run.model, "day": run.day, "agency": run.agency,
            "classification": run.classification, "top": top, "cell_m": run.grid["cell"],
            "expected_total": run.expected_total,
        },
        "features": features,
    }  # fmt: skip


def write_geojson(run: ForecastRun, path: str | Path, top: float = DEFAULT_TOP) -> Path:
    """Write :func:`top_cells_geojson` to ``path``; return the path."""
    path = Path(path)
    path.write_text(json.dumps(top_cells_geojson(run, top)), encoding="utf-8")
    return path


def write_png(
    run: ForecastRun,
    path: str | Path,
    *,
    area: Any = None,
    top: float = DEFAULT_TOP,
    dpi: int = 120,
) -> Path:
    """A PNG map: every cell coloured by its expected count, the top cells outlined.

    Parameters
    ----------
    run
        A forecast run.
    path
        PNG file to write.
    area : shapely.Geometry, optional
        The study area in the grid's CRS, drawn as an outline.
    top
        Fraction of the area's cells outlined (as in :func:`top_cells_geojson`).
    dpi
        Resolution [dots per inch].

    Returns
    -------
    Path
        ``path``.
    """
    import shapely
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    grid = run.grid_object()
    values = run.forecast().reshape(grid.ny, grid.nx)
    shown = np.ma.masked_where(~grid.mask, values)
    extent = (grid.x0, grid.x0 + grid.nx * grid.cell, grid.y0, grid.y0 + grid.ny * grid.cell)
    fig = Figure(figsize=(7.0, 7.0 * max(grid.ny / max(grid.nx, 1), 0.4)), dpi=dpi)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    image = ax.imshow(shown, origin="lower", extent=extent, cmap="YlOrRd", interpolation="nearest")
    fig.colorbar(image, ax=ax, label="expected incidents per day")
    if area is not None:
        polygons = [p for p in getattr(area, "geoms", [area]) if isinstance(p, shapely.Polygon)]
        for ring in (r for p in polygons for r in (p.exterior, *p.interiors)):
            x, y = np.asarray(ring.coords).T
            ax.plot(x, y, color="0.2", linewidth=0.8)
    for c in run.cells[: _top_count(run, top)]:
        cx, cy = int(c["cell"]) % grid.nx, int(c["cell"]) // grid.nx
        x, y = grid.x0 + cx * grid.cell, grid.y0 + cy * grid.cell
        ax.plot(
            [x, x + grid.cell, x + grid.cell, x, x],
            [y, y, y + grid.cell, y + grid.cell, y],
            color="black", linewidth=0.6,
        )  # fmt: skip
    ax.set_aspect("equal")
    ax.ticklabel_format(useOffset=False, style="plain")
    ax.set_xlabel(f"easting [m] (EPSG:{grid.crs})")
    ax.set_ylabel("northing [m]")
    ax.set_title(
        f"{run.model}, {run.day}: top {top:.0%} of cells outlined ({run.classification})",
        fontsize=9,
    )
    path = Path(path)
    fig.savefig(path, format="png")
    return path
