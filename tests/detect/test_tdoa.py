"""TDOA localisation: exactness, efficiency against the Cramér-Rao bound, robustness to late
arrivals, geometry flags and input errors."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from stadswacht.detect.tdoa import closed_form, crlb, error_ellipse, locate_tdoa

C = 343.0
HEXAGON = np.array([[300.0 * math.cos(a), 300.0 * math.sin(a)] for a in np.arange(6) * math.pi / 3])


def arrivals(pos: np.ndarray, src: np.ndarray, t0: float = 0.0) -> np.ndarray:
    return t0 + np.hypot(*(pos - src).T) / C


@pytest.mark.parametrize("n", [3, 4, 6, 8])
def test_exact_on_noise_free_data(n: int) -> None:
    rng = np.random.default_rng(n)
    pos = rng.uniform(-400, 400, (n, 2))
    src = np.array([35.0, -60.0])
    fix = locate_tdoa(pos, arrivals(pos, src, 1_800_000_123.25), C)
    assert np.allclose(fix.xy, src, atol=1e-3)
    assert fix.emission_time == pytest.approx(1_800_000_123.25, abs=1e-6)
    assert fix.used == tuple(range(n)) and fix.rejected == ()
    assert np.max(np.abs(fix.residuals_s)) < 1e-6
    assert fix.converged


@pytest.mark.parametrize("n", [3, 5])
def test_closed_form_is_exact(n: int) -> None:
    pos = HEXAGON[:n]
    src = np.array([-80.0, 120.0])
    xy, t0 = closed_form(pos, arrivals(pos, src, 2.0), C)
    assert np.allclose(xy, src, atol=1e-6)
    assert t0 == pytest.approx(2.0, abs=1e-9)


def test_errors_are_close_to_the_cramer_rao_bound() -> None:
    rng = np.random.default_rng(7)
    ratios, inside = [], 0
    for _ in range(200):
        src = rng.uniform(-200, 200, 2)
        t = arrivals(HEXAGON, src) + rng.normal(0, 1e-3, 6)
        fix = locate_tdoa(HEXAGON, t, C, sigma_s=1e-3)
        bound = crlb(HEXAGON, src, C, 1e-3)
        err = fix.xy - src
        ratios.append(math.hypot(*err) / math.sqrt(np.trace(bound)))
        inside += float(err @ np.linalg.solve(fix.covariance, err)) <= 5.991
    # Efficient estimator, circular errors: median 0.83, p95 1.73.
    assert np.median(ratios) < 1.05
    assert np.percentile(ratios, 95) < 2.1
    # The reported covariance is honest: about 95 % of errors inside the 95 % ellipse.
    assert 0.9 <= inside / 200 <= 0.99


def test_covariance_matches_the_bound_at_the_estimate() -> None:
    src = np.array([50.0, 20.0])
    fix = locate_tdoa(HEXAGON, arrivals(HEXAGON, src), C, sigma_s=1e-3)
    assert np.allclose(fix.covariance, crlb(HEXAGON, src, C, 1e-3), rtol=1e-4)
    assert fix.gdop == pytest.approx(math.sqrt(np.trace(fix.covariance)) / (C * 1e-3))


@pytest.mark.parametrize("delayed", [(2,), (0, 4), (1, 3), (5,)])
def test_late_arrivals_are_found_and_dropped(delayed: tuple[int, ...]) -> None:
    rng = np.random.default_rng(sum(delayed))
    src = np.array([-40.0, 90.0])
    t = arrivals(HEXAGON, src) + rng.normal(0, 1e-3, 6)
    t[list(delayed)] += np.array([30.0, 45.0][: len(delayed)]) / C
    fix = locate_tdoa(HEXAGON, t, C)
    assert fix.rejected == delayed
    assert math.hypot(*(fix.xy - src)) < 2.0
    # The rejected sensors' residuals show their excess delay.
    assert np.all(fix.residuals_s[list(delayed)] > 25.0 / C)


def test_without_robustness_a_late_arrival_pulls_the_fix() -> None:
    src = np.array([-40.0, 90.0])
    t = arrivals(HEXAGON, src)
    t[2] += 40.0 / C
    plain = locate_tdoa(HEXAGON, t, C, robust=False)
    robust = locate_tdoa(HEXAGON, t, C)
    assert plain.rejected == () and not plain.converged
    assert math.hypot(*(plain.xy - src)) > 5.0 > math.hypot(*(robust.xy - src))


def test_sigma_can_be_estimated_from_the_residuals() -> None:
    rng = np.random.default_rng(3)
    pos = rng.uniform(-400, 400, (10, 2))
    src = np.array([10.0, 10.0])
    t = arrivals(pos, src) + rng.normal(0, 2e-3, 10)
    fix = locate_tdoa(pos, t, C, sigma_s=None, robust=False)
    assert 1e-3 < fix.sigma_s < 4e-3


def test_poor_geometry_is_flagged() -> None:
    line = np.column_stack([np.linspace(0, 900, 5), np.zeros(5)])
    collinear = locate_tdoa(line, arrivals(line, np.array([400.0, 150.0])), C)
    assert collinear.poor_geometry
    far_src = np.array([6000.0, 4000.0])
    far = locate_tdoa(HEXAGON, arrivals(HEXAGON, far_src), C)
    assert far.poor_geometry and far.ellipse.semi_major_m > 10 * far.ellipse.semi_minor_m
    good = locate_tdoa(HEXAGON, arrivals(HEXAGON, np.array([20.0, 30.0])), C)
    assert not good.poor_geometry and good.gdop < 2.0


def test_bad_input_is_refused_clearly() -> None:
    with pytest.raises(ValueError, match="at least 3 sensors"):
        locate_tdoa(HEXAGON[:2], [0.0, 0.1], C)
    with pytest.raises(ValueError, match="one time per sensor"):
        locate_tdoa(HEXAGON, [0.0, 0.1, 0.2], C)
    with pytest.raises(ValueError, match=r"\(n, 2\)"):
        locate_tdoa(np.zeros((4, 3)), np.zeros(4), C)
    with pytest.raises(ValueError, match="finite"):
        locate_tdoa(HEXAGON, [0.0, math.nan, 0, 0, 0, 0], C)
    with pytest.raises(ValueError, match="speed_of_sound"):
        locate_tdoa(HEXAGON, np.zeros(6), 0.0)
    with pytest.raises(ValueError, match="sigma_s"):
        locate_tdoa(HEXAGON, np.zeros(6), C, sigma_s=-1.0)


def test_ellipse_axes_and_bearing() -> None:
    # Major axis along north-east: 45 degrees clockwise from north.
    e = error_ellipse([[2.0, 1.0], [1.0, 2.0]])
    assert e.orientation_deg == pytest.approx(45.0)
    assert e.semi_major_m == pytest.approx(math.sqrt(5.991464547107979 * 3.0))
    assert e.semi_minor_m == pytest.approx(math.sqrt(5.991464547107979 * 1.0))
    assert error_ellipse([[1.0, 0.0], [0.0, 9.0]]).orientation_deg == pytest.approx(0.0)


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(4, 9),
    seed=st.integers(0, 2**32 - 1),
    sx=st.floats(-300, 300),
    sy=st.floats(-300, 300),
    t0=st.floats(0, 2e9),
)
def test_noise_free_fix_reproduces_the_arrivals(
    n: int, seed: int, sx: float, sy: float, t0: float
) -> None:
    rng = np.random.default_rng(seed)
    pos = rng.uniform(-500, 500, (n, 2))
    src = np.array([sx, sy])
    assume(np.min(np.hypot(*(pos - src).T)) > 5.0)
    bound = crlb(pos, src, C, 1e-3)
    assume(np.all(np.isfinite(bound)) and math.sqrt(np.trace(bound)) < 5.0)
    fix = locate_tdoa(pos, arrivals(pos, src, t0), C)
    # Epoch-scale times keep ~0.5 µs of precision in a float.
    assert np.max(np.abs(fix.residuals_s)) < 1e-5
    assert math.hypot(*(fix.xy - src)) < 0.05
