"""Storm surge forecasts from the water level alone: persisted surge and a ridge regression.

The surge is the observed level minus the astronomical tide
(:mod:`stadswacht.forecast.tide`). Two models forecast it ``L`` hours after the issue time:

- :func:`persisted_surge`: the surge at issue time, unchanged; with the tide it makes the
  baseline "astronomical tide + persisted surge".
- :func:`ridge_surge`: one ridge regression per lead (Hoerl & Kennard 1970, "Ridge
  regression: biased estimation for nonorthogonal problems", Technometrics 12(1):55-67) of the
  future surge on the recent surges (lags 0-24 h and their 13 h and 25 h means, which average
  out the tide-surge interaction), the surge one tidal cycle before the target hour, and the
  tide at issue and target time with two surge-tide products for the interaction. It is an
  autoregression with the (known) tide as exogenous input, an ARX model (Box & Jenkins 1970,
  "Time Series Analysis: Forecasting and Control", Holden-Day, ch. 11). It is fitted on the
  hours whose tide at the target time is in the top fifth of the training tide
  (``high_water_quantile=0.8``, chosen among 0, 2/3, 0.8 and 0.9 on a validation split of the
  training years): only around high water can the level reach a warning level, and the surge
  there is smaller and differently shaped than at low water.

Upstream gauge. North Sea storm surges travel along the Dutch coast as a Kelvin wave, south to
north, so the surge at an upstream gauge leads the surge downstream (Vlissingen leads Hoek van
Holland by a few hours; Heaps 1983, "Storm surges, 1967-1982", Geophys. J. R. astr. Soc.
74:331-376). With ``upstream_lags``, :func:`ridge_surge` adds the upstream gauge's surge at
those lags (``up0`` ... ``up6``: hours before the issue time) to the features.

There are no wind or pressure fields for the historical records used here (RWS 1976-1994), so
the models see water levels only; a storm that has not yet raised the sea at the gauges is
invisible to them. The 80 % interval is the 10 % and 90 % quantiles of the model's training
residuals at each lead.

Warning quantile. With ``warn_quantile``, :func:`ridge_surge` also fits the spread of the
residual, a second ridge regression of its absolute value on the same features (a
heteroscedastic error model: the error grows with the surge), and
:meth:`SurgeModel.warn_surge` gives the ``warn_quantile`` quantile of the forecast surge,
``mid + z * spread``, with ``z`` the quantile of the standardized training residuals. A warning
rule on that upper quantile warns earlier in the hours whose forecast is uncertain, where a
rule on the median waits.

Arrays are hourly and regular: ``surge[i]`` and ``tide[i]`` at ``t0 + i`` hours.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sklearn.linear_model import Ridge

__all__ = [
    "FEATURES",
    "HISTORY_H",
    "UPSTREAM_LAGS",
    "SurgeModel",
    "feature_names",
    "persisted_surge",
    "ridge_surge",
    "surge_features",
]

FEATURES = (
    "s0",
    "s1",
    "s2",
    "s3",
    "s6",
    "s12",
    "s24",
    "mean13",
    "mean25",
    "tide_target",
    "tide_target_rise",
    "tide_issue",
    "s0_x_tide_target",
    "s_cycle",
    "s_cycle_before",
    "s_cycle_after",
    "s0_x_tide_change",
)
"""Feature names of :func:`surge_features`, in column order."""

HISTORY_H = 25
"""Hours of surge the features need, the issue hour included."""

_LAGS = (0, 1, 2, 3, 6, 12, 24)

UPSTREAM_LAGS = (0, 1, 2, 3, 4, 5, 6)
"""Lags of the upstream surge [h] that Hoek van Holland's model reads from Vlissingen (chosen
among 0-3, 0-6 and 0-12 h on the validation years 1983-1985, see ``bench/warning_skill.py``)."""

_SPREAD_FLOOR = 1.0  # [cm]: the fitted spread is linear and could reach 0 or below


def feature_names(upstream_lags: Sequence[int] = ()) -> tuple[str, ...]:
    """Column names of :func:`surge_features`: FEATURES, then ``up<lag>`` per upstream lag.

    >>> feature_names((0, 3))[-2:]
    ('up0', 'up3')
    """
    return FEATURES + tuple(f"up{int(lag)}" for lag in upstream_lags)


def surge_features(
    surge: NDArray[np.float64],
    tide: NDArray[np.float64],
    issue: NDArray[np.intp],
    lead_h: int,
    upstream: NDArray[np.float64] | None = None,
    upstream_lags: Sequence[int] = (),
) -> NDArray[np.float64]:
    """Features of the surge ``lead_h`` hours after each issue index (see :func:`feature_names`).

    Parameters
    ----------
    surge : ndarray
        Hourly surge [cm]; only ``surge[i - 24 : i + 1]`` is read for issue index ``i``.
    tide : ndarray
        Hourly astronomical tide [cm], known into the future: ``tide[i + lead_h]`` is read.
    issue : ndarray of int
        Issue indices, each at least ``HISTORY_H - 1``.
    lead_h : int
        Lead time [h], at least 1.
    upstream : ndarray, optional
        Hourly surge of the upstream gauge at the same hours [cm]; only
        ``upstream[i - max(upstream_lags) : i + 1]`` is read. Needed when ``upstream_lags``
        is given.
    upstream_lags : sequence of int
        Lags of the upstream surge to add as features [h], each at most ``HISTORY_H - 1``.

    Returns
    -------
    ndarray, shape (len(issue), len(feature_names(upstream_lags)))
    """
    i = np.asarray(issue, dtype=np.intp)
    if lead_h < 1:
        raise ValueError(f"lead_h must be at least 1 hour, got {lead_h}")
    if upstream_lags and upstream is None:
        raise ValueError(
            f"this surge model reads the upstream surge at lags {tuple(upstream_lags)} h;"
            " pass the upstream gauge's surge"
        )
    if any(not 0 <= lag < HISTORY_H for lag in upstream_lags):
        raise ValueError(f"upstream lags must be 0 to {HISTORY_H - 1} h, got {upstream_lags}")
    s = surge
    cols = [s[i - lag] for lag in _LAGS]
    window = np.stack([s[i - k] for k in range(HISTORY_H)], axis=1)
    cols += [window[:, :13].mean(axis=1), window.mean(axis=1)]
    target = i + lead_h
    cols += [tide[target], tide[target] - tide[target - 1], tide[i], s[i] * tide[target] / 100.0]
    # The surge one (or two) semidiurnal cycles before the target hour is already observed.
    m = 12 * math.ceil(lead_h / 12)
    after = target - m + 1
    cols += [
        s[target - m],
        s[target - m - 1],
        s[after] if lead_h - m + 1 <= 0 else s[i],
        s[i] * (tide[target] - tide[i]) / 100.0,
    ]
    if upstream is not None:
        cols += [upstream[i - int(lag)] for lag in upstream_lags]
    return np.stack(cols, axis=1)


def persisted_surge(
    surge: NDArray[np.float64], issue: NDArray[np.intp], lead_h: int
) -> NDArray[np.float64]:
    """The surge at issue time, persisted to every lead (the baseline) [cm].

    >>> import numpy as np
    >>> persisted_surge(np.array([1.0, 5.0, 7.0]), np.array([1, 2]), 6).tolist()
    [5.0, 7.0]
    """
    del lead_h  # persistence does not depend on the lead
    return np.asarray(surge[np.asarray(issue, dtype=np.intp)], dtype=np.float64)


_Table = tuple[tuple[float, ...], ...]  # [regime][lead]
_Coefs = tuple[tuple[tuple[float, ...], ...], ...]  # [regime][lead][feature]


@dataclass(frozen=True)
class SurgeModel:
    """Fitted :func:`ridge_surge`: per regime and lead, linear coefficients on the raw features.

    Regime 0 is high water (tide at the target hour at least ``tide_min``), the hours a warning
    level can be reached; regime 1 the other hours, fitted separately so that forecasts at low
    water stay sound.

    Parameters
    ----------
    leads_h : tuple of int
        Lead times the model was fitted for [h].
    coefficients : tuple
        ``[regime][lead]``: one coefficient per feature of :func:`feature_names`
        [cm per feature unit].
    intercepts : tuple
        ``[regime][lead]`` [cm].
    low, high : tuple
        ``[regime][lead]``: the 10 % and 90 % quantiles of the training residuals [cm].
    tide_min : float
        Tide at the target hour from which on the high-water regime applies [cm].
    alpha : float
        Ridge penalty on standardized features.
    upstream_lags : tuple of int
        Lags of the upstream gauge's surge among the features [h]; empty for a model of the
        gauge's own level only.
    warn_quantile : float
        Quantile of the forecast that :meth:`warn_surge` gives; 0.5 without a spread model,
        where it is the mean forecast.
    spread_coefficients, spread_intercepts : tuple
        ``[regime][lead]``: the spread model, a ridge regression of the absolute training
        residual on the same features [cm]; empty without one.
    warn_z : tuple
        ``[regime][lead]``: the ``warn_quantile`` quantile of the training residuals divided
        by the spread; empty without a spread model.
    """

    leads_h: tuple[int, ...]
    coefficients: _Coefs
    intercepts: _Table
    low: _Table
    high: _Table
    tide_min: float
    alpha: float = 1.0
    upstream_lags: tuple[int, ...] = ()
    warn_quantile: float = 0.5
    spread_coefficients: _Coefs = ()
    spread_intercepts: _Table = ()
    warn_z: _Table = ()

    @property
    def features(self) -> tuple[str, ...]:
        """Feature names, in column order."""
        return feature_names(self.upstream_lags)

    def _row(self, lead_h: int) -> int:
        try:
            return self.leads_h.index(lead_h)
        except ValueError:
            raise ValueError(
                f"the surge model has no lead of {lead_h} h; fitted leads: {self.leads_h}"
            ) from None

    def _linear(
        self,
        surge: NDArray[np.float64],
        tide: NDArray[np.float64],
        issue: NDArray[np.intp],
        lead_h: int,
        upstream: NDArray[np.float64] | None,
    ) -> tuple[int, NDArray[np.float64], NDArray[np.float64], NDArray[np.intp]]:
        k = self._row(lead_h)
        i = np.asarray(issue, dtype=np.intp)
        x = surge_features(surge, tide, i, lead_h, upstream, self.upstream_lags)
        regime = np.where(tide[i + lead_h] >= self.tide_min, 0, 1)
        coef = np.array([self.coefficients[r][k] for r in (0, 1)])
        b0 = np.array([self.intercepts[r][k] for r in (0, 1)])
        mid = np.einsum("ij,ij->i", x, coef[regime]) + b0[regime]
        return k, x, mid, regime

    def predict(
        self,
        surge: NDArray[np.float64],
        tide: NDArray[np.float64],
        issue: NDArray[np.intp],
        lead_h: int,
        upstream: NDArray[np.float64] | None = None,
    ) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
        """Surge forecast and its 80 % interval ``lead_h`` hours after each issue index [cm].

        ``upstream`` is the upstream gauge's hourly surge at the same hours [cm], needed when
        the model has ``upstream_lags``.
        """
        k, _, mid, regime = self._linear(surge, tide, issue, lead_h, upstream)
        lo = np.array([self.low[r][k] for r in (0, 1)])[regime]
        hi = np.array([self.high[r][k] for r in (0, 1)])[regime]
        return mid, mid + lo, mid + hi

    def warn_surge(
        self,
        surge: NDArray[np.float64],
        tide: NDArray[np.float64],
        issue: NDArray[np.intp],
        lead_h: int,
        upstream: NDArray[np.float64] | None = None,
    ) -> NDArray[np.float64]:
        """The ``warn_quantile`` quantile of the forecast surge [cm] (the mean without spread)."""
        k, x, mid, regime = self._linear(surge, tide, issue, lead_h, upstream)
        if not self.spread_coefficients:
            return mid
        coef = np.array([self.spread_coefficients[r][k] for r in (0, 1)])
        b0 = np.array([self.spread_intercepts[r][k] for r in (0, 1)])
        spread = np.maximum(np.einsum("ij,ij->i", x, coef[regime]) + b0[regime], _SPREAD_FLOOR)
        z = np.array([self.warn_z[r][k] for r in (0, 1)])[regime]
        return np.asarray(mid + z * spread, dtype=np.float64)

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (see :meth:`from_json`)."""

        def coefs(c: _Coefs) -> list[list[list[float]]]:
            return [[[float(f"{v:.6g}") for v in row] for row in regime] for regime in c]

        def table(c: _Table) -> list[list[float]]:
            return [[round(x, 4) for x in r] for r in c]

        out: dict[str, Any] = {
            "model": "ridge_surge",
            "features": list(self.features),
            "leads_h": list(self.leads_h),
            "regimes": ["high water (tide >= tide_min)", "other hours"],
            "tide_min": self.tide_min,
            "alpha": self.alpha,
            "interval": [0.1, 0.9],
            "coefficients": coefs(self.coefficients),
            "intercepts": table(self.intercepts),
            "low": table(self.low),
            "high": table(self.high),
        }
        if self.upstream_lags:
            out["upstream_lags_h"] = list(self.upstream_lags)
        if self.spread_coefficients:
            out["warn_quantile"] = self.warn_quantile
            out["spread_coefficients"] = coefs(self.spread_coefficients)
            out["spread_intercepts"] = table(self.spread_intercepts)
            out["warn_z"] = table(self.warn_z)
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SurgeModel:
        """Rebuild a model from :meth:`to_json`'s dict."""
        lags = tuple(int(x) for x in data.get("upstream_lags_h", ()))
        if list(data["features"]) != list(feature_names(lags)):
            raise ValueError(
                f"surge model features {data['features']} differ from this version's"
                f" {feature_names(lags)}"
            )

        def table(key: str) -> _Table:
            return tuple(tuple(float(x) for x in r) for r in data.get(key, ()))

        def coefs(key: str) -> _Coefs:
            return tuple(
                tuple(tuple(float(c) for c in row) for row in regime)
                for regime in data.get(key, ())
            )

        return cls(
            leads_h=tuple(int(x) for x in data["leads_h"]),
            coefficients=coefs("coefficients"),
            intercepts=table("intercepts"),
            low=table("low"),
            high=table("high"),
            tide_min=float(data["tide_min"]),
            alpha=float(data.get("alpha", 1.0)),
            upstream_lags=lags,
            warn_quantile=float(data.get("warn_quantile", 0.5)),
            spread_coefficients=coefs("spread_coefficients"),
            spread_intercepts=table("spread_intercepts"),
            warn_z=table("warn_z"),
        )


