"""Train the shipped acoustic impulse classifier and print its held-out figures.

    .venv/bin/python scripts/train_acoustic.py --data ../shared/data/audio \
        --out src/stadswacht/detect/acoustic/model.json

Trains on every real trainable clip (Belize gunshots and background, Freesound gunshots,
DCASE door slams, knocks and key drops) plus synthetic fireworks, with a fixed seed, then
prints one JSON line: the leave-one-source-out figures of
:func:`stadswacht.detect.acoustic.evaluation.heldout_scores` (the fireworks row is simulated).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from stadswacht.detect.acoustic.classifier import Classifier
from stadswacht.detect.acoustic.dataset import load_clips
from stadswacht.detect.acoustic.evaluation import TRAIN_SEED, heldout_scores, training_set


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="the real audio folder")
    parser.add_argument("--out", type=Path, required=True, help="model file to write (JSON)")
    parser.add_argument("--seed", type=int, default=TRAIN_SEED)
    args = parser.parse_args(argv)
    if not args.data.is_dir():
        print(f"no audio data at {args.data}; give --data ../shared/data/audio", file=sys.stderr)
        return 2
    clips = [c for c in load_clips(args.data) if c.label is not None]
    x, y = training_set(clips, seed=args.seed)
    figures = heldout_scores(args.data, seed=args.seed)
    info = {
        "trained_on": {
            "real_clips": len(clips),
            "training_rows": len(y),
            "note": "real clips, their noise-mixed copies and synthetic (simulated) fireworks",
        },
        "seed": args.seed,
        "heldout": {k: figures[k] for k in ("auc", "recall_at_1pct_fpr", "n_gunshot", "n_other")},
        "heldout_fireworks_simulated": {
            k: figures["fireworks_simulated"][k] for k in ("auc", "recall_at_1pct_fpr", "n")
        },
    }
    Classifier.fit(x, y, seed=args.seed, info=info).save(args.out)
    print(json.dumps(figures, separators=(",", ":")))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
