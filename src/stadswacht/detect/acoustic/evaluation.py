"""Held-out evaluation on the real clips, split by recording source, never by clip.

:func:`heldout_scores` leaves one recording source out at a time (see
:mod:`~stadswacht.detect.acoustic.dataset` for the groups), trains on the rest plus
synthetic fireworks, and scores the left-out clips; the outdoor confusers are never trained
on and are scored by the model trained on every trainable clip. Figures are gunshot against
every other real class. The fireworks row scores real held-out gunshots against fireworks
from :func:`~stadswacht.detect.acoustic.synth.synthesise_fireworks` drawn with a seed the
training never used and mixed into the real Belize backgrounds: it is simulated, and the
simulator is the same one the model learnt from, so it is optimistic.

The baseline re-implements the one in ``../shared/data/README.md``: a random forest on 8
simple whole-clip features, scored the same way. Both are also scored on a random split by
clip (``clip_split_comparison``), only to show how much a split that lets a recording source
sit on both sides flatters the figures.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from stadswacht.detect.acoustic.audio import WORKING_RATE, resample
from stadswacht.detect.acoustic.classifier import CLASSES, Classifier
from stadswacht.detect.acoustic.dataset import Clip, load_clips
from stadswacht.detect.acoustic.features import features
from stadswacht.detect.acoustic.synth import synthesise_fireworks

__all__ = [
    "auc",
    "baseline_features",
    "heldout_scores",
    "recall_at_fpr",
    "synthetic_fireworks",
    "training_set",
]

TRAIN_SEED = 20261125
"""Seed of everything random in training (synthetic fireworks, noise mixing, the forest)."""
EVAL_FIREWORKS_SEED = 7
"""Seed of the synthetic fireworks the fireworks row is scored on (never trained on)."""
N_SYNTHETIC = 120
"""Synthetic fireworks in a training set, and in the evaluation set."""
AUGMENT_SNR_DB = (10.0, 35.0)
"""Peak-to-noise ratios [dB] at which synthetic fireworks are mixed into real field
background, so the simulator's own ambient noise is not what marks a sound as fireworks."""


def auc(pos: NDArray[np.float64], neg: NDArray[np.float64]) -> float:
    """Area under the ROC curve: P(positive scores above negative), ties count half.

    >>> auc(np.array([0.9, 0.8]), np.array([0.1, 0.8]))
    0.875
    """
    diff = pos[:, None] - neg[None, :]
    return float(np.mean((diff > 0) + 0.5 * (diff == 0)))


def recall_at_fpr(
    pos: NDArray[np.float64], neg: NDArray[np.float64], fpr: float = 0.01
) -> tuple[float, float]:
    """Recall at the lowest threshold whose false-positive rate is at most ``fpr``.

    With ``n`` negatives, ``floor(fpr * n)`` of them may score above the threshold; a
    positive counts as found when it scores strictly above it.

    Returns
    -------
    recall, threshold

    >>> recall_at_fpr(np.array([0.9, 0.7, 0.5]), np.array([0.1, 0.2, 0.6]), fpr=0.01)
    (0.6666666666666666, 0.6)
    """
    allowed = math.floor(fpr * neg.size + 1e-9)
    ordered = np.sort(neg)[::-1]
    threshold = float(ordered[allowed]) if allowed < ordered.size else -math.inf
    return float(np.mean(pos > threshold)), threshold


def _bootstrap(
    pos: NDArray[np.float64], neg: NDArray[np.float64], rng: np.random.Generator, n: int = 1000
) -> dict[str, list[float]]:
    aucs, recalls = [], []
    for _ in range(n):
        p = pos[rng.integers(0, pos.size, pos.size)]
        q = neg[rng.integers(0, neg.size, neg.size)]
        aucs.append(auc(p, q))
        recalls.append(recall_at_fpr(p, q)[0])
    return {
        "auc_95ci": [round(float(v), 4) for v in np.percentile(aucs, [2.5, 97.5])],
        "recall_at_1pct_fpr_95ci": [
            round(float(v), 4) for v in np.percentile(recalls, [2.5, 97.5])
        ],
    }


