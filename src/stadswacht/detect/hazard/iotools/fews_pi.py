"""Delft-FEWS Published Interface (PI) XML time series: read and write.

The document Delft-FEWS imports and exports (schema ``pi_timeseries.xsd``, namespace
``http://www.wldelft.nl/fews/PI``)::

    <TimeSeries xmlns="http://www.wldelft.nl/fews/PI" version="1.2">
      <timeZone>1.0</timeZone>
      <series>
        <header>
          <type>instantaneous</type> <locationId>..</locationId> <parameterId>..</parameterId>
          <timeStep unit="second" multiplier="3600"/>
          <startDate date="2013-06-11" time="15:00:00"/> <endDate .../>
          <missVal>NaN</missVal> <units>mm</units>
        </header>
        <event date="2013-06-11" time="15:00:00" value="0.0" flag="2"/>
      </series>
    </TimeSeries>

``timeZone`` is the offset of every date and time in the document from UTC [h] (``0.0`` when
absent, as the schema says); times are returned in UTC. Events whose value is the header's
``missVal`` become ``NaN``. PI has no vertical datum: ``datum`` is neither read nor written.
"""

from __future__ import annotations

import datetime as dt
import io
import math
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import IO, Any

import numpy as np
from lxml import etree

from stadswacht.detect.hazard.iotools._common import PathLike, bad_line, utc_seconds
from stadswacht.detect.hazard.series import TimeSeries
from stadswacht.errors import SeriesError

__all__ = ["PI_NAMESPACE", "PiData", "parse_pi_xml", "read_pi_xml", "write_pi_xml"]

PI_NAMESPACE = "http://www.wldelft.nl/fews/PI"
_NS = f"{{{PI_NAMESPACE}}}"
_XSI = "http://www.w3.org/2001/XMLSchema-instance"
_SCHEMA = "http://fews.wldelft.nl/schemas/version1.0/pi-schemas/pi_timeseries.xsd"
_UNIT_SECONDS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400, "week": 604800}
# Header elements kept as attrs, in the schema's order: (element, attrs key, type).
_OPTIONAL = (
    ("longName", "long_name", str),
    ("stationName", "station_name", str),
    ("lat", "lat", float),
    ("lon", "lon", float),
    ("x", "x", float),
    ("y", "y", float),
    ("z", "z", float),
)

PiData = dict[tuple[str, str], TimeSeries]


def read_pi_xml(path: PathLike) -> tuple[PiData, dict[str, Any]]:
    """Read a Delft-FEWS PI-XML time series file.

    Parameters
    ----------
    path
        The XML file.

    Returns
    -------
    data : dict of (str, str) to TimeSeries
        One series per ``<series>``, keyed by ``(locationId, parameterId)``: times [s since
        the Unix epoch, UTC], values in ``units``, ``attrs`` with ``pi_type``
        (``instantaneous``, ``accumulative``, ``mean``), ``flags`` (per event, ``0`` original
        reliable ... ``9``), ``timestep_s`` (absent when non-equidistant), ``qualifier_ids``,
        ``module_instance_id``, ``station_name``, ``lat``/``lon`` [degrees], ``x``/``y``/``z``;
        a series with a ``forecastDate`` is ``kind="forecast"`` with ``attrs["issued_s"]``.
    metadata : dict
        ``file``, ``version``, ``utc_offset_hours`` (the ``timeZone``) and ``headers``: every
        header element's text per key.

    Raises
    ------
    SeriesError
        Missing file, not PI XML, a bad element (file, line and element named), or two series
        with the same location and parameter (ensembles and qualifiers are not told apart).

    See :func:`parse_pi_xml` for an example.
    """
    p = Path(path)
    try:
        raw = p.read_bytes()
    except OSError as exc:
        raise SeriesError(f"{p}: cannot read PI-XML file: {exc.strerror or exc}") from exc
    return parse_pi_xml(raw, name=str(p))


