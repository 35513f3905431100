"""Geocoded incidents (kind, time, place) and readers for incident files.

An incident is what happened, when and where: never who. :class:`Incidents` holds exactly
those three things as numpy arrays, and :func:`read_incidents` refuses a file whose columns
describe people (names, ages, sex, ethnicity, suspects, victims...) unless the caller asks for
such columns to be dropped unread.

Times are days since :data:`EPOCH` (1970-01-01, local time as written in the file). Files with
day (or month) resolution give whole days; files with clock times give fractional days.
Places are metres in a projected CRS: EPSG:26971 (Illinois East) for Chicago, the UTM zone of
the data's median point for other longitude/latitude files, or the CRS the caller names.
"""

from __future__ import annotations

import contextlib
import csv
import gzip
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from pyproj import CRS, Transformer

__all__ = [
    "EPOCH",
    "PERSON_FIELDS",
    "Incidents",
    "day_number",
    "read_incidents",
    "refuse_person_fields",
    "utm_epsg",
]

EPOCH = np.datetime64("1970-01-01", "D")
"""Day zero of ``Incidents.t_day``."""

PERSON_FIELDS = frozenset(
    {
        # English
        "name", "firstname", "lastname", "surname", "forename", "suspect", "suspects",
        "victim", "victims", "offender", "offenders", "perpetrator", "person", "persons",
        "people", "arrestee", "age", "sex", "gender", "race", "ethnicity", "ethnic", "dob",
        "birth", "birthdate", "nationality", "religion", "ssn", "passport", "phone", "email",
        # Spanish (Medellín)
        "nombre", "apellido", "edad", "sexo", "genero", "raza", "etnia", "victima",
        "victimario", "sospechoso", "nacionalidad",
        # Dutch
        "naam", "achternaam", "leeftijd", "geslacht", "verdachte", "slachtoffer", "dader",
        "geboortedatum", "nationaliteit", "bsn",
    }
)  # fmt: skip
"""Column-name words that mark person-level data: a column containing one is refused."""

_RESOLUTIONS = ("minute", "day", "month")


