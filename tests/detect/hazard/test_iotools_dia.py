from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np
import pytest

from stadswacht.detect.hazard.iotools import parse_dia, read_dia
from stadswacht.detect.hazard.series import TimeSeries
from stadswacht.errors import SeriesError

FIXTURES = Path(__file__).parents[2] / "fixtures" / "hydro"
SLICE = FIXTURES / "HOEKVHLD_197601_slice.dia"
DATA = Path(os.environ.get("STADSWACHT_DATA", Path(__file__).parents[3] / ".." / "shared" / "data"))
HOURS = 3600.0
# 1976-01-01 00:00 UTC; the file's first value is at 00:00 MET, one hour earlier.
JAN_1_1976 = 189302400.0

HEADER = """[W3H]
PAR;WATHTE;Waterhoogte;J
EHD;I;cm
HDH;NAP;T.o.v. Normaal Amsterdams Peil
LOC;HOEKVHLD;Hoek van Holland;P;RD;6793000;44400000
TYP;TE
[RKS]
TYD;19760101;0000;19760101;0300;60;min
[TPS]
STA;19760101;0000;19760101;0300;O
[WRD]
"""


def one(data: TimeSeries | dict[tuple[str, str], TimeSeries]) -> TimeSeries:
    assert isinstance(data, TimeSeries)
    return data


def test_reads_two_weeks_of_hourly_levels_at_hoek_van_holland() -> None:
    data, meta = read_dia(SLICE)
    s = one(data)
    assert (s.station, s.parameter, s.unit, s.datum) == ("HOEKVHLD", "WATHTE", "cm", "NAP")
    assert len(s) == 14 * 24 and s.attrs["timestep_s"] == HOURS
    assert s.values[0] == 5.0 and s.values[1] == 92.0 and s.values[-1] == 63.0
    assert not np.isnan(s.values).any() and (s.attrs["quality"] == 0).all()
    assert s.attrs["location_name"] == "Hoek van Holland" and s.attrs["crs"] == "EPSG:28992"
    assert (s.attrs["x_m"], s.attrs["y_m"]) == (67930.0, 444000.0)
    assert meta["utc_offset_hours"] == 1.0 and meta["idt"].startswith("IDT;*DIF*")
    assert meta["blocks"][0]["header"]["ANA"][0] == "F009"


def test_times_are_met_converted_to_utc() -> None:
    s = one(read_dia(SLICE)[0])
    assert s.times[0] == JAN_1_1976 - HOURS  # 00:00 MET = 23:00 UTC the day before
    assert s.times[-1] == JAN_1_1976 + 13 * 24 * HOURS + 22 * HOURS  # 14 Jan 23:00 MET
    # The 3 January 1976 storm surge peaked at 294 cm NAP, 17:00 MET = 16:00 UTC.
    peak = int(np.argmax(s.values))
    assert s.values[peak] == 294.0 and s.times[peak] == JAN_1_1976 + 2 * 24 * HOURS + 16 * HOURS
    as_utc = one(read_dia(SLICE, utc_offset_hours=0.0)[0])
    assert as_utc.times[0] == JAN_1_1976


def test_missing_value_and_gap_quality_become_nan() -> None:
    s = one(parse_dia(HEADER + "5/0:-999999999/0:\n7/99:8/25:\n")[0])
    assert np.isnan(s.values[1:3]).all() and s.values[3] == 8.0
    assert s.attrs["quality"].tolist() == [0, 0, 99, 25]


def test_tokens_may_break_across_lines() -> None:
    s = one(parse_dia(HEADER + "5/0:9\n2/0:1/0:\n2/0:")[0])
    assert s.values.tolist() == [5.0, 92.0, 1.0, 2.0]


def test_non_equidistant_with_decimal_comma() -> None:
    text = HEADER.replace("TYP;TE", "TYP;TN").replace(";60;min", "")
    body = "19760101;0157;,236389E+01/0:19760101;1422;-73/0:\n"
    s = one(parse_dia(text + body)[0])
    assert s.values.tolist() == [2.36389, -73.0]
    assert s.times.tolist() == [JAN_1_1976 + 57 * 60, JAN_1_1976 + 13 * HOURS + 22 * 60]


