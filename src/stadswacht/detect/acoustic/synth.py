"""Synthetic sounds from their physics: fireworks, gunshots and ambient noise.

There are no real fireworks recordings in the training data, so the fireworks class is
learnt from these; every figure that uses them is labelled *simulated*. The gunshot and
ambient generators give tests audio without the real data.

Physics used:

- A blast wave (a muzzle blast, a bursting shell or salute) is a Friedlander pulse: a jump
  to the peak overpressure, then ``(1 - t/T) exp(-b t/T)`` with a positive phase ``T`` of
  about a millisecond for small charges (Friedlander 1946; Kinney & Graham, *Explosive
  Shocks in Air*, 1985).
- A supersonic bullet adds an N-wave a few ms before the muzzle blast (Whitham 1952),
  0.2-0.5 ms long.
- Crackle ("dragon eggs") is many small pellets popping over 0.5-3 s: a Poisson process of
  sub-millisecond clicks whose rate decays as the pellets burn out.
- A rocket's launch is a whistle (a rising then falling chirp) or, for a mortar shell, a
  low thump of the lift charge.
- Distance spreads the sound (1/r) and air absorbs the high frequencies (ISO 9613-1), here a
  first-order low-pass whose corner falls with distance; buildings add a long reverberant
  tail, an exponentially decaying noise with a reverberation time of 0.5-3 s.
"""

from __future__ import annotations

import math
from typing import Literal

import numpy as np
from numpy.typing import NDArray
from scipy import signal

__all__ = [
    "FIREWORK_KINDS",
    "synthesise_ambient",
    "synthesise_fireworks",
    "synthesise_gunshot",
]

FireworkKind = Literal["crackle", "rocket", "battery", "salute"]

FIREWORK_KINDS: dict[FireworkKind, float] = {
    "crackle": 0.35,
    "rocket": 0.25,
    "battery": 0.25,
    "salute": 0.15,
}
"""Kinds of fireworks drawn by :func:`synthesise_fireworks` and how often. A *salute* is one
loud bang with its echoes: physically almost a gunshot, kept in on purpose."""


def _friedlander(sample_rate: int, positive_ms: float, decay: float = 1.5) -> NDArray[np.float64]:
    t = np.arange(round(4 * positive_ms * 1e-3 * sample_rate) + 2) / sample_rate
    tp = positive_ms * 1e-3
    return np.asarray((1.0 - t / tp) * np.exp(-decay * t / tp), dtype=np.float64)


def _n_wave(sample_rate: int, length_ms: float) -> NDArray[np.float64]:
    n = max(3, round(length_ms * 1e-3 * sample_rate))
    return np.linspace(1.0, -1.0, n)


def _reverb(
    rng: np.random.Generator, x: NDArray[np.float64], sample_rate: int, rt60_s: float, wet: float
) -> NDArray[np.float64]:
    n = round(rt60_s * sample_rate)
    t = np.arange(n) / sample_rate
    ir = rng.standard_normal(n) * 10.0 ** (-3.0 * t / rt60_s)
    ir *= wet / math.sqrt(float(np.sum(ir**2)) + 1e-12)
    ir[0] += 1.0
    return np.asarray(signal.fftconvolve(x, ir)[: x.size], dtype=np.float64)


def _distance(x: NDArray[np.float64], sample_rate: int, distance_m: float) -> NDArray[np.float64]:
    corner = min(0.45 * sample_rate, max(800.0, 20_000.0 * 30.0 / max(distance_m, 1.0)))
    b, a = signal.butter(1, corner, fs=sample_rate)
    return np.asarray(signal.lfilter(b, a, x), dtype=np.float64) / max(distance_m, 1.0)


def _pink(rng: np.random.Generator, n: int) -> NDArray[np.float64]:
    # Paul Kellet's economy pinking filter: -3 dB/octave within 0.5 dB.
    b = [0.049922035, -0.095993537, 0.050612699, -0.004408786]
    a = [1.0, -2.494956002, 2.017265875, -0.522189400]
    y = signal.lfilter(b, a, rng.standard_normal(n + 2000))[2000:]
    return np.asarray(y / (np.std(y) + 1e-12), dtype=np.float64)


def _add_at(out: NDArray[np.float64], x: NDArray[np.float64], at: int) -> None:
    if at >= out.size:
        return
    m = min(x.size, out.size - at)
    out[at : at + m] += x[:m]


