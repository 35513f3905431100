"""Acoustic impulse detection and classification, run on a sensor or its gateway.

An :class:`OnsetDetector` consumes an audio stream block by block and yields
:class:`Impulse` objects (onset time, peak level, duration, a snippet of at most 1 s); a
:class:`Classifier` gives each impulse a probability for every class in :data:`CLASSES`
(P(gunshot) from the log-mel :class:`CnnEnsemble`, fireworks and the rest from a random
forest, combined as :func:`~stadswacht.detect.acoustic.classifier.combine` says);
:func:`impulse_values` turns the two into the values of an ``acoustic_impulse`` reading.
Only that report leaves the sensor: continuous audio never does, and a snippet is never
longer than :data:`MAX_SNIPPET_S`.

>>> import numpy as np
>>> x = synthesise_gunshot(np.random.default_rng(0), 16000, onset_s=0.5)
>>> [round(i.time_s, 3) for i in detect_impulses(x, 16000)][:1]
[0.5]

Figures on real data come from :func:`stadswacht.detect.acoustic.evaluation.heldout_scores`;
figures on fireworks are simulated (:func:`synthesise_fireworks`).
"""

from __future__ import annotations

from stadswacht.detect.acoustic.audio import WORKING_RATE, read_audio
from stadswacht.detect.acoustic.classifier import CLASSES, Classifier
from stadswacht.detect.acoustic.cnn import CnnEnsemble
from stadswacht.detect.acoustic.onset import MAX_SNIPPET_S, Impulse, OnsetDetector, detect_impulses
from stadswacht.detect.acoustic.report import classify_file, impulse_values
from stadswacht.detect.acoustic.synth import (
    synthesise_ambient,
    synthesise_fireworks,
    synthesise_gunshot,
)

__all__ = [
    "CLASSES",
    "MAX_SNIPPET_S",
    "WORKING_RATE",
    "Classifier",
    "CnnEnsemble",
    "Impulse",
    "OnsetDetector",
    "classify_file",
    "detect_impulses",
    "impulse_values",
    "read_audio",
    "synthesise_ambient",
    "synthesise_fireworks",
    "synthesise_gunshot",
]
