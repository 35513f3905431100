"""The real training clips: what each one is, where it comes from, and how they are grouped.

The folder layout is that of ``../shared/data/audio`` (see its README):

=====================  ==================  =================================================
folder                 class               recording source (the unit of every split)
=====================  ==================  =================================================
belize_gunshot         gunshot             acoustic environment cluster (see below)
belize_background      background          acoustic environment cluster
freesound_gunshot      gunshot             each Freesound id (one uploader's recording)
dcase2016_impulsive    impulsive_other     each DCASE class (doorslam, keysDrop, knock)
outdoor_confusers      (evaluation only)   each file; never trained on
=====================  ==================  =================================================

The Belize clips carry no site or recorder metadata. Clips from one site share its
background (insects, wind, recorder self-noise), so they are clustered by the spectrum of
their quietest frames into :data:`BELIZE_GROUPS` environments, gunshots and backgrounds
together; a held-out cluster is then an environment the model never heard, which is stricter
than a random split, where the same site's clips would land in training and test.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path

import numpy as np
from numpy.typing import NDArray
from scipy import signal

from stadswacht.detect.acoustic.audio import read_audio, resample
from stadswacht.detect.acoustic.features import loudest_window

__all__ = ["BELIZE_GROUPS", "FOLDERS", "Clip", "load_clips"]

FOLDERS: dict[str, str | None] = {
    "belize_gunshot": "gunshot",
    "belize_background": "background",
    "freesound_gunshot": "gunshot",
    "dcase2016_impulsive": "impulsive_other",
    "outdoor_confusers": None,
}
"""Each data folder and the class of its clips (``None``: evaluation-only negatives)."""

BELIZE_GROUPS = 6
"""Number of acoustic-environment clusters the Belize clips are split into."""


@dataclass(frozen=True)
class Clip:
    """One real clip reduced to the 1 s around its strongest impulse.

    Attributes
    ----------
    name
        File name.
    folder
        Data folder (a key of :data:`FOLDERS`).
    label
        Class, or ``None`` for an evaluation-only negative.
    group
        Recording source: clips of one group are always on the same side of a split.
    snippet
        The 1 s around the strongest impulse, at ``sample_rate``.
    sample_rate
        [Hz]
    whole
        The whole clip, at ``sample_rate`` (for the baseline's whole-clip features and as
        real background to mix clean clips into).
    """

    name: str
    folder: str
    label: str | None
    group: str
    snippet: NDArray[np.float32] = field(repr=False)
    sample_rate: int
    whole: NDArray[np.float32] = field(repr=False)


def _source(folder: str, path: Path) -> str:
    if folder == "freesound_gunshot":
        m = re.match(r"(\d+)__", path.name)
        return f"freesound:{m.group(1) if m else path.stem}"
    if folder == "dcase2016_impulsive":
        return "dcase:" + re.sub(r"\d+$", "", path.stem)
    return f"{folder}:{path.stem}"


def _noise_spectrum(x: NDArray[np.float32], sample_rate: int) -> NDArray[np.float64]:
    y = resample(x, sample_rate, 8000).astype(np.float64)
    f, _, s = signal.spectrogram(y, fs=8000, nperseg=256, noverlap=128)
    frames = s.sum(axis=0)
    quiet = s[:, frames <= np.median(frames)]
    edges = np.geomspace(100, 3900, 17)
    bands = np.array([quiet[(f >= a) & (f < b)].mean() for a, b in pairwise(edges)])
    db = 10 * np.log10(bands + 1e-20)
    return np.asarray(db - db.mean(), dtype=np.float64)


def _belize_groups(clips: list[tuple[str, NDArray[np.float32], int]]) -> list[str]:
    from sklearn.cluster import KMeans

    spectra = np.array([_noise_spectrum(x, rate) for _, x, rate in clips])
    km = KMeans(n_clusters=min(BELIZE_GROUPS, len(clips)), n_init=10, random_state=0)
    labels = km.fit_predict(spectra)
    return [f"belize:env{int(k)}" for k in labels]


def load_clips(audio_dir: str | Path) -> list[Clip]:
    """Read every clip under ``audio_dir`` (the layout of :data:`FOLDERS`), with its group.

    Raises
    ------
    FileNotFoundError
        When ``audio_dir`` holds none of the folders.
    """
    root = Path(audio_dir)
    raw: list[tuple[str, Path, NDArray[np.float32], int]] = []
    for folder in FOLDERS:
        d = root / folder
        if not d.is_dir():
            continue
        for path in sorted(d.iterdir()):
            if path.suffix.lower() in {".wav", ".flac", ".ogg"}:
                x, rate = read_audio(path)
                raw.append((folder, path, x, rate))
    if not raw:
        raise FileNotFoundError(
            f"no audio under {root}: expected the folders {', '.join(FOLDERS)}; "
            "give the path of ../shared/data/audio"
        )
    belize = [(p.name, x, r) for f, p, x, r in raw if f.startswith("belize_")]
    belize_group = iter(_belize_groups(belize)) if belize else iter(())
    clips = []
    for folder, path, x, rate in raw:
        group = next(belize_group) if folder.startswith("belize_") else _source(folder, path)
        clips.append(
            Clip(
                name=path.name,
                folder=folder,
                label=FOLDERS[folder],
                group=group,
                snippet=loudest_window(x, rate),
                sample_rate=rate,
                whole=x,
            )
        )
    return clips
