"""The rolling backtest: no future data, scores as defined, parameters chosen before the test."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import shapely

from stadswacht.forecast.hotspots.backtest import (
    backtest,
    choose_parameters,
    grid_shift_sensitivity,
)
from stadswacht.forecast.hotspots.grid import Grid, grid_over
from stadswacht.forecast.hotspots.incidents import Incidents

CELL = 100.0


def _city(seed: int = 0, days: int = 120) -> tuple[Incidents, Grid]:
    """A 1 km square; a hot corner holding ~half of ~8 incidents a day, the rest uniform."""
    rng = np.random.default_rng(seed)
    n = rng.poisson(8, days)
    t = np.repeat(np.arange(days), n) + rng.random(n.sum())
    hot = rng.random(n.sum()) < 0.5
    x = np.where(hot, rng.uniform(0, 200, n.sum()), rng.uniform(0, 1000, n.sum()))
    y = np.where(hot, rng.uniform(0, 200, n.sum()), rng.uniform(0, 1000, n.sum()))
    inc = Incidents(t, x, y, "assault", 26971, "minute")
    return inc, grid_over(shapely.box(0, 0, 1000, 1000), cell=CELL, crs=26971)


def count(inc: Incidents, grid: Grid, day: int, *, scale: float = 1.0) -> np.ndarray:
    cells = grid.cell_of(inc.x, inc.y)
    c = np.bincount(cells[cells >= 0], minlength=grid.n_cells).astype(float)
    return scale * c / max(day, 1)


def test_models_only_ever_see_incidents_before_the_day() -> None:
    inc, grid = _city()
    seen: list[tuple[int, float, int]] = []

    def spy(past: Incidents, g: Grid, day: int) -> np.ndarray:
        seen.append((day, float(past.t_day.max()) if len(past) else -1.0, len(past)))
        return count(past, g, day)

    backtest(inc, grid, {"spy": spy}, range(60, 90), n_boot=0)
    assert [d for d, _, _ in seen] == list(range(60, 90))
    assert all(latest < day for day, latest, _ in seen)
    assert all(n == int((inc.t_day < day).sum()) for day, _, n in seen)


def test_a_model_that_peeks_at_the_day_gains_nothing() -> None:
    inc, grid = _city()

    def oracle(past: Incidents, g: Grid, day: int) -> np.ndarray:
        # Would be a perfect forecast if the day's incidents were passed in.
        today = past.t_day >= day
        cells = g.cell_of(past.x[today], past.y[today])
        return np.bincount(cells[cells >= 0], minlength=g.n_cells).astype(float)

    r = backtest(inc, grid, {"oracle": oracle, "count": count}, range(60, 120), n_boot=0)
    assert r.scores["oracle"].at(0.1)[0].estimate < r.scores["count"].at(0.1)[0].estimate


def test_scores_of_the_count_model_on_a_hot_corner() -> None:
    inc, grid = _city()
    r = backtest(inc, grid, {"count": count}, range(60, 120), n_boot=300)
    s = r.scores["count"]
    assert s.hits.shape == (60, 5) and (s.hits[:, -1] <= r.events).all()
    hit, pai = s.at(0.05)
    # The hot corner is 4 % of the area and holds ~52 % of incidents: PAI@5 % around 10.
    assert 8.0 < pai.estimate < 12.0
    assert pai.lo < pai.estimate < pai.hi
    assert pai.estimate == pytest.approx(hit.estimate / 0.05)
    assert s.flagged.shape == (5, grid.n_inside)
    assert s.flagged[2].sum() == 60 * 5  # 5 cells flagged on each of 60 days
    assert 0.7 < s.calibration_slope < 1.3
    assert np.isfinite(s.log_score)


def test_paired_comparison_of_a_model_with_itself_is_zero() -> None:
    inc, grid = _city()
    r = backtest(inc, grid, {"a": count, "b": count}, range(60, 90), n_boot=200)
    d = r.compare("a", "b")
    assert (d.estimate, d.lo, d.hi) == (0.0, 0.0, 0.0)


def test_choose_parameters_uses_the_validation_days_only() -> None:
    inc, grid = _city()
    days_used: list[int] = []

    def model(past: Incidents, g: Grid, day: int, *, smooth: float) -> np.ndarray:
        days_used.append(day)
        c = count(past, g, day)
        out: np.ndarray = (1 - smooth) * c + smooth * c.mean()
        return out

    best, table = choose_parameters(
        model, {"smooth": [0.0, 0.5]}, inc, grid, range(30, 60), criterion="log_score"
    )
    assert set(days_used) == set(range(30, 60))
    assert len(table) == 2 and best in ([p for p, _ in table])
    with pytest.raises(ValueError, match="before the test period"):
        backtest(inc, grid, {"m": count}, range(50, 60), validation_end=55)


def test_grid_shift_sensitivity_reports_the_change() -> None:
    inc, grid = _city()
    shifted = grid_over(shapely.box(0, 0, 1000, 1000), cell=CELL, offset=(50, 50), crs=26971)
    out: dict[str, Any] = grid_shift_sensitivity(
        inc, grid, shifted, {"count": count}, range(60, 90)
    )
    base, moved, change = out["count"]
    assert change == pytest.approx(moved - base)
    assert base > 5 and moved > 3
