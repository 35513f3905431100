from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from stadswacht.detect.acoustic.audio import read_audio
from stadswacht.detect.acoustic.classifier import CLASSES, Classifier, combine
from stadswacht.detect.acoustic.cnn import (
    WEIGHTS_PATH,
    CnnEnsemble,
    impulse_window,
    logmel,
)
from stadswacht.detect.acoustic.features import loudest_window

# Written by research/gunshot-cnn/export.py from synthetic snippets with the torch code that
# trained the networks: the snippets, torch's log-mel of each and the networks' outputs.
REFERENCE = Path(__file__).parents[2] / "fixtures" / "acoustic" / "cnn_reference.npz"
REAL_AUDIO = (
    Path(os.environ.get("STADSWACHT_DATA", Path(__file__).resolve().parents[4] / "shared" / "data"))
    / "audio"
)


@pytest.fixture(scope="module")
def ensemble() -> CnnEnsemble:
    return CnnEnsemble.load()


@pytest.fixture(scope="module")
def reference() -> dict[str, np.ndarray]:
    with np.load(REFERENCE, allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


def _cases(ref: dict[str, np.ndarray]) -> list[tuple[str, np.ndarray, int]]:
    return [
        (str(name), ref[f"snippet_{j}"], int(ref["rate"][j])) for j, name in enumerate(ref["names"])
    ]


def test_shipped_weights_are_small_and_load_without_pickle(ensemble: CnnEnsemble) -> None:
    assert WEIGHTS_PATH.stat().st_size < 1_000_000
    with np.load(WEIGHTS_PATH, allow_pickle=False) as z:
        assert int(z["n_models"]) == len(ensemble.nets) == 3
    assert sum(w.size for w in ensemble.nets[0].conv_w) + ensemble.nets[0].dense_w.size > 60_000


def test_front_end_matches_the_torch_training_code(reference: dict[str, np.ndarray]) -> None:
    for j, (name, snippet, rate) in enumerate(_cases(reference)):
        mel = logmel(impulse_window(snippet, rate))
        assert mel.shape == reference["logmel"][j].shape == (64, 101), name
        np.testing.assert_allclose(mel, reference["logmel"][j], atol=1e-4, err_msg=name)


def test_forward_matches_each_torch_network(
    ensemble: CnnEnsemble, reference: dict[str, np.ndarray]
) -> None:
    for j, net in enumerate(ensemble.nets):
        one = CnnEnsemble(nets=(net,))
        np.testing.assert_allclose(
            one.forward(reference["logmel"]), reference["p_models"][:, j], atol=1e-5
        )
    np.testing.assert_allclose(ensemble.forward(reference["logmel"]), reference["p"], atol=1e-5)


def test_snippet_to_score_matches_torch(
    ensemble: CnnEnsemble, reference: dict[str, np.ndarray]
) -> None:
    got = [ensemble.p_gunshot(s, r) for _, s, r in _cases(reference)]
    np.testing.assert_allclose(got, reference["p"], atol=1e-4)


def test_single_and_batched_inputs_agree(
    ensemble: CnnEnsemble, reference: dict[str, np.ndarray]
) -> None:
    batch = ensemble.forward(reference["logmel"])
    single = [ensemble.forward(m)[0] for m in reference["logmel"]]
    np.testing.assert_allclose(single, batch, atol=1e-6)


@pytest.mark.skipif(not REAL_AUDIO.is_dir(), reason="no ../shared/data/audio")
def test_real_gunshots_score_above_real_door_slams(ensemble: CnnEnsemble) -> None:
    # The licences of the real clips do not allow copying them into the repository, so this
    # runs only beside the shared data. The shipped networks were trained on these clips.
    def score(rel: str) -> float:
        x, rate = read_audio(REAL_AUDIO / rel)
        return ensemble.p_gunshot(loudest_window(x, rate), rate)

    guns = [
        score("belize_gunshot/gunshot_0.wav"),
        score("freesound_gunshot/234305__paulnorthyorks__gunshot.wav"),
    ]
    slams = [
        score("dcase2016_impulsive/doorslam001.wav"),
        score("dcase2016_impulsive/doorslam002.wav"),
    ]
    assert min(guns) > 0.5 > max(slams)


def test_classifier_combines_cnn_and_forest_by_the_chain_rule(
    ensemble: CnnEnsemble, reference: dict[str, np.ndarray]
) -> None:
    shipped = Classifier.load()
    forest = Classifier.load(cnn=False)
    assert shipped.cnn is not None and forest.cnn is None
    for _, snippet, rate in _cases(reference):
        p = shipped.probabilities(snippet, rate)
        q = forest.probabilities(snippet, rate)
        c = ensemble.p_gunshot(snippet, rate)
        assert list(p) == list(CLASSES)
        assert sum(p.values()) == pytest.approx(1.0, abs=1e-9)
        assert p["fireworks"] == pytest.approx(q["fireworks"])
        assert p["gunshot"] == pytest.approx((1.0 - q["fireworks"]) * c)
        rest = q["impulsive_other"] + q["background"]
        for k in ("impulsive_other", "background"):
            assert p[k] == pytest.approx((1.0 - q["fireworks"]) * (1.0 - c) * q[k] / rest)


def test_what_the_forest_takes_for_fireworks_is_not_called_a_gunshot() -> None:
    # The CNN never heard fireworks: a confident forest keeps P(gunshot) low whatever it says.
    p = combine(np.array([[0.05, 0.9, 0.03, 0.02], [0.3, 0.0, 0.0, 0.7]]), np.array([0.95, 0.9]))
    np.testing.assert_allclose(p.sum(axis=1), 1.0)
    assert p[0, 0] == pytest.approx(0.095) and p[0, 1] == pytest.approx(0.9)
    assert p[1, 0] == pytest.approx(0.9) and p[1, 3] == pytest.approx(0.1)


def test_combine_splits_the_rest_equally_when_the_forest_gives_it_nothing() -> None:
    p = combine(np.array([1.0, 0.0, 0.0, 0.0]), 0.6)
    np.testing.assert_allclose(p, [0.6, 0.0, 0.2, 0.2])


@pytest.mark.parametrize(
    ("mel", "error", "match"),
    [
        (np.zeros((63, 101), dtype=np.float32), ValueError, r"shape \(64, frames\)"),
        (np.zeros((2, 3, 64, 101), dtype=np.float32), ValueError, "got shape"),
        (np.zeros((64, 8), dtype=np.float32), ValueError, "frames >= 16"),
        (np.zeros((64, 101), dtype=np.int16), TypeError, "floating point"),
    ],
)
def test_bad_log_mel_input_is_refused_clearly(
    ensemble: CnnEnsemble, mel: np.ndarray, error: type[Exception], match: str
) -> None:
    with pytest.raises(error, match=match):
        ensemble.forward(mel)


@pytest.mark.parametrize(
    ("snippet", "rate", "error", "match"),
    [
        (np.zeros(0, dtype=np.float32), 8000, ValueError, "no samples"),
        (np.zeros((8000, 2), dtype=np.float32), 8000, ValueError, "mono"),
        (np.full(100, np.nan), 8000, ValueError, "NaN"),
        (np.zeros(100, dtype=np.complex64), 8000, TypeError, "real samples"),
        (np.zeros(100), 0, ValueError, "sample_rate"),
    ],
)
def test_bad_snippet_is_refused_clearly(
    ensemble: CnnEnsemble, snippet: np.ndarray, rate: int, error: type[Exception], match: str
) -> None:
    with pytest.raises(error, match=match):
        ensemble.p_gunshot(snippet, rate)


def test_a_file_that_is_not_a_weight_file_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "other.npz"
    np.savez(bad, x=np.zeros(3))
    with pytest.raises(ValueError, match="not a valid"):
        CnnEnsemble.load(bad)
