from __future__ import annotations

import numpy as np
import pytest

from stadswacht.detect.acoustic.onset import MAX_SNIPPET_S, OnsetDetector, detect_impulses
from stadswacht.detect.acoustic.synth import synthesise_gunshot


def _clicks(rate: int, times: list[float], duration_s: float, seed: int = 0) -> np.ndarray:
    """Background noise at -50 dBFS RMS with decaying noise bursts starting at ``times``."""
    rng = np.random.default_rng(seed)
    x = 10 ** (-50 / 20) * rng.standard_normal(round(duration_s * rate))
    n = round(0.01 * rate)
    burst = rng.standard_normal(n) * np.exp(-np.arange(n) / (0.002 * rate))
    burst[0] = 3.0  # a blast wave starts with a jump to its peak
    for t in times:
        i = round(t * rate)
        x[i : i + n] += 0.3 * burst
    return x.astype(np.float32)


@pytest.mark.parametrize("rate", [8000, 16000, 44100, 48000])
@pytest.mark.parametrize("block", [37, 1024, 4801])
def test_onsets_are_timed_within_a_millisecond_across_blocks(rate: int, block: int) -> None:
    times = [0.2003, 0.7311, 1.5, 2.2477]
    x = _clicks(rate, times, 3.0)
    det = OnsetDetector(rate)
    found = []
    for start in range(0, x.size, block):
        found += det.feed(x[start : start + block])
    found += det.flush()
    assert len(found) == len(times)
    for imp, t in zip(found, times, strict=True):
        exact = round(t * rate) / rate  # where the burst really starts
        assert abs(imp.time_s - exact) < 0.001


def test_results_do_not_depend_on_block_boundaries() -> None:
    x = _clicks(16000, [0.3, 0.9, 1.7], 2.0, seed=3)
    whole = detect_impulses(x, 16000)
    det = OnsetDetector(16000)
    parts = []
    for start in range(0, x.size, 999):
        parts += det.feed(x[start : start + 999])
    parts += det.flush()
    assert [i.time_s for i in parts] == pytest.approx([i.time_s for i in whole], abs=1e-9)
    assert [i.peak_dbfs for i in parts] == pytest.approx([i.peak_dbfs for i in whole])


def test_impulse_right_at_the_start_of_the_stream_is_found() -> None:
    x = _clicks(8000, [0.001], 1.0)
    found = detect_impulses(x, 8000)
    assert len(found) == 1 and abs(found[0].time_s - 0.001) < 0.001


def test_steady_noise_triggers_nothing() -> None:
    rng = np.random.default_rng(1)
    x = (0.01 * rng.standard_normal(8000 * 5)).astype(np.float32)
    assert detect_impulses(x, 8000) == []


def test_dc_offset_at_the_start_triggers_nothing() -> None:
    rng = np.random.default_rng(2)
    x = (0.3 + 0.001 * rng.standard_normal(16000)).astype(np.float32)
    assert detect_impulses(x, 16000) == []


def test_snippet_never_exceeds_one_second() -> None:
    rate = 44100
    x = _clicks(rate, [0.05, 1.0, 2.95], 3.0)
    found = detect_impulses(x, rate)
    assert len(found) == 3
    for imp in found:
        assert imp.snippet.size <= MAX_SNIPPET_S * rate
        assert imp.snippet_start_s <= imp.time_s < imp.snippet_start_s + MAX_SNIPPET_S
    # The first snippet lost its lead to the stream start; the last its tail to the end.
    assert found[0].snippet_start_s == 0.0
    assert found[-1].snippet.size < rate


def test_detector_holds_less_than_two_seconds_of_audio() -> None:
    rate = 8000
    det = OnsetDetector(rate)
    x = _clicks(rate, [0.5, 4.0], 10.0)
    for start in range(0, x.size, 800):
        det.feed(x[start : start + 800])
        assert det._raw.size <= 2 * rate


def test_peak_level_and_calibration() -> None:
    x = np.zeros(8000, dtype=np.float32)
    x[4000:4100] = 0.1 * np.exp(-np.arange(100) / 10)
    (imp,) = detect_impulses(x, 8000, calibration_db=120.0)
    assert imp.peak_dbfs == pytest.approx(-20.0, abs=1.0)
    assert imp.peak_db_spl == pytest.approx(imp.peak_dbfs + 120.0)
    assert 1.0 < imp.duration_ms < 50.0


def test_gunshot_duration_includes_its_echoes_not_the_whole_second() -> None:
    x = synthesise_gunshot(np.random.default_rng(4), 16000, onset_s=0.5, snr_db=45)
    imp = detect_impulses(x, 16000)[0]
    assert abs(imp.time_s - 0.5) < 0.001
    assert 1.0 < imp.duration_ms < 900.0


def test_bad_settings_are_refused() -> None:
    with pytest.raises(ValueError, match="pre_s"):
        OnsetDetector(8000, pre_s=0.5, post_s=0.9)
    with pytest.raises(ValueError, match="too low"):
        OnsetDetector(500)
    with pytest.raises(ValueError, match="mono"):
        OnsetDetector(8000).feed(np.zeros((10, 2)))
