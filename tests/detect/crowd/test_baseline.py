from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from stadswacht.detect.crowd import NormalBand

AMS = ZoneInfo("Europe/Amsterdam")


def ts(d: datetime) -> float:
    return d.timestamp()


def test_band_depends_on_weekday_and_time_of_day() -> None:
    nb = NormalBand(slot_s=900)
    sat = datetime(2026, 11, 21, 22, 0, tzinfo=AMS)  # a Saturday night
    for week in range(1, 9):
        for day in range(7):
            t = sat - timedelta(days=7 * week - day)
            busy = 600.0 if t.weekday() == 5 else 100.0
            nb.add("leidseplein", ts(t), busy + week)
            nb.add("leidseplein", ts(t - timedelta(hours=10)), 20.0 + week)
    night = nb.band("leidseplein", ts(sat))
    morning = nb.band("leidseplein", ts(sat - timedelta(hours=10)))
    tuesday = nb.band("leidseplein", ts(sat - timedelta(days=4)))
    assert night is not None and morning is not None and tuesday is not None
    assert 600 < night.low < night.high < 610
    assert morning.high < 30
    assert tuesday.high < 110
    # 600 is normal on a Saturday night and an anomaly on a Tuesday night.
    assert nb.anomaly("leidseplein", ts(sat), 605.0) is None
    a = nb.anomaly("leidseplein", ts(sat - timedelta(days=4)), 605.0)
    assert a is not None and a.direction == "above" and a.score > 10
    low = nb.anomaly("leidseplein", ts(sat), 100.0)
    assert low is not None and low.direction == "below"


def test_no_band_without_history() -> None:
    nb = NormalBand()
    assert nb.band("x", 0.0) is None
    nb.add("x", 0.0, 5.0)
    assert nb.band("x", 0.0) is None  # fewer than min_n values
    assert nb.anomaly("x", 0.0, 1e6) is None
