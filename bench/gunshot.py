"""Gunshot benchmark: TDOA localisation against the Cramér-Rao bound, robustness to late
arrivals, the whole detector in a living-lab-like scene, solve time, and the impulse classifier.

Run from the repository root::

    .venv/bin/python bench/gunshot.py                 # 1,000 shots per part, ~1.5 minutes
                                                      # + the classifier: ~25 minutes on 2 cores
    .venv/bin/python bench/gunshot.py --shots 200     # a smoke run
    .venv/bin/python bench/gunshot.py --audio DIR     # default ../shared/data/audio

Progress and a readable summary go to stderr; stdout gets ONE line of JSON at the end. Every
localisation figure is SIMULATED (listed under ``"simulated"`` in the JSON); only the
classifier figures come from recorded audio (held-out clips, leave one recording source out):
``classifier_auc`` and ``classifier_recall_at_1pct_fpr`` for the shipped classifier, the
log-mel CNN ensemble of :mod:`stadswacht.detect.acoustic.cnn`, trained per fold in torch (the
``bench`` extra) and scored by the shipped numpy code; ``rf_auc`` and ``rf_recall_at_1pct_fpr``
for the random forest, as a baseline, from
:func:`stadswacht.detect.acoustic.evaluation.heldout_scores`. They are ``null`` (with the
reason on stderr) when torch, that module or the audio directory is missing.

What is measured
----------------
Clean and diffracted parts: per shot a fresh layout of 6 sensors on a ring, 60° apart (±10°)
at 200-400 m from its centre (neighbours 200-400 m apart), a source uniform in the disc of
250 m radius, c = 343 m/s known, arrival = emission + r / c + N(0, 1 ms). Solved with
``locate_tdoa(..., sigma_s=1e-3)``.

- ``clean_median_over_crlb``, ``clean_p95_over_crlb``: per shot the ratio
  ``|x_hat - x| / sqrt(trace(CRLB_xy(x)))``, where ``CRLB_xy`` is the 2×2 position block of the
  inverse Fisher information of (x, y, t0) at the true source (:func:`crlb`), then the median
  and 95th percentile over shots. For an efficient, unbiased estimator with circular Gaussian
  errors the ratio is Rayleigh-distributed with unit RMS: median sqrt(ln 4)/sqrt(2) = 0.83,
  p95 sqrt(-ln 0.05) = 1.73. Targets: <= 1.2 and <= 2.
- ``diffracted_median_over_clean``: the same shots and noise with one or two (equally likely)
  arrivals delayed by a detour of U(10, 50) m; median error / the clean median error
  (target <= 2). ``diffracted_share_beyond_25m``: the share of those shots located more than
  25 m off (target < 1 %).
- ``solve_ms`` (``solve_ms_p95``): wall time of one ``locate_tdoa`` call on the 6 sensors with
  delayed arrivals, including the closed form, the leave-one/two-out search and the
  least-squares refinement, median (95th percentile) [ms] (target <= 5 ms).

Realistic part: the whole :class:`GunshotDetector` on the International Zone layout
(``scenarios/international_zone.yaml``: 8 acoustic sensors over about 1.2 × 1.5 km). Shooting
incidents every 40-80 s at a uniform point of the area polygon inside the sensors' convex
hull, 1-3 rounds 0.3-1 s apart (so arrivals interleave across sensors), each round heard by a
random 5 to 8 of the sensors;
timing noise 0.1 ms; every sensor's true position off its registered one by N(0, 0.3 m) per
axis (fixed for the run); the detector's temperature readings 2 K off the true air
temperature (c off by about 1.2 m/s); each arrival diffracted with probability 0.15, adding
2-20 ms; unrelated door slams heard by 1-3 sensors in between; class probabilities from
:func:`stadswacht.livinglab.classify.class_probabilities`; reports reach the detector
0.05-0.5 s after their arrival and ``advance`` runs on every report and every 0.1 s.

- ``realistic_median_m``, ``realistic_p90_m``: distance from each true incident to the
  detector's event (rounds combined) that claims its reports (targets <= 5 m, <= 10 m);
  ``realistic_found``: the share of incidents that became a ``gunshot`` event with the right
  number of rounds; ``realistic_inside_ellipse95``: the share whose true position lies inside
  the event's 95 % ellipse (0.95 if the ellipse were exact); ``realistic_false_gunshots``:
  gunshot events without an incident.
- ``decision_latency_p95_s``: for every version of a ``gunshot`` event that adds reports, its
  ``decided_s`` minus the last arrival among the added reports, 95th percentile (goal <= 2 s).
- ``detector_ms_per_round``: CPU-bound wall time of all ``advance`` calls (door slams
  included) per version returned [ms].
- ``realistic_outside_hull_*``: the same scene with incidents in the area but outside the
  sensors' convex hull (the area reaches ~500 m beyond the network): range errors grow with
  distance, and such fixes are mostly flagged ``poor_geometry``. The main realistic figures
  are for incidents inside the hull, the area the network is laid out to cover.
"""

