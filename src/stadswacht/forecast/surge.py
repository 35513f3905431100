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

There are no wind or pressure fields for the historical records used here (RWS 1976-1994), so
both models see the water level only; a storm that has not yet raised the sea at the gauge is
invisible to them. The 80 % interval is the 10 % and 90 % quantiles of the model's training
residuals at each lead.

Arrays are hourly and regular: ``surge[i]`` and ``tide[i]`` at ``t0 + i`` hours.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sklearn.linear_model import Ridge

__all__ = [
    "FEATURES",
    "HISTORY_H",
    "SurgeModel",
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


def surge_features(
    surge: NDArray[np.float64], tide: NDArray[np.float64], issue: NDArray[np.intp], lead_h: int
) -> NDArray[np.float64]:
    """Features of the surge ``lead_h`` hours after each issue index (columns: FEATURES).

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

    Returns
    -------
    ndarray, shape (len(issue), len(FEATURES))
    """
    i = np.asarray(issue, dtype=np.intp)
    if lead_h < 1:
        raise ValueError(f"lead_h must be at least 1 hour, got {lead_h}")
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
        ``[regime][lead]``: one coefficient per feature of FEATURES [cm per feature unit].
    intercepts : tuple
        ``[regime][lead]`` [cm].
    low, high : tuple
        ``[regime][lead]``: the 10 % and 90 % quantiles of the training residuals [cm].
    tide_min : float
        Tide at the target hour from which on the high-water regime applies [cm].
    alpha : float
        Ridge penalty on standardized features.
    """

    leads_h: tuple[int, ...]
    coefficients: tuple[tuple[tuple[float, ...], ...], ...]
    intercepts: _Table
    low: _Table
    high: _Table
    tide_min: float
    alpha: float = 1.0

    def _row(self, lead_h: int) -> int:
        try:
            return self.leads_h.index(lead_h)
        except ValueError:
            raise ValueError(
                f"the surge model has no lead of {lead_h} h; fitted leads: {self.leads_h}"
            ) from None

    def predict(
        self,
        surge: NDArray[np.float64],
        tide: NDArray[np.float64],
        issue: NDArray[np.intp],
        lead_h: int,
    ) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
        """Surge forecast and its 80 % interval ``lead_h`` hours after each issue index [cm]."""
        k = self._row(lead_h)
        i = np.asarray(issue, dtype=np.intp)
        x = surge_features(surge, tide, i, lead_h)
        regime = np.where(tide[i + lead_h] >= self.tide_min, 0, 1)
        coef = np.array([self.coefficients[r][k] for r in (0, 1)])
        b0 = np.array([self.intercepts[r][k] for r in (0, 1)])
        mid = np.einsum("ij,ij->i", x, coef[regime]) + b0[regime]
        lo = np.array([self.low[r][k] for r in (0, 1)])[regime]
        hi = np.array([self.high[r][k] for r in (0, 1)])[regime]
        return mid, mid + lo, mid + hi

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (see :meth:`from_json`)."""
        return {
            "model": "ridge_surge",
            "features": list(FEATURES),
            "leads_h": list(self.leads_h),
            "regimes": ["high water (tide >= tide_min)", "other hours"],
            "tide_min": self.tide_min,
            "alpha": self.alpha,
            "interval": [0.1, 0.9],
            "coefficients": [
                [[float(f"{c:.6g}") for c in row] for row in regime] for regime in self.coefficients
            ],
            "intercepts": [[round(x, 4) for x in r] for r in self.intercepts],
            "low": [[round(x, 4) for x in r] for r in self.low],
            "high": [[round(x, 4) for x in r] for r in self.high],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SurgeModel:
        """Rebuild a model from :meth:`to_json`'s dict."""
        if list(data["features"]) != list(FEATURES):
            raise ValueError(
                f"surge model features {data['features']} differ from this version's {FEATURES}"
            )

        def table(key: str) -> _Table:
            return tuple(tuple(float(x) for x in r) for r in data[key])

        return cls(
            leads_h=tuple(int(x) for x in data["leads_h"]),
            coefficients=tuple(
                tuple(tuple(float(c) for c in row) for row in regime)
                for regime in data["coefficients"]
            ),
            intercepts=table("intercepts"),
            low=table("low"),
            high=table("high"),
            tide_min=float(data["tide_min"]),
            alpha=float(data.get("alpha", 1.0)),
        )


def _fit_ridge(
    x: NDArray[np.float64], y: NDArray[np.float64], alpha: float
) -> tuple[tuple[float, ...], float, float, float]:
    """Ridge on standardized features, returned on the raw ones, with residual quantiles."""
    mu, sd = x.mean(axis=0), x.std(axis=0)
    sd[sd == 0] = 1.0
    reg = Ridge(alpha=alpha).fit((x - mu) / sd, y)
    beta = np.asarray(reg.coef_) / sd
    b0 = float(reg.intercept_) - float(beta @ mu)
    resid = y - (x @ beta + b0)
    q10, q90 = np.quantile(resid, [0.1, 0.9])
    return tuple(float(c) for c in beta), b0, float(q10), float(q90)


def ridge_surge(
    surge: NDArray[np.float64],
    tide: NDArray[np.float64],
    leads_h: Sequence[int] = tuple(range(1, 25)),
    alpha: float = 1.0,
    high_water_quantile: float = 0.8,
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
    tide_min = float(np.nanquantile(tide, high_water_quantile)) if high_water_quantile else -1e9
    fits: list[list[tuple[tuple[float, ...], float, float, float]]] = [[], []]
    for lead in leads_h:
        issue = np.arange(HISTORY_H - 1, len(surge) - lead, dtype=np.intp)
        x = surge_features(surge, tide, issue, lead)
        y = surge[issue + lead]
        ok = np.isfinite(x).all(axis=1) & np.isfinite(y)
        high = tide[issue + lead] >= tide_min
        for regime, rows in enumerate((ok & high, ok & ~high)):
            if regime == 1 and not high_water_quantile:
                fits[1].append(fits[0][-1])
                continue
            if rows.sum() < 10 * len(FEATURES):
                raise ValueError(
                    f"only {int(rows.sum())} complete training rows at lead {lead} h;"
                    " give a longer record (years of hourly data)"
                )
            fits[regime].append(_fit_ridge(x[rows], y[rows], alpha))
    return SurgeModel(
        leads_h=tuple(int(x) for x in leads_h),
        coefficients=tuple(tuple(f[0] for f in reg) for reg in fits),
        intercepts=tuple(tuple(f[1] for f in reg) for reg in fits),
        low=tuple(tuple(f[2] for f in reg) for reg in fits),
        high=tuple(tuple(f[3] for f in reg) for reg in fits),
        tide_min=tide_min,
        alpha=alpha,
    )
