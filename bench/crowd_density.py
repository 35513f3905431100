"""Crowd density benchmark: density from SIMULATED line counts against density measured directly
on real Jülich trajectories.

Run from the repository root::

    .venv/bin/python bench/crowd_density.py             # ../shared/data/crowd/juelich
    .venv/bin/python bench/crowd_density.py --data DIR  # or STADSWACHT_DATA (its crowd/juelich)
    .venv/bin/python bench/crowd_density.py --no-pedpy  # skip the PedPy Voronoi reference

Progress and a readable summary go to stderr; stdout gets ONE line of JSON at the end.

What is measured
----------------
The trajectories are real (laboratory experiments of Forschungszentrum Jülich, PedPy demo
data, MIT). The line counts are SIMULATED from them: in each experiment a rectangular
measurement area (the "zone") gets a virtual line counter on each edge; every crossing of an
edge by a trajectory is what that counter reports, per 1 s interval (the experiments last one
to two minutes, so a real counter's 1-minute interval would give one value). Counts are fed to
:class:`stadswacht.detect.crowd.CrowdDetector`, which integrates them to occupancy and divides
by the area; the zone starts from a head count at the first frame. Its density at each interval
end is compared with the classic density of the area (persons inside / area) from the same
trajectories (:func:`stadswacht.detect.crowd.measurement.compare_density`), over interval
ends whose reference density is at most 4 persons/m².

- ``exact``: counters that miss nobody (checks geometry and integration: must be 0).
- ``miss3``: each crossing missed with probability 3 % (independently; real counters miss
  more in dense flow), over ``--seeds`` seeds: ``max_abs_error`` is the worst interval end of
  the worst seed, ``mean_abs_error`` the mean over seeds; no zone counter, so the error is the
  drift of the line counts. This is the headline ``max_abs_error`` (target <= 0.5).
- ``miss3_zone10s``: the same plus a zone occupancy count every 10 s (true count with 5 %
  noise), the detector's drift correction.
- ``miss10``: 10 % misses, to show where line counts alone stop being enough.
- PedPy (if installed): its classic density against ours (must agree), and its Voronoi
  density (cut-off 1 m, bounding box as walkable area) against the exact line-count density,
  a different density definition, reported for reference only.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from stadswacht.detect.crowd.measurement import Rect, classic_density, compare_density
from stadswacht.detect.crowd.trajectories import Trajectories, read_juelich_trajectories


@dataclass(frozen=True)
class Experiment:
    name: str
    file: str
    area: Rect
    what: str


EXPERIMENTS = (
    Experiment(
        "bottleneck",
        "040_c_56_h-.txt",
        Rect(-2.8, 2.8, 0.0, 3.0),
        "room 5.6 m wide in front of a bottleneck; zone: its first 3 m (16.8 m²)",
    ),
    Experiment(
        "uni_corridor",
        "traj_UNI_CORR_500_01.txt",
        Rect(-4.0, 4.0, 0.0, 5.0),
        "unidirectional corridor 5 m wide; zone: 8 m of it (40 m²)",
    ),
    Experiment(
        "bi_corridor",
        "bi_corr_400_b_03.txt",
        Rect(-4.0, 4.0, 0.0, 4.0),
        "bidirectional corridor 4 m wide; zone: 8 m of it (32 m²)",
    ),
    Experiment(
        "uo_corridor",
        "uo-180-180-120.txt",
        Rect(0.0, 1.8, -4.0, 4.0),
        "corridor 1.8 m wide; zone: 8 m of it (14.4 m²)",
    ),
)
"""The experiments and their measurement areas [m], chosen inside the walkable area."""


def say(*parts: object) -> None:
    print(*parts, file=sys.stderr, flush=True)


def default_data() -> Path:
    env = os.environ.get("STADSWACHT_DATA")
    base = Path(env) if env else Path(__file__).resolve().parents[1] / ".." / "shared" / "data"
    return (base / "crowd" / "juelich").resolve()


def run_experiment(
    traj: Trajectories, area: Rect, *, seeds: int, miss: float, interval_s: float
) -> dict[str, Any]:
    """The figures of one experiment (the bench's core, also run by the tests)."""
    exact = compare_density(traj, area, interval_s)
    out: dict[str, Any] = {
        "area_m2": round(area.area_m2, 3),
        "n": exact.n,
        "n_intervals": len(exact.reference),
        "n_frames": len(traj.frames),
        "persons": traj.persons,
        "max_reference_density": round(float(exact.reference.max()), 3),
        "initial_occupancy": exact.counts.initial,
        "unseen_changes": exact.counts.unseen,
        "crossings": {k: int(v.sum()) for k, v in exact.counts.counts.items()},
        "exact": {"max_abs_error": exact.max_abs_error, "mean_abs_error": exact.mean_abs_error},
    }
    for label, rate, every in (
        ("miss3", miss, None),
        ("miss3_zone10s", miss, 10.0),
        ("miss10", 0.10, None),
    ):
        runs = [
            compare_density(traj, area, interval_s, miss_rate=rate, seed=s, occupancy_every_s=every)
            for s in range(seeds)
        ]
        maxes = [r.max_abs_error for r in runs]
        out[label] = {
            "max_abs_error": round(max(maxes), 4),
            "median_max_abs_error": round(float(np.median(maxes)), 4),
            "mean_abs_error": round(float(np.mean([r.mean_abs_error for r in runs])), 4),
        }
    return out


def pedpy_reference(traj: Trajectories, area: Rect, interval_s: float) -> dict[str, Any] | None:
    """PedPy's classic density (vs ours) and Voronoi density (vs exact line counts)."""
    try:
        import pandas as pd
        import pedpy
    except ImportError as exc:
        say(f"  PedPy not available ({exc}); classic density only")
        return None
    exact = compare_density(traj, area, interval_s)
    keep = np.isin(traj.frame, exact.end_frames)
    df = pd.DataFrame(
        {"id": traj.id[keep], "frame": traj.frame[keep], "x": traj.x[keep], "y": traj.y[keep]}
    )
    td = pedpy.TrajectoryData(data=df, frame_rate=traj.fps)
    m = 1.0
    box = [
        (traj.x.min() - m, traj.y.min() - m),
        (traj.x.max() + m, traj.y.min() - m),
        (traj.x.max() + m, traj.y.max() + m),
        (traj.x.min() - m, traj.y.max() + m),
    ]
    ma = pedpy.MeasurementArea(
        [
            (area.xmin, area.ymin),
            (area.xmax, area.ymin),
            (area.xmax, area.ymax),
            (area.xmin, area.ymax),
        ]
    )
    full = pd.DataFrame({"id": traj.id, "frame": traj.frame, "x": traj.x, "y": traj.y})
    classic = pedpy.compute_classic_density(
        traj_data=pedpy.TrajectoryData(data=full, frame_rate=traj.fps), measurement_area=ma
    )
    frames, ours = classic_density(traj, area)
    ours_at = dict(zip(frames.tolist(), ours.tolist(), strict=True))
    diff = max(
        abs(float(v) - ours_at[int(f)])
        for f, v in zip(classic["frame"], classic["density"], strict=True)
    )
    cells = pedpy.compute_individual_voronoi_polygons(
        traj_data=td,
        walkable_area=pedpy.WalkableArea(box),
        cut_off=pedpy.Cutoff(radius=1.0, quad_segments=3),
    )
    voronoi, _ = pedpy.compute_voronoi_density(individual_voronoi_data=cells, measurement_area=ma)
    vor = voronoi.set_index("frame")["density"].reindex(exact.end_frames).fillna(0.0).to_numpy()
    use = vor <= 4.0
    err = np.abs(exact.estimate - vor)[use]
    return {
        "classic_max_diff_vs_pedpy": round(diff, 6),
        "voronoi_max_abs_error": round(float(err.max()), 4) if len(err) else None,
        "voronoi_mean_abs_error": round(float(err.mean()), 4) if len(err) else None,
        "voronoi_n": int(use.sum()),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--data", type=Path, default=None, help="folder of the Jülich files")
    ap.add_argument("--seeds", type=int, default=20, help="seeds of the simulated misses")
    ap.add_argument("--miss", type=float, default=0.03, help="counter miss rate (default 3 %%)")
    ap.add_argument("--interval", type=float, default=1.0, help="counting interval [s]")
    ap.add_argument("--no-pedpy", action="store_true", help="skip the PedPy reference")
    args = ap.parse_args(argv)
    data = args.data or default_data()
    if not data.is_dir():
        say(f"no Jülich data at {data}: pass --data DIR or set STADSWACHT_DATA")
        print(json.dumps({"max_abs_error": None, "error": f"missing data: {data}"}))
        return 2
    started = time.perf_counter()
    say("Density from SIMULATED line counts (virtual counters on the zone's edges, crossings")
    say("taken from REAL Jülich trajectories) vs classic density of the same trajectories.")
    results: dict[str, Any] = {}
    for exp in EXPERIMENTS:
        path = data / exp.file
        if not path.exists():
            say(f"{exp.name}: {path} missing, skipped")
            continue
        traj = read_juelich_trajectories(path)
        r = run_experiment(
            traj, exp.area, seeds=args.seeds, miss=args.miss, interval_s=args.interval
        )
        if not args.no_pedpy:
            ref = pedpy_reference(traj, exp.area, args.interval)
            if ref is not None:
                r["pedpy"] = ref
        results[exp.name] = r
        say(
            f"{exp.name:13s} {exp.what}\n"
            f"{'':13s} {r['n']} interval ends <= 4 p/m² of {r['n_intervals']} "
            f"({r['n_frames']} frames, {r['persons']} persons, peak {r['max_reference_density']} "
            f"p/m², head count at start {r['initial_occupancy']})\n"
            f"{'':13s} exact counters max {r['exact']['max_abs_error']:.3f}; "
            f"{args.miss:.0%} misses max {r['miss3']['max_abs_error']:.3f} "
            f"(median seed {r['miss3']['median_max_abs_error']:.3f}) "
            f"mean {r['miss3']['mean_abs_error']:.3f}; + zone count/10 s max "
            f"{r['miss3_zone10s']['max_abs_error']:.3f}; 10% misses max "
            f"{r['miss10']['max_abs_error']:.3f} persons/m²"
        )
        if "pedpy" in r:
            say(
                f"{'':13s} PedPy: classic differs by {r['pedpy']['classic_max_diff_vs_pedpy']}; "
                f"Voronoi vs exact line counts max {r['pedpy']['voronoi_max_abs_error']} "
                f"mean {r['pedpy']['voronoi_mean_abs_error']} persons/m²"
            )
    if not results:
        print(json.dumps({"max_abs_error": None, "error": f"no experiment files in {data}"}))
        return 2
    worst = max(r["miss3"]["max_abs_error"] for r in results.values())
    runtime = time.perf_counter() - started
    say(f"max_abs_error {worst:.3f} persons/m² (target <= 0.5) in {runtime:.1f} s")
    summary = {
        "max_abs_error": worst,
        "max_mean_abs_error": round(max(r["miss3"]["mean_abs_error"] for r in results.values()), 4),
        "target": 0.5,
        "miss_rate": args.miss,
        "seeds": args.seeds,
        "interval_s": args.interval,
        "counts": "simulated from real trajectories (Jülich, PedPy demo data)",
        "reference": "classic density from the same trajectories",
        "experiments": results,
        "runtime_s": round(runtime, 2),
    }
    print(json.dumps(summary, separators=(",", ":")))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
