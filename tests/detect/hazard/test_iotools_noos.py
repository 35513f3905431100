from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from stadswacht.detect.hazard.iotools import parse_noos, read_noos
from stadswacht.errors import SeriesError

FIXTURES = Path(__file__).parents[2] / "fixtures" / "hydro"
SLICE = FIXTURES / "VLISSGN_waterlevel_20180101_slice.noos"
DATA = Path(os.environ.get("STADSWACHT_DATA", Path(__file__).parents[3] / ".." / "shared" / "data"))
JAN_1_2018 = 1514764800.0  # 2018-01-01 00:00 UTC
HEADER = "# Location    : vlissingen\n# Unit        : waterlevel\n# Timezone    : GMT\n"


def test_reads_two_days_of_ten_minute_levels_at_vlissingen() -> None:
    s, meta = read_noos(SLICE, datum="NAP")
    assert (s.station, s.parameter, s.unit, s.datum, s.kind) == (
        "vlissingen",
        "waterlevel",
        "m",
        "NAP",
        "observed",
    )
    assert len(s) == 2 * 144 + 1 and np.all(np.diff(s.times) == 600.0)
    assert s.times[0] == JAN_1_2018 and s.times[-1] == JAN_1_2018 + 2 * 86400
    assert s.values[0] == 2.5 and s.values[-1] == 0.96
    assert s.values[np.searchsorted(s.times, JAN_1_2018 + 12 * 3600)] == 2.51
    assert (s.attrs["lon"], s.attrs["lat"]) == (3.597577, 51.443861)
    assert meta["Timezone"] == "GMT" and meta["Source"] == "observed"
    assert meta["utc_offset_hours"] == 0.0 and "Created at Wed May  1 19" not in meta


def test_time_zone_from_the_header_or_the_caller() -> None:
    met = parse_noos(HEADER.replace("GMT", "MET") + "201801010100 1.0\n")[0]
    assert met.times[0] == JAN_1_2018
    plus2 = parse_noos(HEADER.replace("GMT", "GMT+02:00") + "201801010200 1.0\n")[0]
    assert plus2.times[0] == JAN_1_2018
    given = parse_noos(HEADER.replace("GMT", "???") + "201801010000 1.0\n", utc_offset_hours=0)[0]
    assert given.times[0] == JAN_1_2018
    with pytest.raises(SeriesError, match=r"line 3, field Timezone: unknown time zone"):
        parse_noos(HEADER.replace("GMT", "???") + "201801010000 1.0\n")
    with pytest.raises(SeriesError, match="no '# Timezone :' header line"):
        parse_noos(HEADER.replace("# Timezone    : GMT\n", "") + "201801010000 1.0\n")


def test_a_forecast_carries_its_analysis_time_and_missing_values_are_nan() -> None:
    text = HEADER + "# Source      : dcsm\n# Analyse time: 201801010600\n"
    s = parse_noos(text + "201801010600 1.0\n201801010610 -999\n201801010620 NaN\n")[0]
    assert s.kind == "forecast" and s.attrs["issued_s"] == JAN_1_2018 + 6 * 3600
    assert s.values[0] == 1.0 and np.isnan(s.values[1:]).all()


@pytest.mark.parametrize(
    ("data", "field", "what"),
    [
        ("201801010000 1.0\n2018010100x0 2.0\n", "time", "bad time '2018010100x0'"),
        ("201801010000 1.0\n201801010010 abc\n", "value", "not a number: 'abc'"),
        ("201801010000 1.0\n201801010010 2.0 3.0\n", "data", "expected 'YYYYmmddHHMM value'"),
        ("201801010000 1.0\n201801010000 2.0\n", "time", "times must increase"),
        (
            "201801010000 1.0\n201813010000 2.0\n",
            "time",
            "bad time .201813010000.: month must be in 1..12",
        ),
    ],
)
def test_a_bad_line_is_named(data: str, field: str, what: str) -> None:
    with pytest.raises(SeriesError, match=rf"^v\.noos, line 5, field {field}: {what}"):
        parse_noos(HEADER + data, name="v.noos")


def test_not_noos_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(SeriesError, match="not a NOOS file"):
        parse_noos("201801010000 1.0\n", name="x")
    with pytest.raises(SeriesError, match="cannot read NOOS file"):
        read_noos(tmp_path / "absent.noos")


@pytest.mark.skipif(not (DATA / "hydro").is_dir(), reason="no ../shared/data")
def test_reads_the_full_quarter() -> None:
    s, _ = read_noos(DATA / "hydro" / "VLISSGN_waterlevel_20180101_20180401.noos")
    assert len(s) == 12_752 and s.times[-1] == JAN_1_2018 + 90 * 86400