def parse_pi_xml(xml: bytes | str, name: str = "<pi-xml>") -> tuple[PiData, dict[str, Any]]:
    """Parse a PI-XML document; ``name`` is used in error messages.

    Returns ``(data, metadata)`` as :func:`read_pi_xml`.

    Examples
    --------
    >>> xml = '''<TimeSeries xmlns="http://www.wldelft.nl/fews/PI" version="1.2">
    ...  <timeZone>1.0</timeZone>
    ...  <series><header><type>instantaneous</type><locationId>HOEKVHLD</locationId>
    ...   <parameterId>H.meting</parameterId><timeStep unit="second" multiplier="600"/>
    ...   <startDate date="2024-01-01" time="01:00:00"/><endDate date="2024-01-01" time="01:10:00"/>
    ...   <missVal>-999.0</missVal><units>m</units></header>
    ...  <event date="2024-01-01" time="01:00:00" value="1.25" flag="0"/>
    ...  <event date="2024-01-01" time="01:10:00" value="-999.0" flag="8"/>
    ... </series></TimeSeries>'''
    >>> data, meta = parse_pi_xml(xml)
    >>> s = data["HOEKVHLD", "H.meting"]
    >>> s.times.tolist(), s.values.tolist(), s.unit  # 01:00 at UTC+1 is 00:00 UTC
    ([1704067200.0, 1704067800.0], [1.25, nan], 'm')
    """
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=True)
    try:
        data_bytes = xml.encode("utf-8") if isinstance(xml, str) else xml
        root = etree.fromstring(data_bytes, parser)
    except etree.XMLSyntaxError as exc:
        line = exc.lineno or 0
        raise SeriesError(f"{name}, line {line}: not well-formed XML: {exc.msg}") from exc
    if root.tag != f"{_NS}TimeSeries":
        raise bad_line(
            name,
            _line(root),
            "TimeSeries",
            f"root element is {root.tag!r}, not TimeSeries in namespace {PI_NAMESPACE}",
        )
    offset = 0.0
    zone = root.find(f"{_NS}timeZone")
    if zone is not None:
        offset = _float(zone, name, "timeZone")
    data: PiData = {}
    headers: dict[tuple[str, str], dict[str, str]] = {}
    for series_el in root.iterfind(f"{_NS}series"):
        series, header = _series(series_el, name, offset * 3600.0)
        key = (series.station, series.parameter)
        if key in data:
            raise bad_line(
                name,
                _line(series_el),
                "series",
                f"a second series for location {key[0]!r} parameter {key[1]!r}",
            )
        data[key] = series
        headers[key] = header
    metadata: dict[str, Any] = {
        "file": name,
        "version": root.get("version", ""),
        "utc_offset_hours": offset,
        "headers": headers,
    }
    return data, metadata


def _line(el: Any) -> int:
    line = el.sourceline
    return int(line) if isinstance(line, int) else 0


def _float(el: Any, name: str, what: str, text: str | None = None) -> float:
    raw = el.text if text is None else text
    try:
        return float((raw or "").strip())
    except ValueError:
        raise bad_line(name, _line(el), what, f"not a number: {raw!r}") from None


def _when(el: Any, name: str, what: str) -> float:
    date, time = el.get("date", ""), el.get("time", "")
    try:
        y, m, d = (int(x) for x in date.split("-"))
        hms = time.split(":")
        if len(hms) != 3:
            raise ValueError("time must be HH:MM:SS")
        seconds = float(hms[2])
        return utc_seconds(y, m, d, int(hms[0]), int(hms[1])) + seconds
    except ValueError as exc:
        raise bad_line(name, _line(el), what, f"bad date/time {date!r} {time!r}: {exc}") from exc


