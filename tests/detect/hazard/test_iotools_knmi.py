from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from stadswacht.detect.hazard.iotools import (
    parse_knmi_daily,
    parse_knmi_hourly,
    read_knmi_daily,
    read_knmi_hourly,
)
from stadswacht.errors import SeriesError

FIXTURES = Path(__file__).parents[2] / "fixtures" / "hydro"
HOURLY = FIXTURES / "KNMI_uurgeg_260_20000101_slice.txt"
DAILY = FIXTURES / "KNMI_neerslaggeg_ESBEEK_831_2017_slice.txt"
DATA = Path(os.environ.get("STADSWACHT_DATA", Path(__file__).parents[3] / ".." / "shared" / "data"))
JAN_1_2000 = 946684800.0  # 2000-01-01 00:00 UTC
FEB_1_2017 = 1485907200.0  # 2017-02-01 00:00 UTC
DAY = 86400.0


def test_reads_two_days_of_hourly_weather_at_de_bilt() -> None:
    data, meta = read_knmi_hourly(HOURLY)
    assert meta["station"] == "260" and meta["columns"][:3] == ["STN", "YYYYMMDD", "HH"]
    assert set(data) == {"DD", "FH", "FF", "FX", "T", "T10N", "TD", "SQ", "Q", "DR", "RH", "P",
                         "VV", "N", "U", "WW", "IX", "M", "R", "S", "O", "Y"}  # fmt: skip
    t = data["T"]
    assert (t.station, t.parameter, t.unit) == ("260", "T", "degC") and len(t) == 48
    # HH 1 is the hour ending 01:00 UT; the last row is 2 January, hour 24.
    assert t.times[0] == JAN_1_2000 + 3600 and t.times[-1] == JAN_1_2000 + 2 * DAY
    assert t.values[0] == pytest.approx(4.9) and t.values[-1] == pytest.approx(8.1)
    assert "Temperatuur" in t.attrs["description"]


def test_hourly_units_and_special_values() -> None:
    data, _ = read_knmi_hourly(HOURLY)
    rain = data["RH"]
    assert rain.unit == "mm"
    # 1 January 2000, hours 4 and 5: "-1" (< 0.05 mm) then 0.4 mm.
    assert rain.values[3] == 0.025 and bool(rain.attrs["trace"][3])
    assert rain.values[4] == pytest.approx(0.4) and not rain.attrs["trace"][4]
    assert data["FH"].unit == "m/s" and data["FH"].values[0] == pytest.approx(3.0)
    assert data["P"].unit == "hPa" and data["P"].values[0] == pytest.approx(1021.5)
    assert data["Q"].unit == "J/m2" and data["Q"].values[9] == 5.0e4  # 5 J/cm2
    assert data["VV"].values[0] == 1300.0  # class 13: 1300-1400 m
    assert np.isnan(data["DD"].values[15])  # 990: variable
    assert np.isnan(data["T10N"].values[0]) and data["T10N"].values[5] == pytest.approx(4.4)
    assert np.isnan(data["WW"].values[13])  # blank: not observed


def test_reads_daily_rainfall_at_esbeek_with_a_missing_day() -> None:
    data, meta = read_knmi_daily(DAILY)
    assert meta["station"] == "831" and meta["name"] == "ESBEEK"
    rd = data["RD"]
    assert (rd.station, rd.parameter, rd.unit) == ("831", "RD", "mm")
    assert len(rd) == 28 + 31 + 30 and rd.attrs["interval_s"] == DAY
    # Each sum runs 08:00 UT the day before to 08:00 UT on its date, and is stamped then.
    assert rd.times[0] == FEB_1_2017 + 8 * 3600
    assert rd.values[0] == 0.0 and rd.values[1] == pytest.approx(0.6)
    assert rd.values[22] == pytest.approx(26.4)  # 23 February 2017
    assert np.isnan(rd.values[27]) and np.isnan(data["SX"].values[27])  # 28 February: blank
    assert rd.times[-1] == FEB_1_2017 + 88 * DAY + 8 * 3600  # 30 April
    assert data["SX"].unit == "cm" and data["SX"].values[0] == 0.0


def test_several_stations_need_a_choice() -> None:
    text = "STN,YYYYMMDD,   RD,\n831,20170101,   5,\n832,20170101,   7,\n"
    with pytest.raises(SeriesError, match="stations 831, 832; pass station="):
        parse_knmi_daily(text, name="x")
    data, meta = parse_knmi_daily(text, station="832")
    assert data["RD"].values.tolist() == [0.7] and meta["station"] == "832"


def test_station_block_gives_coordinates() -> None:
    text = (
        "# STN         LON(east)   LAT(north)     ALT(m)  NAME\n"
        "# 260:         5.180       52.100       1.90  De Bilt\n"
        "# STN,YYYYMMDD,   HH,    T\n  260,20000101,    1,   49\n"
    )
    data, meta = parse_knmi_hourly(text)
    assert (meta["name"], meta["lon"], meta["lat"], meta["alt"]) == ("De Bilt", 5.18, 52.1, 1.9)
    assert data["T"].attrs["lat"] == 52.1


@pytest.mark.parametrize(
    ("row", "field", "what"),
    [
        ("  260,20000101,    2,   4x", "T", "not a number: '4x'"),
        ("  260,20000101,   25,   40", "HH", "hour must be 1 to 24"),
        ("  260,20000231,    2,   40", "YYYYMMDD", "bad date '20000231'"),
        ("  260,20000101,    2", "row", "3 fields, the column line has 4"),
        ("  260,20000101,    1,   40", "YYYYMMDD", "times must increase"),
    ],
)
def test_a_bad_row_names_line_and_column(row: str, field: str, what: str) -> None:
    text = "# comment\n# STN,YYYYMMDD,   HH,    T\n  260,20000101,    1,   49\n" + row + "\n"
    with pytest.raises(SeriesError, match=rf"^u\.txt, line 4, field {field}: {what}"):
        parse_knmi_hourly(text, name="u.txt")


def test_wrong_file_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(SeriesError, match="not a KNMI station file"):
        read_knmi_daily(FIXTURES / "VLISSGN_waterlevel_20180101_slice.noos")
    with pytest.raises(SeriesError, match=r"line 24, field columns: expected STN,YYYYMMDD,HH"):
        read_knmi_hourly(DAILY)
    with pytest.raises(SeriesError, match="cannot read KNMI hourly file"):
        read_knmi_hourly(tmp_path / "absent.txt")


@pytest.mark.skipif(not (DATA / "hydro").is_dir(), reason="no ../shared/data")
def test_reads_the_full_files() -> None:
    hourly, _ = read_knmi_hourly(DATA / "hydro" / "KNMI_uurgeg_260_year2000_only.txt")
    assert len(hourly["T"]) == 366 * 24 and hourly["T"].times[-1] == JAN_1_2000 + 366 * DAY
    daily, _ = read_knmi_daily(DATA / "hydro" / "KNMI_neerslaggeg_ESBEEK_831.txt")
    assert len(daily["RD"]) == 24_227 and int(np.isnan(daily["RD"].values).sum()) == 1