def synthetic_fireworks(
    seed: int, n: int = N_SYNTHETIC, noises: Sequence[NDArray[np.float64]] = ()
) -> list[NDArray[np.float32]]:
    """``n`` synthetic fireworks at the working rate, each cut to 1 s around its loudest bang.

    With ``noises`` (real background recordings at the working rate), each firework is
    synthesised nearly clean and mixed into one of them at :data:`AUGMENT_SNR_DB`, so that
    the simulator's own ambient noise is not what marks a sound as fireworks.

    >>> [f.shape for f in synthetic_fireworks(0, n=2)]
    [(8000,), (8000,)]
    """
    from stadswacht.detect.acoustic.features import loudest_window

    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        x = synthesise_fireworks(rng, WORKING_RATE, snr_db=60.0 if noises else None)
        y = _mix(rng, x, WORKING_RATE, noises) if noises else x
        out.append(loudest_window(y, WORKING_RATE))
    return out


def _mix(
    rng: np.random.Generator,
    x: NDArray[np.float32],
    rate: int,
    noises: Sequence[NDArray[np.float64]],
) -> NDArray[np.float64]:
    y = resample(x, rate, WORKING_RATE).astype(np.float64)
    noise = noises[int(rng.integers(len(noises)))]
    start = int(rng.integers(0, max(1, noise.size - y.size)))
    seg = noise[start : start + y.size]
    seg = np.pad(seg, (0, y.size - seg.size))
    rms = math.sqrt(float(np.mean(seg**2))) + 1e-12
    snr = float(rng.uniform(*AUGMENT_SNR_DB))
    gain = float(np.max(np.abs(y))) / rms * 10.0 ** (-snr / 20.0)
    return np.asarray(y + gain * seg, dtype=np.float64)


def training_set(
    clips: Sequence[Clip],
    *,
    seed: int = TRAIN_SEED,
    n_synthetic: int = N_SYNTHETIC,
    clip_features: Callable[[Clip], NDArray[np.float64]] | None = None,
) -> tuple[NDArray[np.float64], NDArray[np.int64]]:
    """Features and class indices for training on ``clips`` (evaluation-only ones skipped).

    Adds ``n_synthetic`` synthetic fireworks mixed into the Belize background clips of
    ``clips`` at :data:`AUGMENT_SNR_DB`. The real clips are used as recorded: mixing the
    clean ones (Freesound, DCASE) or synthetic gunshots into Belize backgrounds lowered the
    held-out figures in every variant tried (see ``scripts/train_acoustic.py``), so it is
    not done. ``clip_features`` gives a clip's features (default: computed from its
    snippet), so that the folds of an evaluation can share them.
    """
    train = [c for c in clips if c.label is not None]
    noises = [
        resample(c.whole, c.sample_rate, WORKING_RATE).astype(np.float64)
        for c in train
        if c.folder == "belize_background"
    ]
    of = clip_features or (lambda c: features(c.snippet, c.sample_rate))
    rows = [of(c) for c in train]
    labels = [CLASSES.index(c.label) for c in train if c.label is not None]
    for f in synthetic_fireworks(seed, n_synthetic, noises):
        rows.append(features(f, WORKING_RATE))
        labels.append(CLASSES.index("fireworks"))
    return np.array(rows), np.array(labels, dtype=np.int64)


def baseline_features(x: NDArray[np.floating], sample_rate: int) -> NDArray[np.float64]:
    """8 simple whole-clip features at the working rate: RMS and peak level [dBFS], crest
    factor [dB], zero-crossing rate, spectral centroid, bandwidth, 85% roll-off [kHz] and
    flatness.

    >>> baseline_features(np.sin(np.arange(8000) * 0.5), 8000).shape
    (8,)
    """
    y = resample(x, sample_rate, WORKING_RATE).astype(np.float64)
    y = y - y.mean()
    rms = math.sqrt(float(np.mean(y**2))) + 1e-12
    peak = float(np.max(np.abs(y))) + 1e-12
    spec = np.abs(np.fft.rfft(y)) ** 2 + 1e-20
    f = np.fft.rfftfreq(y.size, 1.0 / WORKING_RATE) / 1000.0
    centroid = float((spec * f).sum() / spec.sum())
    bandwidth = math.sqrt(float((spec * (f - centroid) ** 2).sum() / spec.sum()))
    rolloff = float(f[int(np.searchsorted(np.cumsum(spec), 0.85 * spec.sum()))])
    flatness = float(np.exp(np.mean(np.log(spec))) / np.mean(spec))
    zcr = float(np.mean(np.abs(np.diff(np.signbit(y).astype(np.int8)))))
    return np.array(
        [
            20 * math.log10(rms),
            20 * math.log10(peak),
            20 * math.log10(peak / rms),
            zcr,
            centroid,
            bandwidth,
            rolloff,
            flatness,
        ]
    )


