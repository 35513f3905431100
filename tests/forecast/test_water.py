"""Water-level forecast: harmonic tide, ridge surge, the live forecaster and the shipped model."""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from stadswacht.detect.hazard.series import TimeSeries
from stadswacht.forecast.surge import persisted_surge, ridge_surge
from stadswacht.forecast.tide import TideModel, harmonic_tide
from stadswacht.forecast.water import (
    WaterLevelModel,
    forecast_level,
    hindcast,
    hoek_van_holland,
    persistence_hindcast,
)

HOUR = 3600.0
T0 = 1e9  # 2001-09-09 01:46:40 UTC
M2_HOURS = 12.4206012
S2_HOURS = 12.0

DATA = Path(
    os.environ.get("STADSWACHT_DATA", Path(__file__).resolve().parents[3] / "shared" / "data")
)


def _series(times: np.ndarray, values: np.ndarray) -> TimeSeries:
    return TimeSeries(times, values, station="TEST", parameter="WATHTE", unit="cm")


def test_tide_fit_recovers_m2_and_s2_amplitudes_and_the_s2_greenwich_phase() -> None:
    # Hours since 1970-01-01 00:00 UTC, when the S2 astronomical argument is 0, so a lag of
    # 120 degrees in the signal is a Greenwich phase of 120 degrees.
    hours = np.arange(0, 24 * 90, dtype=float) + 24 * 10_000
    rng = np.random.default_rng(1)
    level = (
        100.0 * np.cos(2 * np.pi * hours / M2_HOURS)
        + 30.0 * np.cos(2 * np.pi * hours / S2_HOURS - np.radians(120.0))
        + 5.0
        + rng.normal(0, 3.0, hours.size)
    )
    tide = harmonic_tide(_series(hours * HOUR, level), 52.0, ("M2", "S2"), nodal=False)
    amp = dict(zip(tide.names, tide.amplitudes, strict=True))
    phase = dict(zip(tide.names, tide.phases, strict=True))
    assert amp["M2"] == pytest.approx(100.0, abs=0.5)
    assert amp["S2"] == pytest.approx(30.0, abs=0.5)
    assert phase["S2"] == pytest.approx(120.0, abs=1.0)
    assert tide.mean == pytest.approx(5.0, abs=0.3)
    resid = level - tide.predict(hours * HOUR)
    assert np.std(resid) == pytest.approx(3.0, abs=0.2)  # only the noise is left


def test_tide_model_reproduces_its_own_constants() -> None:
    hours = np.arange(0, 24 * 120, dtype=float) + 24 * 9000
    template = harmonic_tide(
        _series(hours * HOUR, np.cos(2 * np.pi * hours / M2_HOURS)), 52.0, ("M2", "S2")
    )
    truth = replace(template, amplitudes=(80.0, 25.0), phases=(40.0, 300.0), mean=12.0)
    fitted = harmonic_tide(_series(hours * HOUR, truth.predict(hours * HOUR)), 52.0, ("M2", "S2"))
    assert fitted.amplitudes == pytest.approx((80.0, 25.0), abs=0.05)
    assert fitted.phases == pytest.approx((40.0, 300.0), abs=0.1)


def test_tide_json_round_trip_predicts_the_same() -> None:
    tide = hoek_van_holland().tide
    again = TideModel.from_json(tide.to_json())
    t = T0 + HOUR * np.arange(48)
    assert np.array_equal(again.predict(t), tide.predict(t))


