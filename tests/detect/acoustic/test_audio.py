from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from stadswacht.detect.acoustic.audio import WORKING_RATE, band_limit, read_audio, resample
from stadswacht.errors import AudioError


@pytest.mark.parametrize(("fmt", "suffix"), [("WAV", ".wav"), ("FLAC", ".flac"), ("OGG", ".ogg")])
def test_reads_each_format_at_its_rate(tmp_path: Path, fmt: str, suffix: str) -> None:
    t = np.arange(22050) / 22050
    path = tmp_path / f"tone{suffix}"
    sf.write(path, 0.5 * np.sin(2 * np.pi * 440 * t), 22050, format=fmt)
    x, rate = read_audio(path)
    assert rate == 22050
    assert x.dtype == np.float32 and x.ndim == 1
    assert abs(x.size - 22050) < 2000  # OGG may pad its last frame
    assert 0.4 < float(np.max(np.abs(x))) < 0.6


def test_stereo_is_mixed_down(tmp_path: Path) -> None:
    left = np.full(800, 0.5)
    right = np.full(800, -0.25)
    sf.write(tmp_path / "st.wav", np.c_[left, right], 8000, subtype="FLOAT")
    x, rate = read_audio(tmp_path / "st.wav")
    assert rate == 8000 and x.shape == (800,)
    assert np.allclose(x, 0.125)


def test_missing_file_names_the_file(tmp_path: Path) -> None:
    with pytest.raises(AudioError, match=r"nothere\.wav: no such file"):
        read_audio(tmp_path / "nothere.wav")


def test_text_file_renamed_wav_is_not_audio(tmp_path: Path) -> None:
    path = tmp_path / "notes.wav"
    path.write_text("this is not a recording\n")
    with pytest.raises(AudioError, match=r"notes\.wav: not a readable") as info:
        read_audio(path)
    assert isinstance(info.value.__cause__, sf.LibsndfileError)


def test_zero_byte_file_is_not_audio(tmp_path: Path) -> None:
    path = tmp_path / "zero.wav"
    path.write_bytes(b"")
    with pytest.raises(AudioError, match=r"zero\.wav"):
        read_audio(path)


def test_empty_wav_has_no_samples(tmp_path: Path) -> None:
    path = tmp_path / "empty.wav"
    sf.write(path, np.zeros((0, 1)), 8000)
    with pytest.raises(AudioError, match=r"empty\.wav: the recording holds no samples"):
        read_audio(path)


def test_nan_samples_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "nan.wav"
    sf.write(path, np.array([0.0, np.nan, 0.1]), 8000, subtype="FLOAT")
    with pytest.raises(AudioError, match="not finite"):
        read_audio(path)


def test_band_limit_removes_what_an_8khz_recorder_cannot_hear() -> None:
    t = np.arange(48000) / 48000
    high = np.sin(2 * np.pi * 6000 * t)  # above the 4 kHz Nyquist limit of 8 kHz recordings
    mid = np.sin(2 * np.pi * 1000 * t)
    assert float(np.std(band_limit(high, 48000)[1000:-1000])) < 1e-3  # edges: switch-on
    assert float(np.std(band_limit(mid, 48000))) > 0.6
    assert band_limit(mid, 48000).size == WORKING_RATE


def test_resample_refuses_non_positive_rates() -> None:
    with pytest.raises(ValueError, match="positive"):
        resample(np.zeros(10), 0, 8000)
