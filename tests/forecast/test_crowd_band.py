from __future__ import annotations

import numpy as np

from stadswacht.forecast.crowd_band import anomaly, normal_band, slot_of
from stadswacht.forecast.crowd_table import CountTable


def test_band_holds_the_quantiles_of_each_weekday_and_hour() -> None:
    rng = np.random.default_rng(1)
    weeks = 400
    times = np.datetime64("2024-01-01T00", "s") + np.arange(weeks * 168) * np.timedelta64(1, "h")
    hod = np.arange(times.size) % 24
    dow = (np.arange(times.size) // 24) % 7
    # Uniform on [0, 100 * (hour + 1)) on weekdays, ten times less at weekends.
    width = 100.0 * (hod + 1) * np.where(dow >= 5, 0.1, 1.0)
    counts = rng.uniform(0, 1, times.size) * width
    band = normal_band(CountTable.from_arrays(times, ["a"], counts))
    wed_15 = band.values[2 * 24 + 15, 0]
    np.testing.assert_allclose(wed_15, [160, 800, 1440], atol=0.04 * 1600)
    sun_3 = band.values[6 * 24 + 3, 0]
    np.testing.assert_allclose(sun_3, [4, 20, 36], atol=0.04 * 40)
    assert band.n[2 * 24 + 15, 0] == weeks


def test_band_uses_only_the_training_period_and_slots_can_be_coarser() -> None:
    times = np.datetime64("2024-01-01", "s") + np.arange(8 * 7 * 96) * np.timedelta64(15, "m")
    counts = np.where(times < np.datetime64("2024-02-05"), 10.0, 1000.0)
    band = normal_band(
        CountTable.from_arrays(times, ["a"], counts),
        until=np.datetime64("2024-02-05"),
        slot_minutes=60,
    )
    assert band.values.shape == (168, 1, 3)
    assert np.all(band.values == 10.0)
    assert band.n[0, 0] == 5 * 4  # five Mondays x four quarter hours


def test_anomaly_is_zero_at_median_one_at_the_band_edges() -> None:
    times = np.datetime64("2024-01-01", "s") + np.arange(30 * 168) * np.timedelta64(1, "h")
    week = np.arange(times.size) // 168
    counts = (100.0 + 10 * (week % 11))[:, None]  # 100..200 in steps of 10
    band = normal_band(CountTable.from_arrays(times, ["a"], counts))
    lo, mid, hi = band.values[0, 0]
    probe = np.array([[mid], [hi], [lo], [mid + 3 * (hi - mid)], [np.nan]])
    score = anomaly(probe, times[:5], band)
    np.testing.assert_allclose(score[:4, 0], [0.0, 1.0, -1.0, 3.0])
    assert np.isnan(score[4, 0])


def test_slot_of_starts_the_week_on_monday() -> None:
    t = np.array(["2024-01-01T00", "2024-01-02T01", "2024-01-07T23"], dtype="datetime64[s]")
    assert slot_of(t, 60).tolist() == [0, 25, 167]
