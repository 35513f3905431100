"""Hotspot models: expected incidents per grid cell for one day, from incidents before it.

Every model is a function ``model(incidents, grid, day, **params) -> ndarray`` that

- uses only incidents with ``t_day < day`` (a forecast for ``[day, day + 1)``),
- returns a flat array of ``grid.n_cells`` expected counts, 0 outside the study area,
- sums to :func:`expected_daily_count` over the study area: the model says *where*, the
  recent level (the mean daily count of the last ``level_days`` days inside the area) says
  *how many*, so forecasts can be calibrated and not only ranked.

The spatial surfaces are built from weighted count rasters convolved with a kernel (one
``bincount`` and one filter), never with per-event loops, so a city-wide daily forecast with
ten years of history takes milliseconds. The self-exciting point process is in
:mod:`stadswacht.forecast.hotspots.sepp`.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy import ndimage, signal

from stadswacht.forecast.hotspots.grid import Grid
from stadswacht.forecast.hotspots.incidents import Incidents

__all__ = [
    "DEFAULT_COUNT_MIXTURE",
    "DEFAULT_LEVEL_DAYS",
    "DEFAULT_NAIVE",
    "DEFAULT_NEAR_REPEAT",
    "DEFAULT_PROSPECTIVE",
    "DEFAULT_RETROSPECTIVE",
    "count_mixture",
    "count_raster",
    "expected_daily_count",
    "naive_count",
    "near_repeat_smoothed",
    "prospective_hotspot",
    "retrospective_kde",
]

DEFAULT_LEVEL_DAYS = 28.0
"""Days of history whose mean daily count sets a forecast's total [days]."""

DEFAULT_NAIVE: dict[str, Any] = {"window_days": None}
"""Naive count: all history (``window_days=None``)."""

DEFAULT_RETROSPECTIVE: dict[str, Any] = {"window_days": 365.0, "bandwidth": 300.0}
"""Retrospective KDE: one year of incidents, Gaussian kernel of 300 m standard deviation."""

DEFAULT_PROSPECTIVE: dict[str, Any] = {"bandwidth": 400.0, "weeks": 8}
"""Prospective hotspotting as Bowers, Johnson & Pease (2004) set it: 400 m and two months."""

DEFAULT_NEAR_REPEAT: dict[str, Any] = {
    "bandwidth": 150.0,
    "half_life": 365.0,
    "history_days": 3 * 365.0,
    "boost": 0.0,
    "nr_bandwidth": 400.0,
    "nr_days": 14.0,
}
"""Decayed smoothed count: 150 m Gaussian, one-year half-life, three years of history, no
near-repeat boost (the long-run shape alone was the best reported on Chicago assaults)."""


def count_raster(
    incidents: Incidents, grid: Grid, weights: NDArray[np.float64] | None = None
) -> NDArray[np.float64]:
    """Weighted count of incidents per cell of the grid's bounding box, shape ``(ny, nx)``.

    Incidents in cells outside the study area are counted (they spread into it when
    smoothed); incidents outside the bounding box are not.
    """
    k = grid.cell_of(incidents.x, incidents.y, inside=False)
    ok = k >= 0
    w = None if weights is None else np.asarray(weights, dtype=float)[ok]
    counts = np.bincount(k[ok], weights=w, minlength=grid.n_cells).astype(np.float64)
    return counts.reshape(grid.ny, grid.nx)


def expected_daily_count(
    incidents: Incidents, grid: Grid, day: float, level_days: float = DEFAULT_LEVEL_DAYS
) -> float:
    """Mean daily count of incidents inside the study area over ``[day - level_days, day)``.

    When the history is shorter than ``level_days`` the mean is over the days it covers.

    Returns
    -------
    float
        Expected incidents on ``day`` [1/day].
    """
    past = incidents.between(day - level_days, day)
    if len(incidents) == 0 or incidents.t_day[0] >= day:
        return 0.0
    covered = min(level_days, day - math.floor(float(incidents.t_day[0])))
    n = int((grid.cell_of(past.x, past.y) >= 0).sum())
    return n / covered


