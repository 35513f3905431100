"""Web-signal post classifier: leave-one-crisis-out on CrisisLexT26 against a TF-IDF baseline.

Run from the repository root::

    nice .venv/bin/python bench/websignal.py                   # ../shared/data/websignal/...
    nice .venv/bin/python bench/websignal.py --data DIR        # the CrisisLexT26 folder
    nice .venv/bin/python bench/websignal.py --jobs 1          # one rotation at a time

For each of the 26 crises, both models are trained on the other 25 crises and tested on it
(26 rotations); nothing about the held-out crisis is used to fit or choose anything (the
model's parameters are :data:`stadswacht.detect.websignal.train.PARAMS`, fixed a priori; its
IDF comes from the 25 training crises only). Labels are those of
:mod:`stadswacht.detect.websignal.train`: relevant = "Related and informative"; seven
information types.

- Model: :func:`stadswacht.detect.websignal.train.fit_counts`, exactly what is shipped.
- Baseline (fixed before anything was tuned): scikit-learn ``TfidfVectorizer(ngram_range=
  (1, 2))`` with its defaults (lower case, default token pattern, raw TF) and
  ``LogisticRegression(C=1.0, class_weight="balanced")``, multinomial for the types, fitted
  with the ``saga`` solver (``max_iter=1000``, ``random_state=0`` so runs repeat): the same
  objective as the default L-BFGS, which took 65 s per type fit on this machine against 3 s
  for saga.

Figures, per held-out crisis:

- ``info``: macro-F1 over the two classes relevant / not relevant.
- ``type``: macro-F1 over the information types that occur in that crisis's true labels
  (a type absent from the crisis is not scored as a class, but predicting it still costs
  the recall of the true class).
- A crisis is **won** when the model's macro-F1 is strictly higher than the baseline's on
  **both** ``info`` and ``type`` (decided before the first run).

The summary figures are unweighted means over the 26 crises. A table goes to stderr; stdout
gets ONE line of JSON: ``macro_f1_info``, ``baseline_macro_f1_info``, ``macro_f1_type``,
``baseline_macro_f1_type``, ``crises_won`` (of ``crises``), plus ``crises_better_info`` and
``crises_better_type`` (each task on its own), ``seconds`` and ``classify_ms_per_1000``
(the shipped model, 1,000 CrisisLexT26 tweets, median of 5) and ``per_crisis`` (crisis ->
[info, baseline info, type, baseline type]). Without the data it prints why on
stderr, a JSON line with ``"skipped"``, and exits 0.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score

from stadswacht.detect.websignal.classify import (
    INFO_TYPES,
    PostClassifier,
    features_from_counts,
)
from stadswacht.detect.websignal.train import LabelledPost, counts, fit_counts, read_crisislex

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = (
    Path(os.environ["STADSWACHT_DATA"]) / "websignal" / "CrisisLexT26"
    if os.environ.get("STADSWACHT_DATA")
    else ROOT.parent / "shared" / "data" / "websignal" / "CrisisLexT26"
)

_POSTS: list[LabelledPost] = []
_COUNTS: tuple[Any, Any] | None = None


def _scores(
    rel_true: np.ndarray, rel_pred: np.ndarray, type_true: np.ndarray, type_pred: np.ndarray
) -> tuple[float, float]:
    info = f1_score(rel_true, rel_pred, average="macro", labels=[0, 1], zero_division=0)
    present = sorted(set(type_true.tolist()))
    kind = f1_score(type_true, type_pred, average="macro", labels=present, zero_division=0)
    return float(info), float(kind)


def rotation(crisis: str) -> dict[str, Any]:
    """Train both models without ``crisis`` and score them on it."""
    assert _COUNTS is not None
    posts = _POSTS
    test = np.array([p.crisis == crisis for p in posts])
    train = ~test
    rel = np.array([p.relevant for p in posts], dtype=np.int64)
    index = {t: i for i, t in enumerate(INFO_TYPES)}
    kind = np.array([index[p.info_type] for p in posts], dtype=np.int64)
    texts = np.array([p.text for p in posts], dtype=object)
    t0 = time.perf_counter()
    word, char = _COUNTS
    tr, te = np.flatnonzero(train), np.flatnonzero(test)
    model = fit_counts(
        word[tr], char[tr], rel[tr].astype(bool).tolist(), [INFO_TYPES[k] for k in kind[tr]]
    )
    x_test = features_from_counts(word[te], char[te], model.space)
    p_rel = model.relevance.probabilities(x_test)
    p_type = model.info_type.probabilities(x_test)
    m_info, m_type = _scores(
        rel[te], (p_rel >= model.threshold).astype(np.int64), kind[te], p_type.argmax(axis=1)
    )
    t1 = time.perf_counter()
    vectoriser = TfidfVectorizer(ngram_range=(1, 2))
    xb_train = vectoriser.fit_transform(texts[tr].tolist())
    xb_test = vectoriser.transform(texts[te].tolist())
    base: dict[str, np.ndarray] = {}
    for name, y in (("rel", rel), ("type", kind)):
        lr = LogisticRegression(
            C=1.0, class_weight="balanced", solver="saga", max_iter=1000, random_state=0
        )
        lr.fit(xb_train, y[tr])
        base[name] = lr.predict(xb_test)
    b_info, b_type = _scores(rel[te], base["rel"], kind[te], base["type"])
    t2 = time.perf_counter()
    return {
        "crisis": crisis,
        "n": int(test.sum()),
        "relevant_share": float(rel[te].mean()),
        "info": m_info,
        "baseline_info": b_info,
        "type": m_type,
        "baseline_type": b_type,
        "won": m_info > b_info and m_type > b_type,
        "model_s": t1 - t0,
        "baseline_s": t2 - t1,
    }


def _classify_ms(posts: list[LabelledPost]) -> float:
    clf = PostClassifier.load()
    texts = [p.text for p in posts[::27][:1000]]
    clf.classify(texts[:10])
    times = []
    for _ in range(5):
        t0 = time.perf_counter()
        clf.classify(texts)
        times.append(time.perf_counter() - t0)
    return round(float(np.median(times)) * 1e3 * 1000 / len(texts), 1)


def main() -> int:
    global _POSTS, _COUNTS
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA, help="the CrisisLexT26 folder")
    ap.add_argument("--jobs", type=int, default=2, help="rotations run at the same time")
    ap.add_argument("--only", action="append", help="run only this crisis (repeatable)")
    args = ap.parse_args()
    if not any(args.data.glob("*-tweets_labeled.csv")):
        reason = f"no CrisisLexT26 files under {args.data}; pass --data or set STADSWACHT_DATA"
        print(f"skipped: {reason}", file=sys.stderr)
        print(json.dumps({"skipped": reason}))
        return 0
    start = time.perf_counter()
    _POSTS, _ = read_crisislex(args.data)
    _COUNTS = counts([p.text for p in _POSTS])
    crises = sorted({p.crisis for p in _POSTS})
    if args.only:
        crises = [c for c in crises if c in set(args.only)]
    print(
        f"{len(_POSTS)} posts, {len(crises)} held-out crises; counts in "
        f"{time.perf_counter() - start:.0f} s",
        file=sys.stderr,
    )
    rows: list[dict[str, Any]] = []
    header = (
        f"{'held-out crisis':32} {'n':>5} {'rel%':>5} {'info':>6} {'base':>6} "
        f"{'type':>6} {'base':>6}  won  fit s (model/base)"
    )
    print(header, file=sys.stderr)

    def show(r: dict[str, Any]) -> None:
        print(
            f"{r['crisis']:32} {r['n']:5d} {100 * r['relevant_share']:5.0f} {r['info']:6.3f} "
            f"{r['baseline_info']:6.3f} {r['type']:6.3f} {r['baseline_type']:6.3f}  "
            f"{'yes' if r['won'] else 'no ':3}  {r['model_s']:4.0f} / {r['baseline_s']:3.0f}",
            file=sys.stderr,
            flush=True,
        )

    if args.jobs > 1:
        with ProcessPoolExecutor(args.jobs, mp_context=multiprocessing.get_context("fork")) as pool:
            for r in pool.map(rotation, crises):
                rows.append(r)
                show(r)
    else:
        for crisis in crises:
            r = rotation(crisis)
            rows.append(r)
            show(r)

    def mean(key: str) -> float:
        return round(float(np.mean([r[key] for r in rows])), 4)

    figures = {
        "macro_f1_info": mean("info"),
        "baseline_macro_f1_info": mean("baseline_info"),
        "macro_f1_type": mean("type"),
        "baseline_macro_f1_type": mean("baseline_type"),
        "crises_won": sum(r["won"] for r in rows),
        "crises": len(rows),
        "crises_better_info": sum(r["info"] > r["baseline_info"] for r in rows),
        "crises_better_type": sum(r["type"] > r["baseline_type"] for r in rows),
        "won_definition": "model macro-F1 > baseline on both informativeness and type",
        "classify_ms_per_1000": _classify_ms(_POSTS),
        "seconds": round(time.perf_counter() - start, 1),
        "per_crisis": {
            r["crisis"]: [
                round(r[k], 4) for k in ("info", "baseline_info", "type", "baseline_type")
            ]
            for r in rows
        },
    }
    print(
        f"{'mean':32} {'':5} {'':5} {figures['macro_f1_info']:6.3f} "
        f"{figures['baseline_macro_f1_info']:6.3f} {figures['macro_f1_type']:6.3f} "
        f"{figures['baseline_macro_f1_type']:6.3f}  {figures['crises_won']}/{len(rows)}",
        file=sys.stderr,
    )
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