def _figures(
    pos: NDArray[np.float64], neg: NDArray[np.float64], rng: np.random.Generator
) -> dict[str, Any]:
    recall, threshold = recall_at_fpr(pos, neg)
    return {
        "auc": round(auc(pos, neg), 4),
        "recall_at_1pct_fpr": round(recall, 4),
        "threshold": round(threshold, 4),
        "false_positives_allowed": math.floor(0.01 * neg.size + 1e-9),
        **_bootstrap(pos, neg, rng),
    }


def _grouped_scores(
    clips: Sequence[Clip],
    score: Callable[[Sequence[Clip], Sequence[Clip]], NDArray[np.float64]],
    groups: Sequence[str],
) -> NDArray[np.float64]:
    """Score each clip by a model trained without its group (``groups[i]`` for
    ``clips[i]``); evaluation-only clips by a model trained on every trainable clip."""
    out = np.full(len(clips), np.nan)
    trainable = [c for c in clips if c.label is not None]
    for g in sorted({g for g, c in zip(groups, clips, strict=True) if c.label is not None}):
        held = [i for i, c in enumerate(clips) if groups[i] == g and c.label is not None]
        rest = [c for i, c in enumerate(clips) if groups[i] != g and c.label is not None]
        out[held] = score(rest, [clips[i] for i in held])
    only_eval = [i for i, c in enumerate(clips) if c.label is None]
    if only_eval:
        out[only_eval] = score(trainable, [clips[i] for i in only_eval])
    return out


