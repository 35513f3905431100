"""The warning lifecycle of one threshold: levels, hysteresis, forecasts, kinds of threshold."""

from __future__ import annotations

import pytest

from stadswacht.detect.hazard.monitor import HazardMonitor
from stadswacht.detect.hazard.thresholds import Threshold, read_thresholds, threshold_from_dict
from stadswacht.errors import ConfigurationError

H = 3600.0


def level_threshold(**kw: object) -> Threshold:
    doc: dict[str, object] = {
        "id": "sch-level",
        "device": "sch-wg-01",
        "quantity": "water_level.level_cm_nap",
        "hazard": "flood",
        "levels": {"pre-warning": 200, "yellow": 220, "orange": 280, "red": 365},
        "hysteresis": 5,
        "update_interval_s": 0,
    }
    doc.update(kw)
    return Threshold.model_validate(doc)


def feed(m: HazardMonitor, values: list[float], step: float = H) -> list[tuple[str, str | None]]:
    out = []
    for i, v in enumerate(values):
        out += [(w.change, w.level_name) for w in m.observe(step * i, v)]
    return out


def test_levels_escalate_at_once_and_fall_only_past_the_hysteresis() -> None:
    m = HazardMonitor(level_threshold())
    changes = feed(m, [150, 205, 218, 290, 380, 362, 358, 216, 196, 150])
    assert changes == [
        ("issue", "pre-warning"),
        ("escalate", "orange"),  # 218 is below yellow: still pre-warning, then straight to orange
        ("escalate", "red"),
        # 362 < 365 but within the hysteresis: red holds; 358 is 7 below it
        ("deescalate", "orange"),
        ("deescalate", "pre-warning"),
        ("allclear", None),
    ]


def test_noise_around_a_level_does_not_flap() -> None:
    m = HazardMonitor(level_threshold())
    values = [221, 219, 222, 218, 221, 217, 220, 219]
    changes = feed(m, values)
    assert changes == [("issue", "yellow")]


def test_one_episode_keeps_its_id_and_counts_versions() -> None:
    m = HazardMonitor(level_threshold())
    warnings = [w for i, v in enumerate([230, 300, 230, 150]) for w in m.observe(H * i, v)]
    assert len({w.id for w in warnings}) == 1
    assert [w.version for w in warnings] == [1, 2, 3, 4]
    assert warnings[-1].level == -1 and warnings[-1].peak == 300
    again = m.observe(10 * H, 240)
    assert again[0].change == "issue" and again[0].id != warnings[0].id


def test_a_forecast_crossing_within_the_lead_time_warns_before_the_level_is_reached() -> None:
    m = HazardMonitor(level_threshold(forecast=True, lead_time_s=6 * H))
    now = 0.0
    forecast = [(now + k * H, 150 + 20 * k, 140 + 20 * k, 160 + 20 * k) for k in range(1, 9)]
    (w,) = m.observe(now, 150, forecast)
    # Within 6 h the forecast peaks at 150 + 120 = 270: yellow, first reached at 4 h (230);
    # orange (290 at 7 h) is beyond the lead time.
    assert (w.change, w.basis, w.level_name) == ("issue", "forecast", "yellow")
    assert (w.onset_s, w.peak, w.peak_s) == (4 * H, 270, 6 * H)
    assert w.probability > 0.99  # 50 cm above the level with an 80 % band of ±10 cm


def test_forecast_beyond_the_lead_time_is_not_a_warning() -> None:
    m = HazardMonitor(level_threshold(forecast=True, lead_time_s=2 * H))
    forecast = [(k * H, 150 + 20 * k, 140 + 20 * k, 160 + 20 * k) for k in range(1, 6)]
    assert m.observe(0.0, 150, forecast) == []  # 190 within 2 h; 200 only at 2.5 h


def test_a_warning_is_held_between_two_forecast_high_waters() -> None:
    m = HazardMonitor(level_threshold(forecast=True, lead_time_s=12 * H))
    m.observe(0.0, 230)  # yellow observed
    later = [(8 * H, 235, 225, 245)]
    assert m.observe(H, 150, later)[0].change == "update"  # now on the forecast
    assert m.level == 1
    assert m.observe(2 * H, 140, [])[0].change == "allclear"


def test_rate_of_rise_threshold_per_hour() -> None:
    t = level_threshold(id="rise", kind="rate", window_s=H, levels={"yellow": 30}, hysteresis=5)
    m = HazardMonitor(t)
    minutes = [(60.0 * k, 100 + 0.6 * k) for k in range(61)]  # 36 cm/h
    changes = [w for ts, v in minutes for w in m.observe(ts, v)]
    assert [w.change for w in changes] == ["issue"]
    assert changes[0].value == pytest.approx(36.0, abs=0.5)


def test_rain_sum_and_gust_maximum_over_their_windows() -> None:
    rain = HazardMonitor(threshold_from_dict({"id": "r", "device": "rg", "preset": "knmi:rain"}))
    got = [w for k in range(12) for w in rain.observe(300.0 * k, 2.5)]  # 30 mm in an hour
    assert [w.change for w in got] == ["issue"]
    assert got[0].value == pytest.approx(25.0)
    wind = HazardMonitor(threshold_from_dict({"id": "w", "device": "wx", "preset": "knmi:wind"}))
    assert wind.observe(0.0, 22.0)[0].level_name == "yellow"
    assert wind.observe(300.0, 10.0) == []  # the gust stays the window's maximum
    assert wind.observe(700.0, 10.0)[0].change == "allclear"


def test_updates_at_the_same_level_are_rate_limited() -> None:
    m = HazardMonitor(level_threshold(forecast=True, update_interval_s=900))
    m.observe(0.0, 150, [(H, 230, 220, 240)])
    assert m.observe(60.0, 150, [(H, 250, 240, 260)]) == []  # 1 min later: too soon
    (w,) = m.observe(1000.0, 150, [(H, 255, 245, 265)])
    assert w.change == "update" and w.peak == 255


def test_out_of_order_and_missing_values_are_ignored() -> None:
    m = HazardMonitor(level_threshold())
    m.observe(H, 230)
    assert m.observe(0.0, 400) == []
    assert m.observe(2 * H, float("nan")) == []
    assert m.level == 1


def test_presets_and_bad_threshold_files(tmp_path) -> None:  # type: ignore[no-untyped-def]
    f = tmp_path / "t.yaml"
    f.write_text(
        "thresholds:\n"
        "  - {id: hvh, device: hvh-wg, preset: 'rws:HOEKVHLD', forecast: true}\n"
        "  - {id: heat, device: wx-1, preset: 'knmi:heat'}\n"
    )
    hvh, heat = read_thresholds(f)
    assert [lv.value for lv in hvh.levels] == [200, 220, 280, 365]
    assert heat.kind == "maximum" and heat.levels[0].value == 30
    f.write_text(
        "- {id: x, device: d, quantity: water_level.level_cm_nap, hazard: flood,"
        " levels: {yellow: 220, orange: 200}}\n"
    )
    with pytest.raises(ConfigurationError, match=r"entry 1: levels: .*rise with severity"):
        read_thresholds(f)
    with pytest.raises(ConfigurationError, match="unknown preset 'rws:AMSTERDAM'"):
        threshold_from_dict({"id": "a", "device": "d", "preset": "rws:AMSTERDAM"})
