from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

from stadswacht.detect.crowd import (
    Rect,
    classic_density,
    compare_density,
    line_crossings,
    read_juelich_trajectories,
    simulate_line_counts,
)

ROOT = Path(__file__).parents[3]
FIXTURE = ROOT / "tests" / "fixtures" / "juelich" / "bottleneck_040_c_56_h-_slice.txt"
ZONE = Rect(-2.8, 2.8, 0.0, 3.0)  # the room's first 3 m in front of the bottleneck
DATA = Path(os.environ.get("STADSWACHT_DATA", ROOT / ".." / "shared" / "data")) / "crowd"


def load_bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "crowd_density_bench", ROOT / "bench" / "crowd_density.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_line_crossings_direction() -> None:
    traj = read_juelich_trajectories(FIXTURE)
    frames, direction = line_crossings(traj, (-2.8, 0.0), (2.8, 0.0))  # the bottleneck mouth
    assert len(frames) > 0
    assert (direction == -1).all()  # everyone leaves through it (to the right = south)


def test_exact_line_counts_reproduce_the_classic_density() -> None:
    traj = read_juelich_trajectories(FIXTURE)
    c = compare_density(traj, ZONE, 1.0)
    _, ref = classic_density(traj, ZONE)
    assert c.n == 4 and c.counts.initial > 20
    assert c.max_abs_error == 0.0
    assert 1.0 < ref.max() < 4.0
    lc = simulate_line_counts(traj, ZONE, 1.0)
    assert lc.counts["south"][:, 1].sum() > 0 and lc.counts["south"][:, 0].sum() == 0


def test_missed_counts_stay_within_half_a_person_per_m2() -> None:
    traj = read_juelich_trajectories(FIXTURE)
    errors = [
        compare_density(traj, ZONE, 1.0, miss_rate=0.03, seed=s).max_abs_error for s in range(10)
    ]
    assert max(errors) <= 0.5
    every_exit_missed = compare_density(traj, ZONE, 1.0, miss_rate=0.999, seed=1)
    assert every_exit_missed.max_abs_error > max(errors)


def test_bench_core_on_the_fixture() -> None:
    bench = load_bench()
    traj = read_juelich_trajectories(FIXTURE)
    r = bench.run_experiment(traj, ZONE, seeds=3, miss=0.03, interval_s=1.0)
    assert r["exact"]["max_abs_error"] == 0.0
    assert r["n"] == 4 and r["n_frames"] == 100
    assert r["miss3"]["max_abs_error"] <= 0.5
    assert set(r) >= {"miss3_zone10s", "miss10", "crossings", "max_reference_density"}


def test_bench_says_when_the_data_is_missing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bench = load_bench()
    assert bench.main(["--data", str(tmp_path / "none")]) == 2
    assert '"max_abs_error": null' in capsys.readouterr().out


@pytest.mark.skipif(not (DATA / "juelich").is_dir(), reason="no ../shared/data")
def test_real_bottleneck_within_target() -> None:
    traj = read_juelich_trajectories(DATA / "juelich" / "040_c_56_h-.txt")
    c = compare_density(traj, ZONE, 1.0, miss_rate=0.03, seed=0)
    assert c.n > 50 and c.max_abs_error <= 0.5
    assert np.isfinite(c.estimate).all()
