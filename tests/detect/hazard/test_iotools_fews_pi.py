from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from lxml import etree

from stadswacht.detect.hazard.iotools import (
    PI_NAMESPACE,
    parse_pi_xml,
    read_pi_xml,
    write_pi_xml,
)
from stadswacht.detect.hazard.series import TimeSeries
from stadswacht.errors import SeriesError

FIXTURE = (
    Path(__file__).parents[2]
    / "fixtures"
    / "hydro"
    / "FEWS_PI_example_hydropandas_test_wsvv_fews.xml"
)
RADAR = ("FEWS_RADAR_241", "P.radar.h")
EVAP = ("FEWS_RADAR_241", "Eact.d")
# 2013-06-11 15:00 at timeZone 1.0 is 14:00 UTC.
FIRST = 1370959200.0


def same(a: TimeSeries, b: TimeSeries) -> None:
    assert np.array_equal(a.times, b.times)
    assert np.array_equal(a.values, b.values, equal_nan=True)
    assert (a.station, a.parameter, a.unit, a.datum, a.kind) == (
        b.station,
        b.parameter,
        b.unit,
        b.datum,
        b.kind,
    )
    assert a.attrs.keys() == b.attrs.keys()
    for key, value in a.attrs.items():
        other: Any = b.attrs[key]
        if isinstance(value, np.ndarray):
            assert np.array_equal(value, other), key
        else:
            assert value == other, key


def test_reads_the_hydropandas_example() -> None:
    data, meta = read_pi_xml(FIXTURE)
    assert set(data) == {RADAR, EVAP}
    rain = data[RADAR]
    assert rain.unit == "mm" and rain.kind == "observed" and len(rain) == 34
    assert rain.times[0] == FIRST and rain.attrs["timestep_s"] == 3600.0
    assert np.all(np.diff(rain.times) == 3600.0)
    assert rain.values[0] == 0.0 and rain.values[29] == 0.32 and rain.values[30] == 0.86
    assert (rain.attrs["flags"] == 2).all() and rain.attrs["pi_type"] == "accumulative"
    assert rain.attrs["station_name"] == "Schernzeel-noord"
    assert rain.attrs["lat"] == 52.083134718018805 and rain.attrs["x"] == 161278.0
    assert rain.attrs["qualifier_ids"] == ["merge"]
    evap = data[EVAP]
    assert evap.attrs["timestep_s"] == 86400.0 and evap.values[-1] == 1.8
    assert evap.times[0] == FIRST + 9 * 3600  # 2013-06-12 00:00 at UTC+1
    assert meta["utc_offset_hours"] == 1.0 and meta["version"] == "1.26"
    assert meta["headers"][RADAR]["moduleInstanceId"] == "pr.scalar.radar"


@pytest.mark.parametrize("offset", [0.0, 1.0, -3.5])
def test_round_trip_gives_the_same_series(tmp_path: Path, offset: float) -> None:
    data, _ = read_pi_xml(FIXTURE)
    data[RADAR].values[3] = np.nan  # a missing value survives too
    path = tmp_path / "out.xml"
    write_pi_xml(data, path, utc_offset_hours=offset, miss_val="-999.0")
    back, meta = read_pi_xml(path)
    assert set(back) == set(data) and meta["utc_offset_hours"] == offset
    for key in data:
        same(data[key], back[key])


def test_written_document_is_pi_with_header_in_schema_order() -> None:
    s = TimeSeries(
        np.array([0.0, 600.0, 1800.0]),
        np.array([1.5, np.nan, 2.0]),
        station="VLISSGN",
        parameter="H.meting",
        unit="m",
        kind="forecast",
        attrs={"issued_s": -600.0},
    )
    buf = io.BytesIO()
    write_pi_xml([s], buf, utc_offset_hours=1.0)
    root = etree.fromstring(buf.getvalue())
    ns = {"pi": PI_NAMESPACE}
    assert root.tag == f"{{{PI_NAMESPACE}}}TimeSeries"
    assert root.findtext("pi:timeZone", namespaces=ns) == "1.0"
    header = root.find("pi:series/pi:header", ns)
    assert header is not None
    tags = [etree.QName(c).localname for c in header]
    assert tags == [
        "type",
        "locationId",
        "parameterId",
        "timeStep",
        "startDate",
        "endDate",
        "forecastDate",
        "missVal",
        "units",
    ]
    assert header.find("pi:timeStep", ns).get("unit") == "nonequidistant"  # type: ignore[union-attr]
    assert header.find("pi:forecastDate", ns).attrib == {"date": "1970-01-01", "time": "00:50:00"}  # type: ignore[union-attr]
    events = root.findall("pi:series/pi:event", ns)
    assert [e.get("value") for e in events] == ["1.5", "NaN", "2.0"]
    assert events[0].attrib["time"] == "01:00:00" and events[0].get("flag") == "0"
    back = parse_pi_xml(buf.getvalue())[0]["VLISSGN", "H.meting"]
    assert back.attrs.pop("pi_type") == "instantaneous"
    assert back.attrs.pop("flags").tolist() == [0, 0, 0]
    same(s, back)


def test_errors_name_the_line() -> None:
    text = FIXTURE.read_text()
    broken = text.replace('time="20:00:00" value="0.32"', 'time="20:00:00" value="lots"')
    with pytest.raises(SeriesError, match=r"^pi\.xml, line 51, field event value: not a number"):
        parse_pi_xml(broken, name="pi.xml")
    bad_date = text.replace(
        'date="2013-06-12" time="20:00:00"', 'date="2013-13-12" time="20:00:00"'
    )
    with pytest.raises(SeriesError, match=r"line 51, field event: bad date/time '2013-13-12'"):
        parse_pi_xml(bad_date, name="pi.xml")
    with pytest.raises(SeriesError, match=r"line 2: not well-formed XML"):
        parse_pi_xml("<a>\n<b></a>", name="x")
    with pytest.raises(SeriesError, match=r"field TimeSeries: root element is 'TimeSeries'"):
        parse_pi_xml("<TimeSeries/>", name="x")
    twice = text.replace(
        "<parameterId>Eact.d</parameterId>", "<parameterId>P.radar.h</parameterId>"
    )
    with pytest.raises(SeriesError, match=r"line 57, field series: a second series"):
        parse_pi_xml(twice, name="x")


def test_missing_file_and_unwritable_target(tmp_path: Path) -> None:
    with pytest.raises(SeriesError, match="cannot read PI-XML file"):
        read_pi_xml(tmp_path / "absent.xml")
    s = TimeSeries(np.array([0.0]), np.array([1.0]), station="A", parameter="B", unit="m")
    with pytest.raises(SeriesError, match="cannot write PI-XML file"):
        write_pi_xml(s, tmp_path / "no" / "such" / "dir.xml")
    with pytest.raises(SeriesError, match="not whole seconds"):
        write_pi_xml(
            TimeSeries(np.array([0.5]), np.array([1.0]), station="A", parameter="B", unit="m"),
            io.BytesIO(),
        )
