"""Readers of incident files: layouts, projection, dropped rows and refused person fields."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from pyproj import Transformer

from stadswacht.forecast.hotspots.incidents import (
    Incidents,
    day_number,
    read_incidents,
    refuse_person_fields,
)

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures/crime"


def test_chicago_assaults_are_projected_to_illinois_east() -> None:
    inc, meta = read_incidents(FIXTURES / "chicago_aggravated_assaults_2019-10-01_03.csv")
    assert meta["layout"] == "chicago_aggravated_assaults"
    assert (inc.crs, inc.time_resolution, len(inc)) == (26971, "minute", 108)
    assert meta["start"] == "2019-10-01" and meta["end"] == "2019-10-03"
    assert set(inc.kind) == {"aggravated assault"}
    # Every incident is within the city (Illinois East metres), times within the 3 days.
    assert inc.x.min() > 330_000 and inc.x.max() < 370_000
    assert inc.y.min() > 550_000 and inc.y.max() < 600_000
    assert day_number("2019-10-01") <= inc.t_day.min() < inc.t_day.max() < day_number("2019-10-04")
    assert not np.all(inc.t_day == np.floor(inc.t_day))


def test_projection_of_a_known_point() -> None:
    # Chicago's Willis Tower, -87.6359 E 41.8789 N, is about (358 500, 579 000) in EPSG:26971.
    x, y = Transformer.from_crs(4326, 26971, always_xy=True).transform(-87.6359, 41.8789)
    assert x == pytest.approx(358_500, abs=1_500) and y == pytest.approx(579_000, abs=1_500)
    inc, _ = read_incidents(FIXTURES / "chicago_aggravated_assaults_2019-10-01_03.csv")
    row = (FIXTURES / "chicago_aggravated_assaults_2019-10-01_03.csv").read_text().splitlines()[1]
    lon, lat = float(row.split(",")[2]), float(row.split(",")[3])
    fx, fy = Transformer.from_crs(4326, 26971, always_xy=True).transform(lon, lat)
    assert np.min(np.hypot(inc.x - fx, inc.y - fy)) < 1e-6


def test_san_francisco_goes_to_utm_10n_with_kinds() -> None:
    inc, meta = read_incidents(FIXTURES / "san_francisco_robbery_300.csv")
    assert inc.crs == 32610 and meta["source_crs"] == 4326
    assert len(inc) == 300 and meta["kinds"] and "personal robbery" in meta["kinds"]
    assert 540_000 < np.median(inc.x) < 560_000 and 4_170_000 < np.median(inc.y) < 4_190_000


def test_vancouver_keeps_its_projected_coordinates_and_builds_times_from_parts() -> None:
    inc, meta = read_incidents(FIXTURES / "vancouver_thefts_200.csv")
    assert inc.crs == 26910 and meta["source_crs"] == 26910
    assert inc.x[0] == pytest.approx(490320.299)
    assert inc.t_day[0] == day_number("2020-01-01")
    assert "Theft from Vehicle" in meta["kinds"]


def test_person_level_columns_are_refused_unless_dropped_unread() -> None:
    path = FIXTURES / "medellin_homicides_20.csv"
    with pytest.raises(ValueError, match=r"person-level column\(s\) \['sexo', 'edad'\]"):
        read_incidents(path)
    inc, meta = read_incidents(path, drop_person_fields=True)
    assert meta["person_fields_dropped"] == ["sexo", "edad"]
    assert inc.crs == 32618 and len(inc) + meta["dropped_no_place"] == 20
    assert set(inc.kind) == {"homicide"}


def test_person_level_column_cannot_be_the_kind(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text("when,lon,lat,what\n2020-01-01,4.9,52.37,burglary\n")
    with pytest.raises(ValueError, match="victim_age"):
        read_incidents(path, time_col="when", x_col="lon", y_col="lat", kind_col="victim_age")
    assert refuse_person_fields(["VictimAge", "offender_name", "date", "usage"]) == [
        "VictimAge",
        "offender_name",
    ]


def test_explicit_columns_drop_rows_without_time_or_place(tmp_path: Path) -> None:
    path = tmp_path / "amsterdam.csv"
    path.write_text(
        "when;lon;lat;what\n"
        "2020-01-01;4,90;52,37;burglary\n"
        ";4,90;52,37;burglary\n"
        "2020-01-02;;;theft\n"
        "2020-01-03;4,91;52,38;theft\n"
    )
    inc, meta = read_incidents(
        path, time_col="when", x_col="lon", y_col="lat", kind_col="what", decimal=","
    )
    assert (meta["dropped_no_time"], meta["dropped_no_place"], len(inc)) == (1, 1, 2)
    assert inc.crs == 32631 and inc.time_resolution == "day"
    assert list(inc.kind) == ["burglary", "theft"]


def test_unknown_layout_asks_for_columns(tmp_path: Path) -> None:
    path = tmp_path / "odd.csv"
    path.write_text("a,b\n1,2\n")
    with pytest.raises(ValueError, match="time_col"):
        read_incidents(path)


def test_incidents_are_sorted_and_sliced_by_time() -> None:
    inc = Incidents([3.0, 1.0, 2.0], [0, 1, 2], [0, 0, 0], ["c", "a", "b"], 26971, "day")
    assert inc.kind.tolist() == ["a", "b", "c"]
    assert inc.between(1.5, 3.0).kind.tolist() == ["b"]
    assert len(inc.of_kind("a", "c")) == 2
    with pytest.raises(ValueError, match="lengths"):
        Incidents([1.0], [0, 1], [0], ["a"], 26971)
