"""Exposure ratio of flagged cells per area against the area's share of reported crime."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import shapely

from stadswacht.forecast.hotspots.bias import (
    area_of_cells,
    area_of_points,
    exposure_ratio,
    read_areas,
)


def test_exposure_ratio_by_hand() -> None:
    # Cells 0-3 in area "north", 4-5 in "south", 6 in none.
    cell_area = np.array([0, 0, 0, 0, 1, 1, -1])
    flagged = np.array([5, 5, 0, 0, 10, 0, 7])  # 10 of 20 flagged cell-days in each area
    incident_area = np.array([0, 0, 0, 1, -1])  # 3 of 4 incidents in north
    e = exposure_ratio(flagged, cell_area, incident_area, ("north", "south"))
    assert e.flagged_share.tolist() == [0.5, 0.5]
    assert e.crime_share.tolist() == [0.75, 0.25]
    assert e.as_dict() == pytest.approx({"north": 0.5 / 0.75, "south": 2.0})


def test_area_without_crime_but_flagged_is_infinite() -> None:
    e = exposure_ratio(np.array([1, 1]), np.array([0, 1]), np.array([0, 0]), ("a", "b"))
    assert e.ratio[1] == np.inf


def test_cells_belong_to_the_area_holding_their_centre() -> None:
    west, east = shapely.box(0, 0, 100, 100), shapely.box(100, 0, 200, 100)
    cx = np.array([50.0, 150.0, 250.0])
    cy = np.array([50.0, 50.0, 50.0])
    assert area_of_cells((cx, cy), [west, east]).tolist() == [0, 1, -1]
    assert area_of_cells(np.column_stack([cx, cy]), [west, east]).tolist() == [0, 1, -1]
    assert area_of_points(cx, cy, [west, east]).tolist() == [0, 1, -1]


def test_read_areas_reprojects_geojson(tmp_path: Path) -> None:
    ring = [[-123.1, 49.25], [-123.0, 49.25], [-123.0, 49.3], [-123.1, 49.3], [-123.1, 49.25]]
    doc = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {"name": "Kits"},
                "geometry": {"type": "Polygon", "coordinates": [ring]},
            }
        ],
    }
    path = tmp_path / "areas.geojson"
    path.write_text(json.dumps(doc))
    names, geoms = read_areas(path, crs=32610)
    assert names == ("Kits",)
    minx, miny, maxx, maxy = geoms[0].bounds
    assert 490_000 < minx < maxx < 500_001  # -123 deg is UTM 10N's central meridian [m]
    assert 7.0e6 > maxy > miny > 5.45e6
