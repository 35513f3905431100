"""Readers (and a writer) for the series formats operational centres exchange.

Named by where the data comes from, as in pvlib's ``iotools``: ``read_*`` a file, ``parse_*`` a
buffer. Each returns ``(data, metadata)`` with data as
:class:`~stadswacht.detect.hazard.series.TimeSeries` (one, or a dict of them by station and
parameter) and raises :class:`~stadswacht.errors.SeriesError` naming the file, line and field.
"""

from __future__ import annotations

__all__: list[str] = []
