from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from stadswacht.detect.acoustic.classifier import CLASSES, MODEL_PATH, Classifier
from stadswacht.detect.acoustic.evaluation import auc
from stadswacht.detect.acoustic.features import FEATURE_NAMES, features
from stadswacht.detect.acoustic.synth import (
    synthesise_ambient,
    synthesise_fireworks,
    synthesise_gunshot,
)


@pytest.fixture(scope="module")
def shipped() -> Classifier:
    return Classifier.load()


def test_shipped_model_is_small_json_without_pickle() -> None:
    assert MODEL_PATH.stat().st_size < 1_000_000
    doc = json.loads(MODEL_PATH.read_text())
    assert doc["classes"] == list(CLASSES)
    assert doc["features"] == list(FEATURE_NAMES)


@pytest.mark.parametrize(
    ("rate", "length"), [(8000, 8000), (44100, 44100), (48000, 300), (11025, 5), (16000, 64000)]
)
def test_probabilities_cover_every_class_and_sum_to_one(
    shipped: Classifier, rate: int, length: int
) -> None:
    x = np.random.default_rng(length).standard_normal(length).astype(np.float32)
    p = shipped.probabilities(x, rate)
    assert list(p) == list(CLASSES)
    assert sum(p.values()) == pytest.approx(1.0, abs=1e-9)
    assert all(0.0 <= v <= 1.0 for v in p.values())


def test_silence_gets_probabilities_too(shipped: Classifier) -> None:
    p = shipped.probabilities(np.zeros(8000, dtype=np.float32), 8000)
    assert sum(p.values()) == pytest.approx(1.0)


def test_empty_snippet_is_refused(shipped: Classifier) -> None:
    with pytest.raises(ValueError, match="no samples"):
        shipped.probabilities(np.zeros(0, dtype=np.float32), 8000)


def test_features_do_not_see_gain_or_sample_rate() -> None:
    x = synthesise_gunshot(np.random.default_rng(3), 48000, duration_s=1.0, onset_s=0.1)
    from stadswacht.detect.acoustic.audio import resample

    at_48k = features(x, 48000)
    quieter = features(0.05 * x, 48000)
    at_8k = features(resample(x, 48000, 8000), 8000)
    assert np.allclose(at_48k, quieter)
    # Resampling twice differs from once only by the anti-aliasing filters' ripple.
    assert np.allclose(at_48k, at_8k, atol=0.5)


def test_shipped_model_tells_synthetic_fireworks_from_ambient(shipped: Classifier) -> None:
    rng = np.random.default_rng(21)
    fw = [shipped.probabilities(synthesise_fireworks(rng, 16000), 16000) for _ in range(12)]
    amb = [shipped.probabilities(synthesise_ambient(rng, 16000, 2.0), 16000) for _ in range(12)]
    p_fw = np.array([p["fireworks"] for p in fw])
    p_amb = np.array([p["fireworks"] for p in amb])
    assert auc(p_fw, p_amb) >= 0.9
    assert float(np.median(p_fw)) > 0.5


@pytest.mark.xfail(
    strict=True,
    reason="known gap: the shipped model learnt gunshots from real clips only and calls the "
    "simulator's gunshots fireworks (it keys on the simulator, not only on crackle and tails)",
)
def test_shipped_model_tells_synthetic_gunshot_from_fireworks(shipped: Classifier) -> None:
    rng = np.random.default_rng(22)
    guns = [shipped.probabilities(synthesise_gunshot(rng, 16000), 16000) for _ in range(12)]
    fw = [shipped.probabilities(synthesise_fireworks(rng, 16000), 16000) for _ in range(12)]
    p_gun = np.array([p["gunshot"] for p in guns])
    p_fw = np.array([p["gunshot"] for p in fw])
    assert auc(p_gun, p_fw) >= 0.8


def test_fit_save_load_round_trip(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    n = len(FEATURE_NAMES)
    x = np.vstack([rng.normal(k, 0.3, size=(30, n)) for k in range(len(CLASSES))])
    y = np.repeat(np.arange(len(CLASSES)), 30)
    model = Classifier.fit(x, y, seed=1, info={"note": "toy"})
    assert (np.argmax(model.predict(x), axis=1) == y).mean() > 0.95
    model.save(tmp_path / "m.json")
    again = Classifier.load(tmp_path / "m.json")
    assert again.info == {"note": "toy"}
    assert np.allclose(again.predict(x), model.predict(x), atol=1e-3)


def test_fit_needs_every_class() -> None:
    x = np.zeros((4, len(FEATURE_NAMES)))
    with pytest.raises(ValueError, match="fireworks"):
        Classifier.fit(x, np.array([0, 0, 2, 3]))


def test_load_refuses_other_files(tmp_path: Path) -> None:
    path = tmp_path / "other.json"
    path.write_text(json.dumps({"format": "something/1"}))
    with pytest.raises(ValueError, match=r"not a stadswacht\.acoustic\.forest/1 model"):
        Classifier.load(path)
