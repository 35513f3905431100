"""Crowd forecasts per sensor, 15 minutes to 3 hours ahead, with 80 % prediction intervals.

Per horizon, one global model across sensors (gradient-boosted trees, scikit-learn's
``HistGradientBoostingRegressor``) learns the log ratio of a count to the sensor's rolling
weekly profile from where the sensor and the whole city stand against their profiles and
against last week at the forecast origin (:mod:`stadswacht.forecast.crowd_features`). The
median model minimises absolute error (so the forecast is a median, the best point forecast
for MAE); two quantile models (0.1 and 0.9) give the interval, widened or narrowed per horizon
by conformalized quantile regression on the last weeks of the training period (Romano,
Patterson & Candès 2019, "Conformalized quantile regression", NeurIPS). Sensors that do not
report at the origin still get a forecast: training masks the recent features of a share of
rows, so the trees learn to fall back on the weekly profile.

The time step is whatever the table has (hourly Melbourne counts, per-minute line counts);
horizons are whole multiples of it.

Also here: :func:`backtest` (train up to a date, test the following year, scored against
"same time last week"), :func:`backtest_file` (what ``stadswacht forecast crowd-backtest``
calls), and, re-exported, the table, its reader, the normal band and the baselines.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from stadswacht.forecast.crowd_band import NormalBand, anomaly, normal_band
from stadswacht.forecast.crowd_features import (
    FEATURES,
    FeatureFrame,
    linear_trend,
    same_time_last_week,
)
from stadswacht.forecast.crowd_table import (
    CountsError,
    CountTable,
    TimeLike,
    as_time,
    read_melbourne_counts,
)

__all__ = [
    "DEFAULT_PARAMS",
    "RECENT_FEATURES",
    "CountTable",
    "CountsError",
    "CrowdForecaster",
    "Forecast",
    "NormalBand",
    "anomaly",
    "backtest",
    "backtest_file",
    "default_horizons",
    "linear_trend",
    "normal_band",
    "read_melbourne_counts",
    "same_time_last_week",
]

DEFAULT_PARAMS: dict[str, Any] = {
    "max_iter": 100,
    "learning_rate": 0.15,
    "max_leaf_nodes": 63,
    "min_samples_leaf": 200,
    "l2_regularization": 1.0,
    "max_rows": 200_000,
    "mask_share": 0.15,
    "calibration_weeks": 12,
    "coverage": 0.8,
}
"""Model parameters. The loss, ``max_iter`` and ``learning_rate`` were chosen among three
settings on the 2013 validation year (train 2012) of the Melbourne counts, never on 2014; the
others are judgement, not tuned.

