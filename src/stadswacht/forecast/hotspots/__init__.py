"""Place-based crime forecasting: where crime will concentrate, never who.

Contract: a hotspot model takes incidents (kind, time, place: never a person) before a day and
a grid over a study area, and returns the expected count of incidents per cell for that day,
so it can be ranked, scored and calibrated. Forecasts are about places and times only (EU AI
Act art. 5(1)(d)); the input schema refuses person-level fields. Every model is backtested
out of sample with its parameters chosen on a validation period before the test period.
"""

from __future__ import annotations

from stadswacht.forecast.hotspots.backtest import (
    BacktestResult,
    ModelScores,
    backtest,
    choose_parameters,
    grid_shift_sensitivity,
)
from stadswacht.forecast.hotspots.bias import Exposure, exposure_ratio, read_areas
from stadswacht.forecast.hotspots.feedback import FeedbackResult, simulate_feedback
from stadswacht.forecast.hotspots.grid import DEFAULT_CELL, Grid, grid_over, read_polygon
from stadswacht.forecast.hotspots.incidents import (
    EPOCH,
    PERSON_FIELDS,
    Incidents,
    day_number,
    read_incidents,
)
from stadswacht.forecast.hotspots.models import (
    DEFAULT_COUNT_MIXTURE,
    DEFAULT_LEVEL_DAYS,
    DEFAULT_NAIVE,
    DEFAULT_NEAR_REPEAT,
    DEFAULT_PROSPECTIVE,
    DEFAULT_RETROSPECTIVE,
    count_mixture,
    count_raster,
    expected_daily_count,
    naive_count,
    near_repeat_smoothed,
    prospective_hotspot,
    retrospective_kde,
)
from stadswacht.forecast.hotspots.sepp import DEFAULT_SEPP, SeppParams, fit_sepp, sepp

__all__ = [
    "DEFAULT_CELL",
    "DEFAULT_COUNT_MIXTURE",
    "DEFAULT_LEVEL_DAYS",
    "DEFAULT_NAIVE",
    "DEFAULT_NEAR_REPEAT",
    "DEFAULT_PROSPECTIVE",
    "DEFAULT_RETROSPECTIVE",
    "DEFAULT_SEPP",
    "EPOCH",
    "PERSON_FIELDS",
    "BacktestResult",
    "Exposure",
    "FeedbackResult",
    "Grid",
    "Incidents",
    "ModelScores",
    "SeppParams",
    "backtest",
    "choose_parameters",
    "count_mixture",
    "count_raster",
    "day_number",
    "expected_daily_count",
    "exposure_ratio",
    "fit_sepp",
    "grid_over",
    "grid_shift_sensitivity",
    "naive_count",
    "near_repeat_smoothed",
    "prospective_hotspot",
    "read_areas",
    "read_incidents",
    "read_polygon",
    "retrospective_kde",
    "sepp",
    "simulate_feedback",
]
