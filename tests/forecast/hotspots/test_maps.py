"""Maps of a run: valid GeoJSON of the top cells in WGS 84 (closed counter-clockwise rings,
longitudes and latitudes in range, where the incidents are), and a PNG."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import shapely
from pyproj import Transformer

from stadswacht.forecast.hotspots import grid_over, read_incidents
from stadswacht.forecast.hotspots.maps import top_cells_geojson, write_geojson, write_png
from stadswacht.forecast.hotspots.runs import ForecastRun, run_forecast

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "crime"


@pytest.fixture(scope="module")
def run_and_area() -> tuple[ForecastRun, shapely.Geometry]:
    inc, _ = read_incidents(FIXTURES / "san_francisco_robbery_300.csv")
    area = shapely.box(inc.x.min(), inc.y.min(), inc.x.max(), inc.y.max()).buffer(100)
    grid = grid_over(area, 250.0, crs=inc.crs)
    run = run_forecast(inc, grid, "near_repeat_smoothed", "2019-03-01", by="u", agency="police")
    return run, area


def _signed_area(ring: list[list[float]]) -> float:
    x, y = np.asarray(ring).T
    return float(np.sum(x[:-1] * y[1:] - x[1:] * y[:-1]) / 2)


def test_geojson_of_the_top_cells_is_valid_wgs84(
    run_and_area: tuple[ForecastRun, shapely.Geometry],
) -> None:
    run, _ = run_and_area
    fc = top_cells_geojson(run, 0.05)
    assert fc["type"] == "FeatureCollection"
    assert fc["properties"]["classification"] == "TLP:AMBER" and fc["properties"]["run"] == run.id
    n = round(0.05 * run.grid["n_inside"])
    assert len(fc["features"]) == n
    for i, f in enumerate(fc["features"]):
        (ring,) = f["geometry"]["coordinates"]
        assert f["geometry"]["type"] == "Polygon" and len(ring) == 5
        assert ring[0] == ring[-1]  # closed
        assert _signed_area(ring) > 0  # counter-clockwise (RFC 7946 exterior ring)
        for lon, lat in ring:
            assert -123.0 < lon < -122.0 and 37.0 < lat < 38.5  # San Francisco
        props = f["properties"]
        assert props["rank"] == i + 1 and props["expected"] > 0
        shares = props["long_run"] + props["recent"] + props["near_repeat"]
        assert shares == pytest.approx(1.0)
        assert shapely.Polygon(ring).is_valid
    # The top cell's polygon holds its centre, projected back.
    g = run.grid_object()
    top = fc["features"][0]
    cx, cy = g.centres()
    lon, lat = Transformer.from_crs(g.crs, 4326, always_xy=True).transform(
        cx[top["properties"]["cell"]], cy[top["properties"]["cell"]]
    )
    assert shapely.Polygon(top["geometry"]["coordinates"][0]).contains(shapely.Point(lon, lat))
    with pytest.raises(ValueError, match="top must be in"):
        top_cells_geojson(run, 0.5)


def test_files_are_written(
    run_and_area: tuple[ForecastRun, shapely.Geometry], tmp_path: Path
) -> None:
    run, area = run_and_area
    geo = write_geojson(run, tmp_path / "a.geojson", top=0.01)
    assert geo.read_text().startswith('{"type": "FeatureCollection"')
    png = write_png(run, tmp_path / "a.png", area=area, top=0.01)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 5_000