from __future__ import annotations

import argparse
import importlib
import json
import math
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
from scipy.spatial import Delaunay

from stadswacht.detect.gunshot import (
    GunshotConfig,
    GunshotDetector,
    GunshotEvent,
    ImpulseReport,
    crlb,
    locate_tdoa,
)
from stadswacht.model import Position
from stadswacht.model.geo import LocalFrame, speed_of_sound

REPO = Path(__file__).resolve().parent.parent
C = 343.0
SIGMA = 1e-3
VERBOSE = False


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def ring_layout(rng: np.random.Generator) -> np.ndarray:
    angles = np.arange(6) * math.pi / 3 + rng.uniform(-1, 1, 6) * math.radians(10)
    radii = rng.uniform(200.0, 400.0, 6)
    return np.column_stack([radii * np.cos(angles), radii * np.sin(angles)])


def localisation(shots: int, seed: int) -> dict[str, float]:
    """The clean and the diffracted part: same layouts, sources and noise."""
    rng = np.random.default_rng(seed)
    ratios, clean, late, solve = [], [], [], []
    for _ in range(shots):
        pos = ring_layout(rng)
        rho, phi = 250.0 * math.sqrt(rng.random()), rng.uniform(0, 2 * math.pi)
        src = np.array([rho * math.cos(phi), rho * math.sin(phi)])
        t = 1.8e9 + np.hypot(*(pos - src).T) / C + rng.normal(0, SIGMA, 6)
        fix = locate_tdoa(pos, t, C, sigma_s=SIGMA)
        err = float(np.hypot(*(fix.xy - src)))
        clean.append(err)
        ratios.append(err / math.sqrt(float(np.trace(crlb(pos, src, C, SIGMA)))))
        delayed = rng.choice(6, size=int(rng.integers(1, 3)), replace=False)
        t_late = t.copy()
        t_late[delayed] += rng.uniform(10.0, 50.0, len(delayed)) / C
        t_start = time.perf_counter()
        fix = locate_tdoa(pos, t_late, C, sigma_s=SIGMA)
        solve.append(time.perf_counter() - t_start)
        late.append(float(np.hypot(*(fix.xy - src))))
    clean_median = float(np.median(clean))
    return {
        "clean_median_over_crlb": float(np.median(ratios)),
        "clean_p95_over_crlb": float(np.percentile(ratios, 95)),
        "clean_median_m": clean_median,
        "diffracted_median_m": float(np.median(late)),
        "diffracted_median_over_clean": float(np.median(late)) / clean_median,
        "diffracted_share_beyond_25m": float(np.mean(np.array(late) > 25.0)),
        "solve_ms": 1e3 * float(np.median(solve)),
        "solve_ms_p95": 1e3 * float(np.percentile(solve, 95)),
    }


def _area_point(
    rng: np.random.Generator,
    polygon: list[tuple[float, float]],
    frame: LocalFrame,
    area: Any,
    hull: Delaunay | None = None,
    inside: bool | None = None,
) -> tuple[float, float]:
    """A uniform point of the area; if ``inside`` is given, inside (or outside) ``hull``."""
    xs = [p[0] for p in polygon]
    ys = [p[1] for p in polygon]
    while True:
        x, y = rng.uniform(min(xs), max(xs)), rng.uniform(min(ys), max(ys))
        lon, lat = frame.to_lonlat(x, y)
        if not area.contains(Position(lat=lat, lon=lon)):
            continue
        if inside is None or hull is None or (hull.find_simplex([x, y]) >= 0) == inside:
            return x, y


