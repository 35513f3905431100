from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from stadswacht.detect.acoustic import (
    CLASSES,
    Classifier,
    classify_file,
    detect_impulses,
    impulse_values,
    synthesise_gunshot,
)
from stadswacht.errors import AudioError
from stadswacht.model.reading import AcousticImpulse, parse_time_ns

START = datetime(2026, 11, 25, 2, 13, 7, 123456, tzinfo=UTC)


def test_impulse_values_are_an_acoustic_impulse_reading() -> None:
    x = synthesise_gunshot(np.random.default_rng(1), 16000, onset_s=0.75)
    imp = detect_impulses(x, 16000)[0]
    classes = Classifier.load().probabilities(imp.snippet, imp.sample_rate)
    values = impulse_values(imp, classes, START, calibration_db=130.0)
    reading = AcousticImpulse.model_validate(values)
    assert set(values) == {"arrival_time", "peak_db", "classes", "duration_ms"}
    assert set(reading.classes) == set(CLASSES)
    arrival_ns = parse_time_ns(values["arrival_time"])
    start_ns = parse_time_ns("2026-11-25T02:13:07.123456Z")
    assert abs(arrival_ns - start_ns - 750_000_000) < 1_000_000  # within 1 ms of the onset
    assert values["peak_db"] == pytest.approx(imp.peak_dbfs + 130.0, abs=0.01)


def test_no_audio_leaves_the_sensor() -> None:
    x = synthesise_gunshot(np.random.default_rng(2), 8000, onset_s=0.5)
    imp = detect_impulses(x, 8000)[0]
    values = impulse_values(imp, {"gunshot": 1.0}, START, calibration_db=120.0)
    assert all(isinstance(v, str | float | dict) for v in values.values())
    assert len(repr(values)) < 300


def test_wrong_calibration_is_refused() -> None:
    x = synthesise_gunshot(np.random.default_rng(3), 8000, onset_s=0.5)
    imp = detect_impulses(x, 8000)[0]
    with pytest.raises(ValueError, match="check calibration_db"):
        impulse_values(imp, {"gunshot": 1.0}, START, calibration_db=-10.0)


def test_naive_stream_start_is_refused() -> None:
    x = synthesise_gunshot(np.random.default_rng(3), 8000, onset_s=0.5)
    imp = detect_impulses(x, 8000)[0]
    with pytest.raises(ValueError, match="naive"):
        impulse_values(imp, {"gunshot": 1.0}, datetime(2026, 11, 25), calibration_db=120.0)


def test_classify_file_on_a_stereo_recording(tmp_path: Path) -> None:
    rng = np.random.default_rng(4)
    shot = synthesise_gunshot(rng, 44100, duration_s=3.0, onset_s=1.25, snr_db=40)
    path = tmp_path / "shot.wav"
    sf.write(path, np.c_[shot, 0.8 * shot], 44100)
    found = classify_file(path)
    assert found
    first = found[0]
    assert set(first) == {"time_s", "peak_dbfs", "duration_ms", "classes"}
    assert abs(first["time_s"] - 1.25) < 0.001
    assert sum(first["classes"].values()) == pytest.approx(1.0)


def test_classify_file_reports_unreadable_files(tmp_path: Path) -> None:
    path = tmp_path / "bad.wav"
    path.write_text("RIFF? no.")
    with pytest.raises(AudioError, match=r"bad\.wav"):
        classify_file(path)