def _series(series_el: Any, name: str, offset_s: float) -> tuple[TimeSeries, dict[str, str]]:
    header_el = series_el.find(f"{_NS}header")
    if header_el is None:
        raise bad_line(name, _line(series_el), "header", "series without a header")
    header: dict[str, str] = {}
    for child in header_el:
        if isinstance(child.tag, str):
            tag = etree.QName(child).localname
            text = (child.text or "").strip()
            given = " ".join(f"{k}={v}" for k, v in child.attrib.items())
            header.setdefault(tag, text or given)

    def need(tag: str) -> Any:
        el = header_el.find(f"{_NS}{tag}")
        if el is None:
            raise bad_line(name, _line(header_el), tag, f"header has no <{tag}>")
        return el

    station = (need("locationId").text or "").strip()
    parameter = (need("parameterId").text or "").strip()
    miss = (need("missVal").text or "").strip()
    miss_value = _float(need("missVal"), name, "missVal")
    attrs: dict[str, Any] = {"pi_type": (need("type").text or "").strip()}
    module = header_el.find(f"{_NS}moduleInstanceId")
    if module is not None:
        attrs["module_instance_id"] = (module.text or "").strip()
    qualifiers = [(q.text or "").strip() for q in header_el.iterfind(f"{_NS}qualifierId")]
    if qualifiers:
        attrs["qualifier_ids"] = qualifiers
    step_el = need("timeStep")
    unit_step = step_el.get("unit", "")
    if unit_step != "nonequidistant":
        if unit_step not in _UNIT_SECONDS:
            raise bad_line(
                name, _line(step_el), "timeStep", f"unknown time step unit {unit_step!r}"
            )
        multiplier = _float(step_el, name, "timeStep", step_el.get("multiplier", "1"))
        divider = _float(step_el, name, "timeStep", step_el.get("divider", "1"))
        attrs["timestep_s"] = _UNIT_SECONDS[unit_step] * multiplier / divider
    for tag, key, kind_of in _OPTIONAL:
        el = header_el.find(f"{_NS}{tag}")
        if el is not None:
            attrs[key] = _float(el, name, tag) if kind_of is float else (el.text or "").strip()
    kind = "observed"
    forecast = header_el.find(f"{_NS}forecastDate")
    if forecast is not None:
        kind = "forecast"
        attrs["issued_s"] = _when(forecast, name, "forecastDate") - offset_s
    units_el = header_el.find(f"{_NS}units")
    unit = (units_el.text or "").strip() if units_el is not None else ""

    times: list[float] = []
    values: list[float] = []
    flags: list[int] = []
    lines: list[int] = []
    for event in series_el.iterfind(f"{_NS}event"):
        times.append(_when(event, name, "event") - offset_s)
        text = event.get("value")
        if text is None:
            raise bad_line(name, _line(event), "event", "event without a value")
        value = _float(event, name, "event value", text)
        if text.strip() == miss or value == miss_value:
            value = math.nan
        values.append(value)
        try:
            flags.append(int(event.get("flag", "0")))
        except ValueError:
            raise bad_line(
                name, _line(event), "event flag", f"not an integer: {event.get('flag')!r}"
            ) from None
        lines.append(_line(event))
    t = np.array(times, dtype=np.float64)
    if t.shape[0] > 1:
        back = np.flatnonzero(np.diff(t) <= 0)
        if back.size:
            raise bad_line(name, lines[int(back[0]) + 1], "event", "dates must increase")
    attrs["flags"] = np.array(flags, dtype=np.int64)
    series = TimeSeries(
        times=t,
        values=np.array(values, dtype=np.float64),
        station=station,
        parameter=parameter,
        unit=unit,
        kind=kind,
        attrs=attrs,
    )
    return series, header


