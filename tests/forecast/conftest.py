"""Synthetic counts with known structure, and one thread for the trees (fast on a busy box)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import sklearn.ensemble  # noqa: F401  (loads its OpenMP runtime before it is limited)
from threadpoolctl import threadpool_limits

from stadswacht.forecast.crowd import CountTable

FIXTURE = (
    Path(__file__).resolve().parents[1] / "fixtures/melbourne/counts_2sensors_2013-10_2014-01.csv"
)

# Small, fast trees: the tests check behaviour, the bench checks accuracy.
FAST = {"max_iter": 40, "max_rows": 20_000, "min_samples_leaf": 50, "calibration_weeks": 4}


@pytest.fixture(autouse=True, scope="session")
def _one_thread() -> Iterator[None]:
    # OpenMP threads spinning against other processes make small fits 5x slower.
    with threadpool_limits(limits=1):
        yield


def weekly_shape(hours: np.ndarray) -> np.ndarray:
    """Expected share of a busy hour: two daily peaks, quieter weekends."""
    hod = hours % 24
    dow = (hours // 24) % 7
    day = (
        0.1
        + np.exp(-0.5 * ((hod - 8.5) / 1.5) ** 2)
        + 0.8 * np.exp(-0.5 * ((hod - 17.5) / 2.0) ** 2)
        + 0.4 * np.exp(-0.5 * ((hod - 13) / 2.5) ** 2)
    )
    return day * np.where(dow >= 5, 0.6, 1.0)


def synthetic(
    weeks: int = 20,
    sensors: int = 8,
    sigma: float = 0.25,
    shift_week: int | None = None,
    shift: float = 1.8,
    step_minutes: int = 60,
    seed: int = 0,
) -> CountTable:
    """Counts = scale x weekly shape x level x lognormal(0, sigma) noise, AR(1) in log.

    With ``shift_week`` the level of every other sensor jumps by ``shift`` from that week on.
    """
    rng = np.random.default_rng(seed)
    per_hour = 60 // step_minutes
    n = weeks * 168 * per_hour
    hours = np.arange(n) / per_hour
    scale = rng.uniform(200, 1500, sensors) / per_hour
    level = np.ones((n, sensors))
    if shift_week is not None:
        level[shift_week * 168 * per_hour :, ::2] = shift
    # Persistent noise (AR(1), so recent hours carry information a week-old count does not).
    eps = np.zeros((n, sensors))
    e = rng.normal(0, sigma, (n, sensors))
    phi = 0.7 ** (1 / per_hour)
    for i in range(1, n):
        eps[i] = phi * eps[i - 1] + np.sqrt(1 - phi**2) * e[i]
    mean = scale * weekly_shape(hours)[:, None] * level * np.exp(eps)
    counts = rng.poisson(mean).astype(float)
    t0 = np.datetime64("2024-01-01T00:00", "m")  # a Monday
    times = t0 + np.arange(n) * np.timedelta64(step_minutes, "m")
    return CountTable.from_arrays(times, [f"s{i}" for i in range(sensors)], counts)
