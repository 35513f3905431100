"""Hoek van Holland's upstream model: Vlissingen's surge as features, the fallback without it,
and the warning quantile."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from numpy.typing import NDArray

from stadswacht.detect.hazard.series import TimeSeries
from stadswacht.forecast.surge import HISTORY_H, SurgeModel, ridge_surge, surge_features
from stadswacht.forecast.water import (
    WaterLevelModel,
    forecast_level,
    forecast_warning,
    hindcast,
    hoek_van_holland,
)

HOUR = 3600.0
T0 = 1e9
M2_HOURS = 12.4206012


def _hours(start: int, stop: int) -> NDArray[np.float64]:
    return np.asarray(T0 + HOUR * np.arange(start, stop), dtype=np.float64)


def _series(times: np.ndarray, values: np.ndarray, station: str) -> TimeSeries:
    return TimeSeries(times, values, station=station, parameter="WATHTE", unit="cm")


def _storm(n: int, seed: int, delay: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """An upstream surge and the same surge ``delay`` hours later downstream, plus noise."""
    rng = np.random.default_rng(seed)
    up = np.zeros(n)
    for k in range(2, n):
        up[k] = 1.6 * up[k - 1] - 0.65 * up[k - 2] + rng.normal(0, 2.0)
    down = np.roll(up, delay) + rng.normal(0, 1.0, n)
    down[:delay] = 0.0
    return up, down


def test_upstream_lags_beat_the_own_gauge_model_when_the_surge_arrives_from_upstream() -> None:
    n = 8000
    up, down = _storm(n, seed=5)
    tide = 100.0 * np.cos(2 * np.pi * np.arange(n) / M2_HOURS)
    fit = slice(0, 5000)
    own = ridge_surge(down[fit], tide[fit], leads_h=(1, 3), high_water_quantile=0.0)
    with_up = ridge_surge(
        down[fit],
        tide[fit],
        leads_h=(1, 3),
        high_water_quantile=0.0,
        upstream=up[fit],
        upstream_lags=(0, 1, 2, 3),
    )
    issue = np.arange(5030, n - 3)
    for lead in (1, 3):
        truth = down[issue + lead]
        rmse_own = np.sqrt(np.mean((own.predict(down, tide, issue, lead)[0] - truth) ** 2))
        mid = with_up.predict(down, tide, issue, lead, upstream=up)[0]
        assert np.sqrt(np.mean((mid - truth) ** 2)) < 0.6 * rmse_own


def test_upstream_features_never_read_after_the_issue_time() -> None:
    n = 200
    up, down = _storm(n, seed=1)
    tide = 80.0 * np.cos(2 * np.pi * np.arange(n) / M2_HOURS)
    issue = np.array([100], dtype=np.intp)
    x = surge_features(down, tide, issue, 6, up, (0, 1, 2, 6))
    later_up, later_down = up.copy(), down.copy()
    later_up[101:] += 1000.0
    later_down[101:] += 1000.0
    assert np.array_equal(x, surge_features(later_down, tide, issue, 6, later_up, (0, 1, 2, 6)))
    assert x[0, -4:].tolist() == [up[100], up[99], up[98], up[94]]


def test_a_model_with_upstream_lags_refuses_to_run_without_the_upstream_surge() -> None:
    s = np.zeros(100)
    with pytest.raises(ValueError, match="upstream"):
        surge_features(s, s, np.array([50]), 1, None, (0, 1))


def test_the_warning_quantile_is_exceeded_as_often_as_it_should_be() -> None:
    n = 6000
    up, down = _storm(n, seed=7)
    tide = 100.0 * np.cos(2 * np.pi * np.arange(n) / M2_HOURS)
    model = ridge_surge(
        down, tide, leads_h=(6,), upstream=up, upstream_lags=(0, 1, 2), warn_quantile=0.7
    )
    issue = np.arange(HISTORY_H - 1, n - 6)
    upper = model.warn_surge(down, tide, issue, 6, upstream=up)
    mid = model.predict(down, tide, issue, 6, upstream=up)[0]
    assert np.mean(down[issue + 6] <= upper) == pytest.approx(0.7, abs=0.03)
    assert np.mean(upper > mid) > 0.9
    again = SurgeModel.from_json(model.to_json())
    assert np.allclose(again.warn_surge(down, tide, issue, 6, upstream=up), upper, atol=1e-3)


def _histories(model: WaterLevelModel, hours: int = 72) -> tuple[TimeSeries, TimeSeries]:
    assert model.upstream is not None
    t = _hours(-hours, hours)
    surge = 40.0 * np.sin(np.arange(t.size) / 9.0)
    own = _series(t, model.tide.predict(t) + surge, "HOEKVHLD")
    up = _series(t, model.upstream.tide.predict(t) + np.roll(surge, -3), "VLISSGN")
    return own, up


def test_the_shipped_model_reads_vlissingen_upstream() -> None:
    model = hoek_van_holland()
    assert model.upstream is not None
    assert model.upstream.station == "VLISSGN"
    assert model.upstream.surge.upstream_lags == (0, 1, 2, 3, 4, 5, 6)
    assert len(model.upstream.thresholds["yellow"]) == len(model.upstream.surge.leads_h)
    again = WaterLevelModel.from_json(model.to_json())
    own, up = _histories(model)
    for a, b in zip(
        forecast_level(model, own, T0, [1, 12], upstream=up),
        forecast_level(again, own, T0, [1, 12], upstream=up),
        strict=True,
    ):
        assert np.allclose(a, b, atol=1e-6)
    assert len(model.to_json()) < 60_000


def test_the_upstream_forecast_never_uses_observations_after_the_issue_time() -> None:
    model = hoek_van_holland()
    own, up = _histories(model)
    before = forecast_level(model, own, T0, [1, 6, 24], upstream=up)
    later = replace(up, values=np.where(up.times > T0, up.values + 500.0, up.values))
    after = forecast_level(model, own, T0, [1, 6, 24], upstream=later)
    for a, b in zip(before, after, strict=True):
        assert np.array_equal(a, b)
    assert not np.allclose(before[0], forecast_level(model, own, T0, [1, 6, 24])[0])


def test_without_a_current_upstream_gauge_the_own_gauge_model_forecasts() -> None:
    model = hoek_van_holland()
    own, up = _histories(model)
    alone = forecast_level(replace(model, upstream=None), own, T0, [1, 6])
    stale = up.between(-np.inf, T0 - 4 * HOUR)  # last reading more than 3 h old
    for got in (
        forecast_level(model, own, T0, [1, 6]),
        forecast_level(model, own, T0, [1, 6], upstream=stale),
    ):
        for a, b in zip(got, alone, strict=True):
            assert np.array_equal(a, b)


def test_the_upstream_forecast_is_the_hindcast_of_that_hour() -> None:
    model = hoek_van_holland()
    own, up = _histories(model)
    h = hindcast(model, own, [1, 6, 24], upstream=up)
    i = int(np.searchsorted(own.times, T0))
    assert h.with_upstream is not None and h.with_upstream[i]
    assert not h.with_upstream[: HISTORY_H - 1].any()
    level, low, high = forecast_level(model, own, T0, [1, 6, 24], upstream=up)
    assert np.allclose(h.level[i], level)
    assert np.allclose(h.low[i], low)
    assert np.allclose(h.high[i], high)
    assert h.warn is not None and model.upstream is not None
    assert forecast_warning(model, own, T0, [1, 6, 24], upstream=up).tolist() == [
        bool(w >= t)
        for w, t in zip(
            h.warn[i], np.array(model.upstream.thresholds["yellow"])[[0, 5, 23]], strict=True
        )
    ]


def test_a_storm_surge_at_both_gauges_raises_a_warning_and_a_calm_sea_does_not() -> None:
    model = hoek_van_holland()
    assert model.upstream is not None
    t = _hours(-48, 1)
    calm = _series(t, model.tide.predict(t), "HOEKVHLD")
    calm_up = _series(t, model.upstream.tide.predict(t), "VLISSGN")
    assert not forecast_warning(model, calm, T0, range(1, 13), upstream=calm_up).any()
    rise = np.clip(np.arange(t.size) - 24.0, 0, None) * 8.0  # up to 192 cm surge
    storm = _series(t, model.tide.predict(t) + rise, "HOEKVHLD")
    storm_up = _series(t, model.upstream.tide.predict(t) + rise + 20.0, "VLISSGN")
    leads = list(range(1, 7))
    high_water = leads[int(np.argmax(model.tide.predict(T0 + HOUR * np.array(leads))))]
    assert forecast_warning(model, storm, T0, [high_water], upstream=storm_up).all()


def test_the_upstream_gauge_is_needed_only_over_the_hours_its_lags_read() -> None:
    model = hoek_van_holland()
    own, up = _histories(model)
    full = forecast_level(model, own, T0, [6], upstream=up)
    short = forecast_level(model, own, T0, [6], upstream=up.between(T0 - 6 * HOUR, T0 + 1))
    assert np.allclose(full[0], short[0], rtol=0, atol=1e-9)
    too_short = up.between(T0 - 5 * HOUR, T0 + 1)  # lag 6 h is missing
    alone = forecast_level(replace(model, upstream=None), own, T0, [6])
    assert np.array_equal(forecast_level(model, own, T0, [6], upstream=too_short)[0], alone[0])
