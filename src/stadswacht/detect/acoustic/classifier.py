"""The impulse classifier: a log-mel CNN for gunshots, a random forest for the other classes.

The shipped classifier (:meth:`Classifier.load` without a path) has two parts, both run in
numpy, so the sensor needs neither pickle nor torch:

- a CNN ensemble (:mod:`~stadswacht.detect.acoustic.cnn`, ``cnn_weights.npz``) that scores
  gunshot against the other real classes (other impulsive sounds, background) better than the
  forest on real clips held out by recording source (``bench/gunshot.py``);
- a random forest (``model.json``) over hand-made features that also learnt fireworks, from
  synthetic fireworks: no real fireworks recordings exist in the training data, so the CNN
  never heard one, and it calls most simulated fireworks gunshots.

They are combined by the chain rule (:func:`combine`). The CNN's training data held no
fireworks, so its score ``c`` is read as P(gunshot | not fireworks); the forest gives
P(fireworks) = ``f_fw`` and the split of what is neither gunshot nor fireworks::

    P(gunshot)   = (1 - f_fw) * c
    P(fireworks) = f_fw
    P(other k)   = (1 - f_fw) * (1 - c) * f_k / (f_impulsive_other + f_background)

The report keeps its four classes and sums to 1; on sounds the forest does not take for
fireworks, P(gunshot) is the CNN's score. The forest holds only numbers: for every tree its
split features, thresholds, children and leaf class distributions; :meth:`Classifier.fit`
trains one with scikit-learn (Breiman 2001, *Random Forests*, Machine Learning 45:5-32). A
fitted forest, or one loaded from an explicit path, has no CNN unless one is attached.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from stadswacht.detect.acoustic.cnn import CnnEnsemble
from stadswacht.detect.acoustic.features import FEATURE_NAMES, features

__all__ = ["CLASSES", "MODEL_PATH", "Classifier", "Tree", "combine"]

CLASSES = ("gunshot", "fireworks", "impulsive_other", "background")
"""The classes the classifier gives probabilities for, in this order."""

MODEL_PATH = Path(__file__).with_name("model.json")
"""The model shipped in the package, written by ``scripts/train_acoustic.py``."""

_FORMAT = "stadswacht.acoustic.forest/1"

FOREST: dict[str, int] = {"n_estimators": 200, "max_depth": 8, "min_samples_leaf": 2}
"""Size of the forest: a JSON model of about 0.5 MB; with 60 trees of depth 7 the held-out
figures moved by several hundredths from one seed to the next."""


@dataclass(frozen=True)
class Tree:
    """One decision tree as flat arrays; node 0 is the root, a leaf has ``left == -1``.

    A sample goes left when ``x[feature] <= threshold``; ``value`` holds each leaf's class
    distribution, shape (n_nodes, len(CLASSES)).
    """

    feature: NDArray[np.int64]
    threshold: NDArray[np.float64]
    left: NDArray[np.int64]
    right: NDArray[np.int64]
    value: NDArray[np.float64]

    def predict(self, x: NDArray[np.float64]) -> NDArray[np.float64]:
        """Leaf class distributions for feature vectors ``x``, shape (n, len(CLASSES))."""
        node = np.zeros(x.shape[0], dtype=np.int64)
        rows = np.arange(x.shape[0])
        while True:
            inner = self.left[node] >= 0
            if not inner.any():
                return self.value[node]
            go_left = x[rows, np.maximum(self.feature[node], 0)] <= self.threshold[node]
            step = np.where(go_left, self.left[node], self.right[node])
            node = np.where(inner, step, node)


@dataclass(frozen=True)
class Classifier:
    """A forest over :data:`~stadswacht.detect.acoustic.features.FEATURE_NAMES`, and
    optionally the CNN that gives P(gunshot).

    Attributes
    ----------
    trees
        The forest; its probabilities are the mean of the trees' leaf distributions.
    info
        What the forest was trained on and its held-out figures, as the training script
        wrote them.
    cnn
        When given, :meth:`probabilities` combines it with the forest (:func:`combine`);
        :meth:`predict` is always the forest alone.
    """

    trees: tuple[Tree, ...]
    info: dict[str, Any] = field(default_factory=dict)
    cnn: CnnEnsemble | None = None

    @classmethod
    def load(cls, path: str | Path | None = None, *, cnn: bool | None = None) -> Classifier:
        """Load a forest file; without a path, the classifier shipped in the package.

        Parameters
        ----------
        path
            A forest written by :meth:`save`; ``None``: the shipped ``model.json``.
        cnn
            Attach the shipped CNN ensemble; ``None``: only when ``path`` is ``None``.

        >>> m = Classifier.load()
        >>> len(m.trees) > 0, m.cnn is not None
        (True, True)
        """
        with_cnn = path is None if cnn is None else cnn
        p = MODEL_PATH if path is None else Path(path)
        doc = json.loads(p.read_text(encoding="utf-8"))
        if doc.get("format") != _FORMAT:
            raise ValueError(f"{p.name}: not a {_FORMAT} model file (format {doc.get('format')!r})")
        if tuple(doc["features"]) != FEATURE_NAMES or tuple(doc["classes"]) != CLASSES:
            raise ValueError(f"{p.name}: trained on other features or classes; retrain it")
        trees = tuple(
            Tree(
                feature=np.asarray(t["feature"], dtype=np.int64),
                threshold=np.asarray(t["threshold"], dtype=np.float64),
                left=np.asarray(t["left"], dtype=np.int64),
                right=np.asarray(t["right"], dtype=np.int64),
                value=np.asarray(t["value"], dtype=np.float64),
            )
            for t in doc["trees"]
        )
        ensemble = CnnEnsemble.load() if with_cnn else None
        return cls(trees=trees, info=dict(doc.get("info", {})), cnn=ensemble)

    def save(self, path: str | Path) -> None:
        """Write the model as compact JSON (thresholds and leaf values to 5 significant digits)."""

        def r(a: NDArray[np.float64]) -> list[Any]:
            return [float(f"{v:.5g}") for v in a.ravel()] if a.ndim == 1 else [r(v) for v in a]

        doc = {
            "format": _FORMAT,
            "classes": list(CLASSES),
            "features": list(FEATURE_NAMES),
            "trees": [
                {
                    "feature": t.feature.tolist(),
                    "threshold": r(t.threshold),
                    "left": t.left.tolist(),
                    "right": t.right.tolist(),
                    "value": r(t.value),
                }
                for t in self.trees
            ],
            "info": self.info,
        }
        Path(path).write_text(json.dumps(doc, separators=(",", ":")) + "\n", encoding="utf-8")

    def predict(self, x: NDArray[np.float64]) -> NDArray[np.float64]:
        """Class probabilities for feature vectors, shape (n, len(CLASSES)); rows sum to 1."""
        xs = np.atleast_2d(np.asarray(x, dtype=np.float64))
        p = np.mean([t.predict(xs) for t in self.trees], axis=0)
        return np.asarray(p / p.sum(axis=1, keepdims=True), dtype=np.float64)

    def probabilities(self, snippet: NDArray[np.floating], sample_rate: int) -> dict[str, float]:
        """Probability of each class in :data:`CLASSES` for the strongest impulse in a snippet.

        With a :attr:`cnn`, the CNN's and the forest's probabilities are combined by
        :func:`combine`; without, all four are the forest's.

        Parameters
        ----------
        snippet
            Mono samples around an impulse, any rate [full scale = 1].
        sample_rate
            [Hz]

        Examples
        --------
        >>> x = np.zeros(8000); x[800] = 1.0
        >>> p = Classifier.load().probabilities(x, 8000)
        >>> list(p) == list(CLASSES), round(sum(p.values()), 6)
        (True, 1.0)
        """
        p = self.predict(features(snippet, sample_rate))[0]
        if self.cnn is not None:
            p = combine(p, self.cnn.p_gunshot(snippet, sample_rate))
        total = math.fsum(float(v) for v in p)
        return {c: float(v) / total for c, v in zip(CLASSES, p, strict=True)}

    @classmethod
    def fit(
        cls,
        x: NDArray[np.float64],
        y: NDArray[np.int64],
        *,
        seed: int = 0,
        info: dict[str, Any] | None = None,
        n_estimators: int | None = None,
    ) -> Classifier:
        """Train a :data:`FOREST` on feature vectors ``x`` and class indices ``y`` (into
        :data:`CLASSES`), each class weighted equally; ``n_estimators`` overrides the number
        of trees (fewer make quick checks of the training pipeline)."""
        from sklearn.ensemble import RandomForestClassifier

        counts = np.bincount(y, minlength=len(CLASSES))
        if not counts.all():
            missing = [c for c, n in zip(CLASSES, counts, strict=True) if n == 0]
            raise ValueError(f"no training examples of {missing}; every class needs some")
        size = dict(FOREST) if n_estimators is None else FOREST | {"n_estimators": n_estimators}
        forest = RandomForestClassifier(
            **size,
            max_features="sqrt",
            class_weight="balanced",
            random_state=seed,
        )
        forest.fit(x, y)
        trees = []
        for est in forest.estimators_:
            t = est.tree_
            value = np.asarray(t.value[:, 0, :], dtype=np.float64)
            trees.append(
                Tree(
                    feature=np.asarray(t.feature, dtype=np.int64),
                    threshold=np.asarray(t.threshold, dtype=np.float64),
                    left=np.asarray(t.children_left, dtype=np.int64),
                    right=np.asarray(t.children_right, dtype=np.int64),
                    value=value / value.sum(axis=1, keepdims=True),
                )
            )
        return cls(trees=tuple(trees), info=dict(info or {}))


def combine(forest: NDArray[np.float64], cnn: NDArray[np.float64] | float) -> NDArray[np.float64]:
    """Class probabilities from the forest's and the CNN's, by the chain rule above.

    Parameters
    ----------
    forest
        The forest's probabilities over :data:`CLASSES`, shape (4,) or (n, 4).
    cnn
        The CNN's P(gunshot), read as P(gunshot | not fireworks), scalar or shape (n,).

    Returns
    -------
    ndarray
        Same shape as ``forest``; rows sum to 1. Where the forest gives impulsive_other and
        background (nearly) nothing, what is left for them is split equally.

    Examples
    --------
    >>> combine(np.array([0.6, 0.2, 0.1, 0.1]), 0.5).round(3).tolist()
    [0.4, 0.2, 0.2, 0.2]
    """
    f = np.atleast_2d(np.asarray(forest, dtype=np.float64))
    c = np.broadcast_to(np.asarray(cnn, dtype=np.float64), f.shape[:1])
    gun, fw = CLASSES.index("gunshot"), CLASSES.index("fireworks")
    rest = [k for k in range(len(CLASSES)) if k not in (gun, fw)]
    not_fw = 1.0 - f[:, fw]
    share = f[:, rest]
    total = share.sum(axis=1, keepdims=True)
    share = np.where(total > 1e-12, share / np.maximum(total, 1e-12), 1.0 / len(rest))
    out = np.empty_like(f)
    out[:, gun] = not_fw * c
    out[:, fw] = f[:, fw]
    out[:, rest] = (not_fw * (1.0 - c))[:, None] * share
    return out.reshape(np.shape(forest))