``max_iter``, ``learning_rate``, ``max_leaf_nodes``, ``min_samples_leaf``,
``l2_regularization``: passed to each ``HistGradientBoostingRegressor``. ``max_rows``: training
rows (origin x sensor) per horizon drawn at random from the training period. ``mask_share``:
share of training rows whose recent features are blanked, as if the sensor were down.
``calibration_weeks``: the last weeks of the training period held out of the quantile models
to conformalize the interval. ``coverage``: the interval's nominal coverage.
"""

RECENT_FEATURES = tuple(
    name
    for name in FEATURES
    if name.startswith(("last", "dev_profile", "dev_week"))
    and name not in ("last_week", "dev_profile_last_week")
)
"""Features blanked when a sensor does not report at the origin (and the 3 hours before)."""
_RECENT = [FEATURES.index(name) for name in RECENT_FEATURES]
_WEEKDAY = FEATURES.index("weekday")


def default_horizons(step_minutes: float) -> tuple[int, ...]:
    """Horizons [min] from 15 minutes (or one step) to 3 hours, whole multiples of the step.

    >>> default_horizons(60.0), default_horizons(15.0)[:3], len(default_horizons(1.0))
    ((60, 120, 180), (15, 30, 45), 12)
    """
    step = max(15.0, step_minutes)
    k = np.arange(1, int(180 // step) + 1) * step
    return tuple(int(m) for m in k if abs(m / step_minutes - round(m / step_minutes)) < 1e-9)


def _horizon_steps(table: CountTable, horizons_minutes: Sequence[float]) -> list[int]:
    steps = []
    for minutes in horizons_minutes:
        k = minutes / table.step_minutes
        if k < 1 or abs(k - round(k)) > 1e-9:
            raise CountsError(
                f"a horizon of {minutes} min is not a whole number of the table's "
                f"{table.step_minutes:g}-minute steps"
            )
        if round(k) > table.steps_for(7 * 1440):
            raise CountsError(f"a horizon of {minutes} min is beyond a week; at most 10080 min")
        steps.append(round(k))
    return steps


@dataclass(frozen=True)
class Forecast:
    """Forecasts of every sensor from one origin.

    Attributes
    ----------
    origin : numpy.datetime64
        Start of the last interval seen.
    times : numpy.ndarray of datetime64, shape (H,)
        Start of each forecast interval.
    horizons_minutes : tuple of int
    sensors : tuple of str
    median, lower, upper : numpy.ndarray, shape (H, S)
        Point forecast and the bounds of the prediction interval [persons per step]; NaN for
        a sensor with no history at all.
    """

    origin: np.datetime64
    times: NDArray[np.datetime64]
    horizons_minutes: tuple[int, ...]
    sensors: tuple[str, ...]
    median: NDArray[np.float64]
    lower: NDArray[np.float64]
    upper: NDArray[np.float64]


@dataclass
class CrowdForecaster:
    """The global gradient-boosting forecaster with conformalized 80 % intervals.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> t = np.arange("2024-01-01", "2024-04-01", dtype="datetime64[h]")
    >>> daily = 50 + 40 * np.sin(np.arange(t.size) * 2 * np.pi / 24)
    >>> table = CountTable.from_arrays(t, ["a", "b"], rng.poisson(np.c_[daily, 2 * daily]))
    >>> model = CrowdForecaster(params={"max_iter": 20, "max_rows": 5000, "calibration_weeks": 2})
    >>> model = model.fit(table, until=np.datetime64("2024-03-15"))
    >>> f = model.forecast(table, at=np.datetime64("2024-03-20T11"))
    >>> f.median.shape, bool(np.all(f.lower <= f.upper))
    ((3, 2), True)
    """

    params: Mapping[str, Any] = field(default_factory=dict)
    horizons_minutes: tuple[int, ...] | None = None
    seed: int = 0
    models_: dict[int, dict[str, Any]] = field(default_factory=dict, init=False, repr=False)
    conformal_: dict[int, float] = field(default_factory=dict, init=False, repr=False)
    step_minutes_: float = field(default=0.0, init=False)

    def _param(self, name: str) -> Any:
        return self.params.get(name, DEFAULT_PARAMS[name])

    def _regressor(self, loss: str, quantile: float | None = None) -> Any:
        from sklearn.ensemble import HistGradientBoostingRegressor

        kwargs: dict[str, Any] = {
            "loss": loss,
            "max_iter": self._param("max_iter"),
            "learning_rate": self._param("learning_rate"),
            "max_leaf_nodes": self._param("max_leaf_nodes"),
            "min_samples_leaf": self._param("min_samples_leaf"),
            "l2_regularization": self._param("l2_regularization"),
            "categorical_features": [_WEEKDAY],
            "early_stopping": False,
            "random_state": self.seed,
        }
        if quantile is not None:
            kwargs["quantile"] = quantile
        return HistGradientBoostingRegressor(**kwargs)

    def _rows(
        self,
        frame: FeatureFrame,
        start: int,
        stop: int,
        steps: Sequence[int],
        rng: np.random.Generator,
        limit: int,
    ) -> tuple[NDArray[np.float32], NDArray[np.float64], NDArray[np.int64]]:
        """Random (features, target log ratio, horizon) rows with targets in [start, stop)."""
        n_s = frame.log.shape[1]
        target = np.arange(start, stop)
        if target.size * n_s * len(steps) > 4 * limit:
            # Long fine-grained series: draw the target intervals first to bound memory.
            size = max(1, 4 * limit // (n_s * len(steps)))
            target = np.sort(rng.choice(target, size=size, replace=False))
        parts = []
        for h in steps:
            u = np.repeat(target, n_s)
            s = np.tile(np.arange(n_s), target.size)
            keep = np.isfinite(frame.log[u, s]) & (u - h >= 0)
            parts.append(np.c_[u[keep] - h, s[keep], np.full(int(keep.sum()), h)])
        rows = np.concatenate(parts) if parts else np.zeros((0, 3), dtype=np.int64)
        if rows.shape[0] > limit:
            rows = rows[rng.choice(rows.shape[0], size=limit, replace=False)]
        x, base = frame.rows(rows[:, 0], rows[:, 1], rows[:, 2])
        y = frame.log[rows[:, 0] + rows[:, 2], rows[:, 1]] - base
        ok = np.isfinite(y)
        return x[ok], y[ok], rows[ok, 2]

    def fit(self, table: CountTable, until: TimeLike) -> CrowdForecaster:
        """Fit on the intervals of ``table`` that start before ``until``."""
        self.step_minutes_ = table.step_minutes
        if self.horizons_minutes is None:
            self.horizons_minutes = default_horizons(table.step_minutes)
        steps = _horizon_steps(table, self.horizons_minutes)
        frame = FeatureFrame.build(table)
        rng = np.random.default_rng(self.seed)
        stop = table.index_of(until)
        cal_start = max(0, stop - self._param("calibration_weeks") * frame.week)
        start = min(frame.week, cal_start)
        limit = int(self._param("max_rows"))
        if cal_start - start < 10 * len(steps):
            raise CountsError(
                f"too little history before {until}: {cal_start - start} steps before the "
                "calibration weeks; give more data or fewer calibration_weeks"
            )
        lower_q = (1 - self._param("coverage")) / 2
        self.models_ = {}
        self.conformal_ = {}
        for h in steps:
            x_fit, y_fit, _ = self._rows(frame, start, cal_start, [h], rng, limit)
            x_cal, y_cal, _ = self._rows(frame, cal_start, stop, [h], rng, limit // 4)
            x_fit = self._mask(x_fit, rng)
            lower = self._regressor("quantile", lower_q).fit(x_fit, y_fit)
            upper = self._regressor("quantile", 1 - lower_q).fit(x_fit, y_fit)
            # Conformal scores: how far each calibration value lies outside its quantile band.
            score = np.sort(np.maximum(lower.predict(x_cal) - y_cal, y_cal - upper.predict(x_cal)))
            k = min(score.size - 1, int(np.ceil(self._param("coverage") * (score.size + 1))) - 1)
            self.conformal_[h] = float(score[k]) if score.size else 0.0
            # The median model sees the calibration weeks too: they are the most recent.
            x_all = np.concatenate([x_fit, self._mask(x_cal, rng)])
            y_all = np.concatenate([y_fit, y_cal])
            median = self._regressor("absolute_error").fit(x_all, y_all)
            self.models_[h] = {"median": median, "lower": lower, "upper": upper}
        return self

    def _mask(self, x: NDArray[np.float32], rng: np.random.Generator) -> NDArray[np.float32]:
        x = x.copy()
        blank = rng.random(x.shape[0]) < self._param("mask_share")
        x[np.ix_(blank, _RECENT)] = np.nan
        return x

    def predict_rows(
        self,
        frame: FeatureFrame,
        origin: NDArray[np.int64],
        sensor: NDArray[np.int64],
        horizon: NDArray[np.int64],
    ) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
        """Median, lower and upper forecast [persons per step] for each (origin, sensor, steps)."""
        x, base = frame.rows(origin, sensor, horizon)
        return self.predict_features(x, base, horizon)

    def predict_features(
        self, x: NDArray[np.float32], base: NDArray[np.float64], horizon: NDArray[np.int64]
    ) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
        """Median, lower and upper forecast from rows of :meth:`FeatureFrame.rows`."""
        if not self.models_:
            raise CountsError("the forecaster is not fitted; call fit() first")
        med = np.full(base.shape, np.nan)
        lo = np.full(base.shape, np.nan)
        hi = np.full(base.shape, np.nan)
        for h in np.unique(horizon):
            models = self.models_.get(int(h))
            if models is None:
                raise CountsError(
                    f"no model for a horizon of {int(h)} steps; fitted: {sorted(self.models_)}"
                )
            rows = horizon == h
            c = self.conformal_[int(h)]
            med[rows] = base[rows] + models["median"].predict(x[rows])
            lo[rows] = base[rows] + models["lower"].predict(x[rows]) - c
            hi[rows] = base[rows] + models["upper"].predict(x[rows]) + c
        lo, hi = np.minimum(lo, med), np.maximum(hi, med)
        return (
            np.expm1(np.maximum(med, 0.0)),
            np.expm1(np.maximum(lo, 0.0)),
            np.expm1(np.maximum(hi, 0.0)),
        )

    def forecast(
        self, table: CountTable, at: TimeLike | None = None, frame: FeatureFrame | None = None
    ) -> Forecast:
        """Forecast every sensor of ``table`` from the interval starting at ``at``.

        ``at`` defaults to the last interval of the table. Sensors missing at ``at`` (or for
        the hours before it) are forecast from their weekly profile and the other sensors.
        ``table`` must have the sensors of the training table in the same order (use
        :meth:`CountTable.select`), or a forecaster fitted across all of them.
        """
        if self.horizons_minutes is None or not self.models_:
            raise CountsError("the forecaster is not fitted; call fit() first")
        if abs(table.step_minutes - self.step_minutes_) > 1e-9:
            raise CountsError(
                f"the table's step is {table.step_minutes:g} min, the model was fitted on "
                f"{self.step_minutes_:g} min"
            )
        frame = frame or FeatureFrame.build(table)
        t = table.times.size - 1 if at is None else table.index_of(at)
        if not 0 <= t < table.times.size:
            raise CountsError(f"forecast origin {at} is outside the table")
        steps = _horizon_steps(table, self.horizons_minutes)
        n_s = len(table.sensors)
        origin = np.full(len(steps) * n_s, t, dtype=np.int64)
        sensor = np.tile(np.arange(n_s), len(steps))
        horizon = np.repeat(np.asarray(steps, dtype=np.int64), n_s)
        med, lo, hi = self.predict_rows(frame, origin, sensor, horizon)
        shape = (len(steps), n_s)
        return Forecast(
            origin=table.times[t],
            times=table.times[t] + np.asarray(steps) * table.step,
            horizons_minutes=self.horizons_minutes,
            sensors=table.sensors,
            median=med.reshape(shape),
            lower=lo.reshape(shape),
            upper=hi.reshape(shape),
        )


def backtest(
    table: CountTable,
    train_until: TimeLike,
    *,
    test_until: TimeLike | None = None,
    params: Mapping[str, Any] | None = None,
    horizons_minutes: Sequence[int] | None = None,
    seed: int = 0,
) -> dict[str, Any]:
    """Fit up to ``train_until``, forecast every interval of the following period, score.

    Every interval ``u`` of the test period (``train_until`` to ``test_until``, default a year
    later or the end of the table) is forecast from the origin ``u - h`` for each horizon
    ``h``, for every sensor, and scored where the count and the same time last week are known.

    Returns
    -------
    dict
        ``mae_ratio_1h``, ``mae_ratio_3h``: MAE of the model / MAE of "same time last week",
        pooled over sensors and intervals (horizons of 60 and 180 min; ``None`` when not
        forecast); ``coverage_80``: share of test counts inside the 80 % interval, all
        horizons pooled; per horizon ``mae_model_<m>min``, ``mae_naive_<m>min``,
        ``mae_ratio_<m>min``, ``linear8h_ratio_<m>min`` (the straight line through the last
        8 hours, same points where defined), ``coverage_80_<m>min``; ``n_test`` (scored
        intervals per horizon), ``n_sensors``, ``train_until``, ``test_until``,
        ``fit_s``, ``predict_s``.
    """
    train_end = as_time(train_until)
    stop_time = train_end + np.timedelta64(365, "D") if test_until is None else as_time(test_until)
    start, stop = table.index_of(train_end), min(table.times.size, table.index_of(stop_time))
    if stop <= start:
        raise CountsError(f"no data after {train_until} to test on")
    t0 = time.perf_counter()
    model = CrowdForecaster(
        params=dict(params or {}),
        seed=seed,
        horizons_minutes=(tuple(horizons_minutes) if horizons_minutes is not None else None),
    )
    model.fit(table, until=train_end)
    fit_s = time.perf_counter() - t0
    assert model.horizons_minutes is not None
    steps = _horizon_steps(table, model.horizons_minutes)
    frame = FeatureFrame.build(table)
    n_s = len(table.sensors)
    result: dict[str, Any] = {
        "train_until": str(train_end.astype("datetime64[D]")),
        "test_until": str(table.times[stop - 1].astype("datetime64[D]")),
        "n_sensors": n_s,
    }
    t1 = time.perf_counter()
    inside_all = 0
    n_all = 0
    n_test = 0
    for h, minutes in zip(steps, model.horizons_minutes, strict=True):
        naive = same_time_last_week(table, h)
        u = np.repeat(np.arange(start, stop), n_s)
        s = np.tile(np.arange(n_s), stop - start)
        y = table.counts[u, s]
        ok = np.isfinite(y) & np.isfinite(naive[u, s]) & (u - h >= 0)
        u, s, y = u[ok], s[ok], y[ok]
        med, lo, hi = model.predict_rows(frame, u - h, s, np.full(u.size, h))
        nv = naive[u, s]
        mae_model = float(np.mean(np.abs(med - y)))
        mae_naive = float(np.mean(np.abs(nv - y)))
        inside = (y >= lo) & (y <= hi)
        lin = linear_trend(table, h)[u, s]
        lok = np.isfinite(lin)
        lin_ratio = float(np.mean(np.abs(lin[lok] - y[lok])) / np.mean(np.abs(nv[lok] - y[lok])))
        tag = f"{minutes}min"
        result[f"mae_model_{tag}"] = round(mae_model, 3)
        result[f"mae_naive_{tag}"] = round(mae_naive, 3)
        result[f"mae_ratio_{tag}"] = round(mae_model / mae_naive, 4)
        result[f"linear8h_ratio_{tag}"] = round(lin_ratio, 4)
        result[f"coverage_80_{tag}"] = round(float(np.mean(inside)), 4)
        inside_all += int(inside.sum())
        n_all += int(y.size)
        n_test = max(n_test, int(y.size))
    result["mae_ratio_1h"] = result.get("mae_ratio_60min")
    result["mae_ratio_3h"] = result.get("mae_ratio_180min")
    result["coverage_80"] = round(inside_all / max(n_all, 1), 4)
    result["n_test"] = n_test
    result["fit_s"] = round(fit_s, 1)
    result["predict_s"] = round(time.perf_counter() - t1, 1)
    return result


def backtest_file(path: str | Path, train_until: date) -> dict[str, Any]:
    """Read a Melbourne long-format counts file and :func:`backtest` it.

    What ``stadswacht forecast crowd-backtest COUNTS.csv --train-until DATE --json`` prints.
    Raises :class:`CountsError` for a missing or malformed file or too little data.
    """
    table = read_melbourne_counts(path)
    result = backtest(table, train_until)
    result["source"] = str(path)
    return result
