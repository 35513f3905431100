from __future__ import annotations

from datetime import date
from typing import Any

import numpy as np
import pytest

from stadswacht.forecast.crowd import (
    CountsError,
    CountTable,
    CrowdForecaster,
    backtest,
    backtest_file,
    default_horizons,
    same_time_last_week,
)
from stadswacht.forecast.crowd_features import FeatureFrame, linear_trend
from tests.forecast.conftest import FAST, FIXTURE, synthetic

SPLIT = np.datetime64("2024-04-08")  # 14 weeks of training


@pytest.fixture(scope="module")
def shifted() -> CountTable:
    # Half of the sensors jump by 80 % two weeks before the end of training.
    return synthetic(weeks=18, shift_week=12)


@pytest.fixture(scope="module")
def fitted(shifted: CountTable) -> CrowdForecaster:
    return CrowdForecaster(params=FAST).fit(shifted, until=SPLIT)


def scored(model: CrowdForecaster, table: CountTable, h: int) -> dict[str, float]:
    frame = FeatureFrame.build(table)
    start = table.index_of(SPLIT)
    n_s = len(table.sensors)
    u = np.repeat(np.arange(start, table.times.size), n_s)
    s = np.tile(np.arange(n_s), table.times.size - start)
    y = table.counts[u, s]
    med, lo, hi = model.predict_rows(frame, u - h, s, np.full(u.size, h))
    naive = same_time_last_week(table, h)[u, s]
    return {
        "ratio": float(np.mean(np.abs(med - y)) / np.mean(np.abs(naive - y))),
        "coverage": float(np.mean((y >= lo) & (y <= hi))),
    }


def test_beats_same_hour_last_week_after_a_level_shift() -> None:
    # Shift in the first test week: last week's count is from before the jump.
    table = synthetic(weeks=17, shift_week=14)
    model = CrowdForecaster(params=FAST).fit(table, until=SPLIT)
    first_week = CountTable(table.times[: 15 * 168], table.sensors, table.counts[: 15 * 168])
    for h in (1, 3):
        assert scored(model, first_week, h)["ratio"] < 0.8


def test_beats_the_seasonal_naive_and_covers_about_80_percent(
    fitted: CrowdForecaster, shifted: CountTable
) -> None:
    one, three = scored(fitted, shifted, 1), scored(fitted, shifted, 3)
    assert one["ratio"] < 0.8
    assert three["ratio"] < 0.9
    assert 0.74 <= one["coverage"] <= 0.86
    assert 0.74 <= three["coverage"] <= 0.86


def test_still_forecasts_every_sensor_with_30_percent_missing(
    fitted: CrowdForecaster, shifted: CountTable
) -> None:
    at = SPLIT + np.timedelta64(3 * 24 + 10, "h")
    t = shifted.index_of(at)
    counts = shifted.counts.copy()
    gone = [1, 4]  # 2 of 8 sensors silent for the last 6 hours, a third since yesterday
    counts[t - 5 : t + 1, gone] = np.nan
    counts[t - 30 : t + 1, 6] = np.nan
    holed = CountTable(shifted.times, shifted.sensors, counts)
    forecast = fitted.forecast(holed, at=at)
    assert forecast.median.shape == (3, 8)
    assert np.isfinite(forecast.median).all()
    assert (forecast.lower <= forecast.median).all()
    assert (forecast.median <= forecast.upper).all()
    truth = shifted.counts[t + 1 : t + 4]
    full = fitted.forecast(shifted, at=at)
    # The silent sensors fall back on their weekly profile: worse, but not wild.
    err_holed = np.abs(forecast.median - truth)[:, [1, 4, 6]].mean()
    scale = truth[:, [1, 4, 6]].mean()
    assert err_holed < 0.35 * scale
    assert np.abs(full.median - truth).mean() < 0.35 * truth.mean()


def test_forecast_times_and_horizons(fitted: CrowdForecaster, shifted: CountTable) -> None:
    f = fitted.forecast(shifted)
    assert f.horizons_minutes == (60, 120, 180)
    assert f.origin == shifted.times[-1]
    assert (f.times - f.origin).astype("timedelta64[h]").astype(int).tolist() == [1, 2, 3]
    assert f.sensors == shifted.sensors


def test_a_quarter_hour_series_is_forecast_15_minutes_to_3_hours_ahead() -> None:
    assert default_horizons(15) == tuple(range(15, 181, 15))
    table = synthetic(weeks=10, sensors=4, step_minutes=15)
    model = CrowdForecaster(
        params={**FAST, "calibration_weeks": 2}, horizons_minutes=(15, 60, 180)
    ).fit(table, until=np.datetime64("2024-03-04"))
    f = model.forecast(table, at=np.datetime64("2024-03-06T07:45"))
    assert f.median.shape == (3, 4)
    assert np.isfinite(f.median).all()
    assert f.times.tolist() == [
        np.datetime64("2024-03-06T08:00", "s").item(),
        np.datetime64("2024-03-06T08:45", "s").item(),
        np.datetime64("2024-03-06T10:45", "s").item(),
    ]


def test_refuses_horizons_off_the_grid_and_unfitted_use(shifted: CountTable) -> None:
    with pytest.raises(CountsError, match="whole number"):
        CrowdForecaster(params=FAST, horizons_minutes=(15,)).fit(shifted, until=SPLIT)
    with pytest.raises(CountsError, match="not fitted"):
        CrowdForecaster().forecast(shifted)


def test_baselines() -> None:
    t = np.datetime64("2024-01-01", "s") + np.arange(400) * np.timedelta64(1, "h")
    table = CountTable.from_arrays(t, ["a"], 3.0 * np.arange(400))
    assert same_time_last_week(table, 1)[200, 0] == 3.0 * 32
    assert np.isnan(same_time_last_week(table, 1)[100, 0])
    np.testing.assert_allclose(linear_trend(table, 2)[100, 0], 300.0)
    assert np.isnan(linear_trend(table, 2)[5, 0])


BACKTEST_KEYS = {"mae_ratio_1h", "mae_ratio_3h", "coverage_80"}


def test_backtest_reports_the_keys(shifted: CountTable) -> None:
    result: dict[str, Any] = backtest(shifted, SPLIT, params=FAST)
    assert result.keys() >= BACKTEST_KEYS
    assert 0 < result["mae_ratio_1h"] < result["mae_ratio_3h"] < 1
    assert 0.7 < result["coverage_80"] < 0.9
    assert result["n_test"] == 4 * 168 * 8
    assert result["linear8h_ratio_60min"] > 1


def test_backtest_file_on_the_real_slice(monkeypatch: pytest.MonkeyPatch) -> None:
    import stadswacht.forecast.crowd as crowd

    monkeypatch.setattr(crowd, "DEFAULT_PARAMS", {**crowd.DEFAULT_PARAMS, **FAST})
    result = backtest_file(FIXTURE, date(2014, 1, 1))
    assert result.keys() >= BACKTEST_KEYS
    assert result["train_until"] == "2014-01-01"
    assert result["test_until"] == "2014-01-19"
    assert all(isinstance(result[k], float) for k in BACKTEST_KEYS)


def test_backtest_needs_data_after_the_split(shifted: CountTable) -> None:
    with pytest.raises(CountsError, match="no data after"):
        backtest(shifted, np.datetime64("2030-01-01"), params=FAST)
