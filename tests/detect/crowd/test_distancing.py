from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from stadswacht.detect.crowd import Trajectories, distancing, read_juelich_trajectories

FIXTURE = Path(__file__).parents[2] / "fixtures" / "juelich" / "bottleneck_040_c_56_h-_slice.txt"


def walkers(paths: dict[int, tuple[np.ndarray, np.ndarray]], n: int) -> Trajectories:
    ids, frames, xs, ys = [], [], [], []
    for pid, (x, y) in paths.items():
        ids.append(np.full(n, pid))
        frames.append(np.arange(n))
        xs.append(x)
        ys.append(y)
    return Trajectories(
        np.concatenate(ids).astype(np.int64),
        np.concatenate(frames).astype(np.int64),
        np.concatenate(xs),
        np.concatenate(ys),
        np.zeros(n * len(paths)),
    )


def test_a_group_walking_together_is_counted_apart_from_strangers() -> None:
    n = 250  # 10 s at 25 fps
    t = np.arange(n) / 25.0
    sway = 0.03 * np.sin(2 * np.pi * 1.0 * t)  # head sway of walking
    paths = {
        # Two friends side by side, 0.8 m apart, at 1.2 m/s.
        1: (1.2 * t, sway),
        2: (1.2 * t, 0.8 - sway),
        # A stranger walking the other way 1 m from friend 2: close only while passing.
        3: (12.0 - 1.2 * t, np.full(n, 1.8)),
        # Someone far away.
        4: (1.2 * t, np.full(n, 10.0)),
    }
    r = distancing(walkers(paths, n))
    assert r.groups == (frozenset({1, 2}),)
    assert (r.group_pairs == 1).all()  # the friends, every frame
    assert (r.close_pairs >= 1).all()
    # The passing stranger is a violation while near (with friend 2 and perhaps friend 1).
    passing = r.close_pairs > r.group_pairs
    assert 0 < passing.sum() < n / 2
    assert r.violating[~passing].sum() == 0
    assert set(np.unique(r.violating[passing])) <= {2, 3}
    # Share of person-time: only the passing moments count, never the friends walking.
    assert r.violation_share == pytest.approx(r.violating.sum() / (4 * n))
    assert 0 < r.violation_share < 0.1
    # Without the group rule the friends would be in violation all the time.
    strict = distancing(walkers(paths, n), min_close_share=1.1)
    assert strict.groups == ()
    assert strict.violation_share > 0.4


def test_people_standing_close_briefly_or_moving_differently_are_not_a_group() -> None:
    n = 250
    t = np.arange(n) / 25.0
    paths = {
        1: (1.2 * t, np.zeros(n)),
        2: (0.6 * t, np.full(n, 0.5)),  # close at first, then left behind
    }
    r = distancing(walkers(paths, n))
    assert r.groups == ()
    assert r.violating.sum() > 0


def test_distancing_on_the_bottleneck_fixture() -> None:
    traj = read_juelich_trajectories(FIXTURE)
    r = distancing(traj)
    assert len(r.frames) == 100
    # In front of a bottleneck at up to ~3 persons/m² almost nobody can keep 1.5 m.
    assert r.violation_share > 0.8
    assert (r.close_pairs >= r.group_pairs).all()
    assert (r.violating <= r.persons).all()


SHARED = Path(__file__).parents[3] / ".." / "shared" / "data"
DATA = Path(os.environ.get("STADSWACHT_DATA", SHARED)) / "crowd" / "juelich"


@pytest.mark.skipif(not DATA.is_dir(), reason="no ../shared/data")
def test_dense_strangers_are_not_chained_into_one_group() -> None:
    traj = read_juelich_trajectories(DATA / "040_c_56_h-.txt")
    r = distancing(traj)
    assert r.violation_share > 0.9
    assert all(len(g) == 2 for g in r.groups) and len(r.groups) < 10
