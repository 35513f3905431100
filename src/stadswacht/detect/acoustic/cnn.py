"""The shipped gunshot score: a small log-mel CNN ensemble, run in numpy.

The network is the plain VGG-style stack of the audio-tagging CNN baselines (Hershey et al.
2017, *CNN architectures for large-scale audio classification*, ICASSP; Kong et al. 2020,
*PANNs*, IEEE/ACM TASLP 28:2880-2894): four blocks of a 3×3 convolution (16, 32, 64, 64
channels), batch norm, ReLU and 2×2 max-pooling, then the mean and the maximum of each channel
over time and frequency (the pooling of PANNs), a dense layer and a sigmoid, about 60,500
weights. Batch norm is folded into the convolutions (Jacob et al. 2018, CVPR, section 3.2), so
inference is convolution, bias, ReLU, pool only.

Input: 64 mel bands (O'Shaughnessy's mel scale, triangular filters, 100-3400 Hz) of the 1 s
at :data:`~stadswacht.detect.acoustic.audio.WORKING_RATE` that starts 0.1 s before the loudest
peak, from a 256-point FFT of 25 ms Hann frames every 10 ms, in dB, each band minus its own
20th percentile over the second and divided by 20 dB, clipped to [-1, 5]. A band's level
relative to its own floor is what lets a model trained on a few recorders hear a new one. The
window is padded with zeros and dithered at -70 dB below its peak (so a clean clip's digital
silence does not set the floor), with a fixed seed, so a score is reproducible. This matches
``research/gunshot-cnn/cnn.py`` (PyTorch), which trained it; ``tests/detect/acoustic/
test_cnn.py`` checks both the front end and the network against outputs of the torch code.

The shipped weights (:data:`WEIGHTS_PATH`) are an ensemble of three networks trained with
different seeds on every trainable real clip; the score is the mean of their probabilities.
Written by ``research/gunshot-cnn/export.py``; held-out figures by ``bench/gunshot.py``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from numpy.typing import NDArray

from stadswacht.detect.acoustic.audio import BAND_HZ, WORKING_RATE, band_limit

__all__ = [
    "FRONT_END",
    "WEIGHTS_PATH",
    "CnnEnsemble",
    "impulse_window",
    "logmel",
    "mel_filterbank",
]

WEIGHTS_PATH = Path(__file__).with_name("cnn_weights.npz")
"""The ensemble shipped in the package, written by ``research/gunshot-cnn/export.py``."""

_FORMAT = "stadswacht.acoustic.cnn/1"

FRONT_END: dict[str, float] = {
    "window_s": 1.0,
    "pre_s": 0.1,
    "n_fft": 256,
    "hop": 80,
    "win_length": 200,
    "n_mels": 64,
    "fmin_hz": BAND_HZ[0],
    "fmax_hz": BAND_HZ[1],
    "floor_quantile": 0.2,
    "scale_db": 20.0,
    "dither_db": -70.0,
}
"""The log-mel front end the networks were trained on, at the working rate (8 kHz): window
and its start before the peak [s], FFT size, hop and Hann length [samples], mel bands and
their range [Hz], the per-band floor quantile, the dB scale, the dither level [dB re peak]."""

_N = round(FRONT_END["window_s"] * WORKING_RATE)
_PRE = round(FRONT_END["pre_s"] * WORKING_RATE)
_NFFT = int(FRONT_END["n_fft"])
_HOP = int(FRONT_END["hop"])
_WIN = int(FRONT_END["win_length"])
_NMEL = int(FRONT_END["n_mels"])
_PEAK_K = 16  # 2 ms energy window at 8 kHz, as loudest_window
_MIN_FRAMES = 16  # four 2× poolings


def mel_filterbank(
    n_mels: int = _NMEL,
    n_fft: int = _NFFT,
    sample_rate: int = WORKING_RATE,
    fmin_hz: float = FRONT_END["fmin_hz"],
    fmax_hz: float = FRONT_END["fmax_hz"],
) -> NDArray[np.float64]:
    """Triangular filters equally spaced on the mel scale, ``2595 log10(1 + f / 700)``.

    Parameters
    ----------
    n_mels
        Number of filters.
    n_fft
        FFT size [samples].
    sample_rate
        [Hz]
    fmin_hz, fmax_hz
        Lower edge of the first and upper edge of the last filter [Hz].

    Returns
    -------
    ndarray
        Weights, shape (n_mels, n_fft // 2 + 1), peak 1 (not area-normalised).

    Examples
    --------
    >>> fb = mel_filterbank()
    >>> fb.shape, float(fb.max()) <= 1.0
    ((64, 129), True)
    """

    def hz2mel(f: float) -> float:
        return 2595.0 * float(np.log10(1.0 + f / 700.0))

    mels = np.linspace(hz2mel(fmin_hz), hz2mel(fmax_hz), n_mels + 2)
    pts = 700.0 * (10.0 ** (mels / 2595.0) - 1.0)
    f = np.fft.rfftfreq(n_fft, 1.0 / sample_rate)
    lo, mid, hi = pts[:-2, None], pts[1:-1, None], pts[2:, None]
    return np.asarray(np.clip(np.minimum((f - lo) / (mid - lo), (hi - f) / (hi - mid)), 0, None))


_FB = mel_filterbank()
# torch.hann_window(200) is periodic; torch.stft centres it in the 256-point frame
_WINDOW = np.zeros(_NFFT)
_WINDOW[(_NFFT - _WIN) // 2 : (_NFFT - _WIN) // 2 + _WIN] = 0.5 - 0.5 * np.cos(
    2.0 * np.pi * np.arange(_WIN) / _WIN
)


def logmel(x: NDArray[np.floating]) -> NDArray[np.float64]:
    """The network's input for a window at the working rate: per-band log-mel above its floor.

    Parameters
    ----------
    x
        Samples at :data:`~stadswacht.detect.acoustic.audio.WORKING_RATE`, shape (n,), at
        least ``n_fft // 2 + 1`` of them (1 s, 8000, for the shipped networks).

    Returns
    -------
    ndarray
        Shape (n_mels, 1 + n // hop): in each band the level [dB] minus the band's 20th
        percentile over the window, divided by 20 dB, clipped to [-1, 5]; 101 frames for 1 s.

    Examples
    --------
    >>> m = logmel(np.random.default_rng(0).standard_normal(8000))
    >>> m.shape, float(m.min()) >= -1.0
    ((64, 101), True)
    """
    y = np.asarray(x, dtype=np.float64)
    if y.ndim != 1 or y.size <= _NFFT // 2:
        raise ValueError(
            f"logmel needs a 1-D window of more than {_NFFT // 2} samples, got shape {y.shape}"
        )
    # torch.stft(center=True) pads n_fft // 2 each side by reflection
    frames = sliding_window_view(np.pad(y, _NFFT // 2, mode="reflect"), _NFFT)[::_HOP]
    power = np.abs(np.fft.rfft(frames * _WINDOW, axis=1)) ** 2
    m = 10.0 * np.log10(_FB @ power.T + 1e-10)
    floor = np.quantile(m, FRONT_END["floor_quantile"], axis=1, keepdims=True)
    return np.asarray(np.clip((m - floor) / FRONT_END["scale_db"], -1.0, 5.0), dtype=np.float64)


def impulse_window(snippet: NDArray[np.floating], sample_rate: int) -> NDArray[np.float32]:
    """The 1 s the network sees: band-limited to the working rate, from 0.1 s before the peak.

    The snippet is resampled and band-passed
    (:func:`~stadswacht.detect.acoustic.audio.band_limit`), its loudest peak found as
    :func:`~stadswacht.detect.acoustic.features.loudest_window` finds it, zero-padded where the
    window runs past its ends and dithered at -70 dB below the peak (fixed seed).

    Parameters
    ----------
    snippet
        Mono samples around an impulse [full scale = 1], shape (n,), n >= 1.
    sample_rate
        Rate of ``snippet`` [Hz].

    Returns
    -------
    ndarray
        8000 samples at 8 kHz.

    Examples
    --------
    >>> x = np.zeros(16000); x[8000] = 1.0
    >>> w = impulse_window(x, 16000)
    >>> w.shape, int(np.argmax(np.abs(w)))
    ((8000,), 800)
    """
    x = _check_snippet(snippet, sample_rate)
    y = band_limit(x, sample_rate).astype(np.float32)
    k = _PEAK_K
    e = np.convolve((y - y.mean()) ** 2, np.ones(k) / k, mode="same")
    p = int(np.argmax(e))
    p = max(0, p - k) + int(np.argmax(np.abs(y[max(0, p - k) : p + k + 1])))
    noise = np.random.default_rng(0).standard_normal(y.size + 2 * _N)
    amp = float(np.max(np.abs(y))) * 10.0 ** (FRONT_END["dither_db"] / 20.0)
    padded = np.pad(y, (_N, _N)) + (amp * noise).astype(np.float32)
    start = p + _N - _PRE
    return np.asarray(padded[start : start + _N], dtype=np.float32)


def _check_snippet(snippet: NDArray[np.floating], sample_rate: int) -> NDArray[np.float64]:
    x = np.asarray(snippet)
    if not (np.issubdtype(x.dtype, np.floating) or np.issubdtype(x.dtype, np.integer)):
        raise TypeError(f"snippet must hold real samples, got dtype {x.dtype}")
    if x.ndim != 1:
        raise ValueError(f"snippet must be mono, shape (n,), got shape {x.shape}")
    if x.size == 0:
        raise ValueError("snippet has no samples")
    if not np.all(np.isfinite(x)):
        raise ValueError("snippet holds NaN or infinite samples")
    if int(sample_rate) <= 0:
        raise ValueError(f"sample_rate must be a positive number of Hz, got {sample_rate}")
    return np.asarray(x, dtype=np.float64)


@dataclass(frozen=True)
class _Net:
    """One network with batch norm folded in: conv weights (out, in, 3, 3) and biases, then
    the dense layer over [channel means, channel maxima]."""

    conv_w: tuple[NDArray[np.float32], ...]
    conv_b: tuple[NDArray[np.float32], ...]
    dense_w: NDArray[np.float32]
    dense_b: float

    def logit(self, x: NDArray[np.float32]) -> NDArray[np.float64]:
        h = x[:, None]  # (batch, 1, mels, frames)
        for w, b in zip(self.conv_w, self.conv_b, strict=True):
            h = _maxpool2(np.maximum(_conv3x3(h, w) + b[None, :, None, None], 0.0))
        pooled = np.concatenate([h.mean(axis=(2, 3)), h.max(axis=(2, 3))], axis=1)
        return np.asarray(pooled @ self.dense_w + self.dense_b, dtype=np.float64)


def _conv3x3(x: NDArray[np.float32], w: NDArray[np.float32]) -> NDArray[np.float32]:
    """'Same' 3×3 convolution (cross-correlation, as torch) of (B, C, H, W) by (K, C, 3, 3)."""
    patches = sliding_window_view(np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1))), (3, 3), (2, 3))
    out = np.tensordot(patches, w, axes=([1, 4, 5], [1, 2, 3]))  # (B, H, W, K)
    return np.ascontiguousarray(out.transpose(0, 3, 1, 2))


def _maxpool2(x: NDArray[np.float32]) -> NDArray[np.float32]:
    """2×2 max-pooling with stride 2, an odd last row or column dropped (as torch)."""
    h, w = x.shape[2] // 2 * 2, x.shape[3] // 2 * 2
    top = np.maximum(x[:, :, 0:h:2, 0:w:2], x[:, :, 0:h:2, 1:w:2])
    return np.maximum(top, np.maximum(x[:, :, 1:h:2, 0:w:2], x[:, :, 1:h:2, 1:w:2]))


@dataclass(frozen=True)
class CnnEnsemble:
    """Networks whose mean probability is the gunshot score.

    Attributes
    ----------
    nets
        The networks, batch norm folded in.
    info
        What they were trained on, as the export script wrote it.
    """

    nets: tuple[_Net, ...]
    info: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def load(cls, path: str | Path | None = None) -> CnnEnsemble:
        """Load an ``.npz`` weight file; without a path, the ensemble shipped in the package.

        >>> len(CnnEnsemble.load().nets)
        3
        """
        p = WEIGHTS_PATH if path is None else Path(path)
        with np.load(p, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
        try:
            return cls.from_arrays(arrays)
        except (KeyError, ValueError) as exc:
            raise ValueError(f"{p.name}: not a valid {_FORMAT} weight file ({exc})") from exc

    @classmethod
    def from_arrays(cls, arrays: Mapping[str, NDArray[Any]]) -> CnnEnsemble:
        """Build an ensemble from the arrays of a weight file (``m{j}_conv{i}_w``,
        ``m{j}_conv{i}_b``, ``m{j}_dense_w``, ``m{j}_dense_b``, ``n_models``, ``format``)."""
        if "format" not in arrays or str(arrays["format"]) != _FORMAT:
            raise ValueError(f"format is not {_FORMAT}")
        nets = []
        for j in range(int(arrays["n_models"])):
            n_conv = sum(1 for k in arrays if k.startswith(f"m{j}_conv") and k.endswith("_w"))
            nets.append(
                _Net(
                    conv_w=tuple(
                        np.asarray(arrays[f"m{j}_conv{i}_w"], np.float32) for i in range(n_conv)
                    ),
                    conv_b=tuple(
                        np.asarray(arrays[f"m{j}_conv{i}_b"], np.float32) for i in range(n_conv)
                    ),
                    dense_w=np.asarray(arrays[f"m{j}_dense_w"], np.float32),
                    dense_b=float(np.asarray(arrays[f"m{j}_dense_b"]).ravel()[0]),
                )
            )
        info = json.loads(str(arrays["info"])) if "info" in arrays else {}
        return cls(nets=tuple(nets), info=info)

    def forward(self, mel: NDArray[np.floating]) -> NDArray[np.float64]:
        """Probability of a gunshot for log-mel inputs (from :func:`logmel`).

        Parameters
        ----------
        mel
            Shape (n_mels, frames) or (batch, n_mels, frames), frames >= 16.

        Returns
        -------
        ndarray
            Shape (batch,): the mean of the networks' sigmoid outputs, each in [0, 1].
        """
        x = np.asarray(mel)
        if not np.issubdtype(x.dtype, np.floating):
            raise TypeError(f"log-mel input must be floating point, got dtype {x.dtype}")
        if x.ndim == 2:
            x = x[None]
        if x.ndim != 3 or x.shape[1] != _NMEL or x.shape[2] < _MIN_FRAMES:
            raise ValueError(
                f"log-mel input must have shape ({_NMEL}, frames) or (batch, {_NMEL}, frames) "
                f"with frames >= {_MIN_FRAMES}, got shape {np.shape(mel)}; make it with logmel()"
            )
        x32 = x.astype(np.float32)
        p = [1.0 / (1.0 + np.exp(-net.logit(x32))) for net in self.nets]
        return np.asarray(np.mean(p, axis=0), dtype=np.float64)

    def p_gunshot(self, snippet: NDArray[np.floating], sample_rate: int) -> float:
        """Probability that the strongest impulse in a snippet is a gunshot.

        Parameters
        ----------
        snippet
            Mono samples around an impulse, any rate [full scale = 1].
        sample_rate
            [Hz]

        Examples
        --------
        >>> x = np.zeros(8000); x[800] = 1.0
        >>> 0.0 <= CnnEnsemble.load().p_gunshot(x, 8000) <= 1.0
        True
        """
        return float(self.forward(logmel(impulse_window(snippet, sample_rate)))[0])
