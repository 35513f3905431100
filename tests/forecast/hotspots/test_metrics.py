"""Hit rate, PAI, bootstrap intervals, log score and calibration on hand-computed cases."""

from __future__ import annotations

import numpy as np
import pytest

from stadswacht.forecast.hotspots import metrics


def test_hit_rate_and_pai_by_hand() -> None:
    # 10 cells; the top 10 % is cell 3, the top 20 % cells 3 and 7.
    f = np.array([[0.1, 0.2, 0.0, 0.9, 0.1, 0.3, 0.0, 0.5, 0.0, 0.0]])
    y = np.array([[1, 0, 0, 2, 0, 0, 1, 1, 0, 0]])
    hits = metrics.daily_hits(f, y, (0.1, 0.2, 1.0))
    assert hits.tolist() == [[2, 3, 5]]
    est, _, _ = metrics.pooled_bootstrap(hits, np.array([5]), n_boot=10)
    assert est.tolist() == [0.4, 0.6, 1.0]
    # PAI = hit rate / area fraction: 0.4 / 0.1 = 4, 0.6 / 0.2 = 3.
    assert est[0] / 0.1 == pytest.approx(4.0)
    assert est[1] / 0.2 == pytest.approx(3.0)


def test_pooling_weighs_days_by_their_events() -> None:
    hits = np.array([[1], [0]])
    events = np.array([1, 3])
    est, _, _ = metrics.pooled_bootstrap(hits, events, n_boot=10)
    assert est[0] == pytest.approx(0.25)  # not the mean of daily rates (0.5)


def test_ties_are_broken_by_lowest_cell_index() -> None:
    f = np.zeros((1, 4))
    y = np.array([[0, 0, 0, 5]])
    assert metrics.daily_hits(f, y, (0.25, 0.75)).tolist() == [[0, 0]]
    assert metrics.ranking(f).tolist() == [[0, 1, 2, 3]]


def test_flagged_count_rounds_and_keeps_one_cell() -> None:
    assert metrics.flagged_count(26_000, 0.05) == 1300
    assert metrics.flagged_count(30, 0.01) == 1
    with pytest.raises(ValueError, match="coverage"):
        metrics.flagged_count(10, 0.0)


def test_bootstrap_interval_contains_the_estimate() -> None:
    rng = np.random.default_rng(3)
    events = rng.poisson(20, 200)
    hits = rng.binomial(events, 0.3)[:, None]
    est, lo, hi = metrics.pooled_bootstrap(hits, events, n_boot=500, seed=1)
    assert lo[0] < est[0] < hi[0]
    assert hi[0] - lo[0] < 0.1


def test_paired_bootstrap_of_a_model_against_itself_is_zero() -> None:
    rng = np.random.default_rng(4)
    events = rng.poisson(10, 100)
    hits = rng.binomial(events, 0.4)[:, None]
    est, lo, hi = metrics.paired_bootstrap(hits, hits, events, n_boot=300)
    assert (est[0], lo[0], hi[0]) == (0.0, 0.0, 0.0)


def test_paired_bootstrap_detects_a_consistently_better_model() -> None:
    rng = np.random.default_rng(5)
    events = rng.poisson(10, 100)
    worse = rng.binomial(events, 0.3)
    better = np.minimum(worse + 1, events)
    est, lo, _ = metrics.paired_bootstrap(better[:, None], worse[:, None], events, n_boot=300)
    assert est[0] > 0 and lo[0] > 0


def test_log_score_is_the_poisson_log_likelihood() -> None:
    f = np.array([[2.0, 0.5]])
    y = np.array([[3, 0]])
    expected = 3 * np.log(2.0) - 2.0 - np.log(6.0) - 0.5
    assert metrics.poisson_log_score(f, y)[0] == pytest.approx(expected)
    # A cell forecast as impossible costs a large finite penalty, not -inf.
    assert np.isfinite(metrics.poisson_log_score(np.array([[0.0]]), np.array([[1]]))[0])


def test_calibration_of_a_perfect_forecast() -> None:
    rng = np.random.default_rng(6)
    mu = rng.gamma(0.5, 0.2, size=(200, 500))
    y = rng.poisson(mu)
    assert metrics.calibration_slope(mu, y) == pytest.approx(1.0, abs=0.03)
    mean_f, mean_o = metrics.reliability(mu, y)
    assert len(mean_f) == 10
    assert np.allclose(mean_f, mean_o, atol=0.01 + 0.1 * mean_f)
    # Too sharp a forecast (twice the contrast) has a slope below 1.
    sharp = mu.mean() + 2 * (mu - mu.mean())
    assert metrics.calibration_slope(sharp, y) == pytest.approx(0.5, abs=0.03)
