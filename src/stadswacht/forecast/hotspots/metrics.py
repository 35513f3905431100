"""Scores of a hotspot forecast: hit rate, PAI, log score and calibration.

Every function takes forecasts and observed counts already restricted to the cells of the
study area (the grid's ``mask``), one row per day: ``forecasts[d, i]`` is the expected count
of incidents in area cell ``i`` on day ``d`` and ``observed[d, i]`` the count that happened.

Definitions (Chainey, Tompson & Uhlig 2008 for PAI; Gneiting & Raftery 2007 for the log score):

- **Flagged cells at coverage c**: the ``k = max(1, round(c * n))`` cells with the largest
  forecast out of the ``n`` cells of the area. Ties are broken by the cell's flat index,
  lowest first (a stable sort of the negated forecast), so a run is deterministic; a model
  that forecasts many equal values is ranked by position among them, not favoured by chance.
- **Hit rate at c**: incidents in the flagged cells / incidents, pooled over days as
  ``sum(hits) / sum(events)`` (days with more incidents weigh more).
- **PAI at c** (predictive accuracy index): hit rate / flagged area fraction ``k / n``
  (= ``c`` up to the rounding of ``k``).
- **Intervals**: percentile bootstrap over days (days resampled with replacement, the pooled
  ratio recomputed), 95 % by default; the difference of two models is bootstrapped *paired*,
  the same resampled days for both.
- **Log score**: the Poisson log-likelihood of the observed counts under the expected counts,
  ``sum(y log(mu) - mu - log(y!))`` over cells and days, divided by the number of incidents
  (per event: higher is better). Expected counts are floored at ``floor`` so that a cell
  forecast as impossible costs a large finite penalty instead of minus infinity.
- **Calibration**: reliability by decile (cells x days sorted by forecast, cut into ten equal
  groups; mean forecast and mean observed count per group) and the slope of the least-squares
  line of observed on forecast (1 for a calibrated forecast; > 1 means the forecast is too
  flat, < 1 too sharp).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy.special import gammaln

__all__ = [
    "Interval",
    "calibration_slope",
    "daily_hits",
    "flagged_count",
    "paired_bootstrap",
    "poisson_log_score",
    "pooled_bootstrap",
    "ranking",
    "reliability",
]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

DEFAULT_FLOOR = 1e-9
"""Smallest expected count per cell used by the log score [incidents/day]."""


@dataclass(frozen=True)
class Interval:
    """An estimate with a bootstrap interval."""

    estimate: float
    lo: float
    hi: float


def flagged_count(n_cells: int, coverage: float) -> int:
    """Number of cells flagged at ``coverage`` of an area of ``n_cells`` cells.

    >>> flagged_count(1000, 0.05), flagged_count(10, 0.01)
    (50, 1)
    """
    if not 0.0 < coverage <= 1.0:
        raise ValueError(f"coverage must be in (0, 1], got {coverage}")
    return max(1, min(n_cells, int(np.floor(coverage * n_cells + 0.5))))


def ranking(forecasts: NDArray[np.floating]) -> IntArray:
    """Area cells ordered from the highest forecast down, per day; ties by lowest index.

    >>> ranking(np.array([[1.0, 3.0, 3.0, 0.0]])).tolist()
    [[1, 2, 0, 3]]
    """
    f = np.atleast_2d(forecasts)
    return np.argsort(-f, axis=1, kind="stable").astype(np.int64)


def daily_hits(
    forecasts: NDArray[np.floating],
    observed: NDArray[np.integer],
    coverages: tuple[float, ...],
) -> IntArray:
    """Incidents falling in the flagged cells, per day and coverage.

    Parameters
    ----------
    forecasts : (days, cells) expected counts in the area cells
    observed : (days, cells) incident counts
    coverages : area fractions, e.g. ``(0.01, 0.05)``

    Returns
    -------
    (days, len(coverages)) hits

    >>> f = np.array([[0.5, 0.1, 0.9, 0.2]])
    >>> y = np.array([[1, 2, 0, 1]])
    >>> daily_hits(f, y, (0.25, 0.5)).tolist()
    [[0, 1]]
    """
    f = np.atleast_2d(forecasts)
    y = np.atleast_2d(observed)
    if f.shape != y.shape:
        raise ValueError(f"forecasts {f.shape} and observed {y.shape} differ in shape")
    order = ranking(f)
    ranked = np.take_along_axis(y, order, axis=1).astype(np.int64)
    cum = np.cumsum(ranked, axis=1)
    n = f.shape[1]
    ks = np.array([flagged_count(n, c) for c in coverages], dtype=np.int64)
    return cum[:, ks - 1]


def _resample(n_days: int, n_boot: int, seed: int) -> IntArray:
    rng = np.random.default_rng(seed)
    return rng.integers(0, n_days, size=(n_boot, n_days))


def pooled_bootstrap(
    hits: NDArray[np.integer],
    events: NDArray[np.integer],
    *,
    n_boot: int = 2000,
    seed: int = 0,
    level: float = 0.95,
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Pooled hit rate per coverage with a bootstrap-over-days interval.

    Parameters
    ----------
    hits : (days, coverages) hits per day
    events : (days,) incidents per day

    Returns
    -------
    estimate, lo, hi : each (coverages,); divide by the flagged area fraction for PAI

    >>> est, lo, hi = pooled_bootstrap(np.array([[1], [3]]), np.array([2, 4]), n_boot=200)
    >>> float(est[0]), bool(lo[0] <= est[0] <= hi[0])
    (0.6666666666666666, True)
    """
    h = np.asarray(hits, dtype=np.float64).reshape(len(events), -1)
    e = np.asarray(events, dtype=np.float64)
    total = max(e.sum(), 1.0)
    estimate = h.sum(axis=0) / total
    idx = _resample(len(e), n_boot, seed)
    boot = h[idx].sum(axis=1) / np.maximum(e[idx].sum(axis=1), 1.0)[:, None]
    alpha = (1.0 - level) / 2.0
    lo, hi = np.quantile(boot, [alpha, 1.0 - alpha], axis=0)
    return estimate, lo, hi


