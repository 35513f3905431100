from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from stadswacht.detect.crowd import TrajectoryError, read_juelich_trajectories
from stadswacht.errors import StadswachtError

FIXTURES = Path(__file__).parents[2] / "fixtures" / "juelich"
FIXTURE = FIXTURES / "bottleneck_040_c_56_h-_slice.txt"
DATA = Path(os.environ.get("STADSWACHT_DATA", Path(__file__).parents[3] / ".." / "shared" / "data"))


def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "traj.txt"
    p.write_text(text)
    return p


def test_reads_the_fixture_in_metres_at_25_fps() -> None:
    traj = read_juelich_trajectories(FIXTURE)
    assert traj.fps == 25.0
    assert traj.metadata["unit"] == "m" and traj.metadata["unit_from"] == "header"
    assert len(traj) == 5301
    assert traj.frames[0] == 400 and traj.frames[-1] == 499
    assert traj.x.min() > -3 and traj.x.max() < 3 and traj.y.max() <= 3.2
    # Sorted by person, then frame.
    key = traj.id * 10_000 + traj.frame
    assert (np.diff(key) > 0).all()


def test_centimetres_from_the_header_and_from_the_magnitude(tmp_path: Path) -> None:
    rows = "1 94 -554.56 309.452 176\n1 95 -548.555 310.541 176\n"
    cm = read_juelich_trajectories(write(tmp_path, "# id frame x/cm y/cm z/cm\n" + rows))
    assert cm.metadata["unit_from"] == "header"
    assert cm.x[0] == pytest.approx(-5.5456) and cm.z[0] == pytest.approx(1.76)
    bare = read_juelich_trajectories(write(tmp_path, rows))
    assert bare.metadata == bare.metadata | {"unit": "cm", "unit_from": "magnitude"}
    forced = read_juelich_trajectories(write(tmp_path, rows), unit="m", fps=16)
    assert forced.x[0] == -554.56 and forced.fps == 16


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("# header\n1 0 0.0 0.0 1.7\n1 1 0.1 0.0\n", r"line 3: expected 5 columns"),
        ("1 0 0.0 0.0 1.7\n\n1 x 0.1 0.0 1.7\n", r"line 3: columns 'id frame x y z' must be num"),
        ("1 0.5 0.0 0.0 1.7\n", r"line 1: id and frame must be whole numbers"),
        ("1 0 nan 0.0 1.7\n", r"line 1: x, y and z must be finite"),
        ("# only comments\n\n", r"no trajectory rows"),
        ("1 0 0 0 1.7\n2 0 1 1 1.7\n1 0 0.1 0 1.7\n", r"person 1 appears twice in frame 0"),
    ],
)
def test_errors_name_the_file_and_line(tmp_path: Path, text: str, match: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(TrajectoryError, match=match) as info:
        read_juelich_trajectories(path)
    assert str(path) in str(info.value)
    assert isinstance(info.value, StadswachtError) and isinstance(info.value, ValueError)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(TrajectoryError, match="cannot read trajectory file"):
        read_juelich_trajectories(tmp_path / "nope.txt")


@pytest.mark.skipif(not (DATA / "crowd" / "juelich").is_dir(), reason="no ../shared/data")
def test_reads_every_real_file() -> None:
    for path in sorted((DATA / "crowd" / "juelich").glob("*.txt")):
        if path.name.startswith("LICENSE"):
            continue
        traj = read_juelich_trajectories(path)
        assert traj.persons > 50
        assert np.abs(traj.x).max() < 20 and np.abs(traj.y).max() < 20  # metres
