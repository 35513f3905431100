from __future__ import annotations

import numpy as np
import pytest

from stadswacht.detect.acoustic.onset import detect_impulses
from stadswacht.detect.acoustic.synth import (
    FIREWORK_KINDS,
    synthesise_ambient,
    synthesise_fireworks,
    synthesise_gunshot,
)


def test_same_seed_same_sound() -> None:
    a = synthesise_fireworks(np.random.default_rng(5), 16000)
    b = synthesise_fireworks(np.random.default_rng(5), 16000)
    assert np.array_equal(a, b)


@pytest.mark.parametrize("kind", list(FIREWORK_KINDS))
def test_every_kind_is_a_finite_sound_with_a_bang(kind: str) -> None:
    x = synthesise_fireworks(np.random.default_rng(6), 16000, kind=kind, onset_s=0.5)  # type: ignore[arg-type]
    assert x.shape == (64000,) and np.all(np.isfinite(x))
    assert float(np.max(np.abs(x))) == pytest.approx(0.5)
    assert detect_impulses(x, 16000)


def test_crackle_has_many_pops_a_gunshot_few() -> None:
    rng = np.random.default_rng(7)
    pops = shots = 0
    for _ in range(5):
        crackle = synthesise_fireworks(rng, 16000, kind="crackle", distance_m=50, snr_db=50)
        shot = synthesise_gunshot(rng, 16000, duration_s=4.0, distance_m=50, snr_db=50)
        pops += len(detect_impulses(crackle, 16000))
        shots += len(detect_impulses(shot, 16000))
    assert shots == 5
    assert pops >= 2 * shots


def test_distance_takes_the_high_frequencies() -> None:
    def centroid(x: np.ndarray) -> float:
        spec = np.abs(np.fft.rfft(x)) ** 2
        f = np.fft.rfftfreq(x.size, 1 / 16000)
        return float((spec * f).sum() / spec.sum())

    near = synthesise_gunshot(np.random.default_rng(8), 16000, distance_m=20, snr_db=60)
    far = synthesise_gunshot(np.random.default_rng(8), 16000, distance_m=800, snr_db=60)
    assert centroid(far) < centroid(near)


def test_ambient_has_the_asked_level_and_no_impulse() -> None:
    x = synthesise_ambient(np.random.default_rng(9), 8000, 3.0, level_dbfs=-30)
    assert 20 * np.log10(np.sqrt(np.mean(x.astype(float) ** 2))) == pytest.approx(-30, abs=0.1)
