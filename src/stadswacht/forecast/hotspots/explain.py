"""Why a cell is forecast high: its forecast split into long-run, recent and near-repeat parts.

Every hotspot model here is linear in the incidents it reads: each incident adds a weight that
depends on its age only (1, a decay, ``1 / (1 + weeks)``) at its cell, the weighted raster is
smoothed with a fixed kernel, and the surface is scaled to the expected daily count. So a
cell's forecast is the sum of what each group of incidents contributes, and it splits exactly:

- **long-run**: what the incidents older than ``recent_days`` contribute (through the model's
  own weights and kernel: a one-year half-life keeps them, a two-month window drops them);
- **recent**: what the incidents of the last ``recent_days`` days contribute, through the same
  weights and kernel (so it is the "recent" part of the model's long-run surface);
  :func:`~stadswacht.forecast.hotspots.models.count_mixture` divides each of its three counts
  by its total over all incidents, so the split is exact there too;
- **near-repeat**: the short-term boost around incidents of the last ``nr_days`` days that
  :func:`~stadswacht.forecast.hotspots.models.near_repeat_smoothed` adds (``boost > 0``); 0 for
  the other models. For the self-exciting point process
  (:func:`~stadswacht.forecast.hotspots.sepp.sepp`) the split is its own: the background
  ``mu`` is the long-run part and what recent incidents trigger is the near-repeat part.

The three parts of a cell are made to sum to its forecast: each is the forecast times its
share of the unscaled surface (FFT rounding below zero is clipped first). A cell the model
forecasts without any history (an even spread) is all long-run.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy import ndimage, signal

from stadswacht.forecast.hotspots.grid import Grid
from stadswacht.forecast.hotspots.incidents import Incidents
from stadswacht.forecast.hotspots.models import count_raster
from stadswacht.forecast.hotspots.sepp import SeppParams

__all__ = ["COMPONENTS", "DEFAULT_RECENT_DAYS", "Explanation", "explain"]

DEFAULT_RECENT_DAYS = 28.0
"""Incidents younger than this count as recent [days]: the last four weeks."""

COMPONENTS = ("long_run", "recent", "near_repeat")
"""The parts a forecast is split into, in this order."""


@dataclass(frozen=True, eq=False)
class Explanation:
    """A forecast split per cell into long-run, recent and near-repeat parts.

    Parameters
    ----------
    long_run, recent, near_repeat : ndarray, shape (n_cells,)
        Each part's expected incidents per cell [1/day]; the three sum to the forecast.
    recent_days : float
        The age under which an incident was counted as recent [days].
    """

    long_run: NDArray[np.float64]
    recent: NDArray[np.float64]
    near_repeat: NDArray[np.float64]
    recent_days: float

    @property
    def total(self) -> NDArray[np.float64]:
        """The forecast: the sum of the three parts per cell."""
        out: NDArray[np.float64] = self.long_run + self.recent + self.near_repeat
        return out

    def of_cell(self, cell: int) -> dict[str, float]:
        """The three parts of one cell [1/day]."""
        return {name: float(getattr(self, name)[cell]) for name in COMPONENTS}

    def shares(self, cell: int) -> dict[str, float]:
        """The three parts of one cell as fractions of its forecast (all 0 for a zero cell)."""
        parts = self.of_cell(cell)
        total = sum(parts.values())
        return {k: (v / total if total > 0 else 0.0) for k, v in parts.items()}


def _gaussian(raster: NDArray[np.float64], sigma_cells: float) -> NDArray[np.float64]:
    # As models._gaussian: the same filter, so the split matches the model's surface.
    if sigma_cells <= 0:
        return raster
    out: NDArray[np.float64] = ndimage.gaussian_filter(
        raster, sigma_cells, mode="constant", truncate=4.0
    )
    return out


def _long_surface(
    model: str, past: Incidents, grid: Grid, day: float, p: Mapping[str, Any]
) -> NDArray[np.float64]:
    """The model's unscaled surface from ``past`` (its near-repeat boost left out)."""
    if model == "naive_count":
        return count_raster(past, grid)
    if model == "retrospective_kde":
        return _gaussian(count_raster(past, grid), float(p["bandwidth"]) / grid.cell)
    if model == "prospective_hotspot":
        age_weeks = np.floor((day - past.t_day) / 7.0)
        raster = count_raster(past, grid, 1.0 / (1.0 + age_weeks))
        bandwidth = float(p["bandwidth"])
        r = int(bandwidth // grid.cell)
        if r == 0:
            return raster
        di, dj = np.mgrid[-r : r + 1, -r : r + 1]
        d = np.hypot(di, dj)
        kernel = np.where(d * grid.cell <= bandwidth, 1.0 / (1.0 + d), 0.0)
        out: NDArray[np.float64] = signal.fftconvolve(raster, kernel, mode="same")
        return out
    if model == "near_repeat_smoothed":
        return _gaussian(
            count_raster(past, grid, _decay(day - past.t_day, float(p["half_life"]))),
            float(p["bandwidth"]) / grid.cell,
        )
    raise ValueError(f"no explanation for model {model!r}")


def _decay(age: NDArray[np.float64], half_life: float) -> NDArray[np.float64]:
    if not math.isfinite(half_life):
        return np.ones_like(age)
    out: NDArray[np.float64] = np.exp2(-age / half_life)
    return out


def _mixture_parts(
    past: Incidents, groups: list[Incidents], grid: Grid, day: float, p: Mapping[str, Any]
) -> list[NDArray[np.float64]]:
    """:func:`count_mixture`'s surface from each group of ``past``: each of its three counts
    is divided by its total over all of ``past``, so the groups' surfaces add up to it."""
    r, n = float(p["recent_weight"]), float(p["neighbour_weight"])
    half_life, sigma = float(p["half_life"]), float(p["neighbour_bandwidth"]) / grid.cell

    def counts(inc: Incidents) -> list[NDArray[np.float64]]:
        c = count_raster(inc, grid)
        d = count_raster(inc, grid, _decay(day - inc.t_day, half_life))
        return [c, d, _gaussian(c, sigma) if n > 0 else np.zeros_like(c)]

    totals = [float(x.sum()) for x in counts(past)]
    weights = [1.0 - r - n, r, n]
    out = []
    for group in groups:
        surface = np.zeros((grid.ny, grid.nx))
        for w, x, total in zip(weights, counts(group), totals, strict=True):
            surface += w * (x / total if total > 0 else x)
        out.append(surface)
    return out


def _window(model: str, incidents: Incidents, day: float, p: Mapping[str, Any]) -> Incidents:
    """The incidents the model reads for ``day``."""
    if model == "naive_count":
        w = p.get("window_days")
        return incidents.between(-np.inf if w is None else day - float(w), day)
    if model == "retrospective_kde":
        return incidents.between(day - float(p["window_days"]), day)
    if model == "prospective_hotspot":
        return incidents.between(day - 7.0 * int(p["weeks"]), day)
    if model == "count_mixture":
        return incidents.before(day)
    return incidents.between(day - float(p["history_days"]), day)


def _boost_surface(
    past: Incidents, grid: Grid, day: float, p: Mapping[str, Any]
) -> NDArray[np.float64]:
    """The near-repeat boost of :func:`near_repeat_smoothed`, unscaled."""
    boost, nr_days = float(p["boost"]), float(p["nr_days"])
    if boost <= 0 or nr_days <= 0:
        return np.zeros((grid.ny, grid.nx))
    recent = past.between(day - nr_days, day)
    taper = boost * (1.0 - (day - recent.t_day) / nr_days)
    r = int(float(p["nr_bandwidth"]) // grid.cell)
    di, dj = np.mgrid[-r : r + 1, -r : r + 1]
    disc = (np.hypot(di, dj) * grid.cell <= float(p["nr_bandwidth"])).astype(float)
    out: NDArray[np.float64] = signal.fftconvolve(
        count_raster(recent, grid, taper), disc / disc.sum(), mode="same"
    )
    return out


def _split(
    forecast: NDArray[np.float64], parts: list[NDArray[np.float64]], recent_days: float
) -> Explanation:
    """Each part's share of the surface, times the forecast: the parts sum to the forecast."""
    flat = [np.clip(s.ravel(), 0.0, None) for s in parts]
    total = flat[0] + flat[1] + flat[2]
    nonzero = total > 0
    out = []
    for s in flat:
        share = np.divide(s, total, out=np.zeros_like(s), where=nonzero)
        out.append(forecast * share)
    # No surface under a forecast cell (an even spread for want of history): all long-run.
    out[0] = np.where(nonzero, out[0], forecast)
    return Explanation(out[0], out[1], out[2], float(recent_days))


def explain(
    incidents: Incidents,
    grid: Grid,
    day: float,
    model: str,
    params: Mapping[str, Any],
    forecast: NDArray[np.float64],
    *,
    recent_days: float = DEFAULT_RECENT_DAYS,
    sepp_params: SeppParams | None = None,
) -> Explanation:
    """Split a forecast per cell into long-run, recent and near-repeat contributions.

    Parameters
    ----------
    incidents, grid, day
        What the forecast was made from, and the day it is for [days since ``EPOCH``].
    model
        ``naive_count``, ``retrospective_kde``, ``prospective_hotspot``,
        ``near_repeat_smoothed``, ``count_mixture`` or ``sepp``.
    params
        The model's full parameters (defaults filled in), as the forecast used them.
    forecast : ndarray, shape (n_cells,)
        The model's forecast [1/day].
    recent_days
        Incidents younger than this are recent [days].
    sepp_params
        The fitted process, for ``model="sepp"``.

    Returns
    -------
    Explanation
        Three arrays that sum to ``forecast`` cell by cell.

    Examples
    --------
    >>> import shapely
    >>> from stadswacht.forecast.hotspots.grid import grid_over
    >>> from stadswacht.forecast.hotspots.models import naive_count
    >>> g = grid_over(shapely.box(0, 0, 300, 150), crs=26971)
    >>> inc = Incidents([0.0, 50.0, 90.0, 95.0], [10, 10, 10, 200], [10, 10, 10, 10], "a", 26971)
    >>> f = naive_count(inc, g, 100.0)
    >>> e = explain(inc, g, 100.0, "naive_count", {"window_days": None}, f)
    >>> e.shares(0)
    {'long_run': 0.6666666666666666, 'recent': 0.3333333333333333, 'near_repeat': 0.0}
    """
    forecast = np.asarray(forecast, dtype=np.float64).ravel()
    if forecast.size != grid.n_cells:
        raise ValueError(f"need a forecast of {grid.n_cells} cells, got {forecast.size}")
    if model == "sepp":
        if sepp_params is None:
            raise ValueError("explaining a sepp forecast needs its fitted sepp_params")
        background = np.where(grid.inside, sepp_params.mu, 0.0)
        triggered = np.clip(forecast - background, 0.0, None)
        zero = np.zeros_like(forecast)
        return _split(forecast, [background, zero, triggered], recent_days)
    return _split(forecast, _parts(incidents, grid, day, model, params, recent_days), recent_days)


def _parts(
    incidents: Incidents,
    grid: Grid,
    day: float,
    model: str,
    params: Mapping[str, Any],
    recent_days: float,
) -> list[NDArray[np.float64]]:
    """The model's unscaled surface in three parts: long-run, recent, near-repeat."""
    past = _window(model, incidents, day, params)
    recent = past.between(day - recent_days, day)
    older = past.between(-np.inf, day - recent_days)
    if model == "count_mixture":
        return [
            *_mixture_parts(past, [older, recent], grid, day, params),
            np.zeros((grid.ny, grid.nx)),
        ]
    return [
        _long_surface(model, older, grid, day, params),
        _long_surface(model, recent, grid, day, params),
        _boost_surface(past, grid, day, params)
        if model == "near_repeat_smoothed"
        else np.zeros((grid.ny, grid.nx)),
    ]