@dataclass(frozen=True, eq=False)
class Incidents:
    """Incidents as kind, time and place: one entry per incident, nothing about persons.

    Parameters
    ----------
    t_day : array_like
        Time of each incident [days since :data:`EPOCH`]; whole days when
        ``time_resolution`` is ``"day"`` or ``"month"``.
    x, y : array_like
        Easting and northing [m] in ``crs``.
    kind : array_like of str
        Kind of incident (``"burglary"``, ``"Theft from Vehicle"``...).
    crs : int
        EPSG code of a projected CRS in metres.
    time_resolution : {"minute", "day", "month"}
        Finest unit the times were recorded in.

    Examples
    --------
    >>> inc = Incidents([18262.5, 18263.0], [0.0, 10.0], [0.0, 5.0], ["a", "b"], 26971, "minute")
    >>> len(inc), len(inc.before(18263.0))
    (2, 1)
    """

    t_day: NDArray[np.float64]
    x: NDArray[np.float64]
    y: NDArray[np.float64]
    kind: NDArray[np.str_]
    crs: int
    time_resolution: str = "minute"

    def __init__(
        self,
        t_day: ArrayLike,
        x: ArrayLike,
        y: ArrayLike,
        kind: ArrayLike,
        crs: int,
        time_resolution: str = "minute",
    ) -> None:
        t = np.asarray(t_day, dtype=np.float64).ravel()
        xs = np.asarray(x, dtype=np.float64).ravel()
        ys = np.asarray(y, dtype=np.float64).ravel()
        ks = np.asarray(kind, dtype=np.str_).ravel()
        if ks.size == 1 and t.size != 1:
            ks = np.full(t.size, ks[0])
        if not (t.size == xs.size == ys.size == ks.size):
            raise ValueError(
                f"t_day, x, y and kind must have one entry per incident; got lengths "
                f"{t.size}, {xs.size}, {ys.size}, {ks.size}"
            )
        if time_resolution not in _RESOLUTIONS:
            raise ValueError(
                f"time_resolution must be one of {_RESOLUTIONS}, not {time_resolution!r}"
            )
        if not (np.isfinite(t).all() and np.isfinite(xs).all() and np.isfinite(ys).all()):
            raise ValueError("t_day, x and y must be finite; drop incidents without time or place")
        order = np.argsort(t, kind="stable")
        for name, arr in (("t_day", t), ("x", xs), ("y", ys), ("kind", ks)):
            arr = arr[order]
            arr.flags.writeable = False
            object.__setattr__(self, name, arr)
        object.__setattr__(self, "crs", int(crs))
        object.__setattr__(self, "time_resolution", time_resolution)

    def __len__(self) -> int:
        return int(self.t_day.size)

    def select(self, mask: NDArray[np.bool_] | NDArray[np.intp]) -> Incidents:
        """The incidents where ``mask`` is true (or at the given indices)."""
        return Incidents(
            self.t_day[mask], self.x[mask], self.y[mask], self.kind[mask], self.crs,
            self.time_resolution,
        )  # fmt: skip

    def between(self, start: float, end: float) -> Incidents:
        """Incidents with ``start <= t_day < end`` [days since :data:`EPOCH`]."""
        lo, hi = np.searchsorted(self.t_day, [start, end], side="left")
        return self.select(np.arange(lo, hi))

    def before(self, day: float) -> Incidents:
        """Incidents strictly before ``day`` [days since :data:`EPOCH`]."""
        return self.between(-np.inf, day)

    def of_kind(self, *kinds: str) -> Incidents:
        """Incidents whose kind is one of ``kinds``."""
        return self.select(np.isin(self.kind, list(kinds)))


def day_number(when: str | np.datetime64) -> float:
    """Days since :data:`EPOCH` of a date or date-time.

    >>> day_number("2019-10-01"), day_number("2019-10-01 12:00")
    (18170.0, 18170.5)
    """
    t = np.datetime64(str(when).rstrip("Z").replace(" ", "T"), "m")
    return float((t - EPOCH.astype("datetime64[m]")) / np.timedelta64(1, "D"))


