"""Counts per sensor on a regular time grid, and the reader of the Melbourne long format.

A :class:`CountTable` is a time x sensor matrix of counts [persons per step] on a regular
grid (any step: an hour, 15 minutes, a minute), with NaN where a sensor did not report.
:func:`read_melbourne_counts` reads the City of Melbourne pedestrian counting system export
(long format, one row per sensor and hour: ``Date, Hour, SensorID, PedestrianCount``; the
published CSV adds ``Day_of_week`` and ``SensorName``), from a CSV or a zip holding one.
"""

from __future__ import annotations

import csv
import io
import math
import zipfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, cast

import numpy as np
from numpy.typing import NDArray

from stadswacht.errors import CountsError

__all__ = ["CountTable", "CountsError", "TimeLike", "as_time", "read_melbourne_counts"]

_MONTHS = {
    m: i + 1
    for i, m in enumerate(
        ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
    )
}
_REQUIRED = ("Date", "Hour", "SensorID", "PedestrianCount")
_MISSING = {"", "na", "nan", "null", "none"}


TimeLike = np.datetime64 | date | str
"""A time: numpy datetime64, ``datetime.date``/``datetime.datetime`` or ISO 8601 text."""


def as_time(when: TimeLike) -> np.datetime64:
    """A time (datetime64, ``datetime.date``/``datetime`` or ISO text) as datetime64[s].

    >>> as_time("2014-01-01")
    np.datetime64('2014-01-01T00:00:00')
    """
    return cast(np.datetime64, np.asarray(when).astype("datetime64[s]")[()])


@dataclass(frozen=True)
class CountTable:
    """Counts per sensor on a regular time grid.

    Attributes
    ----------
    times : numpy.ndarray of datetime64[s], shape (T,)
        Start of each interval, strictly increasing with one constant step.
    sensors : tuple of str
        Sensor identifiers, one per column.
    counts : numpy.ndarray of float64, shape (T, S)
        Count in each interval [persons]; NaN where the sensor did not report.
    metadata : mapping
        Where the data came from (``source``, ``rows``, ``skipped_rows``, ``sensor_names``).

    Examples
    --------
    >>> import numpy as np
    >>> t = np.arange("2024-01-01T00", "2024-01-01T03", dtype="datetime64[h]")
    >>> table = CountTable.from_arrays(t, ["a"], [[1.0], [np.nan], [3.0]])
    >>> table.step_minutes, table.counts.shape
    (60.0, (3, 1))
    """

    times: NDArray[np.datetime64]
    sensors: tuple[str, ...]
    counts: NDArray[np.float64]
    metadata: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.times.ndim != 1 or self.times.size < 2:
            raise CountsError("a count table needs at least two time steps")
        if self.counts.shape != (self.times.size, len(self.sensors)):
            raise CountsError(
                f"counts have shape {self.counts.shape}, expected "
                f"({self.times.size}, {len(self.sensors)}) for the times and sensors given"
            )
        steps = np.diff(self.times)
        if np.any(steps != steps[0]) or steps[0] <= np.timedelta64(0, "s"):
            raise CountsError("times must be increasing with one constant step; fill gaps")
        if len(set(self.sensors)) != len(self.sensors):
            raise CountsError("sensor identifiers must be unique")

    @classmethod
    def from_arrays(
        cls,
        times: Any,
        sensors: Sequence[str],
        counts: Any,
        metadata: Mapping[str, Any] | None = None,
    ) -> CountTable:
        """Build a table from array-likes; times are converted to datetime64[s]."""
        return cls(
            times=np.asarray(times).astype("datetime64[s]"),
            sensors=tuple(str(s) for s in sensors),
            counts=np.asarray(counts, dtype=np.float64).reshape(len(times), len(sensors)),
            metadata=dict(metadata or {}),
        )

    @property
    def step(self) -> np.timedelta64:
        """The grid step."""
        return np.timedelta64(self.times[1] - self.times[0], "s")

    @property
    def step_minutes(self) -> float:
        """The grid step [min]."""
        return float(self.step / np.timedelta64(1, "s")) / 60.0

    def steps_for(self, minutes: float) -> int:
        """The number of whole grid steps in ``minutes`` (at least one)."""
        return max(1, round(minutes / self.step_minutes))

    def index_of(self, when: TimeLike) -> int:
        """Index of the first interval starting at or after ``when`` (see :func:`as_time`)."""
        return int(np.searchsorted(self.times, as_time(when)))

    def select(self, columns: Sequence[int]) -> CountTable:
        """A table with only the given sensor columns."""
        cols = list(columns)
        return CountTable(
            self.times,
            tuple(self.sensors[i] for i in cols),
            self.counts[:, cols],
            self.metadata,
        )


def _parse_date(text: str) -> tuple[int, int, int]:
    """``01-Jan-2012`` (the Melbourne export) or ISO ``2012-01-01`` as (year, month, day)."""
    parts = text.strip().split("-")
    if len(parts) != 3:
        raise ValueError(text)
    if parts[1].isdigit():
        year, month, day = int(parts[0]), int(parts[1]), int(parts[2])
    else:
        day, month, year = int(parts[0]), _MONTHS[parts[1][:3].lower()], int(parts[2])
    if not (1 <= month <= 12 and 1 <= day <= 31):
        raise ValueError(text)
    return year, month, day


def _open_text(path: Path) -> Iterator[io.TextIOBase]:
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            names = [n for n in archive.namelist() if n.lower().endswith(".csv")]
            if len(names) != 1:
                raise CountsError(
                    f"{path}: a counts zip must hold exactly one .csv file, found {names or 'none'}"
                )
            with archive.open(names[0]) as raw:
                yield io.TextIOWrapper(raw, encoding="utf-8-sig", newline="")
    else:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            yield handle


