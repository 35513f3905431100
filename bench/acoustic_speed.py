"""Sensor-side classification speed: milliseconds to classify one impulse with the shipped
model (log-mel CNN ensemble and the forest), on the real clips' impulses.

Run from the repository root::

    .venv/bin/python bench/acoustic_speed.py              # clips in ../shared/data/audio
    .venv/bin/python bench/acoustic_speed.py --audio DIR

Each impulse the onset detector finds (as ``stadswacht acoustic classify`` does) is classified
with :meth:`Classifier.probabilities` on its snippet, timed alone with ``perf_counter``, once
to warm up and then ``--repeat`` times; the figure is the median over impulses of each
impulse's median time. Progress goes to stderr; stdout gets ONE line of JSON:
``classify_ms_median``, ``classify_ms_p95``, ``impulses``, ``files``, ``weights_kb``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from stadswacht.detect.acoustic import Classifier
from stadswacht.detect.acoustic.audio import read_audio
from stadswacht.detect.acoustic.onset import detect_impulses

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_AUDIO = ROOT.parent / "shared" / "data" / "audio"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--audio", type=Path, default=DEFAULT_AUDIO)
    ap.add_argument("--files", type=int, default=60, help="at most this many clips")
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    clips = sorted(p for p in args.audio.rglob("*") if p.suffix.lower() in (".wav", ".flac"))
    if not clips:
        print(f"no clips under {args.audio}", file=sys.stderr)
        return 1
    clips = clips[:: max(1, len(clips) // args.files)][: args.files]
    classifier = Classifier.load()
    per_impulse: list[float] = []
    for path in clips:
        samples, rate = read_audio(path)
        for impulse in detect_impulses(samples, rate):
            snippet, snippet_rate = impulse.snippet, impulse.sample_rate
            classifier.probabilities(snippet, snippet_rate)  # warm-up
            times = []
            for _ in range(args.repeat):
                t0 = time.perf_counter()
                classifier.probabilities(snippet, snippet_rate)
                times.append(time.perf_counter() - t0)
            per_impulse.append(float(np.median(times)) * 1e3)
    weights = ROOT / "src" / "stadswacht" / "detect" / "acoustic" / "cnn_weights.npz"
    figures = {
        "classify_ms_median": round(float(np.median(per_impulse)), 2),
        "classify_ms_p95": round(float(np.percentile(per_impulse, 95)), 2),
        "impulses": len(per_impulse),
        "files": len(clips),
        "weights_kb": round(weights.stat().st_size / 1000),
    }
    print(
        f"{figures['impulses']} impulses from {figures['files']} clips: median "
        f"{figures['classify_ms_median']} ms, p95 {figures['classify_ms_p95']} ms",
        file=sys.stderr,
    )
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
