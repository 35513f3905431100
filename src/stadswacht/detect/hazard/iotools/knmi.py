"""KNMI station files: hourly weather (``uurgeg_*.txt``) and daily rainfall
(``neerslaggeg_*.txt``) as downloaded from the KNMI climate data pages.

Both open with a free-text legend, then a column line and comma-separated rows with blanks for
missing values::

    # STN,YYYYMMDD,   HH,   DD,   FH, ...          (hourly, after '# ')
      260,20000101,    1,  200,   30, ...
    STN,YYYYMMDD,   RD,   SX,                      (daily rainfall)
    831,19510101,    0,     ,

Values are converted from KNMI's integer units to the units in :data:`HOURLY_COLUMNS` and
:data:`DAILY_COLUMNS`. Time stamps, all UTC, are the *end* of the interval a value belongs to:
``HH`` (1 to 24) is the hour ending at ``HH`` UT (``05`` is 04:00-05:00 UT), and the instantaneous
elements (``T``, ``P``, ``U``, ...) are observed then; a daily ``RD`` is the sum from 08:00 UT the
day before to 08:00 UT on its date, stamped at 08:00 UT on its date. Amounts reported as ``-1``
("less than 0.05") become half the threshold, ``0.025``, with ``attrs["trace"]`` marking them.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from stadswacht.detect.hazard.iotools._common import PathLike, bad_line, read_text, utc_seconds
from stadswacht.detect.hazard.series import TimeSeries
from stadswacht.errors import SeriesError

__all__ = [
    "DAILY_COLUMNS",
    "HOURLY_COLUMNS",
    "KnmiData",
    "parse_knmi_daily",
    "parse_knmi_hourly",
    "read_knmi_daily",
    "read_knmi_hourly",
]

HOURLY_COLUMNS: dict[str, tuple[float, str, str]] = {
    "DD": (1.0, "deg", "wind direction, last 10 min of the hour (0 calm; 990 variable -> NaN)"),
    "FH": (0.1, "m/s", "hourly mean wind speed"),
    "FF": (0.1, "m/s", "mean wind speed, last 10 min of the hour"),
    "FX": (0.1, "m/s", "highest gust in the hour"),
    "T": (0.1, "degC", "air temperature at 1.50 m"),
    "T10N": (0.1, "degC", "minimum temperature at 0.10 m in the last 6 hours"),
    "TD": (0.1, "degC", "dew point at 1.50 m"),
    "SQ": (0.1, "h", "sunshine duration in the hour (-1, < 0.05 h -> 0.025)"),
    "Q": (1.0e4, "J/m2", "global radiation summed over the hour (file: J/cm2)"),
    "DR": (0.1, "h", "precipitation duration in the hour"),
    "RH": (0.1, "mm", "precipitation in the hour (-1, < 0.05 mm -> 0.025)"),
    "P": (0.1, "hPa", "air pressure reduced to mean sea level"),
    "VV": (1.0, "m", "horizontal visibility, lower bound of the reported class"),
    "N": (1.0, "octa", "cloud cover (9, sky invisible -> NaN)"),
    "U": (1.0, "%", "relative humidity at 1.50 m"),
    "WW": (1.0, "code", "present weather code 00-99"),
    "IX": (1.0, "code", "weather code indicator"),
    "M": (1.0, "1", "fog occurred (0/1)"),
    "R": (1.0, "1", "rain occurred (0/1)"),
    "S": (1.0, "1", "snow occurred (0/1)"),
    "O": (1.0, "1", "thunder occurred (0/1)"),
    "Y": (1.0, "1", "ice formation occurred (0/1)"),
}
"""Hourly elements: KNMI column -> (factor to the unit, unit, meaning). Others are kept raw."""

DAILY_COLUMNS: dict[str, tuple[float, str, str]] = {
    "RD": (0.1, "mm", "precipitation 08:00 UT the day before to 08:00 UT (-1 -> 0.025)"),
    "SX": (1.0, "cm", "snow depth at 08:00 UT (997-999, broken cover or dunes -> NaN)"),
}
"""Daily rainfall-station elements, as :data:`HOURLY_COLUMNS`."""

_TRACE_COLUMNS = {"SQ", "RH", "RD"}
_STATION_RE = re.compile(
    r"^#?\s*(\d+):?\s+(-?\d+(?:\.\d+)?)\s+(-?\d+(?:\.\d+)?)\s+(-?\d+(?:\.\d+)?)\s+(\S.*)$"
)
_FILE_NAME_RE = re.compile(r"neerslaggeg_(.+?)_(\d+)(?:_|$)", re.IGNORECASE)

KnmiData = dict[str, TimeSeries]


def read_knmi_hourly(
    path: PathLike, *, station: str | None = None
) -> tuple[KnmiData, dict[str, Any]]:
    """Read a KNMI hourly station file (``uurgeg_260_1991-2000.txt``).

    Parameters
    ----------
    path
        The file.
    station
        The station number to keep when the file holds several.

    Returns
    -------
    data : dict of str to TimeSeries
        One series per element (``T``, ``RH``, ``FH``, ...), in the units of
        :data:`HOURLY_COLUMNS`, times [s since the Unix epoch, UTC] at the end of each hour.
    metadata : dict
        ``file``, ``station``, ``name``, ``lon``/``lat`` [degrees] and ``alt`` [m] when the file
        lists them, ``columns`` and ``legend`` (each element's description in the file).

    Raises
    ------
    SeriesError
        Missing file, no column line, a bad row (file, line and column named), or several
        stations without ``station``.

    See :func:`parse_knmi_hourly` for an example.
    """
    text, name = read_text(path, "KNMI hourly")
    return parse_knmi_hourly(text, name=name, station=station)


def parse_knmi_hourly(
    text: str, name: str = "<uurgeg>", *, station: str | None = None
) -> tuple[KnmiData, dict[str, Any]]:
    """Parse the text of a KNMI hourly file; ``name`` is used in error messages.

    Returns ``(data, metadata)`` as :func:`read_knmi_hourly`.

    Examples
    --------
    >>> text = '''# STN,YYYYMMDD,   HH,    T,   RH,   FH
    ...   260,20000101,    1,   49,    0,   30
    ...   260,20000101,    2,  -12,   -1,     '''
    >>> data, meta = parse_knmi_hourly(text)
    >>> data["T"].values.tolist(), data["T"].unit, data["RH"].values.tolist()
    ([4.9, -1.2], 'degC', [0.0, 0.025])
    >>> data["FH"].values.tolist()  # blank is missing
    [3.0, nan]
    >>> data["T"].times.tolist()  # hour 1 ends 2000-01-01 01:00 UTC
    [946688400.0, 946692000.0]
    """
    return _parse(text, name, station, hourly=True)


def read_knmi_daily(
    path: PathLike, *, station: str | None = None
) -> tuple[KnmiData, dict[str, Any]]:
    """Read a KNMI daily rainfall-station file (``neerslaggeg_ESBEEK_831.txt``).

    Parameters
    ----------
    path
        The file; a name ``neerslaggeg_<NAME>_<STN>`` gives the station's name.
    station
        The station number to keep when the file holds several.

    Returns
    -------
    data : dict of str to TimeSeries
        ``RD`` [mm] (and ``SX`` [cm] when given), stamped 08:00 UTC on the day each 24-hour sum
        ends; ``attrs["interval_s"]`` is 86400.
    metadata : dict
        As :func:`read_knmi_hourly`.

    Raises
    ------
    SeriesError
        As :func:`read_knmi_hourly`.

    See :func:`parse_knmi_daily` for an example.
    """
    text, name = read_text(path, "KNMI daily")
    data, metadata = parse_knmi_daily(text, name=name, station=station)
    match = _FILE_NAME_RE.search(Path(path).stem)
    if not metadata["name"] and match is not None and match.group(2) == metadata["station"]:
        metadata["name"] = match.group(1)
        for series in data.values():
            series.attrs["name"] = match.group(1)
    return data, metadata


def parse_knmi_daily(
    text: str, name: str = "<neerslaggeg>", *, station: str | None = None
) -> tuple[KnmiData, dict[str, Any]]:
    """Parse the text of a KNMI daily rainfall file; ``name`` is used in error messages.

    Returns ``(data, metadata)`` as :func:`read_knmi_daily`.

    Examples
    --------
    >>> text = '''STN,YYYYMMDD,   RD,   SX,
    ... 831,19510101,    0,     ,
    ... 831,19510102,   12,     ,'''
    >>> data, meta = parse_knmi_daily(text)
    >>> data["RD"].values.tolist(), data["RD"].unit
    ([0.0, 1.2], 'mm')
    >>> data["RD"].times.tolist()  # 1951-01-01 08:00 UTC, when the first sum ends
    [-599587200.0, -599500800.0]
    """
    return _parse(text, name, station, hourly=False)


def _parse(
    text: str, name: str, station: str | None, *, hourly: bool
) -> tuple[KnmiData, dict[str, Any]]:
    lines = text.splitlines()
    columns: list[str] = []
    column_line = 0
    legend: dict[str, str] = {}
    stations: dict[str, dict[str, Any]] = {}
    for lineno, raw in enumerate(lines, start=1):
        line = raw.strip()
        bare = line.lstrip("#").strip()
        if bare.replace(" ", "").upper().startswith("STN,YYYYMMDD"):
            columns = [c.strip() for c in bare.split(",")]
            while columns and not columns[-1]:
                columns.pop()  # the daily files end every line with a comma
            column_line = lineno
            break
        match = _STATION_RE.match(line)
        if match is not None:
            stations[match.group(1)] = {
                "lon": float(match.group(2)),
                "lat": float(match.group(3)),
                "alt": float(match.group(4)),
                "name": match.group(5).strip(),
            }
            continue
        key, eq, description = bare.partition("=")
        if eq and key.strip() and " " not in key.strip():
            legend[key.strip()] = description.strip()
    if not columns:
        raise SeriesError(f"{name}: not a KNMI station file: no 'STN,YYYYMMDD,...' column line")
    want = ["STN", "YYYYMMDD", "HH"] if hourly else ["STN", "YYYYMMDD"]
    if columns[: len(want)] != want:
        raise bad_line(
            name, column_line, "columns", f"expected {','.join(want)} first, got {columns[:3]}"
        )
    elements = columns[len(want) :]
    rows: list[list[str]] = []
    row_lines: list[int] = []
    for lineno in range(column_line + 1, len(lines) + 1):
        line = lines[lineno - 1].strip()
        if not line or line.startswith("#"):
            continue
        fields = line.split(",")
        if len(fields) == len(columns) + 1 and not fields[-1].strip():
            fields.pop()
        if len(fields) != len(columns):
            raise bad_line(
                name, lineno, "row", f"{len(fields)} fields, the column line has {len(columns)}"
            )
        rows.append(fields)
        row_lines.append(lineno)
    if not rows:
        raise SeriesError(f"{name}: no data rows after the column line (line {column_line})")
    cells = np.char.strip(np.array(rows, dtype=str))
    stn = cells[:, 0]
    found = sorted(set(stn.tolist()))
    if station is None:
        if len(found) > 1:
            raise SeriesError(f"{name}: stations {', '.join(found)}; pass station= to pick one")
        station = found[0]
    keep = stn == station
    if not keep.any():
        raise SeriesError(f"{name}: no rows for station {station!r}; it has {', '.join(found)}")
    cells = cells[keep]
    kept_lines = np.array(row_lines)[keep]
    times = _times(cells, kept_lines, name, hourly)
    back = np.flatnonzero(np.diff(times) <= 0)
    if back.size:
        raise bad_line(name, int(kept_lines[back[0] + 1]), "YYYYMMDD", "times must increase")
    raw_values = _numbers(cells[:, len(want) :], kept_lines, elements, name)
    info = stations.get(station, {})
    table = HOURLY_COLUMNS if hourly else DAILY_COLUMNS
    data: KnmiData = {}
    for j, element in enumerate(elements):
        values, unit, attrs = _convert(element, raw_values[:, j], table)
        attrs["name"] = info.get("name", "")
        attrs["interval_s"] = 3600.0 if hourly else 86400.0
        if element in legend:
            attrs["description"] = legend[element]
        for key in ("lon", "lat", "alt"):
            if key in info:
                attrs[key] = info[key]
        data[element] = TimeSeries(
            times=times, values=values, station=station, parameter=element, unit=unit, attrs=attrs
        )
    metadata: dict[str, Any] = {
        "file": name,
        "station": station,
        "name": info.get("name", ""),
        "columns": columns,
        "legend": legend,
        **{key: info[key] for key in ("lon", "lat", "alt") if key in info},
    }
    return data, metadata


def _times(
    cells: npt.NDArray[np.str_], lines: npt.NDArray[np.int_], name: str, hourly: bool
) -> npt.NDArray[np.float64]:
    day_start: dict[str, float] = {}
    out = np.empty(cells.shape[0], dtype=np.float64)
    for i, (date, lineno) in enumerate(zip(cells[:, 1].tolist(), lines.tolist(), strict=True)):
        start = day_start.get(date)
        if start is None:
            try:
                if len(date) != 8 or not date.isdigit():
                    raise ValueError("expected YYYYMMDD")
                start = utc_seconds(int(date[:4]), int(date[4:6]), int(date[6:]))
            except ValueError as exc:
                raise bad_line(name, lineno, "YYYYMMDD", f"bad date {date!r}: {exc}") from exc
            day_start[date] = start
        if hourly:
            hh = cells[i, 2]
            if not hh.isdigit() or not 1 <= int(hh) <= 24:
                raise bad_line(name, lineno, "HH", f"hour must be 1 to 24, not {hh!r}")
            out[i] = start + int(hh) * 3600.0
        else:
            out[i] = start + 8 * 3600.0
    return out


def _numbers(
    cells: npt.NDArray[np.str_], lines: npt.NDArray[np.int_], elements: list[str], name: str
) -> npt.NDArray[np.float64]:
    filled = np.where(cells == "", "nan", cells)
    try:
        return filled.astype(np.float64)
    except ValueError:
        pass
    for i, row in enumerate(filled.tolist()):
        for j, cell in enumerate(row):
            try:
                value = float(cell)
            except ValueError:
                value = None
            if value is None or (cell.lower() == "nan" and cells[i, j] != ""):
                raise bad_line(name, int(lines[i]), elements[j], f"not a number: {cell!r}")
    raise AssertionError("unreachable: a cell failed to convert but none is bad")


def _visibility_m(code: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    # KNMI code: 0 < 100 m, 1-50 in 100 m classes, 56-80 in km (code - 50), 81-89 in 5 km
    # classes from 30 km; 51-55 are not used.
    out = np.full(code.shape, np.nan)
    out = np.where(code <= 50, code * 100.0, out)
    out = np.where((code >= 56) & (code <= 80), (code - 50) * 1000.0, out)
    out = np.where((code > 80) & (code <= 89), (30 + (code - 80) * 5) * 1000.0, out)
    return np.where(np.isnan(code), np.nan, out)


def _convert(
    element: str, raw: npt.NDArray[np.float64], table: dict[str, tuple[float, str, str]]
) -> tuple[npt.NDArray[np.float64], str, dict[str, Any]]:
    attrs: dict[str, Any] = {}
    if element not in table:
        attrs["raw"] = True  # an element this reader does not know: values as in the file
        return raw.copy(), "", attrs
    factor, unit, meaning = table[element]
    attrs["meaning"] = meaning
    # Divide by 10 rather than multiply by 0.1, so 12 tenths read 1.2, not 1.2000000000000002.
    values = raw / round(1.0 / factor) if factor < 1.0 else raw * factor
    if element in _TRACE_COLUMNS:
        trace = raw == -1
        values[trace] = 0.025
        attrs["trace"] = trace
    elif element == "DD":
        values[raw == 990] = np.nan
    elif element == "N":
        values[raw == 9] = np.nan
    elif element == "VV":
        values = _visibility_m(raw)
    elif element == "SX":
        attrs["code"] = raw.copy()
        values[raw >= 997] = np.nan
    return values, unit, attrs