def read_melbourne_counts(path: str | Path) -> CountTable:
    """Read hourly counts in the Melbourne long format into a time x sensor table.

    Parameters
    ----------
    path : str or Path
        A CSV, or a zip holding one CSV, with a header naming at least ``Date`` (``01-Jan-2012``
        or ``2012-01-01``), ``Hour`` (0-23, local time), ``SensorID`` and ``PedestrianCount``.

    Returns
    -------
    CountTable
        Hourly grid from the first to the last hour in the file; NaN where a sensor has no row
        or its count is empty/``NaN``. Rows without a sensor id are skipped and counted in
        ``metadata["skipped_rows"]``; a sensor/hour given twice keeps the last row (the
        export has none).

    Raises
    ------
    CountsError
        If the file is missing, has no header with those columns, or a row has a malformed
        date, hour or count (the message names the file and line).

    Examples
    --------
    >>> import tempfile
    >>> text = "Date,Hour,SensorID,PedestrianCount\\n01-Jan-2012,0,4,3363\\n01-Jan-2012,2,4,10\\n"
    >>> with tempfile.TemporaryDirectory() as d:
    ...     p = Path(d) / "c.csv"
    ...     _ = p.write_text(text)
    ...     table = read_melbourne_counts(p)
    >>> table.sensors, table.counts[:, 0].tolist()
    (('4',), [3363.0, nan, 10.0])
    """
    path = Path(path)
    if not path.is_file():
        raise CountsError(f"{path}: no such counts file")
    hours: list[int] = []
    sensor_col: list[str] = []
    values: list[float] = []
    names: dict[str, str] = {}
    skipped = 0
    days: dict[str, int] = {}
    try:
        for handle in _open_text(path):
            reader = csv.reader(handle)
            header = next(reader, None)
            if header is None:
                raise CountsError(f"{path}: the file is empty")
            header = [h.strip() for h in header]
            absent = [c for c in _REQUIRED if c not in header]
            if absent:
                raise CountsError(
                    f"{path}, line 1: the header lacks {', '.join(absent)}; expected the "
                    f"Melbourne long format ({', '.join(_REQUIRED)})"
                )
            i_date, i_hour, i_sensor, i_count = (header.index(c) for c in _REQUIRED)
            i_name = header.index("SensorName") if "SensorName" in header else None
            width = max(i_date, i_hour, i_sensor, i_count) + 1
            for row in reader:
                line = reader.line_num
                if not row or (len(row) == 1 and not row[0].strip()):
                    continue
                if len(row) < width:
                    raise CountsError(
                        f"{path}, line {line}: {len(row)} fields, expected at least {width}"
                    )
                sensor = row[i_sensor].strip()
                if sensor.lower() in _MISSING:
                    skipped += 1
                    continue
                date_text = row[i_date]
                day = days.get(date_text)
                if day is None:
                    try:
                        y, m, d = _parse_date(date_text)
                        day = int(np.datetime64(f"{y:04d}-{m:02d}-{d:02d}", "D").astype(int))
                    except (ValueError, KeyError):
                        raise CountsError(
                            f"{path}, line {line}: Date {date_text!r} is not like 01-Jan-2012 "
                            "or 2012-01-01"
                        ) from None
                    days[date_text] = day
                try:
                    hour = int(row[i_hour])
                except ValueError:
                    hour = -1
                if not 0 <= hour <= 23:
                    raise CountsError(
                        f"{path}, line {line}: Hour {row[i_hour]!r} is not an integer 0-23"
                    )
                text = row[i_count].strip()
                if text.lower() in _MISSING:
                    value = math.nan
                else:
                    try:
                        value = float(text)
                    except ValueError:
                        value = -1.0
                    if not value >= 0 or math.isinf(value):
                        raise CountsError(
                            f"{path}, line {line}: PedestrianCount {text!r} is not a count >= 0"
                            " (leave it empty or NaN when missing)"
                        )
                hours.append(day * 24 + hour)
                sensor_col.append(sensor)
                values.append(value)
                if i_name is not None and len(row) > i_name:
                    names.setdefault(sensor, row[i_name].strip())
    except (OSError, zipfile.BadZipFile, UnicodeDecodeError, csv.Error) as exc:
        raise CountsError(f"{path}: cannot read counts ({exc})") from exc
    if not hours:
        raise CountsError(f"{path}: no counts in the file")
    sensors = sorted(
        set(sensor_col), key=lambda s: (not s.isdigit(), int(s) if s.isdigit() else 0, s)
    )
    column = {s: i for i, s in enumerate(sensors)}
    hour_arr = np.asarray(hours, dtype=np.int64)
    start, stop = int(hour_arr.min()), int(hour_arr.max())
    if stop == start:
        stop = start + 1
    counts = np.full((stop - start + 1, len(sensors)), np.nan)
    cols = np.fromiter((column[s] for s in sensor_col), dtype=np.int64, count=len(sensor_col))
    counts[hour_arr - start, cols] = np.asarray(values)
    times = (np.arange(start, stop + 1) * 3600).astype("datetime64[s]")
    return CountTable(
        times=times,
        sensors=tuple(sensors),
        counts=counts,
        metadata={
            "source": str(path),
            "rows": len(values),
            "skipped_rows": skipped,
            "sensor_names": {s: names[s] for s in sensors if s in names},
        },
    )