def realistic(incidents: int, seed: int, *, inside: bool = True) -> dict[str, float]:
    """The whole detector on the International Zone layout (see the module docstring)."""
    from stadswacht.livinglab.classify import class_probabilities
    from stadswacht.livinglab.scenario import read_scenario

    sc = read_scenario(REPO / "scenarios" / "international_zone.yaml")
    lon0 = sum(v[0] for v in sc.area.polygon) / len(sc.area.polygon)
    lat0 = sum(v[1] for v in sc.area.polygon) / len(sc.area.polygon)
    frame = LocalFrame(lon0, lat0)
    polygon = [frame.to_xy(*v) for v in sc.area.polygon]
    acoustic = [s for s in sc.sensors if s.group == "acoustic"]
    rng = np.random.default_rng(seed)
    names = [s.id for s in acoustic]
    registered = np.array([frame.to_xy(s.position.lon, s.position.lat) for s in acoustic])
    physical = registered + rng.normal(0, 0.3, registered.shape)
    hull = Delaunay(registered)
    det = GunshotDetector(GunshotConfig())
    for name, (x, y) in zip(names, registered, strict=True):
        det.add_sensor(name, float(x), float(y))
    t_start = 1.8e9
    temp_true = 6.5

    # (time the platform receives it, report) and the truth per reference.
    inbox: list[tuple[float, ImpulseReport]] = []
    truth: list[dict[str, Any]] = []
    ref_round: dict[str, tuple[int, int]] = {}
    seq = dict.fromkeys(names, 0)
    threshold = 70.0

    def emit(
        x: float, y: float, t0: float, cls: str, level: float, hearers: list[int]
    ) -> list[str]:
        refs = []
        c_true = speed_of_sound(temp_true)
        for i in hearers:
            r = float(np.hypot(*(physical[i] - (x, y))))
            arrival = t0 + r / c_true + rng.normal(0, 1e-4)
            if rng.random() < 0.15:
                arrival += rng.uniform(2e-3, 20e-3)
            peak = level - 20 * math.log10(max(r, 1.0)) - 0.005 * r
            seq[names[i]] += 1
            ref = f"{names[i]}:{seq[names[i]]}"
            report = ImpulseReport(
                ref, names[i], arrival, peak, class_probabilities(cls, peak - threshold, rng)
            )
            inbox.append((arrival + rng.uniform(0.05, 0.5), report))
            refs.append(ref)
        return refs

    t = t_start + 10.0
    for k in range(incidents):
        # The weather station's reading, 2 K off (once a minute, as in the living lab).
        det.add_temperature(0.0, 0.0, t - 5.0, temp_true + 2.0)
        x, y = _area_point(rng, polygon, frame, sc.area, hull, inside)
        rounds = int(rng.integers(1, 4))
        t_round = t
        arrivals_by_round = []
        for j in range(rounds):
            hearers = sorted(rng.choice(8, size=int(rng.integers(5, 9)), replace=False).tolist())
            refs = emit(x, y, t_round, "gunshot", 150.0 + rng.normal(0, 1), hearers)
            for ref in refs:
                ref_round[ref] = (k, j)
            arrivals_by_round.append(refs)
            t_round += rng.uniform(0.3, 1.0)
        truth.append({"xy": (x, y), "rounds": rounds})
        # A door slam between incidents, heard by 1 to 3 sensors.
        sx, sy = _area_point(rng, polygon, frame, sc.area)
        near = np.argsort(np.hypot(*(physical - (sx, sy)).T))[: int(rng.integers(1, 4))]
        emit(sx, sy, t + rng.uniform(15, 25), "impulsive_other", 120.0, sorted(near.tolist()))
        t += rng.uniform(40.0, 80.0)
    inbox.sort(key=lambda item: item[0])
    arrival_of = {r.ref: r.arrival_s for _, r in inbox}

    versions: list[GunshotEvent] = []
    now = inbox[0][0]
    end = inbox[-1][0] + 10.0
    idx = 0
    solve_time = 0.0
    while now <= end:
        while idx < len(inbox) and inbox[idx][0] <= now:
            det.add_report(inbox[idx][1])
            idx += 1
            t0 = time.perf_counter()
            versions += det.advance(inbox[idx - 1][0])
            solve_time += time.perf_counter() - t0
        t0 = time.perf_counter()
        versions += det.advance(now)
        solve_time += time.perf_counter() - t0
        now += 0.1

    latest: dict[str, GunshotEvent] = {}
    latencies = []
    seen_refs: dict[str, set[str]] = {}
    for v in versions:
        new_refs = set(v.refs) - seen_refs.get(v.id, set())
        seen_refs[v.id] = set(v.refs)
        if new_refs and v.kind == "gunshot":
            latencies.append(v.decided_s - max(arrival_of[r] for r in new_refs))
            if VERBOSE and latencies[-1] > 2.0:
                log(
                    f"latency {latencies[-1]:.2f} s: {v.id} {v.status} rounds {v.rounds} "
                    f"new {sorted(new_refs)} of {len(v.refs)}"
                )
        latest[v.id] = v
    errors, found, false_gun, covered = [], 0, 0, 0
    claimed: dict[int, GunshotEvent] = {}
    for ev in latest.values():
        incident = {ref_round[r][0] for r in ev.refs if r in ref_round}
        if not incident:
            false_gun += ev.kind == "gunshot"
            continue
        k = min(incident)
        if k not in claimed or len(ev.refs) > len(claimed[k].refs):
            claimed[k] = ev
    for k, item in enumerate(truth):
        ev = claimed.get(k)
        if ev is None:
            errors.append(math.inf)
            continue
        errors.append(float(math.hypot(ev.xy[0] - item["xy"][0], ev.xy[1] - item["xy"][1])))
        if VERBOSE and (errors[-1] > 10 or ev.rounds != item["rounds"] or ev.kind != "gunshot"):
            log(
                f"{k} truth {item} -> {ev.kind} rounds {ev.rounds} xy {ev.xy} err {errors[-1]:.1f} "
                f"poor {ev.poor_geometry} ell {ev.ellipse} n {len(ev.refs)} rej {ev.rejected_refs}"
            )
        found += ev.kind == "gunshot" and ev.rounds == item["rounds"]
        miss = np.array(item["xy"]) - np.array(ev.xy)
        covered += float(miss @ np.linalg.solve(np.array(ev.covariance), miss)) <= 5.991
    return {
        "realistic_median_m": float(np.median(errors)),
        "realistic_p90_m": float(np.percentile(errors, 90)),
        "realistic_found": found / len(truth),
        "realistic_inside_ellipse95": covered / len(truth),
        "realistic_false_gunshots": false_gun,
        "decision_latency_p95_s": float(np.percentile(latencies, 95)),
        "detector_ms_per_round": 1e3 * solve_time / max(len(latencies), 1),
    }