def heldout_scores(
    audio_dir: Path,
    *,
    seed: int = TRAIN_SEED,
    n_synthetic: int = N_SYNTHETIC,
    n_estimators: int | None = None,
    leave_one_clip_out: bool = False,
) -> dict[str, Any]:
    """Leave-one-source-out figures of the classifier and of the baseline on the real clips.

    Parameters
    ----------
    audio_dir
        The real data, laid out as ``../shared/data/audio``.
    seed
        Seed of training.
    n_synthetic
        Synthetic fireworks in each training set and in the fireworks row.
    n_estimators
        Trees in each forest, ours and the baseline's; ``None``: the shipped sizes (fewer
        only for quick checks of the pipeline, not for figures).
    leave_one_clip_out
        Also score every clip by models trained on all other clips (``leave_one_clip_out``
        row, about 400 more fits): a split that lets a recording source sit on both
        sides, reported only to show what the grouping costs.

    Returns
    -------
    dict
        ``auc``, ``recall_at_1pct_fpr`` (gunshot against every other real class, at the
        threshold where at most 1% of negatives score above it), ``n_gunshot``, ``n_other``,
        bootstrap 95% intervals (clips resampled), ``belize_only`` (Belize gunshots against
        Belize background), ``per_source`` (per folder: n, mean P(gunshot), fraction above
        the threshold), ``fireworks_simulated``, ``baseline_rf8``, ``clip_split_comparison``
        and, when asked, ``leave_one_clip_out``.
    """
    from sklearn.ensemble import RandomForestClassifier

    clips = load_clips(audio_dir)
    gun = CLASSES.index("gunshot")

    cached = {id(c): features(c.snippet, c.sample_rate) for c in clips}

    def clip_features(c: Clip) -> NDArray[np.float64]:
        return cached[id(c)]

    def ours(train: Sequence[Clip], test: Sequence[Clip]) -> NDArray[np.float64]:
        x, y = training_set(train, seed=seed, n_synthetic=n_synthetic, clip_features=clip_features)
        model = Classifier.fit(x, y, seed=seed, n_estimators=n_estimators)
        feats = np.array([clip_features(c) for c in test])
        return model.predict(feats)[:, gun]

    def baseline(train: Sequence[Clip], test: Sequence[Clip]) -> NDArray[np.float64]:
        x = np.array([baseline_features(c.whole, c.sample_rate) for c in train])
        y = np.array([c.label == "gunshot" for c in train])
        rf = RandomForestClassifier(
            n_estimators=n_estimators or 300, random_state=seed, class_weight="balanced"
        )
        rf.fit(x, y)
        xt = np.array([baseline_features(c.whole, c.sample_rate) for c in test])
        return np.asarray(rf.predict_proba(xt)[:, 1], dtype=np.float64)

    rng = np.random.default_rng(seed)
    is_gun = np.array([c.label == "gunshot" for c in clips])
    sources = [c.group for c in clips]
    s = _grouped_scores(clips, ours, sources)
    b = _grouped_scores(clips, baseline, sources)
    result: dict[str, Any] = {
        "data": "real clips, leave-one-recording-source-out",
        **_figures(s[is_gun], s[~is_gun], rng),
        "n_gunshot": int(is_gun.sum()),
        "n_other": int((~is_gun).sum()),
        "n_sources": len({c.group for c in clips}),
        "belize_only": _belize_only(clips, s),
    }
    threshold = recall_at_fpr(s[is_gun], s[~is_gun])[1]
    per_source: dict[str, Any] = {}
    for key in sorted({_source_key(c) for c in clips}):
        idx = np.array([_source_key(c) == key for c in clips])
        per_source[key] = {
            "n": int(idx.sum()),
            "class": clips[int(np.argmax(idx))].label or "evaluation_only_negative",
            "mean_p_gunshot": round(float(s[idx].mean()), 4),
            "above_threshold": round(float(np.mean(s[idx] > threshold)), 4),
        }
    result["per_source"] = per_source
    full_train = [c for c in clips if c.label is not None]
    x, y = training_set(full_train, seed=seed, n_synthetic=n_synthetic)
    model = Classifier.fit(x, y, seed=seed, n_estimators=n_estimators)
    noises = [
        resample(c.whole, c.sample_rate, WORKING_RATE).astype(np.float64)
        for c in clips
        if c.folder == "belize_background"
    ]
    fw = synthetic_fireworks(EVAL_FIREWORKS_SEED, n_synthetic, noises)
    fw_scores = model.predict(np.array([features(f, WORKING_RATE) for f in fw]))[:, gun]
    result["fireworks_simulated"] = {
        **_figures(s[is_gun], fw_scores, rng),
        "n": len(fw),
        "note": "simulated: real held-out gunshots against synthetic fireworks (seed "
        f"{EVAL_FIREWORKS_SEED}, never trained on) from the simulator the model was trained on",
    }
    result["baseline_rf8"] = {
        **_figures(b[is_gun], b[~is_gun], rng),
        "belize_only": _belize_only(clips, b),
        "note": "random forest, 300 trees, on 8 whole-clip features at 8 kHz, same splits",
    }
    # The same models split by clip instead of by source: how much a leaky split flatters.
    folds = [f"fold{k % 5}" for k in np.random.default_rng(seed).permutation(len(clips))]
    s_clip = _grouped_scores(clips, ours, folds)
    b_clip = _grouped_scores(clips, baseline, folds)
    result["clip_split_comparison"] = {
        "auc": round(auc(s_clip[is_gun], s_clip[~is_gun]), 4),
        "belize_only": _belize_only(clips, s_clip),
        "baseline_rf8_auc": round(auc(b_clip[is_gun], b_clip[~is_gun]), 4),
        "baseline_rf8_belize_only": _belize_only(clips, b_clip),
        "note": "random 5-fold split by clip, which lets a recording source be on both "
        "sides; for comparison with figures measured that way only, not a result",
    }
    if leave_one_clip_out:
        each = [f"clip{i}" for i in range(len(clips))]
        s_one = _grouped_scores(clips, ours, each)
        b_one = _grouped_scores(clips, baseline, each)
        result["leave_one_clip_out"] = {
            **_figures(s_one[is_gun], s_one[~is_gun], rng),
            "belize_only": _belize_only(clips, s_one),
            "baseline_rf8": {
                "auc": round(auc(b_one[is_gun], b_one[~is_gun]), 4),
                "recall_at_1pct_fpr": round(recall_at_fpr(b_one[is_gun], b_one[~is_gun])[0], 4),
            },
            "note": "leave one clip out, which lets a recording source (a Belize acoustic "
            "environment) be on both sides; shows what the grouping costs, not a result",
        }
    return result


def _belize_only(clips: Sequence[Clip], scores: NDArray[np.float64]) -> dict[str, float]:
    """Belize gunshots against Belize background only, the comparison of the data README."""
    gun = np.array([c.folder == "belize_gunshot" for c in clips])
    bg = np.array([c.folder == "belize_background" for c in clips])
    if not gun.any() or not bg.any():
        return {}
    return {
        "auc": round(auc(scores[gun], scores[bg]), 4),
        "recall_at_1pct_fpr": round(recall_at_fpr(scores[gun], scores[bg])[0], 4),
    }


def _source_key(c: Clip) -> str:
    if c.folder == "dcase2016_impulsive":
        return c.group
    if c.folder == "outdoor_confusers":
        return f"outdoor_confusers:{c.name.split('-')[0].removesuffix('.wav')}"
    return c.folder
