"""Self-exciting point process (grid ETAS) for crime, fitted by expectation-maximisation.

The conditional intensity of incidents at time ``t`` [days] and place ``(x, y)`` [m] is

    lambda(t, x, y) = mu(cell(x, y)) / A + sum_{t_i < t} theta * f(t - t_i) * g(x - x_i, y - y_i)

with ``mu`` a background rate per grid cell [1/day], ``A`` the cell area [m²], ``theta`` the
expected number of incidents each incident triggers, ``f`` an exponential decay of rate
``omega`` [1/day] and ``g`` an isotropic Gaussian of standard deviation ``sigma`` [m]. This
is the parametric model of Mohler, G. O. et al. (2011), "Self-exciting point process modeling
of crime", Journal of the American Statistical Association 106(493), 100-108, with the
per-cell background of Mohler, G. O. et al. (2015), "Randomized controlled field trials of
predictive policing", JASA 110(512), 1399-1411; the EM (stochastic declustering) of
Veen & Schoenberg (2008) as used there.

Day-resolution timestamps: times are whole days, so the order of two incidents of the same
day is unknown. Pairs on the same day are not candidate triggers (same-day contagion is
absorbed by the background) and the time kernel is the discrete version of the exponential,
``f(k) = (1 - q) q**(k - 1)`` for a lag of ``k >= 1`` days with ``q = exp(-omega)``, a density
uniform within each day. Minute-resolution times use the continuous exponential.

Speed: only pairs closer than ``cutoff_days`` and ``cutoff_m`` are candidates (found with a
k-d tree in space-time), the M-step accounts for the truncation, and the E- and M-steps are
array operations over the pairs.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy import ndimage, optimize, spatial

from stadswacht.forecast.hotspots.grid import Grid
from stadswacht.forecast.hotspots.incidents import Incidents

__all__ = ["DEFAULT_SEPP", "SeppParams", "fit_sepp", "sepp"]

DEFAULT_SEPP: dict[str, Any] = {
    "cutoff_days": 90.0,
    "cutoff_m": 750.0,
    "background_bandwidth": 150.0,
    "sigma_min": 50.0,
    "max_iter": 200,
    "tol": 1e-5,
}
"""EM settings: candidate parents within 90 days and 750 m, background smoothed with a 150 m
Gaussian, triggering spread of at least 50 m, at most 200 iterations, stop when no parameter
moves by more than 1e-5 (relative)."""


@dataclass(frozen=True, eq=False)
class SeppParams:
    """A fitted grid self-exciting point process.

    Parameters
    ----------
    mu : ndarray, shape (n_cells,)
        Background rate per cell [1/day].
    theta : float
        Expected incidents triggered by each incident (branching ratio).
    omega : float
        Decay rate of triggering [1/day]; ``1 / omega`` is its mean delay.
    sigma : float
        Spatial standard deviation of triggering [m].
    time_resolution : str
        ``"day"`` (discrete time kernel) or ``"minute"`` (continuous).
    cutoff_days, cutoff_m : float
        Largest delay [days] and distance [m] over which triggering is counted.
    info : dict
        ``iterations``, ``converged``, ``n_events``, ``n_pairs``, ``log_likelihood``,
        ``seconds``, ``start``, ``end``, ``background_share``.
    """

    mu: NDArray[np.float64]
    theta: float
    omega: float
    sigma: float
    time_resolution: str
    cutoff_days: float
    cutoff_m: float
    info: dict[str, Any] = field(default_factory=dict)


def _trunc_exp_rate(mean: float, cutoff: float) -> float:
    """Rate of an exponential truncated at ``cutoff`` whose mean is ``mean`` (MLE)."""
    if mean >= cutoff / 2.0:
        return 1e-9 / cutoff
    if mean <= 1e-9 * cutoff:
        return 1e9 / cutoff

    def excess(rate: float) -> float:
        rc = rate * cutoff
        return 1.0 / rate - cutoff / math.expm1(rc) - mean if rc < 700 else 1.0 / rate - mean

    return float(optimize.brentq(excess, 1e-9 / cutoff, 1e9 / cutoff, xtol=1e-12, rtol=1e-10))


def _trunc_geom_q(mean: float, k_max: int) -> float:
    """``q`` of a geometric law on ``1..k_max`` whose mean is ``mean`` (MLE)."""
    if mean <= 1.0 + 1e-9:
        return 1e-9
    if k_max <= 1 or mean >= (k_max + 1) / 2.0:
        return 1.0 - 1e-9

    def excess(q: float) -> float:
        return 1.0 / (1.0 - q) - k_max * q**k_max / (1.0 - q**k_max) - mean

    return float(optimize.brentq(excess, 1e-9, 1.0 - 1e-9, xtol=1e-12))


def _time_density(dt: NDArray[np.float64], omega: float, day_res: bool) -> NDArray[np.float64]:
    if day_res:
        q = math.exp(-omega)
        out: NDArray[np.float64] = (1.0 - q) * q ** (dt - 1.0)
        return out
    return omega * np.exp(-omega * dt)


def _time_mass(span: NDArray[np.float64], omega: float, day_res: bool) -> NDArray[np.float64]:
    """Triggering mass within ``span`` days after an incident (whole days when day_res)."""
    if day_res:
        return -np.expm1(np.floor(span) * -omega)
    return -np.expm1(-omega * span)


def fit_sepp(
    incidents: Incidents,
    grid: Grid,
    *,
    start: float | None = None,
    end: float,
    cutoff_days: float = DEFAULT_SEPP["cutoff_days"],
    cutoff_m: float = DEFAULT_SEPP["cutoff_m"],
    background_bandwidth: float = DEFAULT_SEPP["background_bandwidth"],
    sigma_min: float = DEFAULT_SEPP["sigma_min"],
    max_iter: int = DEFAULT_SEPP["max_iter"],
    tol: float = DEFAULT_SEPP["tol"],
    theta0: float = 0.2,
    omega0: float = 0.1,
    sigma0: float = 100.0,
) -> SeppParams:
    """Fit a grid self-exciting point process by EM (Mohler et al. 2011, 2015).

    Parameters
    ----------
    incidents, grid
        History and grid; incidents outside the grid's bounding box are left out.
    start, end
        Training window ``[start, end)`` [days since ``EPOCH``]; ``start=None`` from the
        first incident's day.
    cutoff_days
        Largest delay between a trigger and its offspring [days].
    cutoff_m
        Largest distance between a trigger and its offspring [m].
    background_bandwidth
        Standard deviation of the Gaussian smoothing the background between cells [m]; 0 for
        a raw per-cell rate.
    sigma_min
        Floor of ``sigma`` [m]. Geocoding to addresses or block centroids puts many incidents
        on the same point; without a floor EM explains those by triggering with ``sigma`` of
        centimetres and a decay of months (seen on the Chicago assaults), a repeat-location
        effect the background should carry.
    max_iter, tol
        EM iterations and relative change of ``theta``, ``omega``, ``sigma`` that stops them.
    theta0, omega0, sigma0
        Starting values: branching ratio, decay rate [1/day], spread [m].

    Returns
    -------
    SeppParams
    """
    clock = time.perf_counter()
    day_res = incidents.time_resolution != "minute"
    if start is None:
        start = math.floor(float(incidents.t_day[0])) if len(incidents) else end
    train = incidents.between(start, end)
    cells = grid.cell_of(train.x, train.y, inside=False)
    train = train.select(cells >= 0)
    cells = cells[cells >= 0]
    n = len(train)
    span = end - start
    if n < 2 or span <= 0:
        raise ValueError(f"need at least 2 incidents in [{start}, {end}) to fit, got {n}")
    area = grid.cell**2
    t, x, y = train.t_day, train.x, train.y

    # Candidate pairs: a Chebyshev ball in (x, y, scaled t), then the exact conditions.
    scale = cutoff_m / cutoff_days
    tree = spatial.cKDTree(np.column_stack([x, y, t * scale]))
    pairs = tree.query_pairs(cutoff_m, p=np.inf, output_type="ndarray")
    i, j = pairs[:, 0], pairs[:, 1]
    swap = t[i] > t[j]
    i, j = np.where(swap, j, i), np.where(swap, i, j)
    dt = t[j] - t[i]
    d2 = (x[j] - x[i]) ** 2 + (y[j] - y[i]) ** 2
    keep = (dt >= 1.0 if day_res else dt > 0) & (dt <= cutoff_days) & (d2 <= cutoff_m**2)
    i, j, dt, d2 = i[keep], j[keep], dt[keep], d2[keep]
    del pairs, swap, keep

    k_max = math.floor(cutoff_days)
    # Days after each incident in which its offspring could be seen (offspring of an incident
    # on the last day of a day-resolution window fall after it).
    avail = np.clip(np.minimum(cutoff_days, end - t - (1.0 if day_res else 0.0)), 0.0, None)
    sigma_bg = background_bandwidth / grid.cell

    def background(weights: NDArray[np.float64]) -> NDArray[np.float64]:
        raster = np.bincount(cells, weights=weights, minlength=grid.n_cells).reshape(
            grid.ny, grid.nx
        )
        if sigma_bg > 0:
            raster = ndimage.gaussian_filter(raster, sigma_bg, mode="constant", truncate=4.0)
        out: NDArray[np.float64] = raster.ravel() / span
        return out

    theta, omega, sigma = theta0, omega0, sigma0
    mu = background(np.full(n, 1.0 - theta))
    converged = False
    loglik = -np.inf
    iteration = 0
    for iteration in range(1, max_iter + 1):  # noqa: B007  (reported after the loop)
        g = np.exp(-d2 / (2.0 * sigma**2)) / (2.0 * math.pi * sigma**2)
        trig = theta * _time_density(dt, omega, day_res) * g
        bg = mu[cells] / area
        den = bg + np.bincount(j, weights=trig, minlength=n)
        p = trig / den[j]
        p_bg = bg / den
        spatial_mass = -math.expm1(-(cutoff_m**2) / (2.0 * sigma**2))
        loglik = float(
            np.log(den).sum()
            - mu.sum() * span
            - theta * spatial_mass * _time_mass(avail, omega, day_res).sum()
        )

        total = float(p.sum())
        if total <= 0:
            new_theta, new_omega, new_sigma = 0.0, omega, sigma
        else:
            mean_dt = float((p * dt).sum()) / total
            if day_res:
                new_omega = -math.log(_trunc_geom_q(mean_dt, k_max))
            else:
                new_omega = _trunc_exp_rate(mean_dt, cutoff_days)
            half_d2 = float((p * d2).sum()) / (2.0 * total)
            new_sigma = max(math.sqrt(1.0 / _trunc_exp_rate(half_d2, cutoff_m**2 / 2.0)), sigma_min)
            exposure = _time_mass(avail, new_omega, day_res).sum() * -math.expm1(
                -(cutoff_m**2) / (2.0 * new_sigma**2)
            )
            new_theta = total / float(exposure)
        mu = background(p_bg)
        change = max(
            abs(new_theta - theta) / max(theta, 1e-12),
            abs(new_omega - omega) / omega,
            abs(new_sigma - sigma) / sigma,
        )
        theta, omega, sigma = new_theta, new_omega, new_sigma
        if change < tol:
            converged = True
            break

    info = {
        "iterations": iteration,
        "converged": converged,
        "n_events": n,
        "n_pairs": int(dt.size),
        "log_likelihood": loglik,
        "seconds": time.perf_counter() - clock,
        "start": float(start),
        "end": float(end),
        "background_share": float(mu.sum() * span / n),
    }
    mu.flags.writeable = False
    return SeppParams(
        mu, theta, omega, sigma, "day" if day_res else "minute", cutoff_days, cutoff_m, info
    )


def sepp(
    incidents: Incidents,
    grid: Grid,
    day: float,
    params: SeppParams,
) -> NDArray[np.float64]:
    """Expected incidents per cell on ``day`` under a fitted self-exciting point process.

    The background ``mu`` plus what the incidents of the last ``cutoff_days`` before ``day``
    trigger within ``[day, day + 1)``, spread with the Gaussian ``sigma`` over the cells (a
    binned convolution: each trigger sits at its cell's centre). The sum is the model's own
    expected count for the day (Mohler et al. 2011, 2015); it is not rescaled.

    Parameters
    ----------
    incidents, grid
        History (only ``t_day < day`` is used) and the grid ``params`` was fitted on.
    day
        Day forecast for [days since ``EPOCH``].
    params
        From :func:`fit_sepp`.

    Returns
    -------
    ndarray, shape (n_cells,)
        Expected incidents per cell on ``day``, 0 outside the study area.
    """
    if params.mu.size != grid.n_cells:
        raise ValueError(f"params fitted on a grid of {params.mu.size} cells, not {grid.n_cells}")
    past = incidents.between(day - params.cutoff_days, day)
    lag = day - past.t_day
    if params.time_resolution == "day":
        q = math.exp(-params.omega)
        w = (1.0 - q) * q ** (np.ceil(lag) - 1.0)
    else:
        w = np.exp(-params.omega * lag) * -math.expm1(-params.omega)
    k = grid.cell_of(past.x, past.y, inside=False)
    ok = k >= 0
    raster = np.bincount(k[ok], weights=params.theta * w[ok], minlength=grid.n_cells)
    spread = ndimage.gaussian_filter(
        raster.reshape(grid.ny, grid.nx), params.sigma / grid.cell, mode="constant", truncate=4.0
    )
    return np.where(grid.inside, params.mu + spread.ravel(), 0.0)
