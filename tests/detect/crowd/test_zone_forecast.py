"""A zone's forecast to 3 h: the trend first, then its normal band, never an invented line."""

from __future__ import annotations

import itertools
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from stadswacht.detect.crowd import ZoneForecast
from stadswacht.detect.crowd.trend import TrendForecast

NOW = datetime(2026, 11, 21, 21, 0, tzinfo=ZoneInfo("Europe/Amsterdam")).timestamp()
WEEK = 7 * 86400.0


def _rising(f: ZoneForecast, start: float = 1.0, per_min: float = 0.05) -> None:
    """Ten minutes of a zone filling at ``per_min`` persons/m² a minute, ending at NOW."""
    for k in range(11):
        f.add(NOW - 600 + 60 * k, start + per_min * k + (0.02 if k % 2 else -0.02))


def _history(f: ZoneForecast, weeks: int = 6) -> None:
    """``weeks`` earlier Saturdays at 0.8 to 1.2 persons/m² from 20:00 to midnight."""
    for w in range(1, weeks + 1):
        for q in range(-4, 13):
            f.add_history(NOW - w * WEEK + q * 900 + 450, 0.8 + 0.4 * (w % 3) / 2)


def test_without_history_the_forecast_stops_where_the_trend_does() -> None:
    f = ZoneForecast(trend=TrendForecast(window_s=600))
    _rising(f)
    out = f(NOW)
    assert out.basis == "trend"
    assert out.points == f.trend(NOW)  # the short horizons are the trend's, unchanged
    assert max(t for t, *_ in out.points) - NOW == pytest.approx(1800)


def test_short_horizons_follow_the_trend_long_ones_relax_to_the_normal_band() -> None:
    f = ZoneForecast(trend=TrendForecast(window_s=600))
    _history(f)
    _rising(f)
    out = f(NOW)
    trend = f.trend(NOW)
    assert out.basis == "trend+normal" and out.history_n >= 4
    assert out.points[: len(trend)] == trend
    by_h = {round((t - NOW) / 60): (v, lo, hi) for t, v, lo, hi in out.points}
    assert sorted(by_h)[-1] == 180 and 45 in by_h and 90 in by_h
    assert by_h[30][0] > 2.4  # the trend: 1.5 now, +0.05 a minute
    band = f.normal.band("density", NOW + 3 * 3600)
    assert band is not None
    v180 = by_h[180][0]
    assert abs(v180 - band.median) < 0.02 * by_h[30][0]  # weight of the trend e^-5
    assert by_h[45][0] > by_h[90][0] > v180  # relaxing, step by step


def test_the_band_widens_with_the_horizon() -> None:
    f = ZoneForecast(trend=TrendForecast(window_s=600))
    _history(f)
    _rising(f)
    widths = [hi - lo for _, _, lo, hi in f(NOW).points]
    assert all(b >= a - 1e-9 for a, b in itertools.pairwise(widths))
    assert widths[-1] > 1.5 * widths[2]  # 3 h against 15 min


def test_history_without_a_trend_is_the_normal_band_alone() -> None:
    f = ZoneForecast()
    _history(f)
    out = f(NOW)
    assert out.basis == "normal"
    t, v, lo, hi = out.points[0]
    assert t - NOW == pytest.approx(900) and lo <= v <= hi
    assert ZoneForecast()(NOW).basis == "none" and ZoneForecast()(NOW).points == []


def test_live_samples_become_history_one_quarter_hour_at_a_time() -> None:
    f = ZoneForecast()
    for w in range(4, 0, -1):  # four earlier Saturdays, sampled every minute 20:00 to 23:00
        for m in range(180):
            f.add(NOW - w * WEEK - 3600 + 60 * m, 1.0 + 0.001 * m)
    # the last quarter-hour of the last day is still open: not in the band yet
    band = f.normal.band("density", NOW + 900)
    assert band is not None and band.n >= 4
    assert band.median == pytest.approx(1.0 + 0.001 * (60 + 15 + 7), abs=0.02)
