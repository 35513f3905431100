"""Readers (and a writer) for the series formats operational centres exchange.

Named by where the data comes from, as in pvlib's ``iotools``: ``read_*`` a file, ``parse_*`` a
buffer. Each returns ``(data, metadata)`` with data as
:class:`~stadswacht.detect.hazard.series.TimeSeries` (one, or a dict of them by station and
parameter) and raises :class:`~stadswacht.errors.SeriesError` naming the file, line and field.
Every time returned is UTC [s since the Unix epoch]; each module says how it got there.

- :mod:`.rws_dia`: Rijkswaterstaat ``.dia`` (DONAR export), times in MET (UTC+1).
- :mod:`.noos`: NOOS / Matroos series, times in the zone its header names (usually GMT).
- :mod:`.fews_pi`: Delft-FEWS PI-XML, read and write, times in the document's ``timeZone``.
- :mod:`.knmi`: KNMI hourly (``uurgeg``) and daily rainfall (``neerslaggeg``) station files, UT.
"""

from __future__ import annotations

from stadswacht.detect.hazard.iotools.fews_pi import (
    PI_NAMESPACE,
    PiData,
    parse_pi_xml,
    read_pi_xml,
    write_pi_xml,
)
from stadswacht.detect.hazard.iotools.knmi import (
    KnmiData,
    parse_knmi_daily,
    parse_knmi_hourly,
    read_knmi_daily,
    read_knmi_hourly,
)
from stadswacht.detect.hazard.iotools.noos import parse_noos, read_noos
from stadswacht.detect.hazard.iotools.rws_dia import DiaData, parse_dia, read_dia

__all__ = [
    "PI_NAMESPACE",
    "DiaData",
    "KnmiData",
    "PiData",
    "parse_dia",
    "parse_knmi_daily",
    "parse_knmi_hourly",
    "parse_noos",
    "parse_pi_xml",
    "read_dia",
    "read_knmi_daily",
    "read_knmi_hourly",
    "read_noos",
    "read_pi_xml",
    "write_pi_xml",
]
