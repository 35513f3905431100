"""The explanation of a forecast: its three parts sum to the forecast in every cell, follow the
model's own surface, and say what a planner would expect (an old hotspot is long-run, a fresh
cluster recent, a boost near-repeat)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import shapely

from stadswacht.forecast.hotspots import Incidents, grid_over
from stadswacht.forecast.hotspots.explain import _parts, explain
from stadswacht.forecast.hotspots.models import (
    count_mixture,
    naive_count,
    near_repeat_smoothed,
    prospective_hotspot,
    retrospective_kde,
)
from stadswacht.forecast.hotspots.runs import MODELS, run_forecast

CRS = 26971
DAY = 1000.0
GRID = grid_over(shapely.box(0, 0, 1500, 1500), 150.0, crs=CRS)
MODEL_FUNCTIONS: dict[str, Any] = {
    "naive_count": naive_count,
    "retrospective_kde": retrospective_kde,
    "prospective_hotspot": prospective_hotspot,
    "near_repeat_smoothed": near_repeat_smoothed,
    "count_mixture": count_mixture,
}


def _incidents() -> Incidents:
    """An old hotspot in the south-west (400 to 60 days ago), a fresh one in the north-east
    (the last 20 days), and scattered incidents."""
    rng = np.random.default_rng(3)
    old_t = DAY - rng.uniform(60, 400, 150)
    new_t = DAY - rng.uniform(0, 20, 40)
    bg_t = DAY - rng.uniform(0, 400, 100)
    x = np.r_[rng.normal(220, 30, 150), rng.normal(1280, 30, 40), rng.uniform(0, 1500, 100)]
    y = np.r_[rng.normal(220, 30, 150), rng.normal(1280, 30, 40), rng.uniform(0, 1500, 100)]
    return Incidents(np.r_[old_t, new_t, bg_t], np.clip(x, 1, 1499), np.clip(y, 1, 1499), "a", CRS)


@pytest.mark.parametrize("model", sorted(MODEL_FUNCTIONS))
@pytest.mark.parametrize("boost", [0.0, 2.0])
def test_the_parts_sum_to_the_forecast_in_every_cell(model: str, boost: float) -> None:
    inc = _incidents()
    params = dict(MODELS[model])
    if model == "near_repeat_smoothed":
        params["boost"] = boost
    forecast = MODEL_FUNCTIONS[model](inc, GRID, DAY, **params)
    e = explain(inc, GRID, DAY, model, params, forecast)
    np.testing.assert_allclose(e.total, forecast, rtol=1e-12, atol=1e-15)
    for part in (e.long_run, e.recent, e.near_repeat):
        assert (part >= 0).all()
    for cell in np.flatnonzero(forecast > 0)[:20]:
        assert sum(e.shares(int(cell)).values()) == pytest.approx(1.0)
    if model != "near_repeat_smoothed" or boost == 0:
        assert not e.near_repeat.any()


@pytest.mark.parametrize("model", sorted(MODEL_FUNCTIONS))
def test_the_parts_are_the_models_own_surface(model: str) -> None:
    """The explanation rebuilds each model's surface; if a model changes, this fails."""
    inc = _incidents()
    params = {**MODELS[model], **({"boost": 2.0} if model == "near_repeat_smoothed" else {})}
    forecast = MODEL_FUNCTIONS[model](inc, GRID, DAY, **params)
    surface = np.where(GRID.inside, sum(_parts(inc, GRID, DAY, model, params, 28.0)).ravel(), 0)
    np.testing.assert_allclose(
        surface / surface.sum(), forecast / forecast.sum(), rtol=1e-9, atol=1e-12
    )


def test_an_old_hotspot_is_long_run_a_fresh_one_recent_a_boost_near_repeat() -> None:
    inc = _incidents()
    old_cell = int(GRID.cell_of([220.0], [220.0])[0])
    new_cell = int(GRID.cell_of([1280.0], [1280.0])[0])
    params = {**MODELS["naive_count"]}
    e = explain(inc, GRID, DAY, "naive_count", params, naive_count(inc, GRID, DAY, **params))
    assert e.shares(old_cell)["long_run"] > 0.9
    assert e.shares(new_cell)["recent"] > 0.9
    params = {**MODELS["near_repeat_smoothed"], "boost": 5.0}
    f = near_repeat_smoothed(inc, GRID, DAY, **params)
    e = explain(inc, GRID, DAY, "near_repeat_smoothed", params, f)
    assert e.shares(new_cell)["near_repeat"] > e.shares(old_cell)["near_repeat"]
    assert e.shares(old_cell)["long_run"] > e.shares(new_cell)["long_run"]


def test_a_sepp_forecast_splits_into_background_and_triggered() -> None:
    run = run_forecast(_incidents(), GRID, "sepp", DAY, by="u", agency="police")
    for c in run.cells:
        assert c["long_run"] + c["recent"] + c["near_repeat"] == pytest.approx(c["expected"])
        assert c["recent"] == 0.0


def test_without_history_everything_is_long_run() -> None:
    empty = Incidents([], [], [], "a", CRS)
    f = np.where(GRID.inside, 0.5, 0.0)
    e = explain(empty, GRID, DAY, "naive_count", MODELS["naive_count"], f)
    np.testing.assert_array_equal(e.long_run, f)
    with pytest.raises(ValueError, match="need a forecast of 100 cells"):
        explain(empty, GRID, DAY, "naive_count", MODELS["naive_count"], f[:5])