def paired_bootstrap(
    hits_a: NDArray[np.integer],
    hits_b: NDArray[np.integer],
    events: NDArray[np.integer],
    *,
    n_boot: int = 2000,
    seed: int = 0,
    level: float = 0.95,
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Difference of pooled hit rates, model a minus model b, on the same resampled days.

    Multiply by ``1 / area fraction`` for the PAI difference (both models flag the same
    number of cells).

    >>> h = np.array([[1], [3], [0]])
    >>> [float(v[0]) for v in paired_bootstrap(h, h, np.array([2, 4, 1]), n_boot=100)]
    [0.0, 0.0, 0.0]
    """
    a = np.asarray(hits_a, dtype=np.float64).reshape(len(events), -1)
    b = np.asarray(hits_b, dtype=np.float64).reshape(len(events), -1)
    e = np.asarray(events, dtype=np.float64)
    d = a - b
    estimate = d.sum(axis=0) / max(e.sum(), 1.0)
    idx = _resample(len(e), n_boot, seed)
    boot = d[idx].sum(axis=1) / np.maximum(e[idx].sum(axis=1), 1.0)[:, None]
    alpha = (1.0 - level) / 2.0
    lo, hi = np.quantile(boot, [alpha, 1.0 - alpha], axis=0)
    return estimate, lo, hi


def poisson_log_score(
    forecasts: NDArray[np.floating],
    observed: NDArray[np.integer],
    *,
    floor: float = DEFAULT_FLOOR,
) -> FloatArray:
    """Poisson log-likelihood of the observed counts per day, summed over cells.

    >>> round(float(poisson_log_score(np.array([[1.0]]), np.array([[1]]))[0]), 6)
    -1.0
    """
    mu = np.maximum(np.atleast_2d(forecasts).astype(np.float64), floor)
    y = np.atleast_2d(observed).astype(np.float64)
    ll = -mu.sum(axis=1)
    pos = y > 0
    # Only cells with an incident contribute y log(mu) - log(y!): the rest is 0 there.
    ll = ll + np.where(pos, y * np.log(mu) - gammaln(y + 1.0), 0.0).sum(axis=1)
    return np.asarray(ll, dtype=np.float64)


def reliability(
    forecasts: NDArray[np.floating],
    observed: NDArray[np.integer],
    *,
    n_bins: int = 10,
) -> tuple[FloatArray, FloatArray]:
    """Mean forecast and mean observed count per equal-size group of (day, cell) pairs.

    Pairs are sorted by forecast (stable) and cut into ``n_bins`` groups of equal size.

    >>> mf, mo = reliability(np.array([0.0, 0.0, 1.0, 1.0]), np.array([0, 0, 1, 1]), n_bins=2)
    >>> mf.tolist(), mo.tolist()
    ([0.0, 1.0], [0.0, 1.0])
    """
    f = np.asarray(forecasts, dtype=np.float64).ravel()
    y = np.asarray(observed, dtype=np.float64).ravel()
    order = np.argsort(f, kind="stable")
    groups = np.array_split(order, n_bins)
    mean_f = np.array([f[g].mean() if len(g) else np.nan for g in groups])
    mean_o = np.array([y[g].mean() if len(g) else np.nan for g in groups])
    return mean_f, mean_o


def calibration_slope(forecasts: NDArray[np.floating], observed: NDArray[np.integer]) -> float:
    """Least-squares slope of observed counts on forecast counts (1 when calibrated).

    >>> calibration_slope(np.array([0.0, 1.0, 2.0]), np.array([0, 1, 2]))
    1.0
    """
    f = np.asarray(forecasts, dtype=np.float64).ravel()
    y = np.asarray(observed, dtype=np.float64).ravel()
    fc = f - f.mean()
    var = float(fc @ fc)
    if var == 0.0:
        return float("nan")
    return float(fc @ (y - y.mean())) / var
