"""Class probabilities an acoustic sensor reports with an impulse: a stand-in classifier.

No sensor-side classifier exists yet in Stadswacht. This model only makes the *output* of one
plausible for testing the platform: the true class gets most of the probability, more so the
louder the impulse is above the sensor's threshold, and the rest is spread at random over the
other classes (a Dirichlet draw), so a quiet gunshot can be mistaken for fireworks now and then.

>>> import numpy as np
>>> p = class_probabilities("gunshot", 30.0, np.random.default_rng(1))
>>> max(p, key=lambda k: p[k]), round(sum(p.values()), 6)
('gunshot', 1.0)
"""

from __future__ import annotations

import numpy as np

__all__ = ["CLASSES", "class_probabilities"]

CLASSES = ("gunshot", "fireworks", "impulsive_other", "background")
"""The classes an acoustic impulse report carries, in this order."""

_CONFUSION = {
    "gunshot": (0.0, 3.0, 1.5, 0.5),
    "fireworks": (2.0, 0.0, 1.5, 0.5),
    "impulsive_other": (1.0, 1.0, 0.0, 2.0),
}
"""Dirichlet weights of the wrong classes per true class: gunshots and fireworks get
confused with each other most."""


def class_probabilities(
    true_class: str, snr_db: float, rng: np.random.Generator
) -> dict[str, float]:
    """Noisy class probabilities for an impulse of ``true_class`` heard ``snr_db`` [dB] above
    the detection threshold; they sum to 1 (rounded to 4 decimals)."""
    confidence = float(np.clip(0.45 + 0.015 * snr_db, 0.45, 0.92))
    confidence = float(np.clip(confidence + rng.normal(0, 0.08), 0.2, 0.97))
    weights = np.array(_CONFUSION.get(true_class, (1.0, 1.0, 1.0, 1.0)), dtype=float)
    rest = rng.dirichlet(weights + 0.05) * (1 - confidence)
    probs = rest.copy()
    idx = CLASSES.index(true_class) if true_class in CLASSES else 2
    probs[idx] += confidence
    rounded = [round(float(p), 4) for p in probs]
    rounded[idx] = round(1.0 - sum(r for i, r in enumerate(rounded) if i != idx), 4)
    return dict(zip(CLASSES, rounded, strict=True))
