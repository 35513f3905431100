"""Hazard monitoring: water level, rain, heat and wind against thresholds, before and as they
are crossed.

Contract: a hazard monitor consumes a station's observations (and, for water level, its
forecast) and yields warnings with a lifecycle (issue, update, escalate, de-escalate, all clear);
it never writes to the store and never sends anything. The pipeline stores warnings as
detections of kind ``hazard``; :mod:`stadswacht.alerting` turns them into CAP 1.2 alerts.
Readers for the series formats operational centres use live in :mod:`.iotools`.
"""

from __future__ import annotations

from stadswacht.detect.hazard.series import TimeSeries

__all__ = ["TimeSeries"]
