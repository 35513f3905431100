"""Place-based crime forecasting: where crime will concentrate, never who.

Contract: a hotspot model takes incidents (kind, time, place: never a person) before a day and
a grid over a study area, and returns the expected count of incidents per cell for that day,
so it can be ranked, scored and calibrated. Forecasts are about places and times only (EU AI
Act art. 5(1)(d)); the input schema refuses person-level fields. Every model is backtested
out of sample with its parameters chosen on a validation period before the test period.
"""

from __future__ import annotations

__all__: list[str] = []
