"""The runaway feedback loop of Ensign et al. (2018) and its corrections, seeded."""

from __future__ import annotations

import numpy as np
import pytest

from stadswacht.forecast.hotspots.feedback import simulate_feedback

RATES = [1.0, 0.8, 0.6, 0.4, 0.2]


def test_uncorrected_allocation_runs_away_from_the_true_rates() -> None:
    for seed in range(3):
        r = simulate_feedback(RATES, days=2000, seed=seed)
        assert r.drift > 0.2
        assert r.allocation_drift > 0.2
    top = simulate_feedback(RATES, days=2000, policy="top", reported_share=0.3)
    assert top.drift > 0.2  # the public's reports alone do not pull it back


def test_corrected_allocation_stays_with_the_true_rates() -> None:
    for seed in range(3):
        ipw = simulate_feedback(RATES, days=2000, correction="ipw", explore=0.1, seed=seed)
        assert ipw.drift < 0.06
        rep = simulate_feedback(
            RATES, days=2000, policy="top", correction="reported", reported_share=0.3, seed=seed
        )
        assert rep.drift < 0.05


def test_trajectories_have_one_row_per_day_and_sum_to_one() -> None:
    r = simulate_feedback([2.0, 1.0], days=50, patrols=1)
    assert r.estimate.shape == r.allocation.shape == (50, 2)
    assert np.allclose(r.estimate.sum(axis=1), 1.0)
    assert np.allclose(r.allocation.sum(axis=1), 1.0)
    assert r.true_share.tolist() == pytest.approx([2 / 3, 1 / 3])


def test_ipw_needs_a_random_policy() -> None:
    with pytest.raises(ValueError, match="proportional"):
        simulate_feedback(RATES, policy="top", correction="ipw")
