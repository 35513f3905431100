"""What leaves the sensor: one impulse report per impulse, never the audio itself."""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from stadswacht.detect.acoustic.audio import read_audio
from stadswacht.detect.acoustic.classifier import Classifier
from stadswacht.detect.acoustic.onset import Impulse, detect_impulses
from stadswacht.model.reading import format_time

__all__ = ["classify_file", "impulse_values"]


def classify_file(
    path: str | Path, *, classifier: Classifier | None = None
) -> list[dict[str, Any]]:
    """Find and classify every impulse in a recording.

    Parameters
    ----------
    path
        A WAV, FLAC or OGG recording (see :func:`~stadswacht.detect.acoustic.audio.read_audio`).
    classifier
        Defaults to the model shipped in the package.

    Returns
    -------
    list of dict
        Per impulse: ``time_s`` (onset [s from the recording's start]), ``peak_dbfs``
        [dBFS], ``duration_ms`` [ms] and ``classes`` (probability per class).

    Raises
    ------
    AudioError
        When the recording cannot be read.
    """
    x, rate = read_audio(path)
    model = Classifier.load() if classifier is None else classifier
    return [
        {
            "time_s": imp.time_s,
            "peak_dbfs": imp.peak_dbfs,
            "duration_ms": imp.duration_ms,
            "classes": model.probabilities(imp.snippet, imp.sample_rate),
        }
        for imp in detect_impulses(x, rate)
    ]


def impulse_values(
    impulse: Impulse, classes: dict[str, float], stream_start: datetime, calibration_db: float
) -> dict[str, Any]:
    """The values of an ``acoustic_impulse`` reading for one impulse (what leaves the sensor).

    Parameters
    ----------
    impulse
        From :class:`~stadswacht.detect.acoustic.onset.OnsetDetector`.
    classes
        Probability per class, from :meth:`Classifier.probabilities`.
    stream_start
        Time of the stream's first sample (timezone-aware).
    calibration_db
        Level of a full-scale signal [dB SPL], so that ``peak_db = peak_dbfs + calibration_db``.

    Raises
    ------
    ValueError
        When the resulting level is outside 0-200 dB SPL (a wrong calibration) or
        ``stream_start`` is naive.

    Examples
    --------
    >>> from datetime import UTC
    >>> import numpy as np
    >>> imp = Impulse(time_s=1.2345678, peak_dbfs=-20.0, duration_ms=12.5,
    ...               snippet=np.zeros(10, dtype=np.float32), sample_rate=8000,
    ...               snippet_start_s=1.1)
    >>> v = impulse_values(imp, {"gunshot": 1.0}, datetime(2026, 11, 25, tzinfo=UTC), 120.0)
    >>> v["arrival_time"], v["peak_db"], v["duration_ms"]
    ('2026-11-25T00:00:01.234568Z', 100.0, 12.5)
    """
    peak_db = impulse.peak_dbfs + calibration_db
    if not (0.0 <= peak_db <= 200.0) or not math.isfinite(peak_db):
        raise ValueError(
            f"peak level {peak_db:.1f} dB SPL (from {impulse.peak_dbfs:.1f} dBFS + calibration "
            f"{calibration_db} dB) is outside 0-200 dB SPL; check calibration_db"
        )
    arrival = stream_start + timedelta(seconds=impulse.time_s)
    return {
        "arrival_time": format_time(arrival),
        "peak_db": round(peak_db, 2),
        "classes": {k: round(float(v), 6) for k, v in classes.items()},
        "duration_ms": round(impulse.duration_ms, 3),
    }
