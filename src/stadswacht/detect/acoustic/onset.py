"""Onset detection on an audio stream: find impulsive sounds, time them, cut a short snippet.

An impulse is declared where the short-term energy (1 ms time constant) of the high-passed
signal rises :attr:`OnsetDetector.threshold_db` above the running background energy
(0.5 s time constant) and above an absolute floor. Its onset is then refined to the first
sample whose magnitude reaches a quarter of the impulse's peak (and four times the background
RMS), interpolated between samples, which times a sharp onset to well under a millisecond.

The detector is fed blocks of any size; filters and buffers carry over, so the impulses found
do not depend on where the blocks end. Only a snippet of at most one second around each
onset is kept: continuous audio is never held longer than that.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray
from scipy import signal

__all__ = ["MAX_SNIPPET_S", "Impulse", "OnsetDetector", "detect_impulses"]

MAX_SNIPPET_S = 1.0
"""Longest snippet an impulse carries [s]; the rule that no continuous audio leaves the sensor."""

_HIGHPASS_HZ = 100.0
_FAST_TAU_S = 0.001
_SLOW_TAU_S = 0.5
_INIT_S = 0.05
_LOOKBACK_S = 0.01
_PEAK_SEARCH_S = 0.01
_DURATION_DROP_DB = 20.0
_ENV_SMOOTH_S = 0.005
_ENERGY_FLOOR = 1e-12


@dataclass(frozen=True, slots=True)
class Impulse:
    """One impulsive sound found in a stream.

    Attributes
    ----------
    time_s
        Onset [s from the stream's first sample].
    peak_dbfs
        Peak level of the high-passed signal [dBFS, full scale = 0].
    duration_ms
        From onset until the envelope falls 20 dB below its peak or to near the background
        [ms].
    snippet
        Raw samples around the onset, at most :data:`MAX_SNIPPET_S` long.
    sample_rate
        Rate of ``snippet`` [Hz].
    snippet_start_s
        Time of the snippet's first sample [s from the stream's first sample].
    peak_db_spl
        Peak level [dB SPL] when the detector was given a calibration offset, else ``None``.
    """

    time_s: float
    peak_dbfs: float
    duration_ms: float
    snippet: NDArray[np.float32] = field(repr=False)
    sample_rate: int
    snippet_start_s: float
    peak_db_spl: float | None = None


def _one_pole(tau_s: float, sample_rate: int) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    a = 1.0 - math.exp(-1.0 / (tau_s * sample_rate))
    return np.array([a]), np.array([1.0, a - 1.0])


class OnsetDetector:
    """Streaming impulse detector: :meth:`feed` blocks, then :meth:`flush` at the end.

    Parameters
    ----------
    sample_rate
        [Hz]
    threshold_db
        How far the short-term energy must rise above the background to trigger [dB].
    min_level_dbfs
        Short-term level below which nothing triggers [dBFS].
    refractory_s
        Shortest time between two onsets [s].
    pre_s, post_s
        Snippet length before and after the onset [s]; together at most
        :data:`MAX_SNIPPET_S`.
    calibration_db
        Level in dB SPL of a full-scale signal, to give ``peak_db_spl``; ``None`` leaves it out.

    Examples
    --------
    >>> rate = 8000
    >>> x = np.zeros(rate, dtype=np.float32)
    >>> x[3000:3040] = np.exp(-np.arange(40) / 8)   # a click at 0.375 s
    >>> det = OnsetDetector(rate)
    >>> found = det.feed(x[:3010]) + det.feed(x[3010:]) + det.flush()
    >>> [round(i.time_s, 3) for i in found]
    [0.375]
    """

    def __init__(
        self,
        sample_rate: int,
        *,
        threshold_db: float = 15.0,
        min_level_dbfs: float = -60.0,
        refractory_s: float = 0.05,
        pre_s: float = 0.1,
        post_s: float = 0.9,
        calibration_db: float | None = None,
    ) -> None:
        if sample_rate < 1000:
            raise ValueError(f"sample_rate {sample_rate} Hz is too low; give at least 1000 Hz")
        if pre_s < 0 or post_s <= 0 or pre_s + post_s > MAX_SNIPPET_S + 1e-9:
            raise ValueError(
                f"pre_s + post_s must be in (0, {MAX_SNIPPET_S}] s, got {pre_s} + {post_s}"
            )
        self.sample_rate = sample_rate
        self.threshold_db = threshold_db
        self.min_level_dbfs = min_level_dbfs
        self.calibration_db = calibration_db
        self._ratio = 10.0 ** (threshold_db / 10.0)
        self._floor = 10.0 ** (min_level_dbfs / 10.0)
        self._refractory = max(1, round(refractory_s * sample_rate))
        self._pre = round(pre_s * sample_rate)
        self._post = min(
            round(post_s * sample_rate), round(MAX_SNIPPET_S * sample_rate) - self._pre
        )
        self._lookback = round(_LOOKBACK_S * sample_rate)
        self._peak_search = round(_PEAK_SEARCH_S * sample_rate)
        self._init_n = round(_INIT_S * sample_rate)
        self._hp = signal.butter(2, _HIGHPASS_HZ, btype="highpass", fs=sample_rate, output="sos")
        self._fast = _one_pole(_FAST_TAU_S, sample_rate)
        self._slow = _one_pole(_SLOW_TAU_S, sample_rate)
        self._smooth = max(1, round(_ENV_SMOOTH_S * sample_rate))
        self._started = False
        self._hp_zi = np.zeros((self._hp.shape[0], 2))
        self._fast_zi = np.zeros(1)
        self._slow_zi = np.zeros(1)
        self._above = False
        self._last_trigger = -(10**18)
        self._waiting = np.zeros(0)
        # Buffers of raw and high-passed samples and the background energy, from _start on.
        self._start = 0
        self._raw = np.zeros(0, dtype=np.float32)
        self._hpx = np.zeros(0)
        self._bg = np.zeros(0)
        self._pending: list[int] = []

    def feed(self, block: NDArray[np.floating]) -> list[Impulse]:
        """Take the next block of mono samples and return the impulses now complete.

        An impulse is returned once ``post_s`` of audio after its onset has arrived.
        """
        x = np.asarray(block, dtype=np.float32)
        if x.ndim != 1:
            raise ValueError(f"give mono samples of shape (n,), got shape {x.shape}")
        if not self._started:
            self._waiting = np.concatenate([self._waiting, x])
            if self._waiting.size < self._init_n:
                return []
            self._begin(self._waiting)
            x = self._waiting.astype(np.float32)
            self._waiting = np.zeros(0)
        self._process(x)
        return self._complete(final=False)

    def flush(self) -> list[Impulse]:
        """Return the impulses still waiting for audio, cut short at the stream's end."""
        if not self._started and self._waiting.size:
            self._begin(self._waiting)
            self._process(self._waiting.astype(np.float32))
            self._waiting = np.zeros(0)
        return self._complete(final=True)

    def _begin(self, head: NDArray[np.floating]) -> None:
        # Start every filter in its steady state for the first samples, so a DC offset or the
        # ambient noise at the start of the stream does not look like an onset.
        self._hp_zi = signal.sosfilt_zi(self._hp) * float(head[0])
        hp, _ = signal.sosfilt(self._hp, head[: self._init_n], zi=self._hp_zi)
        # The 10th percentile of a squared Gaussian is 0.0158 of its mean; a low percentile
        # still finds the background when an impulse fills most of the first 50 ms.
        bg = max(float(np.percentile(hp**2, 10)) / 0.0158, _ENERGY_FLOOR)
        self._slow_zi = signal.lfilter_zi(*self._slow) * bg
        self._fast_zi = signal.lfilter_zi(*self._fast) * bg
        self._started = True

    def _process(self, x: NDArray[np.float32]) -> None:
        hp, self._hp_zi = signal.sosfilt(self._hp, x.astype(np.float64), zi=self._hp_zi)
        e = hp**2
        fast, self._fast_zi = signal.lfilter(*self._fast, e, zi=self._fast_zi)
        slow, self._slow_zi = signal.lfilter(*self._slow, e, zi=self._slow_zi)
        mask = (fast > self._ratio * slow) & (fast > self._floor)
        prev = np.concatenate([[self._above], mask[:-1]])
        base = self._start + self._raw.size
        for i in np.flatnonzero(mask & ~prev):
            t = base + int(i)
            if t - self._last_trigger >= self._refractory:
                self._pending.append(t)
                self._last_trigger = t
        if mask.size:
            self._above = bool(mask[-1])
        self._raw = np.concatenate([self._raw, x])
        self._hpx = np.concatenate([self._hpx, hp])
        self._bg = np.concatenate([self._bg, slow])

    def _complete(self, *, final: bool) -> list[Impulse]:
        end = self._start + self._raw.size
        out: list[Impulse] = []
        while self._pending and (final or self._pending[0] + self._post + self._lookback <= end):
            out.append(self._measure(self._pending.pop(0)))
        # Keep only what a later onset can still need: its lookback and its snippet's lead.
        oldest = self._pending[0] if self._pending else end
        keep_from = max(self._start, oldest - self._lookback - self._pre - 1)
        cut = keep_from - self._start
        if cut > 0:
            self._raw = self._raw[cut:]
            self._hpx = self._hpx[cut:]
            self._bg = self._bg[cut:]
            self._start = keep_from
        return out

    def _measure(self, trigger: int) -> Impulse:
        s0 = self._start
        n = self._raw.size
        lo = max(0, trigger - self._lookback - s0)
        hi = min(n, trigger + self._peak_search - s0 + 1)
        mag = np.abs(self._hpx)
        p = lo + int(np.argmax(mag[lo:hi]))
        peak = float(mag[p])
        bg_rms = math.sqrt(float(self._bg[lo]))
        level = max(0.25 * peak, min(4.0 * bg_rms, 0.5 * peak))
        seg = mag[lo : p + 1]
        i = lo + int(np.argmax(seg >= level))
        onset = float(i)
        if i > 0 and mag[i] > mag[i - 1] and mag[i - 1] < level:
            onset = i - 1 + (level - mag[i - 1]) / (mag[i] - mag[i - 1])
        onset_abs = s0 + onset
        duration = self._duration(i, p, peak, self._bg[lo])
        a = max(0, i - self._pre)
        b = min(n, i + self._post)
        peak_dbfs = 20.0 * math.log10(max(peak, 1e-10))
        spl = None if self.calibration_db is None else peak_dbfs + self.calibration_db
        return Impulse(
            time_s=float(onset_abs / self.sample_rate),
            peak_dbfs=float(peak_dbfs),
            duration_ms=float(duration),
            snippet=self._raw[a:b].copy(),
            sample_rate=self.sample_rate,
            snippet_start_s=(s0 + a) / self.sample_rate,
            peak_db_spl=None if spl is None else float(spl),
        )

    def _duration(self, onset: int, peak_at: int, peak: float, bg: float) -> float:
        stop = min(self._raw.size, onset + self._post)
        env = np.convolve(self._hpx[onset:stop] ** 2, np.ones(self._smooth) / self._smooth, "same")
        level = max(peak**2 * 10.0 ** (-_DURATION_DROP_DB / 10.0), 4.0 * bg)
        after = env[peak_at - onset :] < level
        k = int(np.argmax(after)) if after.any() else after.size
        samples = max(1, peak_at - onset + k)
        return 1000.0 * samples / self.sample_rate


def detect_impulses(
    x: NDArray[np.floating],
    sample_rate: int,
    *,
    threshold_db: float = 15.0,
    min_level_dbfs: float = -60.0,
    calibration_db: float | None = None,
) -> list[Impulse]:
    """Find the impulses in a whole recording (one :class:`OnsetDetector` pass).

    Parameters
    ----------
    x
        Mono samples, shape (n,).
    sample_rate
        [Hz]
    threshold_db, min_level_dbfs, calibration_db
        As for :class:`OnsetDetector`.

    Examples
    --------
    >>> x = np.zeros(16000, dtype=np.float32)
    >>> x[8000:8016] = 0.5
    >>> [(round(i.time_s, 3), len(i.snippet) <= 16000) for i in detect_impulses(x, 16000)]
    [(0.5, True)]
    """
    det = OnsetDetector(
        sample_rate,
        threshold_db=threshold_db,
        min_level_dbfs=min_level_dbfs,
        calibration_db=calibration_db,
    )
    return det.feed(x) + det.flush()