def _finish(
    surface: NDArray[np.float64], incidents: Incidents, grid: Grid, day: float, level_days: float
) -> NDArray[np.float64]:
    """Zero outside the area, scale to the expected daily count."""
    out = np.where(grid.inside, surface.ravel(), 0.0)
    # FFT convolution leaves rounding noise where there is no mass: keep those cells at 0.
    out[out < 1e-12 * max(float(out.max()), 0.0)] = 0.0
    total = out.sum()
    if total <= 0:  # no history: spread evenly
        out = grid.inside.astype(float)
        total = out.sum()
    scaled: NDArray[np.float64] = out * (
        expected_daily_count(incidents, grid, day, level_days) / total
    )
    return scaled


def _gaussian(raster: NDArray[np.float64], sigma_cells: float) -> NDArray[np.float64]:
    if sigma_cells <= 0:
        return raster
    out: NDArray[np.float64] = ndimage.gaussian_filter(
        raster, sigma_cells, mode="constant", truncate=4.0
    )
    return out


def naive_count(
    incidents: Incidents,
    grid: Grid,
    day: float,
    *,
    window_days: float | None = None,
    level_days: float = DEFAULT_LEVEL_DAYS,
) -> NDArray[np.float64]:
    """Naive long-run count: each cell's share of past incidents.

    The baseline of open_cp (QuantCrimAtLeeds/PredictCode, ``open_cp.naive``) and of most
    hotspot evaluations: the count of incidents in each cell over a window, as a daily rate
    scaled to the expected daily count.

    Parameters
    ----------
    incidents, grid
        History and study area.
    day
        Day forecast for [days since ``EPOCH``]; incidents from ``day`` on are ignored.
    window_days
        Length of history counted [days]; ``None`` for all of it.
    level_days
        Days whose mean count sets the total (see :func:`expected_daily_count`) [days].

    Returns
    -------
    ndarray, shape (n_cells,)
        Expected incidents per cell on ``day``.

    Examples
    --------
    >>> from stadswacht.forecast.hotspots.grid import grid_over
    >>> import shapely
    >>> g = grid_over(shapely.box(0, 0, 300, 150), crs=26971)
    >>> inc = Incidents([0.0, 1.0, 2.0, 3.0], [10, 10, 10, 200], [10, 10, 10, 10], "a", 26971)
    >>> naive_count(inc, g, 4.0).tolist()
    [0.75, 0.25]
    """
    start = -np.inf if window_days is None else day - window_days
    surface = count_raster(incidents.between(start, day), grid)
    return _finish(surface, incidents, grid, day, level_days)


def retrospective_kde(
    incidents: Incidents,
    grid: Grid,
    day: float,
    *,
    window_days: float = DEFAULT_RETROSPECTIVE["window_days"],
    bandwidth: float = DEFAULT_RETROSPECTIVE["bandwidth"],
    level_days: float = DEFAULT_LEVEL_DAYS,
) -> NDArray[np.float64]:
    """Retrospective kernel density hotspot map (Chainey, Tompson & Uhlig 2008).

    A Gaussian kernel density of the incidents of the last ``window_days``, evaluated per cell
    by smoothing the count raster (binned KDE: each incident sits at its cell's centre, an
    error of at most half a cell). Chainey, S., Tompson, L. & Uhlig, S. (2008), "The utility of
    hotspot mapping for predicting spatial patterns of crime", Security Journal 21, 4-28.

    Parameters
    ----------
    incidents, grid, day, level_days
        As in :func:`naive_count`.
    window_days
        History used [days].
    bandwidth
        Standard deviation of the Gaussian kernel [m].

    Returns
    -------
    ndarray, shape (n_cells,)
        Expected incidents per cell on ``day``.
    """
    raster = count_raster(incidents.between(day - window_days, day), grid)
    return _finish(_gaussian(raster, bandwidth / grid.cell), incidents, grid, day, level_days)


