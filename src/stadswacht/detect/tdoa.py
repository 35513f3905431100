"""Locating an impulsive sound source from its arrival times at several sensors (TDOA).

The measurement model: sensor ``i`` at :math:`s_i` hears a source at :math:`x` that emitted at
an unknown time :math:`t_0` at

.. math:: t_i = t_0 + \\lVert x - s_i \\rVert / c + \\varepsilon_i + \\delta_i,

with timing noise :math:`\\varepsilon_i \\sim N(0, \\sigma^2)` and an excess delay
:math:`\\delta_i \\ge 0` that is zero for a direct arrival and positive for a diffracted or
echoed one (a detour only ever makes a sound later). Estimating :math:`(x, y, t_0)` from the
absolute arrival times is equivalent to using the time differences, and needs no reference
sensor.

The solver (:func:`locate_tdoa`):

1. a closed-form start: the spherical-intersection solution (Schau & Robinson 1987), i.e. the
   linear equations of Chan & Ho (1994, step 1) in :math:`(x, y, R)` solved for the position as
   a function of the range :math:`R` to the earliest sensor and closed with the constraint
   :math:`R = \\lVert x - s_r \\rVert` (a quadratic), which also works with three sensors;
2. hypotheses that leave out one or two sensors, each refined by a few Gauss-Newton steps,
   scored over *all* sensors with a truncated, one-sided cost (MSAC, Torr & Zisserman 2000):
   a late arrival may be an outlier, an early one hardly can;
3. the maximum-likelihood refinement with :func:`scipy.optimize.least_squares` (soft-L1 loss)
   on the sensors kept;
4. the covariance from the Fisher information :math:`F = J^T J / \\sigma^2` at the estimate,
   whose inverse at the true source is the Cramér-Rao bound (:func:`crlb`; Kay 1993, ch. 3;
   for TDOA e.g. Chan & Ho 1994, sec. IV).

References
----------
- H. C. Schau, A. Z. Robinson, "Passive source localization employing intersecting spherical
  surfaces from time-of-arrival differences", IEEE Trans. ASSP 35(8), 1987.
- Y. T. Chan, K. C. Ho, "A simple and efficient estimator for hyperbolic location",
  IEEE Trans. Signal Processing 42(8), 1994.
- S. M. Kay, *Fundamentals of Statistical Signal Processing: Estimation Theory*, 1993.
- P. H. S. Torr, A. Zisserman, "MLESAC: a new robust estimator with application to estimating
  image geometry", CVIU 78(1), 2000.

>>> import numpy as np
>>> sensors = np.array([[0.0, 0.0], [300.0, 0.0], [300.0, 300.0], [0.0, 300.0]])
>>> source = np.array([120.0, 80.0])
>>> arrivals = 5.0 + np.hypot(*(sensors - source).T) / 343.0
>>> fix = locate_tdoa(sensors, arrivals, 343.0)
>>> [round(float(v), 3) for v in fix.xy], round(fix.emission_time, 6)
([120.0, 80.0], 5.0)
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.optimize import least_squares

__all__ = ["ErrorEllipse", "TdoaFix", "closed_form", "crlb", "error_ellipse", "locate_tdoa"]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.intp]

CHI2_2DOF_95 = 5.991464547107979
"""The 95 % quantile of the chi-square distribution with 2 degrees of freedom."""

LOCATE_DEFAULTS: dict[str, float] = {
    "outlier_sigmas": 5.0,
    "early_penalty": 4.0,
    "soft_l1_sigmas": 3.0,
    "gdop_max": 6.0,
    "far_factor": 2.0,
    "collinear_ratio": 0.08,
}
"""Tuning of :func:`locate_tdoa`:

- ``outlier_sigmas``: a residual beyond this many sigma is an outlier (MSAC threshold);
- ``early_penalty``: an *early* outlier costs this many times a late one (delays are >= 0);
- ``soft_l1_sigmas``: scale of the soft-L1 loss of the refinement [sigma];
- ``gdop_max``: poor geometry when sqrt(trace(position covariance)) / (c·sigma) exceeds it;
- ``far_factor``: poor geometry when the source is farther from the sensors' centroid than
  this times the largest sensor distance from it;
