"""Rijkswaterstaat ``.dia`` files (DONAR "dia" export): water levels and other series.

A DIA file holds one or more blocks. Each block opens with ``[W3H]`` (what was measured:
``PAR`` parameter, ``EHD`` unit, ``HDH`` vertical datum, ``LOC`` station code, name and
coordinates, ...), optionally ``[MUX]`` (the channels of a multiplexed series, such as tidal
extremes with their HW/LW code), then ``[RKS]`` (``TYD`` the period and, for an equidistant
series, the time step), ``[TPS]`` (status per period) and ``[WRD]``, the values::

    [WRD]
    5/0:92/0:134/0:125/0:...

Each value is ``value/quality`` ending in ``:``; the tokens run on over as many lines as needed.
An equidistant series (``TYP;TE``) gives only the values, the times follow from ``TYD``; a
non-equidistant one (``TYP;TN``) gives ``YYYYMMDD;HHMM;value/quality:`` per value; tidal
extremes, multiplexed with their HW/LW code, give ``YYYYMMDD;HHMM;code/quality;value:`` and come
back as the level with the codes in ``attrs["channels"]["GETETCDE"]``. Old exports write
numbers Fortran-style with a decimal comma (``,236389E+01``); both are read.

Time zone: RWS stores and exports its series in MET, Central European *standard* time, UTC+1
all year round without summer time (this is how Deltares' hatyan, the reference reader for these
files, localises them: ``UTC+01:00``). The files do not say so themselves, so it is a parameter,
``utc_offset_hours=1.0``; the times returned are UTC.

Missing values: the value ``-999999999`` (the ``PLT`` "no value" of the format) or the quality
code ``99`` (RWS "hiaatwaarde", a gap) become ``NaN``; the quality codes stay in
``attrs["quality"]`` (``0`` normal, ``25`` interpolated or estimated, ``99`` gap).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from stadswacht.detect.hazard.iotools._common import PathLike, bad_line, read_text, utc_seconds
from stadswacht.detect.hazard.series import TimeSeries
from stadswacht.errors import SeriesError

__all__ = ["MET_UTC_OFFSET_HOURS", "MISSING_VALUE", "DiaData", "parse_dia", "read_dia"]

MET_UTC_OFFSET_HOURS = 1.0
"""Offset of the times in RWS files from UTC [h]: MET, UTC+1 all year."""

MISSING_VALUE = -999999999.0
"""The value a DIA file writes where there is none."""

_GAP_QUALITY = 99
_STEP_SECONDS = {
    "cs": 0.01,  # centiseconds
    "s": 1.0,
    "sec": 1.0,
    "min": 60.0,
    "uur": 3600.0,
    "h": 3600.0,
    "dag": 86400.0,
    "d": 86400.0,
}

DiaData = TimeSeries | dict[tuple[str, str], TimeSeries]
"""One series, or a dict of them keyed by ``(station, parameter)`` when a file holds several."""


@dataclass
class _Block:
    line: int
    header: dict[str, list[str]] = field(default_factory=dict)
    header_line: dict[str, int] = field(default_factory=dict)
    mux: dict[str, str] = field(default_factory=dict)
    wrd: list[str] = field(default_factory=list)
    wrd_line: int = 0


def read_dia(
    path: PathLike, *, utc_offset_hours: float = MET_UTC_OFFSET_HOURS
) -> tuple[DiaData, dict[str, Any]]:
    """Read a Rijkswaterstaat ``.dia`` file.

    Parameters
    ----------
    path
        The ``.dia`` file.
    utc_offset_hours
        Offset of the file's times from UTC [h]; RWS writes MET, ``+1``.

    Returns
    -------
    data : TimeSeries or dict of (str, str) to TimeSeries
        The series, times [s since the Unix epoch, UTC], values in the file's unit (``EHD``,
        water levels [cm] above ``NAP``); a dict keyed by ``(station, parameter)`` when the file
        holds more than one. Blocks of the same station and parameter are joined.
    metadata : dict
        ``file``, ``idt`` (the ``[IDT]`` line), ``utc_offset_hours`` and ``blocks``: per block
        its ``line``, ``station``, ``parameter`` and every header field by key.

    Raises
    ------
    SeriesError
        The file is missing, is not a DIA file, or a line is malformed (file, line and field
        named).

    See :func:`parse_dia` for an example.
    """
    text, name = read_text(path, "DIA")
    return parse_dia(text, name=name, utc_offset_hours=utc_offset_hours)


def parse_dia(
    text: str, name: str = "<dia>", *, utc_offset_hours: float = MET_UTC_OFFSET_HOURS
) -> tuple[DiaData, dict[str, Any]]:
    """Parse the text of a ``.dia`` file; ``name`` is used in error messages.

    Returns ``(data, metadata)`` as :func:`read_dia`.

    Examples
    --------
    >>> text = '''[W3H]
    ... PAR;WATHTE;Waterhoogte;J
    ... EHD;I;cm
    ... HDH;NAP;T.o.v. Normaal Amsterdams Peil
    ... LOC;HOEKVHLD;Hoek van Holland;P;RD;6793000;44400000
    ... TYP;TE
    ... [RKS]
    ... TYD;19760101;0000;19760101;0200;60;min
    ... [WRD]
    ... 5/0:92/0:
    ... -999999999/99:
    ... '''
    >>> s, meta = parse_dia(text)
    >>> s.station, s.unit, s.datum, s.values.tolist()
    ('HOEKVHLD', 'cm', 'NAP', [5.0, 92.0, nan])
    >>> float(s.times[0])  # 1976-01-01 00:00 MET is 1975-12-31 23:00 UTC
    189298800.0
    """
    offset_s = float(utc_offset_hours) * 3600.0
    blocks, idt = _split_blocks(text, name)
    groups: dict[tuple[str, str], list[TimeSeries]] = {}
    block_meta: list[dict[str, Any]] = []
    for block in blocks:
        series = _block_series(block, name, offset_s)
        groups.setdefault((series.station, series.parameter), []).append(series)
        block_meta.append(
            {
                "line": block.line,
                "station": series.station,
                "parameter": series.parameter,
                "header": {k: list(v) for k, v in block.header.items()},
            }
        )
    joined = {key: _join(parts, name) for key, parts in groups.items()}
    metadata: dict[str, Any] = {
        "file": name,
        "idt": idt,
        "utc_offset_hours": float(utc_offset_hours),
        "blocks": block_meta,
    }
    if len(joined) == 1:
        return next(iter(joined.values())), metadata
    return joined, metadata


def _split_blocks(text: str, name: str) -> tuple[list[_Block], str]:
    blocks: list[_Block] = []
    idt = ""
    section = ""
    for lineno, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        if line.startswith("["):
            tag = line.strip("[]").split(";", 1)[0].upper()
            if tag == "IDT":
                idt = line.strip("[]")
                continue
            if tag == "W3H":
                blocks.append(_Block(line=lineno))
            elif not blocks:
                raise bad_line(name, lineno, "section", f"{line!r} before any [W3H] block")
            elif tag not in {"MUX", "RKS", "TPS", "WRD"}:
                raise bad_line(name, lineno, "section", f"unknown section {line!r}")
            section = tag
            if tag == "WRD":
                blocks[-1].wrd_line = lineno + 1
            continue
        if not blocks:
            raise bad_line(name, lineno, "header", f"not a DIA file: {line[:60]!r} before [W3H]")
        block = blocks[-1]
        if section == "WRD":
            block.wrd.append(line)
            continue
        key, _, rest = line.partition(";")
        fields = rest.split(";")
        if section == "MUX" and key == "MXP" and len(fields) >= 2:
            block.mux[fields[0]] = fields[1]
        elif key not in block.header:
            block.header[key] = fields
            block.header_line[key] = lineno
    if not blocks:
        raise SeriesError(f"{name}: not a DIA file: no [W3H] block")
    return blocks, idt


def _field(block: _Block, key: str, index: int, name: str) -> str:
    fields = block.header.get(key)
    if fields is None:
        raise bad_line(name, block.line, key, f"block has no {key} line")
    if len(fields) <= index or not fields[index].strip():
        raise bad_line(name, block.header_line[key], key, f"{key} has no field {index + 1}")
    return fields[index].strip()


def _dia_time(date: str, hhmm: str, name: str, lineno: int, what: str) -> float:
    try:
        if len(date) != 8 or len(hhmm) != 4:
            raise ValueError("expected YYYYMMDD;HHMM")
        return utc_seconds(
            int(date[:4]), int(date[4:6]), int(date[6:]), int(hhmm[:2]), int(hhmm[2:])
        )
    except ValueError as exc:
        raise bad_line(name, lineno, what, f"bad date/time {date};{hhmm}: {exc}") from exc


def _block_series(block: _Block, name: str, offset_s: float) -> TimeSeries:
    station = _field(block, "LOC", 0, name)
    parameter = _field(block, "PAR", 0, name)
    ehd = block.header.get("EHD", [])
    unit = ehd[1].strip() if len(ehd) > 1 else ""
    datum = block.header.get("HDH", [""])[0].strip()
    if datum.upper() == "NVT":  # "niet van toepassing"
        datum = ""
    tyd = block.header.get("TYD")
    if tyd is None:
        raise bad_line(name, block.line, "TYD", "block has no [RKS] TYD line")
    # Without a TYP line, a TYD with a time step means an equidistant series.
    default_kind = "TE" if len(tyd) >= 6 else "TN"
    kind = block.header.get("TYP", [default_kind])[0].strip().upper()
    tyd_line = block.header_line["TYD"]
    if len(tyd) < 4:
        raise bad_line(name, tyd_line, "TYD", "TYD needs start date;time;end date;time")
    start = _dia_time(tyd[0], tyd[1], name, tyd_line, "TYD") - offset_s
    end = _dia_time(tyd[2], tyd[3], name, tyd_line, "TYD") - offset_s
    if block.wrd_line == 0:
        raise bad_line(name, block.line, "WRD", "block has no [WRD] section")
    channels = [block.mux[k] for k in sorted(block.mux, key=_int_or_zero)] or [parameter]
    attrs: dict[str, Any] = _location_attrs(block)
    attrs["wns"] = block.header.get("WNS", [""])[0].strip()
    if kind == "TE":
        if len(tyd) < 6:
            raise bad_line(name, tyd_line, "TYD", "equidistant TYD needs a step and its unit")
        try:
            step = float(tyd[4]) * _STEP_SECONDS[tyd[5].strip().lower()]
        except (ValueError, KeyError) as exc:
            raise bad_line(name, tyd_line, "TYD", f"bad time step {tyd[4]};{tyd[5]}") from exc
        if step <= 0:
            raise bad_line(name, tyd_line, "TYD", f"time step must be positive, not {tyd[4]}")
        expected = round((end - start) / step) + 1
        values, quality = _equidistant(block, name, len(channels))
        if values.shape[0] != expected:
            last = block.wrd_line + len(block.wrd) - 1
            raise bad_line(
                name,
                last,
                "WRD",
                f"{values.shape[0]} values but TYD {tyd[0]} {tyd[1]} to {tyd[2]} {tyd[3]} "
                f"every {tyd[4]} {tyd[5]} needs {expected}",
            )
        times = start + step * np.arange(expected, dtype=np.float64)
        attrs["timestep_s"] = step
    elif kind == "TN":
        times, values, quality = _non_equidistant(block, name, len(channels), offset_s)
    else:
        raise bad_line(
            name, block.header_line["TYP"], "TYP", f"unknown series type {kind!r} (TE or TN)"
        )
    # The last channel is the quantity itself; the ones before it (a tidal extreme's HW/LW
    # code) are kept beside it.
    main = values[:, -1].copy()
    main[(main == MISSING_VALUE) | (quality[:, -1] == _GAP_QUALITY)] = np.nan
    attrs["quality"] = quality[:, -1].astype(np.int64)
    if len(channels) > 1:
        parameter = channels[-1]
        attrs["channels"] = {code: values[:, i].copy() for i, code in enumerate(channels[:-1])}
    if times.shape[0] > 1 and not bool(np.all(np.diff(times) > 0)):
        bad = int(np.argmax(np.diff(times) <= 0)) + 1
        raise bad_line(name, block.wrd_line, "WRD", f"times not increasing at value {bad + 1}")
    return TimeSeries(
        times=times,
        values=main,
        station=station,
        parameter=parameter,
        unit=unit,
        datum=datum,
        attrs=attrs,
    )


def _int_or_zero(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        return 0


def _location_attrs(block: _Block) -> dict[str, Any]:
    loc = [f.strip() for f in block.header.get("LOC", [])]
    attrs: dict[str, Any] = {"location_name": loc[1] if len(loc) > 1 else ""}
    area = block.header.get("GBD")
    if area and len(area) > 1:
        attrs["area"] = area[1].strip()
    if len(loc) >= 6:
        attrs["crs"] = loc[3]
        try:
            x, y = float(loc[4]), float(loc[5])
        except ValueError:
            return attrs
        if loc[3].upper() == "RD":
            # DONAR writes Dutch RD (EPSG:28992) coordinates in centimetres.
            attrs["crs"] = "EPSG:28992"
            attrs["x_m"], attrs["y_m"] = x / 100.0, y / 100.0
        else:
            attrs["x"], attrs["y"] = x, y
    return attrs


def _equidistant(
    block: _Block, name: str, n_channels: int
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    joined = "".join(block.wrd)
    if n_channels == 1 and ";" not in joined:
        # Fast path for the common case (a 19-year hourly file in ~0.1 s): one split, one
        # conversion, checked by counting; the slow path finds the bad token if any.
        n_tokens = joined.count(":") + (0 if joined.endswith(":") else 1)
        if joined.count("/") == n_tokens:
            flat = joined.replace(",", ".").replace("/", " ").replace(":", " ").split()
            if len(flat) == 2 * n_tokens:
                try:
                    pairs = np.array(flat, dtype=np.float64).reshape(-1, 2)
                except ValueError:
                    pass
                else:
                    return pairs[:, :1], pairs[:, 1:]
    rows = [fields for fields, _ in _tokens(block, name, n_channels, with_time=False)]
    return _stack(rows, n_channels)


def _non_equidistant(
    block: _Block, name: str, n_channels: int, offset_s: float
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    times: list[float] = []
    rows: list[list[float]] = []
    for fields, time_s in _tokens(block, name, n_channels, with_time=True):
        times.append(time_s - offset_s)
        rows.append(fields)
    values, quality = _stack(rows, n_channels)
    return np.array(times, dtype=np.float64), values, quality


def _stack(
    rows: list[list[float]], n_channels: int
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    arr = np.array(rows, dtype=np.float64).reshape(-1, 2 * n_channels)
    return arr[:, 0::2], arr[:, 1::2]


def _tokens(
    block: _Block, name: str, n_channels: int, *, with_time: bool
) -> list[tuple[list[float], float]]:
    """Each ``:``-terminated token as ``[v1, q1, v2, q2, ...]`` and its time, checked."""
    out: list[tuple[list[float], float]] = []
    pending = ""
    start_line = block.wrd_line  # the line on which the current token began
    for lineno, line in enumerate(block.wrd, start=block.wrd_line):
        if not pending:
            start_line = lineno
        parts = (pending + line).split(":")
        pending = parts.pop()  # text after the last ':' continues on the next line
        for token in parts:
            out.append(_token(token, name, start_line, n_channels, with_time))
            start_line = lineno
    if pending.strip():
        out.append(_token(pending, name, start_line, n_channels, with_time))
    return out


def _token(
    token: str, name: str, lineno: int, n_channels: int, with_time: bool
) -> tuple[list[float], float]:
    fields = token.split(";")
    time_s = 0.0
    if with_time:
        if len(fields) != 2 + n_channels:
            raise bad_line(
                name, lineno, "WRD", f"expected YYYYMMDD;HHMM;value/quality, got {token!r}"
            )
        time_s = _dia_time(fields[0], fields[1], name, lineno, "WRD")
        fields = fields[2:]
    elif len(fields) != n_channels:
        raise bad_line(name, lineno, "WRD", f"expected {n_channels} value/quality, got {token!r}")
    numbers: list[float] = []
    for i, item in enumerate(fields):
        value, slash, quality = item.partition("/")
        try:
            if not slash and i == 0:
                raise ValueError
            # In a multiplexed token the quality may be given once, on the first channel
            # (tidal extremes: ``date;time;code/quality;value:``).
            numbers += [float(value.replace(",", ".")), float(quality) if slash else numbers[1]]
        except ValueError:
            raise bad_line(name, lineno, "WRD", f"expected value/quality, got {item!r}") from None
    return numbers, time_s


def _join(parts: list[TimeSeries], name: str) -> TimeSeries:
    if len(parts) == 1:
        return parts[0]
    parts = sorted(parts, key=lambda s: float(s.times[0]) if len(s) else 0.0)
    times = np.concatenate([p.times for p in parts])
    if times.shape[0] > 1 and not bool(np.all(np.diff(times) > 0)):
        raise SeriesError(
            f"{name}: blocks of {parts[0].station} {parts[0].parameter} overlap in time"
        )
    attrs = dict(parts[0].attrs)
    attrs["quality"] = np.concatenate([np.asarray(p.attrs["quality"]) for p in parts])
    attrs.pop("timestep_s", None)
    steps = {p.attrs.get("timestep_s") for p in parts}
    if len(steps) == 1 and None not in steps:
        attrs["timestep_s"] = steps.pop()
    if "channels" in attrs:
        attrs["channels"] = {
            k: np.concatenate([p.attrs["channels"][k] for p in parts]) for k in attrs["channels"]
        }
    first = parts[0]
    return TimeSeries(
        times=times,
        values=np.concatenate([p.values for p in parts]),
        station=first.station,
        parameter=first.parameter,
        unit=first.unit,
        datum=first.datum,
        attrs=attrs,
    )