def synthesise_ambient(
    rng: np.random.Generator, sample_rate: int, duration_s: float, *, level_dbfs: float = -40.0
) -> NDArray[np.float32]:
    """Outdoor background: pink noise with slow traffic swell and an occasional bird chirp.

    Parameters
    ----------
    rng
        Random generator (all randomness comes from it).
    sample_rate
        [Hz]
    duration_s
        [s]
    level_dbfs
        RMS level [dBFS].

    Examples
    --------
    >>> x = synthesise_ambient(np.random.default_rng(0), 8000, 1.0, level_dbfs=-40)
    >>> x.shape, round(20 * np.log10(np.sqrt(np.mean(x.astype(float) ** 2))))
    ((8000,), -40)
    """
    n = round(duration_s * sample_rate)
    t = np.arange(n) / sample_rate
    x = _pink(rng, n) * (1.0 + 0.3 * np.sin(2 * np.pi * rng.uniform(0.05, 0.3) * t))
    for _ in range(rng.poisson(1.5 * duration_s)):
        f0 = rng.uniform(1500, min(3500, 0.4 * sample_rate))
        length = rng.uniform(0.05, 0.2)
        tc = np.arange(round(length * sample_rate)) / sample_rate
        chirp = np.sin(2 * np.pi * (f0 * tc + rng.uniform(-4000, 4000) * tc**2))
        _add_at(x, 0.5 * chirp * np.hanning(tc.size), int(rng.integers(0, max(1, n - tc.size))))
    x *= 10.0 ** (level_dbfs / 20.0) / (math.sqrt(float(np.mean(x**2))) + 1e-12)
    return x.astype(np.float32)


def synthesise_gunshot(
    rng: np.random.Generator,
    sample_rate: int,
    *,
    duration_s: float = 2.0,
    onset_s: float = 0.5,
    distance_m: float | None = None,
    snr_db: float | None = None,
    peak: float = 0.5,
) -> NDArray[np.float32]:
    """One gunshot: optional supersonic crack, muzzle blast, echoes, distance, ambient noise.

    Parameters
    ----------
    rng
        Random generator.
    sample_rate
        [Hz]
    duration_s
        Length of the result [s].
    onset_s
        When the first wavefront arrives [s].
    distance_m
        Distance to the shooter [m]; drawn from 20-500 m when ``None``.
    snr_db
        Peak-to-ambient-RMS ratio [dB]; drawn from 25-50 dB when ``None``.
    peak
        Peak amplitude of the result [full scale].

    Examples
    --------
    >>> x = synthesise_gunshot(np.random.default_rng(1), 16000, onset_s=0.25)
    >>> x.shape, 3990 < int(np.argmax(np.abs(x))) < 4200
    ((32000,), True)
    """
    n = round(duration_s * sample_rate)
    d = rng.uniform(20, 500) if distance_m is None else distance_m
    out = np.zeros(n)
    at = round(onset_s * sample_rate)
    blast_at = at
    if rng.random() < 0.5:  # a supersonic round: its crack arrives first
        _add_at(out, 0.6 * _n_wave(sample_rate, rng.uniform(0.2, 0.5)), at)
        blast_at = at + round(rng.uniform(0.002, 0.03) * sample_rate)
    blast = _friedlander(sample_rate, rng.uniform(0.8, 3.0), rng.uniform(1.0, 2.5))
    _add_at(out, blast, blast_at)
    out = _reverb(rng, out, sample_rate, rng.uniform(0.3, 1.5), rng.uniform(0.2, 1.0))
    out = _distance(out, sample_rate, d)
    return _finish(rng, out, sample_rate, peak, rng.uniform(25, 50) if snr_db is None else snr_db)


def _finish(
    rng: np.random.Generator, x: NDArray[np.float64], sample_rate: int, peak: float, snr_db: float
) -> NDArray[np.float32]:
    x = x / (float(np.max(np.abs(x))) + 1e-12)
    noise = synthesise_ambient(rng, sample_rate, x.size / sample_rate, level_dbfs=-snr_db)
    y = x + noise[: x.size]
    return (peak * y / (float(np.max(np.abs(y))) + 1e-12)).astype(np.float32)