CNN_SEEDS = (0, 1, 2)
"""Networks per fold, as in the shipped ensemble (``research/gunshot-cnn/export.py``)."""


def _cnn_fold(job: tuple[int, list[int], tuple[int, ...]]) -> dict[str, Any]:
    """Train one fold's ensemble in torch (a worker process) and return its npz arrays."""
    k, train_idx, seeds = job
    export = importlib.import_module("export")
    return dict(export.arrays(export.train(train_idx, [1000 * s + k for s in seeds]), {}))


def _folds(clips: list[Any]) -> list[list[int]]:
    """Indices of the clips held out in each fold: one recording source at a time (the groups
    of ``heldout_scores``), then the evaluation-only clips (scored by models trained on every
    trainable clip, so the last fold's models are the shipped recipe on all the data)."""
    trainable = [i for i, c in enumerate(clips) if c.label is not None]
    held = [
        [i for i in trainable if clips[i].group == g]
        for g in sorted({clips[i].group for i in trainable})
    ]
    return [*held, [i for i, c in enumerate(clips) if c.label is None]]


def cnn_heldout(
    clips: list[Any], folds: list[list[int]], audio_dir: Path
) -> tuple[np.ndarray, Any]:
    """Held-out P(gunshot) of the CNN ensemble for every clip, and the last fold's ensemble.

    Per fold the ensemble is trained in torch on the other sources with
    ``research/gunshot-cnn`` (the shipped "fixed" configuration, one network per seed of
    :data:`CNN_SEEDS`), exported with batch norm folded, and the held-out clips are scored by
    the shipped numpy code on their snippets (:meth:`CnnEnsemble.p_gunshot`), as a sensor
    scores an impulse. Two worker processes.
    """
    import multiprocessing
    import os

    from stadswacht.detect.acoustic.cnn import CnnEnsemble

    os.environ["GUNSHOT_CNN_AUDIO"] = str(audio_dir)
    sys.path.insert(0, str(REPO / "research" / "gunshot-cnn"))
    cnn = importlib.import_module("cnn")  # loads the clips once; forked workers share them
    importlib.import_module("export")
    assert [c.name for c in cnn.clips] == [c.name for c in clips]
    trainable = [i for i, c in enumerate(clips) if c.label is not None]
    jobs = [(k, [i for i in trainable if i not in set(h)], CNN_SEEDS) for k, h in enumerate(folds)]
    with multiprocessing.get_context("fork").Pool(2) as pool:
        fold_arrays = pool.map(_cnn_fold, jobs, chunksize=1)
    out = np.full(len(clips), np.nan)
    models = [CnnEnsemble.from_arrays(a) for a in fold_arrays]
    for k, h in enumerate(folds):
        for i in h:
            out[i] = models[k].p_gunshot(clips[i].snippet, clips[i].sample_rate)
    return out, models[-1]


