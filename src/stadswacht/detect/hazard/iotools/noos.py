"""NOOS time series files, the exchange format of the North-West European Shelf operational
oceanography system (and of Deltares' Matroos database).

A header of ``#`` lines with ``Key : value`` pairs, then one ``YYYYmmddHHMM value`` per line::

    # Location    : vlissingen
    # Position    : (3.597577,51.443861)
    # Source      : observed
    # Unit        : waterlevel
    # Analyse time: 000000000000
    # Timezone    : GMT
    201801010000   2.5000

``Unit`` names the *quantity* (``waterlevel``, ``wind_speed``), not its unit; the unit is looked
up in :data:`NOOS_UNITS`. ``Position`` is ``(lon,lat)`` [degrees]. An ``Analyse time`` other
than zeros makes the series a forecast issued then. Times are converted to UTC from the
``Timezone`` line (``GMT``/``UTC`` +0, ``MET``/``CET`` +1, or ``GMT+01:00``); a file without one
is refused unless ``utc_offset_hours`` is given. Values ``-999``/``-9999`` and ``NaN`` are missing.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from stadswacht.detect.hazard.iotools._common import PathLike, bad_line, read_text, utc_seconds
from stadswacht.detect.hazard.series import TimeSeries
from stadswacht.errors import SeriesError

__all__ = ["NOOS_UNITS", "parse_noos", "read_noos"]

NOOS_UNITS = {
    "waterlevel": "m",
    "waterlevel_astro": "m",
    "waterlevel_surge": "m",
    "surge": "m",
    "wave_height": "m",
    "wave_height_hm0": "m",
    "wave_period": "s",
    "wind_speed": "m/s",
    "current_speed": "m/s",
    "wind_direction": "deg",
    "air_pressure": "hPa",
}
"""The unit of each NOOS quantity name, as Matroos serves them (levels [m], speeds [m/s])."""

_MISSING = (-999.0, -9999.0)
_ZONES = {"GMT": 0.0, "UTC": 0.0, "Z": 0.0, "MET": 1.0, "CET": 1.0}
_HEADER_RE = re.compile(r"^#\s*([A-Za-z][A-Za-z ]*?)\s*:(.*)$")
_ZONE_RE = re.compile(r"^(?:GMT|UTC)\s*([+-])\s*(\d{1,2})(?::?(\d{2}))?$")


def read_noos(
    path: PathLike, *, utc_offset_hours: float | None = None, datum: str = ""
) -> tuple[TimeSeries, dict[str, Any]]:
    """Read a NOOS time series file.

    Parameters
    ----------
    path
        The NOOS file.
    utc_offset_hours
        Offset of the file's times from UTC [h]; by default from its ``Timezone`` line.
    datum
        The vertical datum of a level (NOOS does not say; Matroos levels at Dutch stations are
        relative to ``NAP``).

    Returns
    -------
    series : TimeSeries
        Times [s since the Unix epoch, UTC], values in :data:`NOOS_UNITS` of the quantity
        (levels [m]); ``kind`` ``forecast`` with ``attrs["issued_s"]`` when the file has an
        analysis time, ``attrs["lon"]``, ``attrs["lat"]`` [degrees] from ``Position``.
    metadata : dict
        ``file``, ``utc_offset_hours`` and every header ``Key : value`` as written.

    Raises
    ------
    SeriesError
        Missing file, no NOOS header, or a bad line (file, line and field named).

    See :func:`parse_noos` for an example.
    """
    text, name = read_text(path, "NOOS")
    return parse_noos(text, name=name, utc_offset_hours=utc_offset_hours, datum=datum)


def parse_noos(
    text: str, name: str = "<noos>", *, utc_offset_hours: float | None = None, datum: str = ""
) -> tuple[TimeSeries, dict[str, Any]]:
    """Parse the text of a NOOS file; ``name`` is used in error messages.

    Returns ``(series, metadata)`` as :func:`read_noos`.

    Examples
    --------
    >>> text = '''# Location    : vlissingen
    ... # Position    : (3.597577,51.443861)
    ... # Source      : observed
    ... # Unit        : waterlevel
    ... # Analyse time: 000000000000
    ... # Timezone    : GMT
    ... 201801010000   2.5000
    ... 201801010010   -999
    ... '''
    >>> s, meta = parse_noos(text)
    >>> s.station, s.parameter, s.unit, s.values.tolist(), s.times.tolist()
    ('vlissingen', 'waterlevel', 'm', [2.5, nan], [1514764800.0, 1514765400.0])
    """
    header: dict[str, str] = {}
    header_line: dict[str, int] = {}
    times: list[float] = []
    values: list[float] = []
    stamps_lines: list[int] = []
    for lineno, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        if line.startswith("#"):
            match = _HEADER_RE.match(line)
            if match is not None and not times:
                header[match.group(1)] = match.group(2).strip()
                header_line[match.group(1)] = lineno
            continue
        fields = line.split()
        if len(fields) != 2:
            raise bad_line(name, lineno, "data", f"expected 'YYYYmmddHHMM value', got {line!r}")
        stamp, value_text = fields
        try:
            if len(stamp) != 12 or not stamp.isdigit():
                raise ValueError("expected YYYYmmddHHMM")
            t = utc_seconds(
                int(stamp[:4]), int(stamp[4:6]), int(stamp[6:8]), int(stamp[8:10]), int(stamp[10:])
            )
        except ValueError as exc:
            raise bad_line(name, lineno, "time", f"bad time {stamp!r}: {exc}") from exc
        try:
            value = float(value_text)
        except ValueError:
            raise bad_line(name, lineno, "value", f"not a number: {value_text!r}") from None
        times.append(t)
        values.append(value)
        stamps_lines.append(lineno)
    if "Location" not in header:
        raise SeriesError(f"{name}: not a NOOS file: no '# Location :' header line")
    offset = (
        _zone_offset(header, header_line, name) if utc_offset_hours is None else utc_offset_hours
    )
    t_arr = np.array(times, dtype=np.float64) - offset * 3600.0
    if t_arr.shape[0] > 1:
        back = np.flatnonzero(np.diff(t_arr) <= 0)
        if back.size:
            lineno = stamps_lines[int(back[0]) + 1]
            raise bad_line(name, lineno, "time", "times must increase, this one does not")
    v_arr = np.array(values, dtype=np.float64)
    v_arr[np.isin(v_arr, _MISSING)] = np.nan
    quantity = header.get("Unit", "")
    attrs: dict[str, Any] = {"source": header.get("Source", "")}
    position = header.get("Position", "")
    if position:
        try:
            lon, lat = (float(x) for x in position.strip("()").split(","))
        except ValueError:
            raise bad_line(
                name, header_line["Position"], "Position", f"expected (lon,lat), got {position!r}"
            ) from None
        attrs["lon"], attrs["lat"] = lon, lat
    kind = "observed"
    analysis = header.get("Analyse time", header.get("Analysis time", ""))
    if analysis.strip("0"):
        key = "Analyse time" if "Analyse time" in header else "Analysis time"
        try:
            issued = utc_seconds(
                int(analysis[:4]),
                int(analysis[4:6]),
                int(analysis[6:8]),
                int(analysis[8:10]),
                int(analysis[10:12]),
            )
        except ValueError as exc:
            raise bad_line(name, header_line[key], key, f"bad analysis time {analysis!r}") from exc
        attrs["issued_s"] = issued - offset * 3600.0
        kind = "forecast"
    series = TimeSeries(
        times=t_arr,
        values=v_arr,
        station=header["Location"],
        parameter=quantity,
        unit=NOOS_UNITS.get(quantity.lower(), ""),
        datum=datum,
        kind=kind,
        attrs=attrs,
    )
    metadata: dict[str, Any] = {"file": name, "utc_offset_hours": float(offset), **header}
    return series, metadata


def _zone_offset(header: dict[str, str], header_line: dict[str, int], name: str) -> float:
    zone = header.get("Timezone", "").strip().upper()
    if not zone:
        raise SeriesError(
            f"{name}: no '# Timezone :' header line; pass utc_offset_hours to say what zone"
        )
    if zone in _ZONES:
        return _ZONES[zone]
    match = _ZONE_RE.match(zone)
    if match is None:
        raise bad_line(
            name, header_line["Timezone"], "Timezone", f"unknown time zone {zone!r} (GMT, MET, ...)"
        )
    sign = -1.0 if match.group(1) == "-" else 1.0
    return sign * (int(match.group(2)) + int(match.group(3) or 0) / 60.0)
