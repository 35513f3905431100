"""Train the post classifier on CrisisLexT26 and write it as plain arrays and JSON.

Run from the repository root::

    python -m stadswacht.detect.websignal.train --data ../shared/data/websignal/CrisisLexT26

writes ``model.json`` and ``weights.npz`` into ``src/stadswacht/detect/websignal/model`` (or
``--out``, with a copy of the NL vocabulary ``nl_en.json``); the result is deterministic.
scikit-learn fits the models here; what is saved is only numbers and strings, read back by
:meth:`~stadswacht.detect.websignal.classify.PostClassifier.load` without pickle.

Labels (fixed before any model was fitted):

- relevant: Informativeness is "Related and informative"; "Related - but not informative",
  "Not related" and "Not applicable" are not relevant.
- information type: :data:`TYPE_MAP` maps CrisisLexT26's six types to the platform's ids;
  "Not labeled" and "Not applicable" (posts off topic, or on topic without any of the six
  types) become ``not_related``.

Model (:data:`PARAMS`, fixed a priori, never tuned on a held-out crisis): the features of
:func:`~stadswacht.detect.websignal.classify.featurise` (hashed word 1-2 grams and character
2-5 grams, sublinear TF-IDF, crisis place names masked), and per head two class-balanced,
L2-regularised logistic regressions fitted by averaged stochastic gradient descent
(scikit-learn's ``SGDClassifier(loss="log_loss", average=True)``, one-vs-rest for the
types), one regularised like ``LogisticRegression(C=1)`` (alpha = 1 / (C n), n = 27,933
posts: 4e-5) and one ten times less (4e-6). A strongly regularised model spreads weight over
many n-grams and transfers to a new crisis; a weakly regularised one keeps sharp cues. Their
logits are averaged, which is one linear model again (the mean of the weights), so an ensemble
costs no more to store or run than one model. SGD rather than L-BFGS because the type head on
~8 million non-zeros took 50 to 220 s with L-BFGS and 5 s with SGD (measured on the full
data), which is what makes 26 leave-one-crisis-out rotations fit in minutes.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import re
import shutil
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp
import sklearn
from numpy.typing import NDArray
from sklearn.linear_model import SGDClassifier

from stadswacht.detect.websignal.classify import (
    FORMAT,
    INFO_TYPES,
    MODEL_DIR,
    FeatureSpace,
    LinearHead,
    PostClassifier,
    features_from_counts,
    hashed_counts,
    prepare,
    read_nl_vocabulary,
)
from stadswacht.errors import ConfigurationError

__all__ = [
    "CRISIS_PLACES",
    "PARAMS",
    "TYPE_MAP",
    "LabelledPost",
    "counts",
    "fit",
    "fit_counts",
    "fit_space",
    "main",
    "places_pattern",
    "read_crisislex",
    "save",
]

TYPE_MAP: dict[str, str] = {
    "Caution and advice": "caution_advice",
    "Affected individuals": "affected_people",
    "Infrastructure and utilities": "infrastructure",
    "Donations and volunteering": "donations",
    "Sympathy and support": "sympathy",
    "Other Useful Information": "other_useful",
    "Not labeled": "not_related",
    "Not applicable": "not_related",
}
"""CrisisLexT26 "Information Type" -> platform information type id."""

CRISIS_PLACES: tuple[str, ...] = (
    # From the 26 crisis names and the places, storms and venues the events are known by.
    "colorado", "costarica", "costa rica", "guatemala", "italy", "italia", "emilia",
    "philippines", "philipinnes", "pinas", "manila", "habagat", "maring", "pablo", "bopha",
    "mindanao", "davao", "venezuela", "amuay", "alberta", "calgary", "yyc", "abflood",
    "canmore", "high river", "australia", "tasmania", "nsw", "bohol", "cebu", "boston",
    "brazil", "brasil", "santa maria", "glasgow", "clutha", "scotland", "lax", "los angeles",
    "megantic", "quebec", "nyc", "new york", "bronx", "metro north", "queensland", "qld",
    "bundaberg", "brisbane", "russia", "chelyabinsk", "sardinia", "sardegna", "olbia",
    "savar", "dhaka", "bangladesh", "rana plaza", "singapore", "malaysia", "indonesia",
    "sumatra", "riau", "spain", "españa", "espana", "santiago", "compostela", "galicia",
    "yolanda", "haiyan", "tacloban", "leyte", "texas", "waco",
)  # fmt: skip
"""Place and event names of the CrisisLexT26 crises, masked as ``_place_`` in every post so
the model learns what a post says rather than where the crisis of its training data was."""

PARAMS: dict[str, Any] = {
    "word_bits": 16,
    "char_bits": 17,
    "alpha": (4e-5, 4e-6),
    "epochs": 15,
    "threshold": 0.5,
    "seed": 0,
}
"""Model parameters, fixed a priori: hash buckets 2^16 (words) and 2^17 (characters), the L2
penalty of the two logistic regressions whose logits are averaged per head, SGD epochs, and
the relevance threshold on P(relevant). float16 weights keep the artefacts near 3.5 MB."""


@dataclass(frozen=True)
class LabelledPost:
    """One CrisisLexT26 tweet: its crisis (file name stem), text and the two labels."""

    crisis: str
    text: str
    relevant: bool
    info_type: str


def read_crisislex(path: Path) -> tuple[list[LabelledPost], dict[str, Any]]:
    """Read every ``*-tweets_labeled.csv`` under ``path`` (CrisisLexT26's layout).

    Returns the posts and metadata (``crises``: name -> count, ``source``). Raises
    :class:`~stadswacht.errors.ConfigurationError` when no file is found or a label is
    unknown.
    """
    files = sorted(path.glob("*-tweets_labeled.csv"))
    if not files:
        raise ConfigurationError(
            f"no CrisisLexT26 files (*-tweets_labeled.csv) under {path}; pass --data with the "
            "folder of the 26 crisis CSV files"
        )
    posts: list[LabelledPost] = []
    counts: dict[str, int] = {}
    for file in files:
        crisis = file.name.split("-tweets_labeled")[0]
        with file.open(newline="", encoding="utf-8") as fh:
            reader = csv.reader(fh)
            header = [h.strip() for h in next(reader)]
            col = {name: header.index(name) for name in header}
            for row in reader:
                kind = row[col["Information Type"]].strip()
                if kind not in TYPE_MAP:
                    raise ConfigurationError(f"{file}: unknown information type {kind!r}")
                informativeness = row[col["Informativeness"]].strip()
                posts.append(
                    LabelledPost(
                        crisis=crisis,
                        text=row[col["Tweet Text"]],
                        relevant=informativeness == "Related and informative",
                        info_type=TYPE_MAP[kind],
                    )
                )
                counts[crisis] = counts.get(crisis, 0) + 1
    return posts, {"crises": counts, "source": str(path)}


def places_pattern(places: Sequence[str] = CRISIS_PLACES) -> str:
    """Regular expression that matches a word containing any of ``places``.

    Names of up to three letters (``lax``, ``nyc``) match whole words only; longer ones also
    inside a word, so ``#bostonmarathon`` is masked. Spaces match any separator or none.
    """
    short = sorted(p for p in places if len(p) <= 3)
    long = sorted((p for p in places if len(p) > 3), key=len, reverse=True)
    long_alt = "|".join(re.escape(p).replace(r"\ ", r"[\s_]?") for p in long)
    parts = [rf"\w*(?:{long_alt})\w*"]
    if short:
        parts.append(rf"\b(?:{'|'.join(short)})\b")
    return "|".join(parts)


def _idf(hashed: sp.csr_matrix) -> NDArray[np.float32]:
    n = int(hashed.shape[0])
    df = np.bincount(hashed.indices, minlength=int(hashed.shape[1])).astype(np.float64)
    idf: NDArray[np.float64] = np.log((1.0 + n) / (1.0 + df)) + 1.0
    idf[df == 0] = 0.0
    return np.asarray(idf, dtype=np.float32)


def fit_space(
    word: sp.csr_matrix, char: sp.csr_matrix, params: dict[str, Any] = PARAMS
) -> FeatureSpace:
    """The feature space with IDF fitted on hashed counts of training posts."""
    return FeatureSpace(
        word_bits=params["word_bits"],
        char_bits=params["char_bits"],
        idf_word=_idf(word),
        idf_char=_idf(char),
        places=re.compile(places_pattern()),
    )


def counts(
    texts: Sequence[str], params: dict[str, Any] = PARAMS
) -> tuple[sp.csr_matrix, sp.csr_matrix]:
    """Hashed word and character counts of raw training tweets (places masked).

    Hashing is stateless, so a benchmark computes these once and slices rows per fold.
    """
    prepared = prepare(texts, re.compile(places_pattern()))
    return hashed_counts(prepared, params["word_bits"], params["char_bits"])


def _fit_head(x: sp.csr_matrix, y: NDArray[Any], params: dict[str, Any]) -> LinearHead:
    coefs, intercepts = [], []
    for alpha in params["alpha"]:
        model = SGDClassifier(
            loss="log_loss",
            penalty="l2",
            alpha=alpha,
            class_weight="balanced",
            max_iter=params["epochs"],
            tol=None,
            average=True,
            random_state=params["seed"],
        )
        model.fit(x, y)
        coefs.append(np.asarray(model.coef_, dtype=np.float64))
        intercepts.append(np.asarray(model.intercept_, dtype=np.float64))
    # Mean of the logits = one linear model with the mean weights.
    coef = np.mean(coefs, axis=0).astype(np.float32)[np.newaxis]
    intercept = np.mean(intercepts, axis=0).astype(np.float32)[np.newaxis]
    return LinearHead(coef, intercept)


def fit(
    texts: Sequence[str],
    relevant: Sequence[bool],
    info_types: Sequence[str],
    params: dict[str, Any] = PARAMS,
) -> PostClassifier:
    """Fit the feature space and both heads on labelled raw posts.

    The type head's outputs are in the order of :data:`INFO_TYPES`; every type must occur
    in ``info_types`` at least once.
    """
    word, char = counts(texts, params)
    return fit_counts(word, char, relevant, info_types, params)


def fit_counts(
    word: sp.csr_matrix,
    char: sp.csr_matrix,
    relevant: Sequence[bool],
    info_types: Sequence[str],
    params: dict[str, Any] = PARAMS,
) -> PostClassifier:
    """:func:`fit` from the hashed counts of :func:`counts`."""
    missing = set(INFO_TYPES) - set(info_types)
    if missing:
        raise ValueError(f"no training post of type {sorted(missing)}; every type is needed")
    space = fit_space(word, char, params)
    x = features_from_counts(word, char, space)
    rel = _fit_head(x, np.asarray(relevant, dtype=np.int64), params)
    index = {t: i for i, t in enumerate(INFO_TYPES)}
    kind = _fit_head(x, np.asarray([index[t] for t in info_types], dtype=np.int64), params)
    return PostClassifier(space, rel, kind, float(params["threshold"]), None, {})


def save(
    classifier: PostClassifier, directory: Path, metadata: dict[str, Any] | None = None
) -> None:
    """Write ``model.json`` and ``weights.npz`` (float16 weights) into ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    space = classifier.space
    f16 = np.float16
    np.savez_compressed(
        directory / "weights.npz",
        idf_word=space.idf_word.astype(f16),
        idf_char=space.idf_char.astype(f16),
        rel_coef=classifier.relevance.coef.astype(f16),
        rel_intercept=classifier.relevance.intercept.astype(np.float32),
        type_coef=classifier.info_type.coef.astype(f16),
        type_intercept=classifier.info_type.intercept.astype(np.float32),
    )
    doc = {
        "format": FORMAT,
        "info_types": list(INFO_TYPES),
        "word_bits": space.word_bits,
        "char_bits": space.char_bits,
        "places_pattern": space.places.pattern if space.places is not None else None,
        "threshold": classifier.threshold,
        **(metadata or {}),
    }
    (directory / "model.json").write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: train on CrisisLexT26 and write the packaged model."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, required=True, help="the CrisisLexT26 folder")
    ap.add_argument("--out", type=Path, default=MODEL_DIR, help="model directory to write")
    args = ap.parse_args(argv)
    try:
        posts, meta = read_crisislex(args.data)
    except ConfigurationError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    t0 = time.perf_counter()
    classifier = fit(
        [p.text for p in posts], [p.relevant for p in posts], [p.info_type for p in posts]
    )
    seconds = time.perf_counter() - t0
    params = {k: list(v) if isinstance(v, tuple) else v for k, v in PARAMS.items()}
    save(
        classifier,
        args.out,
        {
            "trained": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "training_data": "CrisisLexT26 (Olteanu et al. 2015), MIT licence",
            "training_posts": len(posts),
            "crises": meta["crises"],
            "params": params,
            "sklearn": sklearn.__version__,
            "fit_seconds": round(seconds, 1),
        },
    )
    read_nl_vocabulary()  # the packaged vocabulary must be readable
    if args.out.resolve() != MODEL_DIR.resolve():
        # A model directory is complete with its vocabulary: PostClassifier.load(out) reads Dutch.
        shutil.copyfile(MODEL_DIR / "nl_en.json", args.out / "nl_en.json")
    size = sum(f.stat().st_size for f in args.out.iterdir() if f.is_file())
    print(
        f"trained on {len(posts)} posts from {len(meta['crises'])} crises in {seconds:.1f} s; "
        f"wrote {args.out} ({size / 1e6:.2f} MB)",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