def _ar_surge(n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    s = np.zeros(n)
    for k in range(2, n):
        s[k] = 1.6 * s[k - 1] - 0.65 * s[k - 2] + rng.normal(0, 2.0)
    return s


def test_ridge_surge_beats_persistence_on_an_autoregressive_surge() -> None:
    n = 6000
    surge = _ar_surge(n, seed=3)
    tide = 100.0 * np.cos(2 * np.pi * np.arange(n) / M2_HOURS)
    fit = slice(0, 4000)
    model = ridge_surge(surge[fit], tide[fit], leads_h=(1, 6), high_water_quantile=0.0)
    issue = np.arange(4030, n - 6)
    for lead in (1, 6):
        mid, low, high = model.predict(surge, tide, issue, lead)
        truth = surge[issue + lead]
        rmse = np.sqrt(np.mean((mid - truth) ** 2))
        rmse_pers = np.sqrt(np.mean((persisted_surge(surge, issue, lead) - truth) ** 2))
        assert rmse < 0.9 * rmse_pers
        inside = np.mean((truth >= low) & (truth <= high))
        assert 0.72 < inside < 0.88  # an 80 % interval


def test_surge_model_refuses_a_lead_it_was_not_fitted_for() -> None:
    model = hoek_van_holland()
    t = T0 + HOUR * np.arange(-30, 1)
    history = _series(t, model.tide.predict(t))
    with pytest.raises(ValueError, match="no lead of 30 h"):
        forecast_level(model, history, T0, [30])


def _history(model: WaterLevelModel, hours: int = 72) -> TimeSeries:
    t = T0 + HOUR * np.arange(-hours, hours)
    surge = 40.0 * np.sin(np.arange(t.size) / 9.0)
    return _series(t, model.tide.predict(t) + surge)


def test_forecast_never_uses_observations_after_the_issue_time() -> None:
    model = hoek_van_holland()
    history = _history(model)
    before = forecast_level(model, history, T0, [1, 6, 12, 24])
    changed = history.values.copy()
    changed[history.times > T0] += 500.0
    after = forecast_level(model, replace(history, values=changed), T0, [1, 6, 12, 24])
    cut = forecast_level(model, history.between(-np.inf, T0 + 1), T0, [1, 6, 12, 24])
    for a, b, c in zip(before, after, cut, strict=True):
        assert np.array_equal(a, b)
        assert np.array_equal(a, c)


def test_forecast_level_gives_an_ordered_interval_and_follows_the_tide() -> None:
    model = hoek_van_holland()
    t = T0 + HOUR * np.arange(-48, 1)
    history = _series(t, model.tide.predict(t))  # no surge at all
    level, low, high = forecast_level(model, history, T0, [1, 6, 12])
    assert np.all(low < level) and np.all(level < high)
    tide_ahead = model.tide.predict(T0 + HOUR * np.array([1, 6, 12]))
    assert np.allclose(level, tide_ahead, atol=15.0)


def test_forecast_level_is_the_hindcast_of_that_hour() -> None:
    model = hoek_van_holland()
    history = _history(model)
    h = hindcast(model, history, [1, 6, 24])
    i = int(np.searchsorted(history.times, T0))
    level, low, high = forecast_level(model, history, T0, [1, 6, 24])
    assert np.allclose(h.level[i], level)
    assert np.allclose(h.low[i], low)
    assert np.allclose(h.high[i], high)


def test_forecast_level_bridges_a_one_hour_gap_and_refuses_a_stale_gauge() -> None:
    model = hoek_van_holland()
    history = _history(model).between(-np.inf, T0 + 1)
    holed = replace(
        history, values=np.where(history.times == T0 - 5 * HOUR, np.nan, history.values)
    )
    assert np.allclose(
        forecast_level(model, holed, T0, [6])[0], forecast_level(model, history, T0, [6])[0], atol=2
    )
    with pytest.raises(ValueError, match="no observation within 3 h"):
        forecast_level(model, history, T0 + 5 * HOUR, [6])


def test_shipped_model_round_trips_through_json() -> None:
    model = hoek_van_holland()
    again = WaterLevelModel.from_json(model.to_json())
    history = _history(model)
    for a, b in zip(
        forecast_level(model, history, T0, [1, 12]),
        forecast_level(again, history, T0, [1, 12]),
        strict=True,
    ):
        assert np.allclose(a, b, atol=1e-6)
    assert again.levels == {"yellow": 220.0}
    assert len(again.thresholds["yellow"]) == len(again.surge.leads_h)
    assert len(model.to_json()) < 60_000  # own-gauge and upstream models, two tides


@pytest.mark.skipif(
    not (DATA / "hydro" / "HOEKVHLD_obs19.txt").is_file(), reason="no ../shared/data"
)
def test_shipped_model_on_a_test_year_of_hoek_van_holland() -> None:
    from stadswacht.detect.hazard.iotools import read_dia

    series, _ = read_dia(DATA / "hydro" / "HOEKVHLD_obs19.txt")
    assert isinstance(series, TimeSeries)
    start = 536457600.0  # 1987-01-01 UTC, after the model's training years
    year = series.between(start, start + 365 * 86400.0)
    model = hoek_van_holland()
    resid = year.values - model.tide.predict(year.times)
    assert np.nanvar(resid) < 0.15 * np.nanvar(year.values)  # the tide explains > 85 %
    h = hindcast(model, year, [1, 6])
    base = persistence_hindcast(model.tide, year, [1, 6])
    for k in range(2):
        rmse = np.sqrt(np.nanmean((h.level[:, k] - h.observed[:, k]) ** 2))
        rmse_pers = np.sqrt(np.nanmean((base.level[:, k] - base.observed[:, k]) ** 2))
        assert rmse < 0.9 * rmse_pers
