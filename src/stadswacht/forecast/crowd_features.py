"""Baselines and the features of the global crowd forecaster, for any grid step.

Everything is computed on ``log1p`` counts. For an origin ``t`` (the last interval seen) and a
horizon of ``h`` steps the target is the interval ``u = t + h``. The weekly profile at ``u`` is
the median of the same interval in the previous :data:`PROFILE_WEEKS` weeks; the forecaster
learns the log ratio of the count to that profile from where the sensor (and the whole city)
stands against its own profile and against last week right now, plus the time of day,
weekday and horizon. No holiday calendar: a holiday shows as the whole city running below
its profile. Every feature may be NaN (a sensor not reporting); the trees route NaN.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from stadswacht.forecast.crowd_band import slot_of
from stadswacht.forecast.crowd_table import CountTable

__all__ = [
    "FEATURES",
    "PROFILE_WEEKS",
    "FeatureFrame",
    "linear_trend",
    "same_time_last_week",
]

PROFILE_WEEKS = 6
"""Weeks behind the rolling weekly profile (a judgement: long enough for a steady median, short
enough to follow a level shift within weeks; not tuned)."""

FEATURES = (
    "base",
    "last_week",
    "two_weeks",
    "yesterday",
    "dev_profile_last_week",
    "last",
    "last_1",
    "last_2",
    "dev_profile",
    "dev_profile_1",
    "dev_profile_2",
    "dev_profile_1h",
    "dev_profile_3h",
    "dev_week",
    "dev_week_3h",
    "city_dev_profile",
    "city_dev_week",
    "city_reporting",
    "hour_of_day",
    "weekday",
    "horizon_h",
)
"""Feature names, in column order; each is described in :class:`FeatureFrame`."""


def _shift(a: NDArray[np.float64], k: int) -> NDArray[np.float64]:
    """``a`` moved ``k`` rows later: row t holds a[t - k] (NaN before the start)."""
    out = np.full_like(a, np.nan)
    if k < a.shape[0]:
        out[k:] = a[: a.shape[0] - k]
    return out


def _trailing_mean(a: NDArray[np.float64], m: int) -> NDArray[np.float64]:
    """Mean of the finite values among rows t-m+1..t (NaN when none)."""
    ok = np.isfinite(a)
    s = np.cumsum(np.where(ok, a, 0.0), axis=0)
    c = np.cumsum(ok, axis=0, dtype=np.float64)
    s[m:] = s[m:] - s[:-m].copy()
    c[m:] = c[m:] - c[:-m].copy()
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(c > 0, s / np.maximum(c, 1.0), np.nan)


def _nanmedian_rows(a: NDArray[np.float64]) -> NDArray[np.float64]:
    ok = np.isfinite(a).any(axis=-1)
    out = np.full(a.shape[:-1], np.nan)
    if np.any(ok):
        out[ok] = np.nanmedian(a[ok], axis=-1)
    return out


@dataclass(frozen=True)
class FeatureFrame:
    """Precomputed arrays of one table, from which rows of features are gathered.

    Attributes
    ----------
    log : (T, S) log1p counts.
    profile : (T, S) median of ``log`` over the same interval in the previous weeks.
    dev_profile : (T, S) ``log - profile``: where a sensor stands against its usual week.
    dev_week : (T, S) ``log`` minus ``log`` a week earlier.
    city_dev_profile, city_dev_week : (T,) median over the reporting sensors.
    city_reporting : (T,) share of sensors reporting.
    """

    table: CountTable
    log: NDArray[np.float64]
    profile: NDArray[np.float64]
    dev_profile: NDArray[np.float64]
    dev_profile_1h: NDArray[np.float64]
    dev_profile_3h: NDArray[np.float64]
    dev_week: NDArray[np.float64]
    dev_week_3h: NDArray[np.float64]
    city_dev_profile: NDArray[np.float64]
    city_dev_week: NDArray[np.float64]
    city_reporting: NDArray[np.float64]
    week: int
    day: int

    @classmethod
    def build(cls, table: CountTable) -> FeatureFrame:
        """Compute the arrays; cost O(T x S x PROFILE_WEEKS)."""
        log = np.log1p(np.maximum(table.counts, 0.0))
        week = table.steps_for(7 * 1440)
        day = table.steps_for(1440)
        stack = np.stack([_shift(log, k * week) for k in range(1, PROFILE_WEEKS + 1)], axis=-1)
        profile = _nanmedian_rows(stack)
        del stack
        dev_profile = log - profile
        dev_week = log - _shift(log, week)
        hour = table.steps_for(60)
        return cls(
            table=table,
            log=log,
            profile=profile,
            dev_profile=dev_profile,
            dev_profile_1h=_trailing_mean(dev_profile, hour),
            dev_profile_3h=_trailing_mean(dev_profile, 3 * hour),
            dev_week=dev_week,
            dev_week_3h=_trailing_mean(dev_week, 3 * hour),
            city_dev_profile=_nanmedian_rows(dev_profile),
            city_dev_week=_nanmedian_rows(dev_week),
            city_reporting=np.mean(np.isfinite(log), axis=1),
            week=week,
            day=day,
        )

    def rows(
        self,
        origin: NDArray[np.int64],
        sensor: NDArray[np.int64],
        horizon: NDArray[np.int64],
    ) -> tuple[NDArray[np.float32], NDArray[np.float64]]:
        """Features (n, len(FEATURES)) and the base (n,) for each (origin, sensor, horizon).

        ``origin`` indexes the last interval seen, ``horizon`` is in steps (at most a week).
        The forecast in log1p space is ``base + predicted log ratio``.
        """
        n_t = self.log.shape[0]
        target = origin + horizon

        def at(a: NDArray[np.float64], rows: NDArray[np.int64]) -> NDArray[np.float64]:
            ok = (rows >= 0) & (rows < n_t)
            out = np.full(rows.shape, np.nan)
            out[ok] = a[rows[ok], sensor[ok]]
            return out

        def at_t(a: NDArray[np.float64], rows: NDArray[np.int64]) -> NDArray[np.float64]:
            ok = (rows >= 0) & (rows < n_t)
            out = np.full(rows.shape, np.nan)
            out[ok] = a[rows[ok]]
            return out

        # The profile at the target only uses weeks before it, all seen at the origin.
        prof_u = at(self.profile, target)
        last_week = at(self.log, target - self.week)
        last = at(self.log, origin)
        base = np.where(np.isfinite(prof_u), prof_u, last_week)
        base = np.where(np.isfinite(base), base, last)
        days_back = np.maximum(1, -(-horizon // self.day))
        seconds = self.table.times.astype(np.int64)
        step_s = seconds[1] - seconds[0]
        target_s = seconds[0] + target * step_s
        target_times = target_s.astype("datetime64[s]")
        hour_of_day = (target_s % 86400) / 3600.0
        weekday = slot_of(target_times, 1440.0)
        columns = [
            base,
            last_week - base,
            at(self.log, target - 2 * self.week) - base,
            at(self.log, target - days_back * self.day) - base,
            at(self.dev_profile, target - self.week),
            last - base,
            at(self.log, origin - 1) - base,
            at(self.log, origin - 2) - base,
            at(self.dev_profile, origin),
            at(self.dev_profile, origin - 1),
            at(self.dev_profile, origin - 2),
            at(self.dev_profile_1h, origin),
            at(self.dev_profile_3h, origin),
            at(self.dev_week, origin),
            at(self.dev_week_3h, origin),
            at_t(self.city_dev_profile, origin),
            at_t(self.city_dev_week, origin),
            at_t(self.city_reporting, origin),
            hour_of_day,
            weekday.astype(np.float64),
            horizon * step_s / 3600.0,
        ]
        return np.stack(columns, axis=1).astype(np.float32), base


def same_time_last_week(table: CountTable, horizon_steps: int) -> NDArray[np.float64]:
    """Seasonal naive forecast: row ``u`` holds the count a week before ``u``.

    ``horizon_steps`` only checks that the week-old value is known at the origin.

    >>> t = np.arange("2024-01-01", "2024-01-16", dtype="datetime64[h]")
    >>> table = CountTable.from_arrays(t, ["a"], np.arange(t.size, dtype=float))
    >>> float(same_time_last_week(table, 1)[200, 0])
    32.0
    """
    week = table.steps_for(7 * 1440)
    if horizon_steps > week:
        raise ValueError(f"horizon of {horizon_steps} steps is beyond a week ({week} steps)")
    return _shift(table.counts, week)


def linear_trend(
    table: CountTable, horizon_steps: int, window_minutes: float = 480.0
) -> NDArray[np.float64]:
    """Straight line through the last ``window_minutes`` of counts, extended ``horizon_steps``.

    Row ``u`` holds the forecast for interval ``u`` made at ``u - horizon_steps`` (the linear
    forecast of Amsterdam's CMSA); clipped at 0, NaN unless the whole window is known.

    >>> t = np.arange("2024-01-01", "2024-01-02", dtype="datetime64[h]")
    >>> table = CountTable.from_arrays(t, ["a"], 2.0 * np.arange(t.size))
    >>> float(linear_trend(table, 3)[20, 0])
    40.0
    """
    m = table.steps_for(window_minutes)
    x = np.arange(m, dtype=np.float64) - (m - 1) / 2.0
    sxx = float(np.sum(x * x))
    y = table.counts
    mean = np.zeros_like(y)
    slope = np.zeros_like(y)
    for j in range(m):
        lagged = _shift(y, j)
        mean += lagged / m
        slope += lagged * x[m - 1 - j] / sxx
    at_origin = mean + slope * ((m - 1) / 2.0 + horizon_steps)
    return _shift(np.maximum(at_origin, 0.0), horizon_steps)