def forest_heldout(clips: list[Any], folds: list[list[int]]) -> tuple[np.ndarray, Any]:
    """Held-out class probabilities of the forest, shape (n_clips, 4), and the last fold's
    forest: the recipe of ``heldout_scores`` (same training set, synthetic fireworks, seed)."""
    from stadswacht.detect.acoustic.classifier import Classifier
    from stadswacht.detect.acoustic.evaluation import TRAIN_SEED, training_set
    from stadswacht.detect.acoustic.features import features

    cached = {id(c): features(c.snippet, c.sample_rate) for c in clips}
    out = np.full((len(clips), 4), np.nan)
    model = None
    for h in folds:
        rest = [c for i, c in enumerate(clips) if c.label is not None and i not in set(h)]
        x, y = training_set(rest, seed=TRAIN_SEED, clip_features=lambda c: cached[id(c)])
        model = Classifier.fit(x, y, seed=TRAIN_SEED)
        if h:
            out[h] = model.predict(np.array([cached[id(clips[i])] for i in h]))
    return out, model


def classifier(audio_dir: Path) -> dict[str, Any]:
    """Held-out figures of the shipped classifier and its two parts on the real clips.

    ``classifier_*``: the shipped P(gunshot), the CNN combined with the forest by
    :func:`stadswacht.detect.acoustic.classifier.combine`; ``cnn_*``: the CNN ensemble alone;
    ``rf_*``: the random forest alone (the classifier shipped before, the baseline row). The
    ``*_fireworks_sim_auc`` figures are SIMULATED: real held-out gunshots against the
    synthetic fireworks of ``heldout_scores``' fireworks row (never trained on), scored by
    the models trained on every trainable clip.
    """
    keys = ("classifier", "cnn", "rf")
    nothing: dict[str, Any] = {
        f"{m}_{f}": None for m in keys for f in ("auc", "recall_at_1pct_fpr", "fireworks_sim_auc")
    }
    if not audio_dir.is_dir():
        log(f"classifier figures null: no audio directory at {audio_dir}")
        return nothing
    try:
        ev = importlib.import_module("stadswacht.detect.acoustic.evaluation")
        from stadswacht.detect.acoustic.audio import WORKING_RATE, resample
        from stadswacht.detect.acoustic.classifier import CLASSES, combine
        from stadswacht.detect.acoustic.dataset import load_clips
        from stadswacht.detect.acoustic.features import features
    except ImportError as exc:
        log(f"classifier figures null: stadswacht.detect.acoustic missing ({exc})")
        return nothing
    clips = load_clips(audio_dir)
    folds = _folds(clips)
    is_gun = np.array([c.label == "gunshot" for c in clips])
    noises = [
        resample(c.whole, c.sample_rate, WORKING_RATE).astype(np.float64)
        for c in clips
        if c.folder == "belize_background"
    ]
    fireworks = ev.synthetic_fireworks(ev.EVAL_FIREWORKS_SEED, ev.N_SYNTHETIC, noises)
    gun = CLASSES.index("gunshot")

    def figures(name: str, s: np.ndarray, s_fw: np.ndarray) -> dict[str, Any]:
        return {
            f"{name}_auc": ev.auc(s[is_gun], s[~is_gun]),
            f"{name}_recall_at_1pct_fpr": ev.recall_at_fpr(s[is_gun], s[~is_gun])[0],
            f"{name}_fireworks_sim_auc": ev.auc(s[is_gun], s_fw),
        }

    t0 = time.perf_counter()
    log("  random forest per fold ...")
    rf, rf_all = forest_heldout(clips, folds)
    rf_fw = rf_all.predict(np.array([features(f, WORKING_RATE) for f in fireworks]))
    out = nothing | figures("rf", rf[:, gun], rf_fw[:, gun])
    out["rf_seconds"] = round(time.perf_counter() - t0, 1)
    try:
        importlib.import_module("torch")
    except ImportError:
        log(
            "classifier and cnn figures null: the shipped CNN is trained per fold with torch, "
            "which is not installed (pip install -e '.[bench]'); rf_* are the forest's figures"
        )
        return out
    t0 = time.perf_counter()
    log(f"  CNN per fold, {len(CNN_SEEDS)} networks each, {len(folds)} folds ...")
    c, c_all = cnn_heldout(clips, folds, audio_dir)
    c_fw = np.array([c_all.p_gunshot(f, WORKING_RATE) for f in fireworks])
    shipped = combine(rf, c)[:, gun]
    shipped_fw = combine(rf_fw, c_fw)[:, gun]
    return out | {
        **figures("classifier", shipped, shipped_fw),
        **figures("cnn", c, c_fw),
        "classifier_model": f"log-mel CNN ensemble ({len(CNN_SEEDS)} per fold) x random forest",
        "classifier_seconds": round(time.perf_counter() - t0, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--shots", type=int, default=1000, help="shots per part (>= 1000)")
    parser.add_argument("--seed", type=int, default=20261125)
    parser.add_argument("--audio", type=Path, default=REPO.parent / "shared" / "data" / "audio")
    parser.add_argument("--verbose", action="store_true", help="log every miss to stderr")
    args = parser.parse_args()
    global VERBOSE
    VERBOSE = args.verbose
    started = time.perf_counter()
    log(f"clean and diffracted: {args.shots} simulated shots ...")
    out: dict[str, Any] = localisation(args.shots, args.seed)
    incidents = max(args.shots // 2, 50)
    log(f"realistic scene: {incidents} simulated incidents (1-3 rounds each) ...")
    out |= realistic(incidents, args.seed + 1)
    log(f"realistic scene, sources outside the sensors' hull: {incidents // 4} incidents ...")
    outside = realistic(incidents // 4, args.seed + 2, inside=False)
    out["realistic_outside_hull_median_m"] = outside["realistic_median_m"]
    out["realistic_outside_hull_p90_m"] = outside["realistic_p90_m"]
    out["realistic_outside_hull_found"] = outside["realistic_found"]
    log("classifier on held-out audio ...")
    out |= classifier(args.audio)
    out["simulated"] = [
        k
        for k in out
        if not k.startswith(("classifier_", "cnn_", "rf_")) or k.endswith("_fireworks_sim_auc")
    ]
    out["shots"] = args.shots
    out["seconds"] = round(time.perf_counter() - started, 1)
    for key, value in out.items():
        if isinstance(value, float):
            out[key] = round(value, 4)
    log(
        "SIMULATED: clean median/CRLB {clean_median_over_crlb} (<= 1.2), p95/CRLB "
        "{clean_p95_over_crlb} (<= 2); diffracted median/clean {diffracted_median_over_clean} "
        "(<= 2), beyond 25 m {diffracted_share_beyond_25m} (< 0.01); realistic median "
        "{realistic_median_m} m (<= 5), p90 {realistic_p90_m} m (<= 10); solve {solve_ms} ms "
        "(<= 5); decision latency p95 {decision_latency_p95_s} s (<= 2)".format(**out)
    )
    log(
        "RECORDED AUDIO: shipped classifier AUC {classifier_auc}, recall at 1% FPR "
        "{classifier_recall_at_1pct_fpr}; CNN alone {cnn_auc}, {cnn_recall_at_1pct_fpr}; "
        "random forest alone (baseline) {rf_auc}, {rf_recall_at_1pct_fpr}. SIMULATED fireworks "
        "AUC: shipped {classifier_fireworks_sim_auc}, CNN {cnn_fireworks_sim_auc}, forest "
        "{rf_fireworks_sim_auc}".format(**out)
    )
    print(json.dumps(out))


if __name__ == "__main__":
    main()