def utm_epsg(lon: float, lat: float) -> int:
    """EPSG code of the WGS 84 UTM zone holding a point.

    >>> utm_epsg(-122.4, 37.8), utm_epsg(-75.6, 6.2), utm_epsg(-1.15, 52.95)
    (32610, 32618, 32630)
    """
    zone = min(int((lon + 180.0) // 6.0) + 1, 60)
    return (32600 if lat >= 0 else 32700) + zone


def _words(column: str) -> list[str]:
    spaced = re.sub(r"([a-z])([A-Z])", r"\1 \2", column)
    return [w for w in re.split(r"[^a-z0-9]+", spaced.lower()) if w]


def refuse_person_fields(columns: Sequence[str]) -> list[str]:
    """Names of the columns that hold person-level data (empty when none).

    A column is person-level when one of its words (split at ``_``, spaces, punctuation and
    camelCase) is in :data:`PERSON_FIELDS`.

    >>> refuse_person_fields(["date", "VictimAge", "loc_cat", "suspect_id", "sexo"])
    ['VictimAge', 'suspect_id', 'sexo']
    """
    return [c for c in columns if any(w in PERSON_FIELDS for w in _words(c))]


@dataclass(frozen=True)
class _Layout:
    """How a known file writes kind, time and place."""

    time: tuple[str, ...]
    x: str
    y: str
    crs: int  # CRS of x/y as written: 4326 for longitude/latitude
    resolution: str
    kind_col: str | None = None
    kind: str | None = None
    delimiter: str = ","
    decimal: str = "."
    source: str = ""


_CRIMEMAPPING = "GitHub mpjashby/crimemappingdata (MIT)"
_KNOWN: dict[str, tuple[frozenset[str], _Layout]] = {
    "chicago_aggravated_assaults": (
        frozenset({"date", "loc_cat", "longitude", "latitude", "district"}),
        _Layout(("date",), "longitude", "latitude", 4326, "minute", kind="aggravated assault",
                source=_CRIMEMAPPING),
    ),
    "chicago_be": (
        frozenset({"X", "Y", "date"}),
        _Layout(("date",), "X", "Y", 26971, "day", kind="residential burglary",
                source="GitHub wsteenbeek/NearRepeat (GPL-3); City of Chicago data"),
    ),
    "cincinnati_burglary": (
        frozenset({"incident_no", "offense_date", "offense", "longitude", "latitude"}),
        _Layout(("offense_date",), "longitude", "latitude", 4326, "minute", kind_col="offense",
                source=_CRIMEMAPPING),
    ),
    "nottingham_burglary": (
        frozenset({"month", "longitude", "latitude", "location", "lsoa_code"}),
        _Layout(("month",), "longitude", "latitude", 4326, "month", kind="burglary",
                source=_CRIMEMAPPING),
    ),
    "vancouver_thefts": (
        frozenset({"TYPE", "YEAR", "MONTH", "DAY", "HOUR", "MINUTE", "HUNDRED_BLOCK",
                   "NEIGHBOURHOOD", "X", "Y"}),
        _Layout(("YEAR", "MONTH", "DAY", "HOUR", "MINUTE"), "X", "Y", 26910, "minute",
                kind_col="TYPE", source=_CRIMEMAPPING),
    ),
    "medellin_homicides": (
        frozenset({"fecha_hecho", "longitud", "latitud", "sexo", "edad", "modalidad"}),
        _Layout(("fecha_hecho",), "longitud", "latitud", 4326, "minute", kind="homicide",
                delimiter=";", decimal=",", source="GitHub mpjashby/crimemappingdata (CC BY-SA)"),
    ),
    "nyc_shootings": (
        frozenset({"incident_key", "boro", "occur_date", "murder", "longitude", "latitude"}),
        _Layout(("occur_date",), "longitude", "latitude", 4326, "day", kind="shooting",
                source=_CRIMEMAPPING),
    ),
    "san_francisco_robbery": (
        frozenset({"uid", "offense_type", "date_time", "longitude", "latitude"}),
        _Layout(("date_time",), "longitude", "latitude", 4326, "minute", kind_col="offense_type",
                source=_CRIMEMAPPING),
    ),
}  # fmt: skip

# Longitude/latitude box around Chicago: such data is projected to Illinois East.
_CHICAGO_BOX = (-88.0, 41.6, -87.5, 42.1)
_CHICAGO_EPSG = 26971


def _open_text(path: Path) -> io.TextIOBase:
    if path.suffix == ".gz":
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8-sig", newline="")
    return open(path, encoding="utf-8-sig", newline="")


def _floats(values: list[str], decimal: str) -> NDArray[np.float64]:
    out = np.full(len(values), np.nan)
    for i, v in enumerate(values):
        v = v.strip()
        if decimal != ".":
            v = v.replace(decimal, ".")
        with contextlib.suppress(ValueError):
            out[i] = float(v)
    return out


def _times(columns: list[list[str]]) -> NDArray[np.float64]:
    """Parse one ISO date(-time) column, or YEAR, MONTH, DAY[, HOUR, MINUTE] columns."""
    n = len(columns[0])
    if len(columns) == 1:
        text = [s.strip().rstrip("Z").replace(" ", "T") for s in columns[0]]
    else:
        parts = [_floats(c, ".") for c in columns]
        ok = np.all([np.isfinite(p) for p in parts], axis=0)
        text = [""] * n
        for i in np.flatnonzero(ok):
            y, mo, d = (int(parts[k][i]) for k in range(3))
            hm = [int(parts[k][i]) for k in range(3, len(parts))] + [0, 0]
            text[i] = f"{y:04d}-{mo:02d}-{d:02d}T{hm[0]:02d}:{hm[1]:02d}"
    out = np.full(n, np.nan)
    good = np.array([len(s) >= 7 for s in text], dtype=bool)
    if good.any():
        # Month-only strings ("2022-01") parse to the first of the month.
        stamps = np.array([text[i] for i in np.flatnonzero(good)], dtype="datetime64[m]")
        out[good] = (stamps - EPOCH.astype("datetime64[m]")) / np.timedelta64(1, "D")
    return out


def read_incidents(
    path: str | Path,
    *,
    kind: str | None = None,
    kind_col: str | None = None,
    crs: int | None = None,
    source_crs: int | None = None,
    time_col: str | Sequence[str] | None = None,
    x_col: str | None = None,
    y_col: str | None = None,
    time_resolution: str | None = None,
    delimiter: str | None = None,
    decimal: str | None = None,
    drop_person_fields: bool = False,
) -> tuple[Incidents, dict[str, Any]]:
    """Read a geocoded incident file (CSV, optionally gzipped) as kind, time and place.

    The layouts of the crime files in ``../shared/data/crime`` are recognised from their
    header; for any other file name the columns. Explicit arguments override the sniffed ones.

    Parameters
    ----------
    path
        CSV or ``.csv.gz`` file.
    kind
        Kind given to every incident (when the file has no kind column).
    kind_col
        Column holding the kind of each incident.
    crs
        EPSG code of the projected CRS [m] to return. Default: EPSG:26971 for Chicago, the
        file's own CRS when it is projected, else the UTM zone of the median point.
    source_crs
        EPSG code of ``x_col``/``y_col`` as written (4326 for longitude/latitude).
    time_col
        A date or date-time column (ISO 8601, ``YYYY-mm-dd[ HH:MM]``, a trailing ``Z`` is
        ignored: times are taken as local), or YEAR, MONTH, DAY[, HOUR, MINUTE] columns.
    x_col, y_col
        Easting/longitude and northing/latitude columns.
    time_resolution : {"minute", "day", "month"}
        Finest unit of the times. Default: ``"day"`` when no time has a clock part.
    delimiter, decimal
        Field separator and decimal mark (Medellín: ``;`` and ``,``).
    drop_person_fields
        Drop person-level columns unread instead of refusing the file.

    Returns
    -------
    incidents : Incidents
        Sorted by time.
    metadata : dict
        ``path``, ``layout`` (known file name or ``None``), ``source``, ``rows``, ``read``,
        ``dropped_no_time``, ``dropped_no_place``, ``person_fields_dropped``, ``crs``,
        ``source_crs``, ``time_resolution``, ``epoch``, ``kinds`` (count per kind), ``start``
        and ``end`` (ISO dates of the first and last incident).

    Raises
    ------
    ValueError
        When a column names persons (see :data:`PERSON_FIELDS`; the message names it), or a
        needed column is missing.
    """
    path = Path(path)
    with _open_text(path) as fh:
        first = fh.readline()
        if delimiter is None:
            delimiter = ";" if first.count(";") > first.count(",") else ","
        header = next(csv.reader([first], delimiter=delimiter))
        person = refuse_person_fields(header)
        if person and not drop_person_fields:
            raise ValueError(
                f"{path.name} has person-level column(s) {person}: hotspot forecasts use kind, "
                f"time and place only. Remove them, or pass drop_person_fields=True to drop them "
                f"unread."
            )
        layout_name = next((n for n, (cols, _) in _KNOWN.items() if cols == set(header)), None)
        lay = _KNOWN[layout_name][1] if layout_name else None
        times = tuple([time_col] if isinstance(time_col, str) else time_col or ())
        times = times or (lay.time if lay else ())
        xc = x_col or (lay.x if lay else None)
        yc = y_col or (lay.y if lay else None)
        if not times or xc is None or yc is None:
            raise ValueError(
                f"{path.name}: unknown layout {header}; pass time_col, x_col and y_col"
            )
        kc = kind_col or (lay.kind_col if lay and kind is None else None)
        used = [*times, xc, yc, *([kc] if kc else [])]
        if refused := refuse_person_fields(used):
            raise ValueError(f"refusing to read person-level column(s) {refused}")
        missing = [c for c in used if c not in header]
        if missing:
            raise ValueError(f"{path.name}: no column(s) {missing}; the header is {header}")
        idx = {c: header.index(c) for c in used}
        cols: dict[str, list[str]] = {c: [] for c in used}
        for row in csv.reader(fh, delimiter=delimiter):
            if not row:
                continue
            for c, i in idx.items():
                cols[c].append(row[i] if i < len(row) else "")

    dec = decimal or (lay.decimal if lay else ".")
    t = _times([cols[c] for c in times])
    xs, ys = _floats(cols[xc], dec), _floats(cols[yc], dec)
    src = source_crs or (lay.crs if lay else None)
    if src is None:
        geographic = bool(np.nanmax(np.abs(xs), initial=0.0) <= 180.0) and bool(
            np.nanmax(np.abs(ys), initial=0.0) <= 90.0
        )
        src = 4326 if geographic else crs
        if src is None:
            raise ValueError(f"{path.name}: projected coordinates; pass source_crs (EPSG code)")
    geo = CRS.from_epsg(src).is_geographic
    place = np.isfinite(xs) & np.isfinite(ys) & ~((xs == 0) & (ys == 0))
    if geo:
        place &= (np.abs(xs) <= 180) & (np.abs(ys) <= 90)
    no_time = ~np.isfinite(t)
    keep = place & ~no_time

    if crs is None:
        if not geo:
            crs = src
        else:
            lon, lat = float(np.median(xs[keep])), float(np.median(ys[keep]))
            x0, y0, x1, y1 = _CHICAGO_BOX
            chicago = x0 <= lon <= x1 and y0 <= lat <= y1
            crs = _CHICAGO_EPSG if chicago else utm_epsg(lon, lat)
    if not CRS.from_epsg(crs).is_projected:
        raise ValueError(f"crs must be a projected CRS in metres, not EPSG:{crs}")
    xk, yk = xs[keep], ys[keep]
    if crs != src:
        xk, yk = Transformer.from_crs(src, crs, always_xy=True).transform(xk, yk)

    if kc:
        kinds = np.array(cols[kc], dtype=np.str_)[keep]
    else:
        kinds = np.full(int(keep.sum()), kind or (lay.kind if lay and lay.kind else "incident"))
    tk = t[keep]
    res = time_resolution or (lay.resolution if lay else None)
    if res is None:
        res = "day" if bool(np.all(tk == np.floor(tk))) else "minute"
    inc = Incidents(tk, xk, yk, kinds, crs, res)
    names, counts = np.unique(inc.kind, return_counts=True)
    meta: dict[str, Any] = {
        "path": str(path),
        "layout": layout_name,
        "source": lay.source if lay else None,
        "rows": int(t.size),
        "read": len(inc),
        "dropped_no_time": int(no_time.sum()),
        "dropped_no_place": int((~place & ~no_time).sum()),
        "person_fields_dropped": person,
        "crs": int(crs),
        "source_crs": int(src),
        "time_resolution": res,
        "epoch": str(EPOCH),
        "kinds": {str(k): int(c) for k, c in zip(names, counts, strict=True)},
        "start": str(EPOCH + np.timedelta64(int(np.floor(inc.t_day[0])), "D"))
        if len(inc)
        else None,
        "end": str(EPOCH + np.timedelta64(int(np.floor(inc.t_day[-1])), "D")) if len(inc) else None,
    }
    return inc, meta