def prospective_hotspot(
    incidents: Incidents,
    grid: Grid,
    day: float,
    *,
    bandwidth: float = DEFAULT_PROSPECTIVE["bandwidth"],
    weeks: int = DEFAULT_PROSPECTIVE["weeks"],
    level_days: float = DEFAULT_LEVEL_DAYS,
) -> NDArray[np.float64]:
    """Prospective hotspotting (Bowers, Johnson & Pease 2004).

    Each incident within ``bandwidth`` and ``weeks`` of a cell adds
    ``1 / (1 + d) * 1 / (1 + w)``, with ``d`` the distance between the cell centres in cells
    and ``w`` the incident's age in whole weeks (0 for the last seven days). The weight
    factorises, so the surface is the raster of time weights convolved with the distance
    kernel. Bowers, K. J., Johnson, S. D. & Pease, K. (2004), "Prospective hot-spotting: the
    future of crime mapping?", British Journal of Criminology 44(5), 641-658.

    Parameters
    ----------
    incidents, grid, day, level_days
        As in :func:`naive_count`.
    bandwidth
        Largest distance between cell centres that an incident reaches [m].
    weeks
        Incidents younger than this many weeks count [weeks].

    Returns
    -------
    ndarray, shape (n_cells,)
        Expected incidents per cell on ``day``.
    """
    past = incidents.between(day - 7.0 * weeks, day)
    age_weeks = np.floor((day - past.t_day) / 7.0)
    raster = count_raster(past, grid, 1.0 / (1.0 + age_weeks))
    r = int(bandwidth // grid.cell)
    di, dj = np.mgrid[-r : r + 1, -r : r + 1]
    d = np.hypot(di, dj)
    kernel = np.where(d * grid.cell <= bandwidth, 1.0 / (1.0 + d), 0.0)
    surface = signal.fftconvolve(raster, kernel, mode="same") if r > 0 else raster
    return _finish(surface, incidents, grid, day, level_days)


def near_repeat_smoothed(
    incidents: Incidents,
    grid: Grid,
    day: float,
    *,
    bandwidth: float = DEFAULT_NEAR_REPEAT["bandwidth"],
    half_life: float = DEFAULT_NEAR_REPEAT["half_life"],
    history_days: float = DEFAULT_NEAR_REPEAT["history_days"],
    boost: float = DEFAULT_NEAR_REPEAT["boost"],
    nr_bandwidth: float = DEFAULT_NEAR_REPEAT["nr_bandwidth"],
    nr_days: float = DEFAULT_NEAR_REPEAT["nr_days"],
    level_days: float = DEFAULT_LEVEL_DAYS,
) -> NDArray[np.float64]:
    """Time-decayed, Gaussian-smoothed count with a near-repeat boost.

    The long-run part weights each incident by ``0.5 ** (age / half_life)`` over
    ``history_days`` and smooths the raster with a Gaussian of ``bandwidth``: a kernel density
    hotspot map (Chainey, Tompson & Uhlig 2008) that forgets slowly. The near-repeat part adds,
    for each incident younger than ``nr_days``, ``boost * (1 - age / nr_days)`` spread evenly
    over the cells within ``nr_bandwidth``: the raised risk near a recent incident (Townsley,
    Homel & Chaseling 2003, "Infectious burglaries: a test of the near repeat hypothesis",
    British Journal of Criminology 43(3), 615-633; Johnson et al. 2007, "Space-time patterns
    of risk: a cross national assessment of residential burglary victimization", Journal of
    Quantitative Criminology 23, 201-219). ``boost`` is in units of a fresh incident's
    long-run weight.

    Parameters
    ----------
    incidents, grid, day, level_days
        As in :func:`naive_count`.
    bandwidth
        Standard deviation of the Gaussian [m]; 0 for no smoothing.
    half_life
        Age at which an incident's weight halves [days]; ``inf`` for none.
    history_days
        History used [days].
    boost
        Near-repeat weight of a same-day incident; 0 to switch the near-repeat part off.
    nr_bandwidth
        Radius of the near-repeat disc [m].
    nr_days
        Near-repeat time window [days].

    Returns
    -------
    ndarray, shape (n_cells,)
        Expected incidents per cell on ``day``.
    """
    past = incidents.between(day - history_days, day)
    age = day - past.t_day
    w = np.exp2(-age / half_life) if math.isfinite(half_life) else np.ones_like(age)
    surface = _gaussian(count_raster(past, grid, w), bandwidth / grid.cell)
    if boost > 0 and nr_days > 0:
        recent = past.between(day - nr_days, day)
        taper = boost * (1.0 - (day - recent.t_day) / nr_days)
        r = int(nr_bandwidth // grid.cell)
        di, dj = np.mgrid[-r : r + 1, -r : r + 1]
        disc = (np.hypot(di, dj) * grid.cell <= nr_bandwidth).astype(float)
        raster = count_raster(recent, grid, taper)
        surface = surface + signal.fftconvolve(raster, disc / disc.sum(), mode="same")
    return _finish(surface, incidents, grid, day, level_days)


DEFAULT_COUNT_MIXTURE: dict[str, Any] = {
    "recent_weight": 0.5,
    "half_life": 365.0,
    "neighbour_weight": 0.1,
    "neighbour_bandwidth": 300.0,
}
"""Count mixture: half all-history count, half one-year half-life count, and a tenth of the
mass from the neighbourhood's count (300 m Gaussian), as chosen on Chicago assaults
validation periods before 2019 (Jul-Dec 2018 and all of 2017)."""


def _share(raster: NDArray[np.float64]) -> NDArray[np.float64]:
    total = float(raster.sum())
    return raster / total if total > 0 else raster


def count_mixture(
    incidents: Incidents,
    grid: Grid,
    day: float,
    *,
    recent_weight: float = DEFAULT_COUNT_MIXTURE["recent_weight"],
    half_life: float = DEFAULT_COUNT_MIXTURE["half_life"],
    neighbour_weight: float = DEFAULT_COUNT_MIXTURE["neighbour_weight"],
    neighbour_bandwidth: float = DEFAULT_COUNT_MIXTURE["neighbour_bandwidth"],
    level_days: float = DEFAULT_LEVEL_DAYS,
) -> NDArray[np.float64]:
    """Mixture of a long-run count, a recent (decayed) count and the neighbourhood's count.

    Each cell's share of the expected incidents is

    ``(1 - r - n) * C / sum(C) + r * D / sum(D) + n * G / sum(G)``

    with ``C`` the count of all past incidents in the cell (:func:`naive_count`), ``D`` the
    count with each incident weighted ``0.5 ** (age / half_life)``, ``G`` the all-history
    count smoothed with a Gaussian of ``neighbour_bandwidth``, ``r = recent_weight`` and
    ``n = neighbour_weight``. The long-run count holds the stable hotspots, the decayed count
    follows places that warm up or cool down, and the neighbourhood term shrinks a cell's
    noisy count toward its surroundings (and breaks the many ties between cells with the same
    count by the activity around them). Mixing a long-term and a short-term component follows
    Mohler, G. (2014), "Marked point process hotspot maps for homicide and gun crime
    prediction in Chicago", International Journal of Forecasting 30(3), 491-497, where the
    mixture beat either part; the neighbourhood term is a kernel shrinkage in the spirit of
    empirical-Bayes smoothing of small-area rates (Clayton & Kaldor 1987, Biometrics 43(3),
    671-681).

    Parameters
    ----------
    incidents, grid, day, level_days
        As in :func:`naive_count`.
    recent_weight
        Share ``r`` of the decayed count, in [0, 1].
    half_life
        Age at which an incident's weight in ``D`` halves [days].
    neighbour_weight
        Share ``n`` of the neighbourhood count, in [0, 1 - r].
    neighbour_bandwidth
        Standard deviation of the neighbourhood's Gaussian [m].

    Returns
    -------
    ndarray, shape (n_cells,)
        Expected incidents per cell on ``day``.

    Examples
    --------
    >>> from stadswacht.forecast.hotspots.grid import grid_over
    >>> import shapely
    >>> g = grid_over(shapely.box(0, 0, 300, 150), crs=26971)
    >>> inc = Incidents([0.0, 1.0, 2.0, 3.0], [10, 10, 10, 200], [10, 10, 10, 10], "a", 26971)
    >>> f = count_mixture(inc, g, 4.0, neighbour_weight=0.0)
    >>> bool(f[0] > f[1]), round(float(f.sum()), 6)
    (True, 1.0)
    """
    if min(recent_weight, neighbour_weight) < 0.0 or recent_weight + neighbour_weight > 1.0:
        raise ValueError(
            f"recent_weight ({recent_weight}) and neighbour_weight ({neighbour_weight}) must be "
            "non-negative with a sum of at most 1"
        )
    past = incidents.before(day)
    counts = count_raster(past, grid)
    recent = count_raster(past, grid, np.exp2(-(day - past.t_day) / half_life))
    surface = (1.0 - recent_weight - neighbour_weight) * _share(counts)
    surface = surface + recent_weight * _share(recent)
    if neighbour_weight > 0:
        surface = surface + neighbour_weight * _share(
            _gaussian(counts, neighbour_bandwidth / grid.cell)
        )
    return _finish(surface, incidents, grid, day, level_days)
