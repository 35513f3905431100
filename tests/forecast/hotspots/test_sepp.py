"""The grid SEPP recovers the parameters of a simulated Hawkes process and forecasts fairly."""

from __future__ import annotations

import numpy as np
import pytest
import shapely

from stadswacht.forecast.hotspots.grid import grid_over
from stadswacht.forecast.hotspots.incidents import Incidents
from stadswacht.forecast.hotspots.sepp import fit_sepp, sepp

SIDE = 3000.0  # [m]
DAYS = 1500.0
MU, THETA, OMEGA, SIGMA = 2.0, 0.3, 0.2, 100.0  # [1/day], -, [1/day], [m]


def simulate(seed: int = 1) -> Incidents:
    """A Hawkes process by branching: uniform background, exponential delays, Gaussian offsets."""
    rng = np.random.default_rng(seed)
    n0 = rng.poisson(MU * DAYS)
    gen = [rng.uniform(0, DAYS, n0), rng.uniform(0, SIDE, n0), rng.uniform(0, SIDE, n0)]
    t, x, y = (list(a) for a in gen)
    while gen[0].size:
        kids = rng.poisson(THETA, gen[0].size)
        parent = np.repeat(np.arange(gen[0].size), kids)
        m = parent.size
        gen = [
            gen[0][parent] + rng.exponential(1 / OMEGA, m),
            gen[1][parent] + rng.normal(0, SIGMA, m),
            gen[2][parent] + rng.normal(0, SIGMA, m),
        ]
        inside = (gen[0] < DAYS) & (gen[1] > 0) & (gen[1] < SIDE) & (gen[2] > 0) & (gen[2] < SIDE)
        gen = [a[inside] for a in gen]
        for acc, new in zip((t, x, y), gen, strict=True):
            acc.extend(new)
    return Incidents(t, x, y, "sim", 26971, "minute")


@pytest.fixture(scope="module")
def simulated() -> Incidents:
    return simulate()


GRID = grid_over(shapely.box(0, 0, SIDE, SIDE), 150.0, crs=26971)


def test_recovers_simulated_parameters(simulated: Incidents) -> None:
    fit = fit_sepp(simulated, GRID, start=0.0, end=DAYS)
    assert fit.info["converged"]
    assert fit.theta == pytest.approx(THETA, abs=0.08)
    assert fit.omega == pytest.approx(OMEGA, rel=0.35)
    assert fit.sigma == pytest.approx(SIGMA, rel=0.25)
    assert fit.mu.sum() == pytest.approx(MU, rel=0.2)


def test_day_resolution_roughly_recovers(simulated: Incidents) -> None:
    daily = Incidents(
        np.floor(simulated.t_day), simulated.x, simulated.y, simulated.kind, 26971, "day"
    )
    fit = fit_sepp(daily, GRID, start=0.0, end=DAYS)
    # Same-day offspring (about 1 - exp(-omega / 2) of them) are counted as background.
    assert 0.15 < fit.theta < 0.4
    assert fit.sigma == pytest.approx(SIGMA, rel=0.3)
    assert 1 / fit.omega == pytest.approx(1 / OMEGA, rel=0.5)


def test_forecast_uses_no_future_and_sums_to_its_rate(simulated: Incidents) -> None:
    fit = fit_sepp(simulated, GRID, start=0.0, end=1000.0, max_iter=30)
    day = 1000.0
    f = sepp(simulated.before(day), GRID, day, fit)
    assert np.array_equal(f, sepp(simulated, GRID, day, fit))
    assert f.shape == (GRID.n_cells,)
    assert f.sum() == pytest.approx(MU + THETA * 2.0, rel=0.5)
    # Mass concentrates near the incidents of the last days.
    last = simulated.between(day - 5, day)
    near = GRID.cell_of(last.x, last.y)
    assert f[near].mean() > 2 * f.mean()


def test_refuses_a_grid_it_was_not_fitted_on(simulated: Incidents) -> None:
    fit = fit_sepp(simulated, GRID, start=0.0, end=300.0, max_iter=5)
    other = grid_over(shapely.box(0, 0, SIDE, SIDE), 300.0, crs=26971)
    with pytest.raises(ValueError, match="cells"):
        sepp(simulated, other, 300.0, fit)
