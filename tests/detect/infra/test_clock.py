"""Acoustic clocks from localisation residuals, and the rhythm and stuck checks' edges."""

from __future__ import annotations

import numpy as np

from stadswacht.detect.infra import Rhythm, StuckRun, leave_one_out_residuals, tdoa_clock_bias
from stadswacht.detect.tdoa import locate_tdoa

C = 340.0


def _fixes(offset_s: float, n: int, seed: int = 1, *, loo: bool = False) -> list[dict[str, float]]:
    """Locate ``n`` random shots with six sensors, sensor ``s3``'s clock ``offset_s`` late."""
    rng = np.random.default_rng(seed)
    sensors = np.array([[0, 0], [600, 0], [600, 500], [0, 500], [300, 700], [300, -200.0]])
    out = []
    for _ in range(n):
        src = rng.uniform([50, 50], [550, 450])
        arrivals = np.hypot(*(sensors - src).T) / C + rng.normal(0, 1e-4, len(sensors))
        arrivals[3] += offset_s
        ids = [f"s{i}" for i in range(len(sensors))]
        if loo:
            out.append(leave_one_out_residuals(ids, sensors, arrivals, C))
            continue
        fix = locate_tdoa(sensors, arrivals, C, sigma_s=1e-4, robust=False)
        out.append(dict(zip(ids, map(float, fix.residuals_s), strict=True)))
    return out


def test_a_sensor_with_a_late_clock_stands_out_over_many_localisations() -> None:
    biased = tdoa_clock_bias(_fixes(0.004, 12), times_s=[600.0 * k for k in range(12)])
    assert [b.sensor for b in biased] == ["s3"]
    assert biased[0].bias_s > 0.0015  # late; the fit absorbs part of it
    assert biased[0].n == 12
    # Left out of the fix, the sensor shows its whole error.
    (loo,) = tdoa_clock_bias(_fixes(0.004, 12, loo=True))
    assert loo.sensor == "s3" and abs(loo.bias_s - 0.004) < 0.0005


def test_good_clocks_are_not_reported() -> None:
    assert tdoa_clock_bias(_fixes(0.0, 30)) == []


def test_too_few_localisations_say_nothing() -> None:
    assert tdoa_clock_bias(_fixes(0.004, 3)) == []


def test_rhythm_ignores_event_messages_between_heartbeats() -> None:
    r = Rhythm()
    for k in range(12):
        r.heard(300.0 * k)
        if k % 3 == 0:
            r.heard(300.0 * k + 17.0)  # an impulse report
    assert r.interval_s() == 300.0


def test_a_stuck_run_needs_history_and_improbability() -> None:
    run = StuckRun()
    for k in range(20):
        run.add("same", float(k))
    assert not run.stuck()  # no history: nothing to judge against
    rng = np.random.default_rng(3)
    run = StuckRun()
    for k in range(100):
        run.add(str(int(rng.poisson(3))), float(k))
    for k in range(40):
        run.add("frozen", 100.0 + k)
    assert run.stuck() and run.run_start_s == 100.0
