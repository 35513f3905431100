"""Water-level forecasts for warnings: astronomical tide plus forecast surge, 1-24 h ahead.

The level forecast is the harmonic tide (:func:`~stadswacht.forecast.tide.harmonic_tide`) plus
the ridge surge forecast (:func:`~stadswacht.forecast.surge.ridge_surge`), with the surge
model's 80 % interval. :func:`forecast_level` is what the live platform calls: at issue time it
reads only the observations up to that time; :func:`forecast_warning` applies the warning rule.
:func:`hindcast` computes the same forecasts for every hour of a record at once, for skill
scores; :func:`persistence_hindcast` the baseline "tide + persisted surge".

Upstream gauge. A model may carry a second surge model, :class:`UpstreamModel`, that also reads
the surge of an upstream gauge (the surge travels along the coast; see
:mod:`stadswacht.forecast.surge`) and warns on an upper quantile of its forecast. It is used
only when the caller passes that gauge's recent levels (``upstream=``) and they are current
(an observation within 3 h before the issue time and the hours the model reads); otherwise
the forecast falls back to the station's own-gauge model and its thresholds.

A fitted Hoek van Holland model (tide and surge fitted on 1976-1985, with Vlissingen as the
upstream gauge) ships with the package, :func:`hoek_van_holland`, so a deployment can forecast
without the historical record.

>>> import numpy as np
>>> model = hoek_van_holland()
>>> t = 1e9 + 3600.0 * np.arange(-48, 1)
>>> history = TimeSeries(t, model.tide.predict(t) + 30.0, "HOEKVHLD", "WATHTE", "cm")
>>> level, low, high = forecast_level(model, history, 1e9, [6])
>>> bool(low[0] < level[0] < high[0])
True
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any

import numpy as np
from numpy.typing import NDArray

from stadswacht.detect.hazard.series import TimeSeries
from stadswacht.forecast.surge import (
    HISTORY_H,
    UPSTREAM_LAGS,
    SurgeModel,
    persisted_surge,
    ridge_surge,
)
from stadswacht.forecast.tide import TideModel, harmonic_tide

__all__ = [
    "WARN_QUANTILE",
    "Hindcast",
    "UpstreamModel",
    "WaterLevelModel",
    "fit_water_level",
    "forecast_level",
    "forecast_warning",
    "hindcast",
    "hoek_van_holland",
    "persistence_hindcast",
]

_HOUR = 3600.0
_STALE_H = 3  # an upstream gauge whose last observation is older is not used

WARN_QUANTILE = 0.7
"""Quantile of the upstream model's forecast the warning rule compares with its thresholds
(chosen among 0.5, 0.6, 0.7 and 0.8 on the validation years 1983-1985 at Hoek van Holland)."""


@dataclass(frozen=True)
class UpstreamModel:
    """A surge model that also reads an upstream gauge, with its own warning thresholds.

    Parameters
    ----------
    station : str
        Station code of the upstream gauge (``VLISSGN``).
    tide : TideModel
        The upstream gauge's astronomical tide, to turn its levels into surge.
    surge : SurgeModel
        Surge model with ``upstream_lags`` and a spread model for its warning quantile.
    thresholds : dict
        Warning level name to the threshold per lead [cm NAP] on the ``warn_quantile``
        forecast that gave a frequency bias of about 1 on the training period.
    """

    station: str
    tide: TideModel
    surge: SurgeModel
    thresholds: dict[str, tuple[float, ...]]

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (see :meth:`from_json`)."""
        return {
            "station": self.station,
            "tide": self.tide.to_json(),
            "surge": self.surge.to_json(),
            "thresholds_cm": {k: [round(x, 2) for x in v] for k, v in self.thresholds.items()},
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> UpstreamModel:
        """Rebuild a model from :meth:`to_json`'s dict."""
        return cls(
            station=str(data["station"]),
            tide=TideModel.from_json(data["tide"]),
            surge=SurgeModel.from_json(data["surge"]),
            thresholds={
                str(k): tuple(float(x) for x in v) for k, v in data["thresholds_cm"].items()
            },
        )


@dataclass(frozen=True)
class WaterLevelModel:
    """Tide and surge model of one station, with the warning levels it was fitted for.

    Parameters
    ----------
    tide : TideModel
    surge : SurgeModel
        The own-gauge surge model (the fallback when there is no upstream model or data).
    levels : dict
        Warning level name to level [cm NAP] (``{"yellow": 220.0}``).
    thresholds : dict
        Warning level name to the forecast threshold per lead [cm NAP] that gave a frequency
        bias of about 1 on the training period (:func:`stadswacht.detect.hazard.skill.
        threshold_for_unit_bias`); warn when the own-gauge forecast reaches it.
    attrs : dict
        Provenance: training period, source, version.
    upstream : UpstreamModel, optional
        The surge model that also reads an upstream gauge.
    """

    tide: TideModel
    surge: SurgeModel
    levels: dict[str, float]
    thresholds: dict[str, tuple[float, ...]]
    attrs: dict[str, Any]
    upstream: UpstreamModel | None = None

    def to_json(self) -> str:
        """The model as compact JSON text (see :meth:`from_json`)."""
        out: dict[str, Any] = {
            "tide": self.tide.to_json(),
            "surge": self.surge.to_json(),
            "levels_cm": self.levels,
            "thresholds_cm": {k: [round(x, 2) for x in v] for k, v in self.thresholds.items()},
            "attrs": self.attrs,
        }
        if self.upstream is not None:
            out["upstream"] = self.upstream.to_json()
        return json.dumps(out, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> WaterLevelModel:
        """Rebuild a model from :meth:`to_json`'s text."""
        d = json.loads(text)
        return cls(
            tide=TideModel.from_json(d["tide"]),
            surge=SurgeModel.from_json(d["surge"]),
            levels={str(k): float(v) for k, v in d["levels_cm"].items()},
            thresholds={str(k): tuple(float(x) for x in v) for k, v in d["thresholds_cm"].items()},
            attrs=dict(d.get("attrs", {})),
            upstream=UpstreamModel.from_json(d["upstream"]) if "upstream" in d else None,
        )


def fit_water_level(
    series: TimeSeries,
    latitude: float,
    leads_h: Sequence[int] = tuple(range(1, 25)),
    alpha: float = 1.0,
    upstream: TimeSeries | None = None,
    upstream_latitude: float | None = None,
    upstream_lags: Sequence[int] = UPSTREAM_LAGS,
    warn_quantile: float = WARN_QUANTILE,
) -> WaterLevelModel:
    """Fit the tide, then the surge model on the residual, on an hourly training record.

    Parameters
    ----------
    series : TimeSeries
        Hourly water level [cm], the training period only.
    latitude : float
        Station latitude [degrees north].
    leads_h : sequence of int
        Lead times [h].
    alpha : float
        Ridge penalty (:func:`~stadswacht.forecast.surge.ridge_surge`).
    upstream : TimeSeries, optional
        Water level of the upstream gauge [cm] over the same hours; fits an
        :class:`UpstreamModel` besides the own-gauge model.
    upstream_latitude : float, optional
        Latitude of the upstream gauge [degrees north]; needed with ``upstream``.
    upstream_lags : sequence of int
        Lags of the upstream surge the upstream model reads [h].
    warn_quantile : float
        Quantile of the upstream model's forecast its warning rule uses.

    Returns
    -------
    WaterLevelModel
        Without warning thresholds; add them with :func:`dataclasses.replace`.
    """
    _check_hourly(series)
    tide = harmonic_tide(series, latitude)
    tide_h = tide.predict(series.times)
    own = series.values - tide_h
    surge = ridge_surge(own, tide_h, leads_h, alpha=alpha)
    attrs = {
        "station": series.station,
        "train_start_s": float(series.times[0]),
        "train_end_s": float(series.times[-1]),
    }
    up_model = None
    if upstream is not None:
        if upstream_latitude is None:
            raise ValueError(f"{upstream.station}: give upstream_latitude with an upstream gauge")
        up_train = upstream.between(series.times[0], series.times[-1] + 1.0)
        up_tide = harmonic_tide(up_train, upstream_latitude)
        up_surge = _on_grid(up_train, up_tide, series.times)
        up_fit = ridge_surge(
            own,
            tide_h,
            leads_h,
            alpha=alpha,
            upstream=up_surge,
            upstream_lags=upstream_lags,
            warn_quantile=warn_quantile,
        )
        up_model = UpstreamModel(upstream.station, up_tide, up_fit, thresholds={})
    return WaterLevelModel(tide, surge, levels={}, thresholds={}, attrs=attrs, upstream=up_model)


def _past_surge(
    tide: TideModel, history: TimeSeries, issue_time_s: float, hours: int
) -> NDArray[np.float64]:
    """The surge at whole hours ``hours - 1`` ... 0 back from the issue time [cm].

    Linear interpolation between observations at most 2 h apart, a longer gap filled with the
    last surge before it; raises ValueError if the gauge is stale or the window starts in a gap.
    """
    obs = history.valid().between(-np.inf, issue_time_s + 1e-6)
    if len(obs) == 0 or obs.times[-1] < issue_time_s - _STALE_H * _HOUR:
        raise ValueError(
            f"{history.station}: no observation within {_STALE_H} h before the issue time"
            f" {issue_time_s:.0f} s; a forecast needs the current level"
        )
    past = issue_time_s - _HOUR * np.arange(hours - 1, -1, -1, dtype=np.float64)
    # Interpolate the surge (smoother than the level) between observations at most 2 h apart;
    # after the last observation the surge persists (it is at most 3 h old).
    obs_surge = obs.values - tide.predict(obs.times)
    surge = np.interp(past, obs.times, obs_surge)
    j = np.searchsorted(obs.times, past, side="right")
    gap = np.full(len(past), np.inf)
    inner = (j > 0) & (j < len(obs))
    gap[inner] = obs.times[j[inner]] - obs.times[j[inner] - 1]
    on_point = np.isin(past, obs.times)
    usable = on_point | (gap <= 2 * _HOUR) | (past >= obs.times[-1])
    surge = _ffill(np.where(usable & (past >= obs.times[0]), surge, np.nan))
    if np.isnan(surge).any():
        raise ValueError(
            f"{history.station}: the {hours} hours before the issue time start with a gap;"
            " a forecast needs the surge over them"
        )
    return surge


def _forecast(
    model: WaterLevelModel,
    history: TimeSeries,
    issue_time_s: float,
    leads_h: Sequence[int],
    upstream: TimeSeries | None,
) -> tuple[NDArray[np.float64], bool]:
    """Rows level, low, high, warn value at each lead [cm NAP]; whether upstream was used."""
    surge = _past_surge(model.tide, history, issue_time_s, HISTORY_H)
    leads = [int(x) for x in leads_h]
    back = np.arange(HISTORY_H - 1, -1, -1, dtype=np.float64)
    grid = issue_time_s + _HOUR * np.concatenate([-back, np.arange(1, max(leads) + 1)])
    tide = model.tide.predict(grid)
    pad = np.full(max(leads), np.nan)
    s_full = np.concatenate([surge, pad])
    up_full: NDArray[np.float64] | None = None
    surge_model = model.surge
    if model.upstream is not None and upstream is not None:
        span = max(model.upstream.surge.upstream_lags, default=0) + 1
        try:
            up = _past_surge(model.upstream.tide, upstream, issue_time_s, span)
        except ValueError:
            up = None  # a stale or gappy upstream gauge: fall back to the own-gauge model
        if up is not None:
            lead_in = np.full(HISTORY_H - span, np.nan)  # hours the model does not read
            up_full = np.concatenate([lead_in, up, pad])
            surge_model = model.upstream.surge
    issue = np.array([HISTORY_H - 1], dtype=np.intp)
    out = np.empty((4, len(leads)))
    for k, lead in enumerate(leads):
        mid, lo, hi = surge_model.predict(s_full, tide, issue, lead, up_full)
        warn = surge_model.warn_surge(s_full, tide, issue, lead, up_full)
        base = tide[HISTORY_H - 1 + lead]
        out[:, k] = base + mid[0], base + lo[0], base + hi[0], base + warn[0]
    return out, up_full is not None


def forecast_level(
    model: WaterLevelModel,
    history: TimeSeries,
    issue_time_s: float,
    leads_h: Sequence[int],
    upstream: TimeSeries | None = None,
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """Forecast the level ``leads_h`` hours after ``issue_time_s`` from observations up to it.

    Observations after ``issue_time_s`` are ignored. The surge of the last 25 hours is read
    at whole hours back from the issue time (linear interpolation of the surge between
    observations at most 2 h apart; a longer gap is filled with the last surge before it).

    Parameters
    ----------
    model : WaterLevelModel
    history : TimeSeries
        Observed water level [cm NAP], at least the last 25 hours before issue time.
    issue_time_s : float
        Issue time [s since the Unix epoch, UTC].
    leads_h : sequence of int
        Lead times, each one the surge model was fitted for [h].
    upstream : TimeSeries, optional
        Observed water level of the model's upstream gauge (``model.upstream.station``)
        [cm NAP]. Used when the model has an upstream model and the gauge is current;
        otherwise the own-gauge model forecasts.

    Returns
    -------
    level, low, high : ndarray
        Forecast level and its 80 % interval at ``issue_time_s + lead`` [cm NAP].
    """
    out, _ = _forecast(model, history, issue_time_s, leads_h, upstream)
    return out[0], out[1], out[2]


def forecast_warning(
    model: WaterLevelModel,
    history: TimeSeries,
    issue_time_s: float,
    leads_h: Sequence[int],
    level: str = "yellow",
    upstream: TimeSeries | None = None,
) -> NDArray[np.bool_]:
    """Whether to warn for ``level`` at each lead: the model's rule and training thresholds.

    With a current upstream gauge, the upstream model's ``warn_quantile`` forecast is
    compared with its thresholds; otherwise the own-gauge forecast with ``model.thresholds``.
    Arguments as in :func:`forecast_level`.

    >>> import numpy as np
    >>> model = hoek_van_holland()
    >>> t = 1e9 + 3600.0 * np.arange(-48, 1)
    >>> calm = TimeSeries(t, model.tide.predict(t), "HOEKVHLD", "WATHTE", "cm")
    >>> forecast_warning(model, calm, 1e9, [1, 6]).tolist()
    [False, False]
    """
    out, used = _forecast(model, history, issue_time_s, leads_h, upstream)
    up = model.upstream
    source = model.surge if not used or up is None else up.surge
    table = model.thresholds if not used or up is None else up.thresholds
    if level not in table:
        raise ValueError(f"the model has no thresholds for {level!r}; it has {sorted(table)}")
    thr = np.array([table[level][source.leads_h.index(int(x))] for x in leads_h])
    return np.asarray(out[3] >= thr, dtype=np.bool_)


@dataclass(frozen=True)
class Hindcast:
    """Forecasts issued every hour of a record.

    Parameters
    ----------
    issue_times : ndarray
        Issue times [s since the Unix epoch, UTC].
    leads_h : tuple of int
        Lead times [h].
    level, low, high : ndarray, shape (n_issues, n_leads)
        Forecast level and 80 % interval at ``issue_times + lead`` [cm]; NaN past the record.
    observed : ndarray, shape (n_issues, n_leads)
        Observed level at ``issue_times + lead`` [cm]; NaN past the record or where missing.
    warn : ndarray, shape (n_issues, n_leads), optional
        The value the warning rule compares with the thresholds [cm]: the upstream model's
        ``warn_quantile`` forecast where ``with_upstream``, else ``level``.
    with_upstream : ndarray of bool, shape (n_issues,), optional
        Issue hours forecast by the upstream model.
    """

    issue_times: NDArray[np.float64]
    leads_h: tuple[int, ...]
    level: NDArray[np.float64]
    low: NDArray[np.float64]
    high: NDArray[np.float64]
    observed: NDArray[np.float64]
    warn: NDArray[np.float64] | None = None
    with_upstream: NDArray[np.bool_] | None = None


def hindcast(
    model: WaterLevelModel,
    series: TimeSeries,
    leads_h: Sequence[int] | None = None,
    upstream: TimeSeries | None = None,
) -> Hindcast:
    """Forecast every hour of an hourly record as :func:`forecast_level` would have.

    Gaps are forward-filled in the surge history, as in :func:`forecast_level`; issue hours
    whose own level is missing get no forecast (NaN). With ``upstream`` (the upstream gauge's
    levels, at the same whole hours) and an upstream model, the hours whose upstream gauge
    has an observation within 3 h and the hours its model reads are forecast by it, the
    others by the own-gauge model.
    """
    _check_hourly(series)
    leads = tuple(int(x) for x in (leads_h or model.surge.leads_h))
    tide = model.tide.predict(series.times)
    raw = series.values - tide
    surge = _ffill(raw)
    n, issue = len(series), np.arange(len(series), dtype=np.intp)
    shape = (n, len(leads))
    level, low, high, obs = (np.full(shape, np.nan) for _ in range(4))
    ok = issue[(issue >= HISTORY_H - 1) & ~np.isnan(raw)]
    use_up = np.zeros(n, dtype=bool)
    up_surge: NDArray[np.float64] | None = None
    if model.upstream is not None and upstream is not None:
        up_raw = _on_grid(upstream, model.upstream.tide, series.times)
        up_surge = _ffill(up_raw)
        seen = np.where(np.isnan(up_raw), -(10**9), issue)
        np.maximum.accumulate(seen, out=seen)
        span = max(model.upstream.surge.upstream_lags, default=0)
        use_up = (issue - seen <= _STALE_H) & ~np.isnan(np.roll(up_surge, span))
        use_up &= (issue >= max(span, HISTORY_H - 1)) & ~np.isnan(raw)
    warn = np.full(shape, np.nan)
    for k, lead in enumerate(leads):
        for up_used in (False, True):
            use = ok[(ok + lead < n) & (use_up[ok] == up_used)]
            if up_used and (up_surge is None or model.upstream is None):
                continue
            m = model.surge if not up_used or model.upstream is None else model.upstream.surge
            up_arg = up_surge if up_used else None
            mid, lo, hi = m.predict(surge, tide, use, lead, up_arg)
            base = tide[use + lead]
            level[use, k], low[use, k], high[use, k] = base + mid, base + lo, base + hi
            warn[use, k] = base + (m.warn_surge(surge, tide, use, lead, up_arg) if up_used else mid)
        inside = issue[issue + lead < n]
        obs[inside, k] = series.values[inside + lead]
    return Hindcast(series.times.copy(), leads, level, low, high, obs, warn, use_up)


def persistence_hindcast(tide: TideModel, series: TimeSeries, leads_h: Sequence[int]) -> Hindcast:
    """The baseline "astronomical tide + persisted surge" for every hour of a record.

    Its interval is the tide plus the surge at issue time (no spread: low = high = level).
    """
    _check_hourly(series)
    leads = tuple(int(x) for x in leads_h)
    tide_h = tide.predict(series.times)
    surge = series.values - tide_h
    n, issue = len(series), np.arange(len(series), dtype=np.intp)
    level, obs = np.full((n, len(leads)), np.nan), np.full((n, len(leads)), np.nan)
    for k, lead in enumerate(leads):
        use = issue[issue + lead < n]
        level[use, k] = tide_h[use + lead] + persisted_surge(surge, use, lead)
        obs[use, k] = series.values[use + lead]
    return Hindcast(series.times.copy(), leads, level, level, level, obs, level)


def hoek_van_holland() -> WaterLevelModel:
    """The shipped Hoek van Holland model (RWS hourly levels 1976-1985, tide and surge).

    Its upstream model reads Vlissingen (``VLISSGN``); pass that gauge's levels as
    ``upstream=`` to use it.
    """
    text = resources.files("stadswacht.forecast").joinpath("water_hoekvanholland.json")
    return WaterLevelModel.from_json(text.read_text(encoding="utf-8"))


def _on_grid(
    series: TimeSeries, tide: TideModel, times_s: NDArray[np.float64]
) -> NDArray[np.float64]:
    """Surge of ``series`` at the whole hours ``times_s`` it has a valid value for, else NaN."""
    valid = series.valid()
    j = np.clip(np.searchsorted(valid.times, times_s), 0, max(len(valid) - 1, 0))
    out = np.full(len(times_s), np.nan)
    if len(valid):
        hit = np.abs(valid.times[j] - times_s) < 1.0
        out[hit] = valid.values[j[hit]] - tide.predict(times_s[hit])
    return out


def _check_hourly(series: TimeSeries) -> None:
    step = np.diff(series.times)
    if len(step) == 0 or not np.allclose(step, _HOUR):
        raise ValueError(
            f"{series.station}: hindcasts and fits need a regular hourly series;"
            " resample it to whole hours first"
        )


def _ffill(x: NDArray[np.float64]) -> NDArray[np.float64]:
    """Forward-fill NaN (a leading gap stays NaN)."""
    idx = np.where(np.isnan(x), 0, np.arange(len(x)))
    np.maximum.accumulate(idx, out=idx)
    out = x[idx]
    if len(x) and np.isnan(x[0]):
        first = int(np.argmax(~np.isnan(x))) if (~np.isnan(x)).any() else len(x)
        out[:first] = np.nan
    return np.asarray(out, dtype=np.float64)
