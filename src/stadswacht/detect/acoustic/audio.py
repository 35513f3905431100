"""Reading recordings and bringing them to the classifier's working rate.

Every recording is read as mono float32 at its own rate; the classifier resamples to
:data:`WORKING_RATE` and band-limits to :data:`BAND_HZ`, so recordings made at 8 kHz and at
48 kHz look alike to it and no feature can tell the sources apart by their sample rate.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import soundfile as sf
from numpy.typing import NDArray
from scipy import signal

from stadswacht.errors import AudioError

__all__ = ["BAND_HZ", "WORKING_RATE", "band_limit", "read_audio", "resample"]

WORKING_RATE = 8000
"""Rate the classifier works at [Hz]: the lowest rate of the real training data (Belize, 8 kHz)."""

BAND_HZ = (100.0, 3400.0)
"""Pass band of every signal the classifier sees [Hz]: below the 4 kHz Nyquist limit of the
8 kHz recordings, above the rumble and DC offsets that differ between recorders."""


def read_audio(path: str | Path) -> tuple[NDArray[np.float32], int]:
    """Read a WAV, FLAC or OGG recording as mono samples in [-1, 1] and its rate.

    Stereo and multichannel recordings are mixed down by averaging the channels.

    Parameters
    ----------
    path
        The recording.

    Returns
    -------
    samples : ndarray of float32, shape (n,)
        Mono samples [full scale = 1].
    sample_rate : int
        [Hz]

    Raises
    ------
    AudioError
        When the file is missing, is not audio that soundfile can read, holds no samples, or
        holds samples that are not finite; the message names the file and the reason.

    Examples
    --------
    >>> import tempfile, numpy as np, soundfile as sf
    >>> with tempfile.TemporaryDirectory() as d:
    ...     sf.write(f"{d}/a.wav", np.zeros((800, 2)), 8000)
    ...     x, rate = read_audio(f"{d}/a.wav")
    >>> x.shape, x.dtype, rate
    ((800,), dtype('float32'), 8000)
    """
    p = Path(path)
    if not p.is_file():
        raise AudioError(f"{p.name}: no such file ({p}); check the path")
    try:
        data, rate = sf.read(str(p), dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError, OSError, ValueError) as exc:
        raise AudioError(f"{p.name}: not a readable WAV, FLAC or OGG recording ({exc})") from exc
    if data.shape[0] == 0:
        raise AudioError(f"{p.name}: the recording holds no samples")
    mono = data.mean(axis=1, dtype=np.float64).astype(np.float32)
    if not np.all(np.isfinite(mono)):
        raise AudioError(f"{p.name}: the recording holds samples that are not finite (NaN/inf)")
    return mono, int(rate)


def resample(x: NDArray[np.floating], rate_in: int, rate_out: int) -> NDArray[np.float32]:
    """Resample by a rational factor with a polyphase anti-aliasing filter.

    Parameters
    ----------
    x
        Samples, shape (n,).
    rate_in, rate_out
        Sample rates [Hz].

    Examples
    --------
    >>> resample(np.ones(4410), 44100, 8000).shape
    (800,)
    """
    if rate_in <= 0 or rate_out <= 0:
        raise ValueError(f"sample rates must be positive, got {rate_in} and {rate_out} Hz")
    if rate_in == rate_out:
        return np.asarray(x, dtype=np.float32)
    g = math.gcd(rate_in, rate_out)
    y = signal.resample_poly(np.asarray(x, dtype=np.float64), rate_out // g, rate_in // g)
    return np.asarray(y, dtype=np.float32)


_BAND_SOS = signal.butter(4, BAND_HZ, btype="bandpass", fs=WORKING_RATE, output="sos")


def band_limit(x: NDArray[np.floating], sample_rate: int) -> NDArray[np.float64]:
    """Bring samples to :data:`WORKING_RATE` and band-pass them to :data:`BAND_HZ`.

    The filter runs forwards and backwards (zero phase), so onsets keep their place.

    Parameters
    ----------
    x
        Mono samples, shape (n,).
    sample_rate
        Rate of ``x`` [Hz].

    Returns
    -------
    ndarray of float64
        Samples at :data:`WORKING_RATE`.

    Examples
    --------
    >>> band_limit(np.ones(48000), 48000).shape
    (8000,)
    """
    y = resample(x, sample_rate, WORKING_RATE).astype(np.float64)
    if y.size <= 27:  # sosfiltfilt's default padding needs a few samples
        return y - y.mean() if y.size else y
    return np.asarray(signal.sosfiltfilt(_BAND_SOS, y), dtype=np.float64)