def write_pi_xml(
    series: TimeSeries | Iterable[TimeSeries] | Mapping[Any, TimeSeries],
    path_or_buffer: PathLike | IO[bytes],
    *,
    utc_offset_hours: float = 0.0,
    miss_val: str = "NaN",
    pi_type: str = "instantaneous",
) -> None:
    """Write series as a Delft-FEWS PI-XML time series document.

    Parameters
    ----------
    series
        One series, several, or a dict of them (as :func:`read_pi_xml` returns).
    path_or_buffer
        A file path, or a binary buffer to write the UTF-8 document to.
    utc_offset_hours
        The ``timeZone`` of the document [h]; dates and times are written in it.
    miss_val
        What a missing (``NaN``) value is written as, also the header's ``missVal``.
    pi_type
        The header ``type`` of a series whose ``attrs`` has no ``pi_type``.

    Notes
    -----
    ``locationId`` is ``station``, ``parameterId`` ``parameter``, ``units`` ``unit``; the
    ``attrs`` that :func:`read_pi_xml` fills (``flags``, ``timestep_s``, ``qualifier_ids``,
    ``station_name``, ``lat``, ...) are written back, so reading the result gives the same
    series. Without ``timestep_s`` a series is ``nonequidistant``. Times are written to the
    second.

    Raises
    ------
    SeriesError
        The file cannot be written, or a series cannot be (no values, times not whole seconds).

    Examples
    --------
    >>> import io, numpy as np
    >>> s = TimeSeries(np.array([0.0, 600.0]), np.array([1.5, np.nan]), station="VLISSGN",
    ...                parameter="H.meting", unit="m")
    >>> buf = io.BytesIO()
    >>> write_pi_xml(s, buf)
    >>> back, _ = parse_pi_xml(buf.getvalue())
    >>> back["VLISSGN", "H.meting"].values.tolist()
    [1.5, nan]
    """
    if isinstance(series, TimeSeries):
        items = [series]
    elif isinstance(series, Mapping):
        items = list(series.values())
    else:
        items = list(series)
    offset_s = float(utc_offset_hours) * 3600.0
    root = etree.Element(f"{_NS}TimeSeries", nsmap={None: PI_NAMESPACE, "xsi": _XSI})  # type: ignore[dict-item]
    root.set(f"{{{_XSI}}}schemaLocation", f"{PI_NAMESPACE} {_SCHEMA}")
    root.set("version", "1.2")
    etree.SubElement(root, f"{_NS}timeZone").text = repr(float(utc_offset_hours))
    for s in items:
        _write_series(root, s, offset_s, miss_val, pi_type)
    document = etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
    if isinstance(path_or_buffer, (str, Path)) or not hasattr(path_or_buffer, "write"):
        target = Path(path_or_buffer)
        try:
            target.write_bytes(document)
        except OSError as exc:
            raise SeriesError(f"{target}: cannot write PI-XML file: {exc.strerror or exc}") from exc
    else:
        buffer: IO[bytes] = path_or_buffer  # type: ignore[assignment]
        if isinstance(buffer, io.TextIOBase):
            raise SeriesError("write_pi_xml needs a binary buffer (io.BytesIO, open(..., 'wb'))")
        buffer.write(document)


def _stamp(t_s: float) -> dict[str, str]:
    when = dt.datetime(1970, 1, 1) + dt.timedelta(seconds=round(t_s))
    return {"date": when.strftime("%Y-%m-%d"), "time": when.strftime("%H:%M:%S")}


def _write_series(root: Any, s: TimeSeries, offset_s: float, miss_val: str, pi_type: str) -> None:
    where = f"series {s.station!r} {s.parameter!r}"
    if len(s) == 0:
        raise SeriesError(f"cannot write {where} to PI-XML: it has no values")
    local = s.times + offset_s
    if not bool(np.all(local == np.round(local))):
        raise SeriesError(f"cannot write {where} to PI-XML: times are not whole seconds")
    el = etree.SubElement(root, f"{_NS}series")
    header = etree.SubElement(el, f"{_NS}header")

    def add(tag: str, text: str | None = None, **attrib: str) -> None:
        child = etree.SubElement(header, f"{_NS}{tag}", attrib)
        if text is not None:
            child.text = text

    a = s.attrs
    add("type", str(a.get("pi_type", pi_type)))
    if "module_instance_id" in a:
        add("moduleInstanceId", str(a["module_instance_id"]))
    add("locationId", s.station)
    add("parameterId", s.parameter)
    for qualifier in a.get("qualifier_ids", []):
        add("qualifierId", str(qualifier))
    step = a.get("timestep_s")
    if step is None:
        add("timeStep", unit="nonequidistant")
    else:
        add("timeStep", unit="second", multiplier=_number(float(step)))
    add("startDate", **_stamp(float(local[0])))
    add("endDate", **_stamp(float(local[-1])))
    if s.kind == "forecast" and "issued_s" in a:
        add("forecastDate", **_stamp(float(a["issued_s"]) + offset_s))
    add("missVal", miss_val)
    for tag, key, kind_of in _OPTIONAL:
        if key in a:
            add(tag, repr(float(a[key])) if kind_of is float else str(a[key]))
    add("units", s.unit)
    flags = np.asarray(a.get("flags", np.zeros(len(s), dtype=np.int64)))
    if flags.shape != s.values.shape:
        raise SeriesError(f"cannot write {where}: {flags.shape[0]} flags for {len(s)} values")
    for t, v, flag in zip(local.tolist(), s.values.tolist(), flags.tolist(), strict=True):
        event = etree.SubElement(el, f"{_NS}event", _stamp(t))
        event.set("value", miss_val if math.isnan(v) else repr(v))
        event.set("flag", str(int(flag)))


def _number(x: float) -> str:
    return str(int(x)) if x == int(x) else repr(x)