def test_tidal_extremes_with_their_hw_lw_code() -> None:
    text = HEADER.replace("TYP;TE", "TYP;TN\n[MUX]\nMXW;1;15\nMXP;1;GETETCDE;Getijextreem code")
    text = text.replace("[RKS]", "MXW;2;1\nMXP;2;WATHTE;Waterhoogte\n[RKS]").replace(";60;min", "")
    body = "19760101;0157;1/0;134:\n19760101;0833;2/0;-17:\n19760101;1422;1/99;0:\n"
    s = one(parse_dia(text + body)[0])
    assert s.parameter == "WATHTE" and s.values[:2].tolist() == [134.0, -17.0]
    assert np.isnan(s.values[2]) and s.attrs["quality"].tolist() == [0, 0, 99]
    assert s.attrs["channels"]["GETETCDE"].tolist() == [1.0, 2.0, 1.0]
    assert s.times[1] == JAN_1_1976 + 7 * HOURS + 33 * 60


def test_two_stations_give_a_dict_and_blocks_of_one_station_are_joined() -> None:
    slice_text = SLICE.read_text()
    other = slice_text.replace("LOC;HOEKVHLD", "LOC;VLISSGN")
    data, meta = parse_dia(slice_text + other)
    assert isinstance(data, dict) and set(data) == {
        ("HOEKVHLD", "WATHTE"),
        ("VLISSGN", "WATHTE"),
    }
    assert len(meta["blocks"]) == 2
    later = HEADER.replace("19760101;0000;19760101;0300", "19760102;0000;19760102;0100")
    joined = one(parse_dia(HEADER + "1/0:2/0:3/0:4/0:\n" + later + "5/0:6/0:")[0])
    assert joined.values.tolist() == [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]
    assert joined.times[4] == JAN_1_1976 + 23 * HOURS


@pytest.mark.parametrize(
    ("body", "line", "field", "what"),
    [
        ("5/0:92/0:\n1x/0:3/0:\n", 13, "WRD", "'1x/0'"),
        ("5/0:92/0:\n1/0:3:\n", 13, "WRD", "'3'"),
        ("5/0:92/0:\n1/0:\n", 13, "WRD", "3 values"),
    ],
)
def test_a_bad_value_names_file_line_and_token(body: str, line: int, field: str, what: str) -> None:
    with pytest.raises(SeriesError, match=rf"^w\.dia, line {line}, field {field}: .*{what}"):
        parse_dia(HEADER + body, name="w.dia")


def test_bad_header_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(SeriesError, match=r"line 8, field TYD: bad date/time 19761301"):
        parse_dia(HEADER.replace("TYD;19760101", "TYD;19761301") + "1/0:")
    with pytest.raises(SeriesError, match="field LOC: block has no LOC line"):
        parse_dia(HEADER.replace("LOC;", "XXX;") + "1/0:")
    with pytest.raises(SeriesError, match="cannot read DIA file"):
        read_dia(tmp_path / "absent.dia")
    noos = tmp_path / "x.noos"
    noos.write_text("# Location : vlissingen\n201801010000 2.5\n")
    with pytest.raises(SeriesError, match=r"x\.noos, line 1, field header: not a DIA file"):
        read_dia(noos)


@pytest.mark.skipif(not (DATA / "hydro").is_dir(), reason="no ../shared/data")
def test_reads_the_full_19_years_at_hoek_van_holland_quickly() -> None:
    start = time.perf_counter()
    s = one(read_dia(DATA / "hydro" / "HOEKVHLD_obs19.txt")[0])
    elapsed = time.perf_counter() - start
    assert len(s) == 166_560 == 6940 * 24  # 1976-1994, every hour, none missing
    assert s.times[0] == JAN_1_1976 - HOURS
    assert s.times[-1] == 788911200.0  # 1994-12-31 23:00 MET = 22:00 UTC
    assert np.all(np.diff(s.times) == HOURS) and not np.isnan(s.values).any()
    assert elapsed < 2.0
