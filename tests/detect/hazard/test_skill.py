"""Warning skill: contingency table, scores, block-bootstrap intervals, lead times, plot."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from stadswacht.detect.hazard.skill import (
    Contingency,
    block_bootstrap,
    contingency,
    critical_success_index,
    event_lead_times,
    false_alarm_ratio,
    frequency_bias,
    mean_lead_time,
    plot_skill,
    probability_of_detection,
    threshold_for_unit_bias,
    warning_skill,
)

HOUR = 3600.0


def test_contingency_table_counted_by_hand() -> None:
    #                  hit  hit  miss false cn   cn   miss false hit
    warned = np.array([1, 1, 0, 1, 0, 0, 0, 1, 1], bool)
    observed = np.array([1, 1, 1, 0, 0, 0, 1, 0, 1], bool)
    c = contingency(warned, observed)
    assert c == Contingency(hits=3, misses=2, false_alarms=2, correct_negatives=2)
    assert c.pod == pytest.approx(3 / 5)
    assert c.far == pytest.approx(2 / 5)
    assert c.csi == pytest.approx(3 / 7)
    assert c.bias == pytest.approx(5 / 5)


def test_score_formulas_and_undefined_cases() -> None:
    assert probability_of_detection(6, 2) == pytest.approx(0.75)
    assert false_alarm_ratio(6, 4) == pytest.approx(0.4)
    assert critical_success_index(6, 2, 4) == pytest.approx(0.5)
    assert frequency_bias(6, 2, 4) == pytest.approx(10 / 8)
    assert math.isnan(probability_of_detection(0, 0))  # no events
    assert math.isnan(false_alarm_ratio(0, 0))  # no warnings
    assert math.isnan(critical_success_index(0, 0, 0))
    assert frequency_bias(0, 3, 0) == 0.0


def test_contingency_rejects_unpaired_arrays() -> None:
    with pytest.raises(ValueError, match="same shape"):
        contingency(np.zeros(3, bool), np.zeros(4, bool))


def test_threshold_for_unit_bias_warns_as_often_as_the_level_is_reached() -> None:
    rng = np.random.default_rng(0)
    obs = rng.normal(100, 40, 5000)
    forecast = 0.7 * obs + rng.normal(0, 10, 5000)  # damped: too few warnings at the level
    raw = contingency(forecast >= 180, obs >= 180)
    thr = threshold_for_unit_bias(forecast, obs, 180)
    tuned = contingency(forecast >= thr, obs >= 180)
    assert raw.bias < 0.2
    assert thr < 180
    assert tuned.bias == pytest.approx(1.0)
    assert threshold_for_unit_bias(forecast, obs, 1e6) == 1e6  # never reached


def _storms(days: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Hourly pairs: 6-hour events every ~20 days, warned with some misses and false alarms."""
    rng = np.random.default_rng(seed)
    n = 24 * days
    observed = np.zeros(n, bool)
    for start in rng.choice(n - 6, size=max(days // 20, 1), replace=False):
        observed[start : start + 6] = True
    noise = rng.random(n)
    warned = (observed & (noise > 0.4)) | (~observed & (noise > 0.995))
    return HOUR * np.arange(n), warned, observed


def test_bootstrap_interval_contains_the_estimate_and_narrows_with_more_data() -> None:
    widths = []
    for days in (400, 4000):
        times, warned, observed = _storms(days, seed=days)
        obs_level = np.where(observed, 250.0, 100.0)
        fc_level = np.where(warned, 250.0, 100.0)
        skill = warning_skill(times, fc_level, obs_level, level=220.0, n_boot=400, seed=1)
        for name in ("csi", "pod", "far", "bias"):
            lo, hi = skill.intervals[name]
            assert lo <= skill.score(name) <= hi
        widths.append(skill.intervals["csi"][1] - skill.intervals["csi"][0])
    assert widths[1] < 0.6 * widths[0]


def test_block_bootstrap_keeps_hours_of_a_block_together() -> None:
    # One 6 h event inside one 72 h block: a resample holds all of it or none of it,
    # so POD is exactly 0.5 or undefined, never anything else.
    times = HOUR * np.arange(24 * 30)
    observed = np.zeros(times.size, bool)
    observed[100:106] = True
    warned = observed.copy()
    warned[103:106] = False
    boot = block_bootstrap(times, warned, observed, block_h=72.0, n_boot=200)
    pod = boot["pod"][np.isfinite(boot["pod"])]
    assert pod.size > 0 and np.allclose(pod, 0.5)


def test_warning_skill_skips_missing_pairs_and_uses_the_threshold() -> None:
    times = HOUR * np.arange(6)
    fc = np.array([210.0, 230.0, np.nan, 215.0, 100.0, 225.0])
    obs = np.array([225.0, 226.0, 240.0, np.nan, 100.0, 100.0])
    at_level = warning_skill(times, fc, obs, level=220.0, lead_h=6, n_boot=50)
    assert at_level.table == Contingency(1, 1, 1, 1)
    assert at_level.lead_h == 6 and at_level.threshold == 220.0
    lowered = warning_skill(times, fc, obs, level=220.0, threshold=205.0, n_boot=50)
    assert lowered.table == Contingency(2, 0, 1, 1)


def test_lead_time_of_an_event_is_the_longest_lead_that_warned_for_its_onset() -> None:
    observed = np.zeros(40, bool)
    observed[20:23] = True  # event 1, onset hour 20
    observed[30:31] = True  # event 2, onset hour 30: never warned
    leads = [1, 6, 12]
    warned = np.zeros((40, 3), bool)
    warned[19, 0] = True  # issued 1 h before onset
    warned[14, 1] = True  # issued 6 h before onset
    warned[15, 1] = True  # issued 6 h before hour 21: not the onset, ignored
    warned[29 - 12, 2] = True  # 12 h before hour 29, not an onset
    lead = event_lead_times(observed, warned, leads)
    assert lead[0] == 6.0
    assert math.isnan(lead[1])
    mean, (lo, hi) = mean_lead_time(np.array([6.0, np.nan, 12.0, 3.0]), n_boot=200)
    assert mean == pytest.approx(7.0)
    assert 3.0 <= lo <= mean <= hi <= 12.0
    assert math.isnan(mean_lead_time(np.array([np.nan]))[0])


def test_plot_skill_writes_a_png(tmp_path: Path) -> None:
    times, warned, observed = _storms(400, seed=2)
    obs = np.where(observed, 250.0, 100.0)
    rows = {
        name: [
            warning_skill(times, np.where(w, 250.0, 100.0), obs, 220.0, lead_h=lead, n_boot=50)
            for lead in (1, 6)
        ]
        for name, w in (("model", warned), ("baseline", warned & (times % 2 == 0)))
    }
    out = plot_skill(rows, tmp_path / "skill.png", title="test")
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
