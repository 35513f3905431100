"""Water-level forecasts for warnings: astronomical tide plus forecast surge, 1-24 h ahead.

The level forecast is the harmonic tide (:func:`~stadswacht.forecast.tide.harmonic_tide`) plus
the ridge surge forecast (:func:`~stadswacht.forecast.surge.ridge_surge`), with the surge
model's 80 % interval. :func:`forecast_level` is what the live platform calls: at issue time it
reads only the observations up to that time. :func:`hindcast` computes the same forecasts for
every hour of a record at once, for skill scores; :func:`persistence_hindcast` the baseline
"tide + persisted surge".

A fitted Hoek van Holland model (tide and surge fitted on 1976-1985) ships with the package,
:func:`hoek_van_holland`, so a deployment can forecast without the historical record.

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
from stadswacht.forecast.surge import HISTORY_H, SurgeModel, persisted_surge, ridge_surge
from stadswacht.forecast.tide import TideModel, harmonic_tide

__all__ = [
    "Hindcast",
    "WaterLevelModel",
    "fit_water_level",
    "forecast_level",
    "hindcast",
    "hoek_van_holland",
    "persistence_hindcast",
]

_HOUR = 3600.0


@dataclass(frozen=True)
class WaterLevelModel:
    """Tide and surge model of one station, with the warning levels it was fitted for.

    Parameters
    ----------
    tide : TideModel
    surge : SurgeModel
    levels : dict
        Warning level name to level [cm NAP] (``{"yellow": 220.0}``).
    thresholds : dict
        Warning level name to the forecast threshold per lead [cm NAP] that gave a frequency
        bias of about 1 on the training period (:func:`stadswacht.detect.hazard.skill.
        threshold_for_unit_bias`); warn when the forecast reaches it.
    attrs : dict
        Provenance: training period, source, version.
    """

    tide: TideModel
    surge: SurgeModel
    levels: dict[str, float]
    thresholds: dict[str, tuple[float, ...]]
    attrs: dict[str, Any]

    def to_json(self) -> str:
        """The model as compact JSON text (about 15 kB; see :meth:`from_json`)."""
        return json.dumps(
            {
                "tide": self.tide.to_json(),
                "surge": self.surge.to_json(),
                "levels_cm": self.levels,
                "thresholds_cm": {k: [round(x, 2) for x in v] for k, v in self.thresholds.items()},
                "attrs": self.attrs,
            },
            separators=(",", ":"),
        )

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
        )


def fit_water_level(
    series: TimeSeries,
    latitude: float,
    leads_h: Sequence[int] = tuple(range(1, 25)),
    alpha: float = 1.0,
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

    Returns
    -------
    WaterLevelModel
        Without warning thresholds; add them with :func:`dataclasses.replace`.
    """
    _check_hourly(series)
    tide = harmonic_tide(series, latitude)
    tide_h = tide.predict(series.times)
    surge = ridge_surge(series.values - tide_h, tide_h, leads_h, alpha=alpha)
    attrs = {
        "station": series.station,
        "train_start_s": float(series.times[0]),
        "train_end_s": float(series.times[-1]),
    }
    return WaterLevelModel(tide, surge, levels={}, thresholds={}, attrs=attrs)


def forecast_level(
    model: WaterLevelModel,
    history: TimeSeries,
    issue_time_s: float,
    leads_h: Sequence[int],
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

    Returns
    -------
    level, low, high : ndarray
        Forecast level and its 80 % interval at ``issue_time_s + lead`` [cm NAP].
    """
    obs = history.valid().between(-np.inf, issue_time_s + 1e-6)
    if len(obs) == 0 or obs.times[-1] < issue_time_s - 3 * _HOUR:
        raise ValueError(
            f"{history.station}: no observation within 3 h before the issue time"
            f" {issue_time_s:.0f} s; a forecast needs the current level"
        )
    leads = [int(x) for x in leads_h]
    back = np.arange(HISTORY_H - 1, -1, -1, dtype=np.float64)
    grid = issue_time_s + _HOUR * np.concatenate([-back, np.arange(1, max(leads) + 1)])
    tide = model.tide.predict(grid)
    past = grid[:HISTORY_H]
    # Interpolate the surge (smoother than the level) between observations at most 2 h apart;
    # after the last observation the surge persists (it is at most 3 h old).
    obs_surge = obs.values - model.tide.predict(obs.times)
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
            f"{history.station}: the 25 hours before the issue time start with a gap;"
            " a forecast needs the surge over the last day"
        )
    s_full = np.concatenate([surge, np.full(max(leads), np.nan)])
    issue = np.array([HISTORY_H - 1], dtype=np.intp)
    out = np.empty((3, len(leads)))
    for k, lead in enumerate(leads):
        mid, lo, hi = model.surge.predict(s_full, tide, issue, lead)
        base = tide[HISTORY_H - 1 + lead]
        out[:, k] = base + mid[0], base + lo[0], base + hi[0]
    return out[0], out[1], out[2]


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
    """

    issue_times: NDArray[np.float64]
    leads_h: tuple[int, ...]
    level: NDArray[np.float64]
    low: NDArray[np.float64]
    high: NDArray[np.float64]
    observed: NDArray[np.float64]


def hindcast(
    model: WaterLevelModel, series: TimeSeries, leads_h: Sequence[int] | None = None
) -> Hindcast:
    """Forecast every hour of an hourly record as :func:`forecast_level` would have.

    Gaps are forward-filled in the surge history, as in :func:`forecast_level`; issue hours
    whose own level is missing get no forecast (NaN).
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
    for k, lead in enumerate(leads):
        use = ok[ok + lead < n]
        mid, lo, hi = model.surge.predict(surge, tide, use, lead)
        base = tide[use + lead]
        level[use, k], low[use, k], high[use, k] = base + mid, base + lo, base + hi
        inside = issue[issue + lead < n]
        obs[inside, k] = series.values[inside + lead]
    return Hindcast(series.times.copy(), leads, level, low, high, obs)


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
    return Hindcast(series.times.copy(), leads, level, level, level, obs)


def hoek_van_holland() -> WaterLevelModel:
    """The shipped Hoek van Holland model (RWS hourly levels 1976-1985, tide and surge)."""
    text = resources.files("stadswacht.forecast").joinpath("water_hoekvanholland.json")
    return WaterLevelModel.from_json(text.read_text(encoding="utf-8"))


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
