"""Grids over study areas: masks by cell centre, offsets, cell lookup, GeoJSON."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import shapely

from stadswacht.forecast.hotspots.grid import grid_over, read_polygon

L_SHAPE = shapely.Polygon([(0, 0), (600, 0), (600, 300), (300, 300), (300, 600), (0, 600)])


def test_mask_counts_cells_whose_centre_is_inside() -> None:
    g = grid_over(L_SHAPE, 150.0, crs=26971)
    assert (g.nx, g.ny, g.x0, g.y0) == (4, 4, 0.0, 0.0)
    assert g.n_inside == 12  # 16 cells less the 2 x 2 notch
    assert not g.mask[3, 3] and g.mask[0, 3] and g.mask[3, 0]
    assert g.area == pytest.approx(L_SHAPE.area)


def test_offset_shifts_the_lattice() -> None:
    g = grid_over(L_SHAPE, 150.0, (50.0, 20.0), crs=26971)
    assert (g.x0, g.y0) == (-100.0, -130.0)
    assert (g.nx, g.ny) == (5, 5)
    x, y = g.centres()
    inside = shapely.contains_xy(L_SHAPE, x, y)
    assert np.array_equal(inside, g.inside)


def test_cell_of_gives_flat_indices_and_minus_one_outside() -> None:
    g = grid_over(L_SHAPE, 150.0, crs=26971)
    k = g.cell_of([10.0, 160.0, 10.0, 500.0, -1.0, 700.0], [10.0, 10.0, 160.0, 500.0, 10.0, 10.0])
    assert k.tolist() == [0, 1, 4, -1, -1, -1]
    assert g.cell_of([500.0], [500.0], inside=False).tolist() == [15]


def test_geojson_has_one_square_per_inside_cell_in_lon_lat() -> None:
    g = grid_over(shapely.box(350_000, 570_000, 350_300, 570_150), 150.0, crs=26971)
    fc = g.to_geojson(np.arange(g.n_cells, dtype=float))
    assert len(fc["features"]) == 2
    ring = fc["features"][1]["geometry"]["coordinates"][0]
    assert len(ring) == 5 and ring[0] == ring[-1]
    assert -88.0 < ring[0][0] < -87.5 and 41.6 < ring[0][1] < 42.1
    assert fc["features"][1]["properties"] == {"cell": 1, "value": 1.0}
    with pytest.raises(ValueError, match="one per cell"):
        g.to_geojson([1.0])


def test_polygon_files_are_read_and_reprojected(tmp_path: Path) -> None:
    path = tmp_path / "area.geojson"
    path.write_text(
        '{"type":"FeatureCollection","features":[{"type":"Feature","properties":{},'
        '"geometry":{"type":"Polygon","coordinates":[[[4.88,52.36],[4.90,52.36],[4.90,52.38],'
        "[4.88,52.38],[4.88,52.36]]]}}]}"
    )
    poly, meta = read_polygon(path)
    assert meta["crs"] == 32631 and poly.area == pytest.approx(1360 * 2225, rel=0.05)
    g = grid_over(path, 150.0)
    assert g.crs == 32631 and 100 < g.n_inside < 160
    with pytest.raises(ValueError, match="crs"):
        grid_over(shapely.box(0, 0, 1, 1))
