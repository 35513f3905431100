"""Batch forecasting: crowd counts now (:mod:`stadswacht.forecast.crowd`), hotspots later.

A forecaster is fitted on history up to a date and then forecasts each sensor some steps
ahead with a prediction interval; it reads tables of counts and never writes to the store.
"""

from __future__ import annotations

__all__: list[str] = []
