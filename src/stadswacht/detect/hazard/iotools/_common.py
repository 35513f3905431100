"""Helpers shared by the readers: reading a file's text, naming a bad line, building times."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

from stadswacht.errors import SeriesError

__all__ = ["bad_line", "read_text", "utc_seconds"]

PathLike = str | os.PathLike[str]


def read_text(path: PathLike, what: str) -> tuple[str, str]:
    """The text of ``path`` and the name to use in errors; :class:`SeriesError` if unreadable."""
    p = Path(path)
    try:
        raw = p.read_bytes()
    except OSError as exc:
        raise SeriesError(f"{p}: cannot read {what} file: {exc.strerror or exc}") from exc
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        # Old RWS and KNMI exports are Latin-1 (station names with diacritics).
        text = raw.decode("latin-1")
    return text, str(p)


def bad_line(name: str, lineno: int, field: str, message: str) -> SeriesError:
    """A :class:`SeriesError` naming the file, the 1-based line and the field."""
    return SeriesError(f"{name}, line {lineno}, field {field}: {message}")


def utc_seconds(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> float:
    """Seconds since the Unix epoch of a calendar time read as UTC (hour may be 24).

    Raises :class:`ValueError` for an impossible date or time of day.
    """
    days = dt.date(year, month, day).toordinal() - _EPOCH_ORDINAL
    if not (0 <= hour <= 24 and 0 <= minute < 60 and 0 <= second < 60):
        raise ValueError(f"no such time of day {hour:02d}:{minute:02d}:{second:02d}")
    return float(days * 86400 + hour * 3600 + minute * 60 + second)


_EPOCH_ORDINAL = dt.date(1970, 1, 1).toordinal()
