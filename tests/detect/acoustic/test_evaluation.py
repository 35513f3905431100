from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from stadswacht.detect.acoustic.classifier import CLASSES
from stadswacht.detect.acoustic.dataset import load_clips
from stadswacht.detect.acoustic.evaluation import (
    auc,
    heldout_scores,
    recall_at_fpr,
    training_set,
)
from stadswacht.detect.acoustic.features import FEATURE_NAMES
from stadswacht.detect.acoustic.synth import synthesise_ambient, synthesise_gunshot

REAL_AUDIO = (
    Path(os.environ.get("STADSWACHT_DATA", Path(__file__).resolve().parents[4] / "shared" / "data"))
    / "audio"
)


def test_auc_counts_ties_half() -> None:
    assert auc(np.array([1.0, 1.0]), np.array([1.0, 0.0])) == 0.75


def test_recall_at_one_percent_allows_one_false_positive_in_a_hundred_and_thirty() -> None:
    neg = np.linspace(0.0, 0.5, 130)
    neg[-1] = 0.95  # one loud negative may score above the threshold
    pos = np.array([0.96, 0.9, 0.6, 0.4])
    recall, threshold = recall_at_fpr(pos, neg)
    assert threshold == pytest.approx(neg[-2])
    assert recall == 0.75


def test_recall_at_fpr_when_no_negative_may_pass() -> None:
    recall, threshold = recall_at_fpr(np.array([0.9, 0.2]), np.array([0.5, 0.1]))
    assert threshold == 0.5 and recall == 0.5


def _write_layout(root: Path) -> None:
    rng = np.random.default_rng(0)
    for folder in (
        "belize_gunshot",
        "belize_background",
        "freesound_gunshot",
        "dcase2016_impulsive",
        "outdoor_confusers",
    ):
        (root / folder).mkdir(parents=True)
    for i in range(3):
        sf.write(
            root / f"belize_gunshot/gunshot_{i}.wav",
            synthesise_gunshot(rng, 8000, duration_s=4.0, distance_m=400),
            8000,
        )
        sf.write(
            root / f"belize_background/no_gunshot_{i}.wav", synthesise_ambient(rng, 8000, 4.0), 8000
        )
    for name in ("1001__a__shot.wav", "1002__b__shot.wav"):
        shot = synthesise_gunshot(rng, 44100, duration_s=1.0, distance_m=20, snr_db=60)
        sf.write(root / "freesound_gunshot" / name, np.c_[shot, shot], 44100)
    for name in ("doorslam001.wav", "knock001.wav"):
        x = np.zeros(22050)
        x[2000:2400] = np.exp(-np.arange(400) / 60) * np.sin(np.arange(400) * 0.3)
        sf.write(root / "dcase2016_impulsive" / name, x, 44100)
    sf.write(root / "outdoor_confusers/thunder-1.wav", synthesise_ambient(rng, 11025, 2.0), 11025)


def test_groups_follow_recording_sources(tmp_path: Path) -> None:
    _write_layout(tmp_path)
    clips = load_clips(tmp_path)
    groups = {c.name: c.group for c in clips}
    assert groups["1001__a__shot.wav"] == "freesound:1001"
    assert groups["doorslam001.wav"] == "dcase:doorslam"
    assert all(groups[f"gunshot_{i}.wav"].startswith("belize:env") for i in range(3))
    assert {c.label for c in clips if c.folder == "outdoor_confusers"} == {None}
    assert all(c.snippet.size <= c.sample_rate for c in clips)


def test_heldout_scores_report_every_row(tmp_path: Path) -> None:
    _write_layout(tmp_path)
    r = heldout_scores(tmp_path, n_synthetic=6, n_estimators=5, leave_one_clip_out=True)
    assert r["n_gunshot"] == 5 and r["n_other"] == 6
    assert 0.0 <= r["auc"] <= 1.0 and 0.0 <= r["recall_at_1pct_fpr"] <= 1.0
    assert r["fireworks_simulated"]["note"].startswith("simulated")
    assert r["fireworks_simulated"]["n"] == 6
    assert 0.0 <= r["baseline_rf8"]["auc"] <= 1.0
    assert set(r["per_source"]) >= {"belize_gunshot", "freesound_gunshot", "dcase:knock"}
    assert r["leave_one_clip_out"]["note"].startswith("leave one clip out")
    assert 0.0 <= r["leave_one_clip_out"]["auc"] <= 1.0


def test_training_set_is_the_real_clips_as_recorded_plus_synthetic_fireworks(
    tmp_path: Path,
) -> None:
    _write_layout(tmp_path)
    clips = load_clips(tmp_path)
    x, y = training_set(clips, n_synthetic=5)
    trainable = [c for c in clips if c.label is not None]
    assert x.shape == (len(trainable) + 5, len(FEATURE_NAMES))
    assert list(y[: len(trainable)]) == [CLASSES.index(str(c.label)) for c in trainable]
    assert set(y[len(trainable) :].tolist()) == {CLASSES.index("fireworks")}


def test_missing_data_folder_says_what_to_give(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="shared/data/audio"):
        load_clips(tmp_path)


@pytest.mark.skipif(not REAL_AUDIO.is_dir(), reason=f"real audio data not at {REAL_AUDIO}")
def test_real_clips_are_grouped_by_source() -> None:
    clips = load_clips(REAL_AUDIO)
    assert sum(c.label == "gunshot" for c in clips) == 74
    freesound = {c.group for c in clips if c.folder == "freesound_gunshot"}
    assert len(freesound) == 14
    belize = {c.group for c in clips if c.folder.startswith("belize")}
    assert 2 <= len(belize) <= 6
