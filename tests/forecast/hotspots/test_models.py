"""Contract suite: every hotspot model forecasts from the past only, in expected counts,
with its mass where the incidents cluster."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
import shapely
from numpy.typing import NDArray

from stadswacht.forecast.hotspots.grid import Grid, grid_over
from stadswacht.forecast.hotspots.incidents import Incidents
from stadswacht.forecast.hotspots.models import (
    count_mixture,
    expected_daily_count,
    naive_count,
    near_repeat_smoothed,
    prospective_hotspot,
    retrospective_kde,
)

Model = Callable[[Incidents, Grid, float], NDArray[np.float64]]
GRID = grid_over(shapely.Point(1500, 1500).buffer(1500), 150.0, crs=26971)
HOT = (600.0, 2200.0)  # [m]
DAY = 400.0
MODELS: dict[str, Model] = {
    "naive_count": naive_count,
    "retrospective_kde": retrospective_kde,
    "prospective_hotspot": prospective_hotspot,
    "near_repeat_smoothed": near_repeat_smoothed,
    "near_repeat_boosted": lambda i, g, d: near_repeat_smoothed(i, g, d, boost=3.0),
    "count_mixture": count_mixture,
}


def clustered(seed: int = 3, days: float = 500.0) -> Incidents:
    """Uniform incidents over the disc plus a cluster around HOT, 3 a day in all."""
    rng = np.random.default_rng(seed)
    n = int(3 * days)
    t = rng.uniform(0, days, n)
    hot = rng.random(n) < 0.4
    x = np.where(hot, rng.normal(HOT[0], 80, n), rng.uniform(0, 3000, n))
    y = np.where(hot, rng.normal(HOT[1], 80, n), rng.uniform(0, 3000, n))
    inside = GRID.cell_of(x, y) >= 0
    return Incidents(t[inside], x[inside], y[inside], "burglary", 26971, "minute")


INCIDENTS = clustered()


@pytest.mark.parametrize("name", MODELS)
def test_uses_no_future_incidents(name: str) -> None:
    model = MODELS[name]
    past = INCIDENTS.before(DAY)
    assert np.array_equal(model(past, GRID, DAY), model(INCIDENTS, GRID, DAY))


@pytest.mark.parametrize("name", MODELS)
def test_sums_to_the_expected_daily_count(name: str) -> None:
    f = MODELS[name](INCIDENTS, GRID, DAY)
    assert f.shape == (GRID.n_cells,)
    assert np.all(f >= 0) and np.all(f[~GRID.inside] == 0)
    level = expected_daily_count(INCIDENTS, GRID, DAY)
    assert f.sum() == pytest.approx(level)
    assert level == pytest.approx(len(INCIDENTS.between(DAY - 28, DAY)) / 28)


@pytest.mark.parametrize("name", MODELS)
def test_mass_is_on_the_cluster(name: str) -> None:
    f = MODELS[name](INCIDENTS, GRID, DAY)
    hot = GRID.cell_of([HOT[0]], [HOT[1]])[0]
    assert np.argmax(f) in GRID.cell_of(HOT[0] + np.array([-150, 0, 150]), [HOT[1]] * 3) or (
        f[hot] > 0.5 * f.max()
    )
    top = np.argsort(-f)[: GRID.n_inside // 20]
    x, y = GRID.centres()
    assert np.median(np.hypot(x[top] - HOT[0], y[top] - HOT[1])) < 400


def test_no_history_gives_zero() -> None:
    f = naive_count(INCIDENTS, GRID, 0.0)
    assert f.sum() == 0.0


def test_near_repeat_boost_raises_risk_next_to_a_fresh_incident() -> None:
    fresh = Incidents(
        [*INCIDENTS.before(DAY).t_day, DAY - 0.5],
        [*INCIDENTS.before(DAY).x, 2400.0],
        [*INCIDENTS.before(DAY).y, 1000.0],
        "burglary",
        26971,
    )
    cell = GRID.cell_of([2400.0 + 150], [1000.0])
    plain = near_repeat_smoothed(fresh, GRID, DAY)
    boosted = near_repeat_smoothed(fresh, GRID, DAY, boost=20.0)
    # The boost is 20 fresh incidents' weight against ~900 decayed ones: a clear local rise.
    assert boosted[cell] / boosted.sum() > 1.2 * plain[cell] / plain.sum()
    hot = GRID.cell_of([HOT[0]], [HOT[1]])
    assert boosted[hot] / boosted.sum() < plain[hot] / plain.sum()


def test_prospective_weights_follow_bowers_johnson_pease() -> None:
    grid = grid_over(shapely.box(0, 0, 1500, 150), 150.0, crs=26971)
    # One incident in cell 0 two weeks old (w = 2): weight 1/3 there, 1/3 * 1/2 one cell away.
    inc = Incidents([DAY - 15, DAY - 100], [75.0, 75.0], [75.0, 75.0], "a", 26971)
    f = prospective_hotspot(inc, grid, DAY, level_days=1000.0)
    assert f[1] / f[0] == pytest.approx(0.5)
    assert f[2] / f[0] == pytest.approx(1 / 3)
    assert f[3] == 0.0  # 450 m is beyond the 400 m bandwidth


def test_count_mixture_ranks_a_warming_cell_above_a_cooling_one() -> None:
    grid = grid_over(shapely.box(0, 0, 1500, 150), 150.0, crs=26971)
    # Cell 0: ten incidents three years ago; cell 5: ten in the last two months.
    t = [DAY - 1100 + i for i in range(10)] + [DAY - 60 + 5 * i for i in range(10)]
    x = [75.0] * 10 + [825.0] * 10
    inc = Incidents(t, x, [75.0] * 20, "a", 26971)
    assert naive_count(inc, grid, DAY)[0] == naive_count(inc, grid, DAY)[5]
    f = count_mixture(inc, grid, DAY, neighbour_weight=0.0)
    assert f[5] > f[0]
    plain = count_mixture(inc, grid, DAY, recent_weight=0.0, neighbour_weight=0.0)
    assert plain == pytest.approx(naive_count(inc, grid, DAY))


def test_count_mixture_breaks_ties_by_the_neighbourhood_deterministically() -> None:
    grid = grid_over(shapely.box(0, 0, 1500, 150), 150.0, crs=26971)
    # Cells 1 and 7 hold three incidents each, of the same ages; cell 8 (next to 7) two more.
    t = [DAY - 30.0, DAY - 20.0, DAY - 10.0] * 2 + [DAY - 25.0, DAY - 15.0]
    x = [225.0] * 3 + [1125.0] * 3 + [1275.0] * 2
    inc = Incidents(t, x, [75.0] * 8, "a", 26971)
    f = count_mixture(inc, grid, DAY)
    assert f[7] > f[1] > f[8]
    assert np.array_equal(f, count_mixture(inc, grid, DAY))
    with pytest.raises(ValueError, match="at most 1"):
        count_mixture(inc, grid, DAY, recent_weight=0.8, neighbour_weight=0.3)