@dataclass(frozen=True)
class _Fit:
    beta: tuple[float, ...]
    b0: float
    q10: float
    q90: float
    spread: tuple[float, ...] = ()
    spread_b0: float = 0.0
    z: float = 0.0


def _ridge(
    x: NDArray[np.float64], y: NDArray[np.float64], alpha: float
) -> tuple[NDArray[Any], float]:
    """Ridge on standardized features, returned as coefficients on the raw ones."""
    mu, sd = x.mean(axis=0), x.std(axis=0)
    sd[sd == 0] = 1.0
    reg = Ridge(alpha=alpha).fit((x - mu) / sd, y)
    beta = np.asarray(reg.coef_) / sd
    return beta, float(reg.intercept_) - float(beta @ mu)


def _fit_ridge(
    x: NDArray[np.float64], y: NDArray[np.float64], alpha: float, warn_quantile: float | None
) -> _Fit:
    """The surge ridge, its residual quantiles and, with ``warn_quantile``, its spread model."""
    beta, b0 = _ridge(x, y, alpha)
    resid = y - (x @ beta + b0)
    q10, q90 = np.quantile(resid, [0.1, 0.9])
    fit = _Fit(tuple(float(c) for c in beta), b0, float(q10), float(q90))
    if warn_quantile is None:
        return fit
    gamma, g0 = _ridge(x, np.abs(resid), alpha)
    spread = np.maximum(x @ gamma + g0, _SPREAD_FLOOR)
    z = float(np.quantile(resid / spread, warn_quantile))
    return replace(fit, spread=tuple(float(c) for c in gamma), spread_b0=g0, z=z)