- ``collinear_ratio``: poor geometry when the smaller principal spread of the sensors is below
  this fraction of the larger (near-collinear sensors: a mirror ambiguity).
"""


class ErrorEllipse(NamedTuple):
    """An uncertainty ellipse (95 % unless made otherwise): semi-axes [m] and the major axis'
    direction; a tuple, so ``major, minor, angle = ellipse`` works too.

    ``orientation_deg`` is measured clockwise from north (the +y axis), in [0, 180), the same
    convention as :class:`stadswacht.model.detection.Ellipse`.
    """

    semi_major_m: float
    semi_minor_m: float
    orientation_deg: float


@dataclass(frozen=True, slots=True, eq=False)
class TdoaFix:
    """A located source (compared by identity: it holds arrays).

    Attributes
    ----------
    xy : ndarray, shape (2,)
        Position [m] in the sensors' frame.
    emission_time : float
        When the sound left the source [s], on the arrivals' clock.
    covariance : ndarray, shape (2, 2)
        Position covariance [m²]: the inverse Fisher information at the estimate with timing
        sigma ``sigma_s``, restricted to the position.
    used, rejected : tuple of int
        Indices of the sensors the fix rests on and of those dropped as late outliers.
    residuals_s : ndarray, shape (n,)
        Arrival minus predicted arrival [s] for every sensor; a rejected one shows its excess
        delay.
    ellipse : ErrorEllipse
        The 95 % ellipse of ``covariance``.
    poor_geometry : bool
        The position is unreliable whatever the noise: ``gdop`` above the limit, the source far
        outside the sensors, or the sensors (nearly) on one line.
    converged : bool
        The refinement converged and the kept residuals are consistent with ``sigma_s``.
    sigma_s : float
        The timing sigma [s] behind ``covariance`` (given, or estimated from the residuals).
    gdop : float
        Geometric dilution of precision: sqrt(trace(covariance)) / (c · sigma_s).
    speed_of_sound : float
        The speed of sound used [m/s].
    """

    xy: FloatArray
    emission_time: float
    covariance: FloatArray
    used: tuple[int, ...]
    rejected: tuple[int, ...]
    residuals_s: FloatArray
    ellipse: ErrorEllipse
    poor_geometry: bool
    converged: bool
    sigma_s: float
    gdop: float
    speed_of_sound: float


def _check(positions: ArrayLike, arrivals: ArrayLike) -> tuple[FloatArray, FloatArray]:
    pos = np.asarray(positions, dtype=np.float64)
    t = np.asarray(arrivals, dtype=np.float64)
    if pos.ndim != 2 or pos.shape[1] != 2:
        raise ValueError(f"positions must be an (n, 2) array of metres, got shape {pos.shape}")
    if t.ndim != 1 or t.shape[0] != pos.shape[0]:
        raise ValueError(
            f"arrivals must be a 1-d array with one time per sensor ({pos.shape[0]}), "
            f"got shape {t.shape}"
        )
    if pos.shape[0] < 3:
        raise ValueError(f"a TDOA fix needs at least 3 sensors, got {pos.shape[0]}")
    if not (np.all(np.isfinite(pos)) and np.all(np.isfinite(t))):
        raise ValueError("positions and arrivals must be finite")
    return pos, t


def _jacobian(pos: FloatArray, xy: FloatArray, c: float) -> FloatArray:
    """d(predicted arrival)/d(x, y, t0), shape (n, 3)."""
    d = xy[None, :] - pos
    r = np.maximum(np.hypot(d[:, 0], d[:, 1]), 1e-9)
    return np.column_stack([d / (c * r[:, None]), np.ones(len(pos))])


def crlb(
    positions: ArrayLike, source_xy: ArrayLike, speed_of_sound: float, sigma_s: float
) -> FloatArray:
    """Cramér-Rao bound on the position of a source located by arrival times.

    The inverse of the Fisher information :math:`F = J^T J / \\sigma^2` of the model
    :math:`t_i = t_0 + \\lVert x - s_i\\rVert / c + N(0, \\sigma^2)` in :math:`(x, y, t_0)`,
    restricted to :math:`(x, y)`; treating :math:`t_0` as a nuisance parameter makes this the
    bound for time differences of arrival (Kay 1993, sec. 3.8; Chan & Ho 1994, sec. IV).

    Parameters
    ----------
    positions : array_like, shape (n, 2)
        Sensor positions [m].
    source_xy : array_like, shape (2,)
        Source position [m].
    speed_of_sound : float
        [m/s]
    sigma_s : float
        Timing noise standard deviation [s].

    Returns
    -------
    ndarray, shape (2, 2)
        Position covariance bound [m²]; infinite where the geometry cannot fix the source.

    >>> import numpy as np
    >>> square = np.array([[0.0, 0.0], [200.0, 0.0], [200.0, 200.0], [0.0, 200.0]])
    >>> bound = crlb(square, [100.0, 100.0], 343.0, 1e-3)
    >>> round(float(np.sqrt(np.trace(bound))), 3)  # centre of a square of four: c·sigma
    0.343
    """
    pos = np.asarray(positions, dtype=np.float64)
    xy = np.asarray(source_xy, dtype=np.float64)
    jac = _jacobian(pos, xy, speed_of_sound)
    fisher = jac.T @ jac / sigma_s**2
    try:
        cov = np.linalg.inv(fisher)
    except np.linalg.LinAlgError:
        return np.full((2, 2), np.inf)
    if not np.all(np.isfinite(cov)) or np.linalg.cond(fisher) > 1e14:
        return np.full((2, 2), np.inf)
    return np.asarray(cov[:2, :2], dtype=np.float64)


def error_ellipse(covariance: ArrayLike, confidence: float = 0.95) -> ErrorEllipse:
    """The ``confidence`` ellipse of a 2-d Gaussian position error.

    Semi-axes are sqrt(chi²₂(confidence) · eigenvalue) [m]; the orientation is the major axis'
    direction clockwise from north [deg], in [0, 180).

    >>> e = error_ellipse([[4.0, 0.0], [0.0, 1.0]])
    >>> round(e.semi_major_m, 3), round(e.semi_minor_m, 3), e.orientation_deg
    (4.895, 2.448, 90.0)
    """
    cov = np.asarray(covariance, dtype=np.float64)
    k2 = CHI2_2DOF_95 if confidence == 0.95 else -2.0 * math.log(1.0 - confidence)
    if not np.all(np.isfinite(cov)):
        return ErrorEllipse(math.inf, math.inf, 0.0)
    vals, vecs = np.linalg.eigh(0.5 * (cov + cov.T))
    vals = np.maximum(vals, 0.0)
    major = vecs[:, 1]
    bearing = math.degrees(math.atan2(float(major[0]), float(major[1]))) % 180.0
    return ErrorEllipse(
        semi_major_m=math.sqrt(k2 * float(vals[1])),
        semi_minor_m=math.sqrt(k2 * float(vals[0])),
        orientation_deg=round(bearing, 9) % 180.0,
    )


def closed_form(
    positions: ArrayLike, arrivals: ArrayLike, speed_of_sound: float
) -> tuple[FloatArray, float]:
    """Closed-form source position and emission time: spherical intersection.

    With the earliest sensor :math:`r` as reference, range differences
    :math:`d_i = c (t_i - t_r)` and the unknown range :math:`R` to the reference, subtracting
    the squared range equations gives the linear system (Chan & Ho 1994, eq. 5)

    .. math:: 2 (s_i - s_r)^T x + 2 d_i R = \\lVert s_i\\rVert^2 - \\lVert s_r\\rVert^2 - d_i^2,

    solved in least squares for :math:`x(R) = p + R q`; the constraint
    :math:`\\lVert x(R) - s_r\\rVert = R` is a quadratic in :math:`R` (Schau & Robinson 1987).
    Of its non-negative roots the one that best fits all equations wins (with three sensors,
    where both fit exactly, the one nearer the sensors' centroid). With four or more sensors
    the unconstrained least-squares solution in :math:`(x, y, R)` is a further candidate.

    Returns
    -------
    xy : ndarray, shape (2,)
        Position [m].
    t0 : float
        Emission time [s].

    >>> import numpy as np
    >>> tri = np.array([[0.0, 0.0], [400.0, 0.0], [0.0, 400.0]])
    >>> t = np.hypot(*(tri - [100.0, 150.0]).T) / 340.0
    >>> xy, t0 = closed_form(tri, t, 340.0)
    >>> [round(float(v), 6) for v in xy], round(t0, 9)
    ([100.0, 150.0], 0.0)
    """
    pos, t = _check(positions, arrivals)
    c = float(speed_of_sound)
    ref = int(np.argmin(t))
    centre = pos.mean(axis=0)
    p_loc = pos - centre
    others = np.arange(len(t)) != ref
    s_r = p_loc[ref]
    d = c * (t[others] - t[ref])
    a = 2.0 * (p_loc[others] - s_r)
    b = np.sum(p_loc[others] ** 2, axis=1) - float(s_r @ s_r) - d**2
    candidates: list[tuple[FloatArray, float]] = []
    pinv = np.linalg.pinv(a)
    p = pinv @ b
    q = -pinv @ (2.0 * d)
    u = p - s_r
    qa, qb, qc = float(q @ q) - 1.0, 2.0 * float(q @ u), float(u @ u)
    if abs(qa) > 1e-12:
        disc = qb * qb - 4.0 * qa * qc
        roots = (
            [(-qb + s * math.sqrt(disc)) / (2.0 * qa) for s in (1.0, -1.0)]
            if disc >= 0
            else [-qb / (2.0 * qa)]
        )
    else:
        roots = [-qc / qb] if abs(qb) > 1e-12 else [0.0]
    candidates += [(p + max(r, 0.0) * q, max(r, 0.0)) for r in roots]
    if len(t) >= 4:
        sol, *_ = np.linalg.lstsq(np.column_stack([a, 2.0 * d]), b, rcond=None)
        candidates.append((sol[:2], max(float(sol[2]), 0.0)))

    def misfit(cand: tuple[FloatArray, float]) -> float:
        xy, r_ref = cand
        rng = np.hypot(*(p_loc - xy).T)
        t0 = t[ref] - r_ref / c
        res = t - t0 - rng / c
        res = res - res.mean() if len(t) >= 4 else res
        score = float(res @ res)
        if len(t) == 3:
            score += 1e-9 * float(xy @ xy)
        return score

    xy, _ = min(candidates, key=misfit)
    rng = np.hypot(*(p_loc - xy).T)
    t0 = float(np.mean(t - rng / c))
    return np.asarray(xy + centre, dtype=np.float64), t0


def _gauss_newton(
    pos: FloatArray,
    t: FloatArray,
    c: float,
    mask: FloatArray,
    theta: FloatArray,
    iterations: int = 6,
) -> FloatArray:
    """Batched Gauss-Newton on (x, y, t0) for K sensor subsets at once.

    ``mask`` (K, n) weighs each sensor 0 or 1 per subset, ``theta`` (K, 3) are the starts.
    """
    theta = theta.copy()
    eye = 1e-9 * np.eye(3)
    for _ in range(iterations):
        dx = theta[:, None, 0] - pos[None, :, 0]
        dy = theta[:, None, 1] - pos[None, :, 1]
        r = np.maximum(np.hypot(dx, dy), 1e-6)
        res = (t[None, :] - theta[:, None, 2] - r / c) * mask
        jac = np.stack([dx / (c * r), dy / (c * r), np.ones_like(r)], axis=2) * mask[:, :, None]
        jtj = np.einsum("kni,knj->kij", jac, jac) + eye
        jtr = np.einsum("kni,kn->ki", jac, res)
        step = np.linalg.solve(jtj, jtr[:, :, None])[:, :, 0]
        # Cap the step: a start far from the answer must not jump across the map.
        size = np.hypot(step[:, 0], step[:, 1])
        scale = np.minimum(1.0, 2000.0 / np.maximum(size, 1e-12))
        theta += step * scale[:, None]
    return theta


def _residuals(pos: FloatArray, t: FloatArray, c: float, theta: FloatArray) -> FloatArray:
    """Arrival minus predicted arrival [s], shape (K, n) for thetas (K, 3)."""
    r = np.hypot(theta[:, None, 0] - pos[None, :, 0], theta[:, None, 1] - pos[None, :, 1])
    return np.asarray(t[None, :] - theta[:, None, 2] - r / c, dtype=np.float64)


def _msac_cost(res: FloatArray, sigma: float, k: float, early_penalty: float) -> FloatArray:
    """Truncated one-sided cost per hypothesis: z² for inliers, k² for a late outlier and
    ``early_penalty``·k² for an early one."""
    z = res / sigma
    cost = np.where(np.abs(z) <= k, z * z, np.where(z > 0, k * k, early_penalty * k * k))
    return np.asarray(cost.sum(axis=1), dtype=np.float64)


def _geometry_poor(pos: FloatArray, xy: FloatArray, gdop: float, params: dict[str, float]) -> bool:
    centre = pos.mean(axis=0)
    spread = np.linalg.svd(pos - centre, compute_uv=False)
    collinear = bool(spread[-1] < params["collinear_ratio"] * spread[0])
    reach = float(np.max(np.hypot(*(pos - centre).T)))
    far = float(np.hypot(*(xy - centre))) > params["far_factor"] * reach
    return collinear or far or not math.isfinite(gdop) or gdop > params["gdop_max"]


def locate_tdoa(
    positions: ArrayLike,
    arrivals: ArrayLike,
    speed_of_sound: float,
    *,
    sigma_s: float | None = 1e-3,
    robust: bool = True,
    max_rejected: int = 2,
    min_used: int = 4,
    params: dict[str, float] | None = None,
) -> TdoaFix:
    """Locate an impulsive source from its arrival times at ``n >= 3`` sensors.

    Closed-form start (:func:`closed_form`), then, if ``robust``, hypotheses leaving out up to
    ``max_rejected`` sensors (never fewer than ``min_used`` kept) scored by a one-sided
    truncated cost over all sensors, and the maximum-likelihood refinement of
    :math:`(x, y, t_0)` with :func:`scipy.optimize.least_squares` (soft-L1 loss) on the kept
    sensors. See the module docstring for the model and references.

    Parameters
    ----------
    positions : array_like, shape (n, 2)
        Sensor positions [m] in a local metric frame.
    arrivals : array_like, shape (n,)
        Arrival times [s] on a common clock (epoch seconds are fine: a reference is subtracted).
    speed_of_sound : float
        [m/s], e.g. :func:`stadswacht.model.geo.speed_of_sound` of the air temperature.
    sigma_s : float or None
        Timing noise standard deviation [s] for the outlier test and the covariance; None
        estimates it from the residuals (with more than 3 sensors kept; else 1 ms).
    robust : bool
        Search for and drop up to ``max_rejected`` late (diffracted, echoed) arrivals.
    max_rejected, min_used : int
        At most this many sensors dropped, at least this many kept.
    params : dict, optional
        Overrides of :data:`LOCATE_DEFAULTS`.

    Returns
    -------
    TdoaFix

    Raises
    ------
    ValueError
        Fewer than 3 sensors, mismatched shapes, non-finite input or a non-positive speed.
    """
    pos, t_abs = _check(positions, arrivals)
    c = float(speed_of_sound)
    if not (math.isfinite(c) and c > 0):
        raise ValueError(f"speed_of_sound must be a positive number of m/s, got {c!r}")
    if sigma_s is not None and not (math.isfinite(sigma_s) and sigma_s > 0):
        raise ValueError(f"sigma_s must be a positive number of seconds or None, got {sigma_s!r}")
    prm = {**LOCATE_DEFAULTS, **(params or {})}
    t_ref = float(np.min(t_abs))
    t = t_abs - t_ref
    n = len(t)
    sigma_test = sigma_s if sigma_s is not None else 1e-3
    k = prm["outlier_sigmas"]

    xy0, t00 = closed_form(pos, t, c)
    start = np.array([xy0[0], xy0[1], t00])
    masks = [np.ones(n)]
    n_drop = min(max_rejected, n - max(min_used, 3)) if robust else 0
    for m in range(1, n_drop + 1):
        for drop in itertools.combinations(range(n), m):
            mask = np.ones(n)
            mask[list(drop)] = 0.0
            masks.append(mask)
    mask_arr = np.array(masks)
    thetas = _gauss_newton(pos, t, c, mask_arr, np.repeat(start[None, :], len(masks), axis=0))
    res_all = _residuals(pos, t, c, thetas)
    if n_drop > 0:
        costs = _msac_cost(res_all, sigma_test, k, prm["early_penalty"])
        costs[~np.all(np.isfinite(thetas), axis=1)] = np.inf
        best = int(np.argmin(costs))
        best_res = res_all[best]
        z = best_res / sigma_test
        outliers = np.flatnonzero(np.abs(z) > k)
        if len(outliers) > n_drop or n - len(outliers) < max(min_used, 3):
            # Too many to drop: keep only the worst n_drop (late ones first).
            order = np.argsort(-np.where(z > 0, z, -z * prm["early_penalty"]))
            outliers = np.sort(order[:n_drop])
            outliers = outliers[np.abs(z[outliers]) > k]
        keep = np.setdiff1d(np.arange(n), outliers)
        theta0 = thetas[best]
    else:
        keep = np.arange(n)
        theta0 = thetas[0] if np.all(np.isfinite(thetas[0])) else start

    pk, tk = pos[keep], t[keep]

    def fun(th: FloatArray) -> FloatArray:
        r = np.hypot(th[0] - pk[:, 0], th[1] - pk[:, 1])
        return np.asarray((tk - th[2] - r / c) / sigma_test, dtype=np.float64)

    def jac(th: FloatArray) -> FloatArray:
        return -_jacobian(pk, th[:2], c) / sigma_test

    lsq_kwargs: dict[str, Any] = {"jac": jac, "method": "trf", "x_scale": [1.0, 1.0, 1.0 / c]}
    if robust and len(keep) > 3:
        lsq_kwargs |= {"loss": "soft_l1", "f_scale": prm["soft_l1_sigmas"]}
    if not np.all(np.isfinite(theta0)):
        theta0 = start
    sol = least_squares(fun, theta0, max_nfev=50, **lsq_kwargs)
    theta = np.asarray(sol.x, dtype=np.float64)
    xy = theta[:2]
    residuals = t - theta[2] - np.hypot(xy[0] - pos[:, 0], xy[1] - pos[:, 1]) / c
    kept_res = residuals[keep]
    if sigma_s is None:
        dof = len(keep) - 3
        sigma = math.sqrt(float(kept_res @ kept_res) / dof) if dof > 0 else 1e-3
        sigma = max(sigma, 1e-6)
    else:
        sigma = sigma_s
    cov = crlb(pk, xy, c, sigma)
    gdop = math.sqrt(float(np.trace(cov))) / (c * sigma) if np.all(np.isfinite(cov)) else math.inf
    consistent = bool(np.all(np.abs(kept_res) <= k * sigma_test))
    return TdoaFix(
        xy=xy.copy(),
        emission_time=float(theta[2]) + t_ref,
        covariance=cov,
        used=tuple(int(i) for i in keep),
        rejected=tuple(int(i) for i in np.setdiff1d(np.arange(n), keep)),
        residuals_s=residuals,
        ellipse=error_ellipse(cov),
        poor_geometry=_geometry_poor(pk, xy, gdop, prm),
        converged=bool(sol.status > 0) and consistent,
        sigma_s=sigma,
        gdop=gdop,
        speed_of_sound=c,
    )