def _crackle(rng: np.random.Generator, sample_rate: int, length_s: float) -> NDArray[np.float64]:
    rate0 = rng.uniform(40, 400)  # pops per second at the start
    tau = rng.uniform(0.3, 1.5)  # how fast the pellets burn out [s]
    out = np.zeros(round(length_s * sample_rate) + sample_rate // 100)
    # Thinning (Lewis & Shedler 1979): a homogeneous process at rate0, kept with p = rate/rate0.
    times = np.cumsum(rng.exponential(1.0 / rate0, size=int(rate0 * length_s * 2) + 10))
    times = times[times < length_s]
    times = times[rng.random(times.size) < np.exp(-times / tau)]
    for t in times:
        click = _friedlander(sample_rate, rng.uniform(0.1, 0.4), 2.0)
        _add_at(out, click * rng.lognormal(-1.0, 0.6), round(t * sample_rate))
    return out


def synthesise_fireworks(
    rng: np.random.Generator,
    sample_rate: int,
    *,
    kind: FireworkKind | None = None,
    duration_s: float = 4.0,
    onset_s: float = 0.5,
    distance_m: float | None = None,
    snr_db: float | None = None,
    peak: float = 0.5,
) -> NDArray[np.float32]:
    """One firework, from its physics (simulated: no real fireworks recordings were at hand).

    Parameters
    ----------
    rng
        Random generator.
    sample_rate
        [Hz]
    kind
        ``"crackle"`` (a burst, then 0.5-3 s of crackle with a decaying rate), ``"rocket"``
        (whistle or thump, burst, often crackle), ``"battery"`` (3-10 shots 0.2-0.8 s apart)
        or ``"salute"`` (one bang); drawn by :data:`FIREWORK_KINDS` when ``None``.
    duration_s
        Length of the result [s].
    onset_s
        When the first sound (launch or burst) arrives [s].
    distance_m
        Distance [m]; drawn from 30-600 m when ``None``.
    snr_db
        Peak-to-ambient-RMS ratio [dB]; drawn from 25-50 dB when ``None``.
    peak
        Peak amplitude of the result [full scale].

    Examples
    --------
    >>> x = synthesise_fireworks(np.random.default_rng(2), 16000, kind="crackle")
    >>> x.shape, float(np.max(np.abs(x)))
    ((64000,), 0.5)
    """
    if kind is None:
        names = list(FIREWORK_KINDS)
        p = np.array([FIREWORK_KINDS[k] for k in names])
        kind = names[int(rng.choice(len(names), p=p / p.sum()))]
    n = round(duration_s * sample_rate)
    d = rng.uniform(30, 600) if distance_m is None else distance_m
    out = np.zeros(n)
    at = round(onset_s * sample_rate)
    bursts: list[int] = [at]
    if kind == "rocket":
        launch_s = rng.uniform(0.5, 1.5)
        m = round(launch_s * sample_rate)
        if rng.random() < 0.6:
            t = np.arange(m) / sample_rate
            f = np.linspace(rng.uniform(800, 1500), rng.uniform(1500, 3000), m)
            tone = np.sin(2 * np.pi * np.cumsum(f) / sample_rate) * np.hanning(m)
            _add_at(out, 0.05 * tone * (1 + 0.3 * rng.standard_normal(m)), at)
        else:
            t = np.arange(round(0.08 * sample_rate)) / sample_rate
            thump = np.sin(2 * np.pi * rng.uniform(60, 150) * t) * np.exp(-t / 0.02)
            _add_at(out, 0.3 * thump, at)
        bursts = [at + m]
    elif kind == "battery":
        gaps = rng.uniform(0.2, 0.8, size=int(rng.integers(2, 10)))
        bursts = [at, *(at + np.cumsum(np.round(gaps * sample_rate)).astype(int)).tolist()]
    for b in bursts:
        blast = _friedlander(sample_rate, rng.uniform(1.0, 5.0), rng.uniform(1.0, 2.5))
        _add_at(out, blast * rng.uniform(0.6, 1.0), b)
    if kind == "crackle" or (kind == "rocket" and rng.random() < 0.6):
        delay = round(rng.uniform(0.05, 0.6) * sample_rate)
        _add_at(out, 0.5 * _crackle(rng, sample_rate, rng.uniform(0.5, 3.0)), bursts[-1] + delay)
    out = _reverb(rng, out, sample_rate, rng.uniform(0.5, 3.0), rng.uniform(0.3, 1.5))
    out = _distance(out, sample_rate, d)
    return _finish(rng, out, sample_rate, peak, rng.uniform(25, 50) if snr_db is None else snr_db)