def ridge_surge(
    surge: NDArray[np.float64],
    tide: NDArray[np.float64],
    leads_h: Sequence[int] = tuple(range(1, 25)),
    alpha: float = 1.0,
    high_water_quantile: float = 0.8,
    upstream: NDArray[np.float64] | None = None,
    upstream_lags: Sequence[int] = (),
    warn_quantile: float | None = None,
) -> SurgeModel:
    """Fit ridge regressions of the surge per lead and tidal regime (see the module docstring).

    Parameters
    ----------
    surge : ndarray
        Hourly training surge [cm] (observed level minus tide), NaN where missing.
    tide : ndarray
        Hourly astronomical tide at the same hours [cm].
    leads_h : sequence of int
        Lead times to fit [h].
    alpha : float
        Ridge penalty on standardized features.
    high_water_quantile : float
        The high-water regime is the hours whose target tide is at least this quantile of the
        training tide; 0 fits one regression on every hour.
    upstream : ndarray, optional
        Hourly surge of an upstream gauge at the same hours [cm], NaN where missing.
    upstream_lags : sequence of int
        Lags of ``upstream`` to add as features [h] (:data:`UPSTREAM_LAGS` for Hoek van
        Holland with Vlissingen upstream).
    warn_quantile : float, optional
        Fit the spread model for :meth:`SurgeModel.warn_surge` at this quantile (0 to 1).

    Returns
    -------
    SurgeModel

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> s = np.zeros(3000)
    >>> for k in range(1, 3000):
    ...     s[k] = 0.95 * s[k - 1] + rng.normal(0, 5)
    >>> tide = 100 * np.cos(2 * np.pi * np.arange(3000) / 12.42)
    >>> model = ridge_surge(s, tide, leads_h=(1, 6))
    >>> model.leads_h
    (1, 6)
    """
    surge = np.asarray(surge, dtype=np.float64)
    tide = np.asarray(tide, dtype=np.float64)
    if surge.shape != tide.shape:
        raise ValueError(f"surge {surge.shape} and tide {tide.shape} must have the same shape")
    up = None if upstream is None else np.asarray(upstream, dtype=np.float64)
    if up is not None and up.shape != surge.shape:
        raise ValueError(f"upstream {up.shape} and surge {surge.shape} must have the same shape")
    if warn_quantile is not None and not 0.0 < warn_quantile < 1.0:
        raise ValueError(f"warn_quantile must be between 0 and 1, got {warn_quantile}")
    lags = tuple(int(x) for x in upstream_lags)
    n_features = len(feature_names(lags))
    tide_min = float(np.nanquantile(tide, high_water_quantile)) if high_water_quantile else -1e9
    fits: list[list[_Fit]] = [[], []]
    for lead in leads_h:
        issue = np.arange(HISTORY_H - 1, len(surge) - lead, dtype=np.intp)
        x = surge_features(surge, tide, issue, lead, up, lags)
        y = surge[issue + lead]
        ok = np.isfinite(x).all(axis=1) & np.isfinite(y)
        high = tide[issue + lead] >= tide_min
        for regime, rows in enumerate((ok & high, ok & ~high)):
            if regime == 1 and not high_water_quantile:
                fits[1].append(fits[0][-1])
                continue
            if rows.sum() < 10 * n_features:
                raise ValueError(
                    f"only {int(rows.sum())} complete training rows at lead {lead} h;"
                    " give a longer record (years of hourly data)"
                )
            fits[regime].append(_fit_ridge(x[rows], y[rows], alpha, warn_quantile))
    spread = warn_quantile is not None
    return SurgeModel(
        leads_h=tuple(int(x) for x in leads_h),
        coefficients=tuple(tuple(f.beta for f in reg) for reg in fits),
        intercepts=tuple(tuple(f.b0 for f in reg) for reg in fits),
        low=tuple(tuple(f.q10 for f in reg) for reg in fits),
        high=tuple(tuple(f.q90 for f in reg) for reg in fits),
        tide_min=tide_min,
        alpha=alpha,
        upstream_lags=lags,
        warn_quantile=0.5 if warn_quantile is None else float(warn_quantile),
        spread_coefficients=tuple(tuple(f.spread for f in reg) for reg in fits) if spread else (),
        spread_intercepts=tuple(tuple(f.spread_b0 for f in reg) for reg in fits) if spread else (),
        warn_z=tuple(tuple(f.z for f in reg) for reg in fits) if spread else (),
    )
