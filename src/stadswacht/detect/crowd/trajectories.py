"""Pedestrian trajectories, and the reader for the Jülich (PeTrack) text format.

The Jülich laboratory experiments (Forschungszentrum Jülich, IAS-7; as shipped with PedPy's
demo data, MIT) are plain text: ``#`` comment lines, then one row per person and frame,
``id frame x y z``, whitespace separated, at 25 frames per second. Some files give positions in
metres, some in centimetres (the header says ``x/cm``); :func:`read_juelich_trajectories`
returns metres.

>>> import io, tempfile, os
>>> text = "# framerate: 25 fps\\n# id frame x/m y/m z/m\\n1 0 0.0 0.0 1.7\\n1 1 0.04 0.0 1.7\\n"
>>> with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as f:
...     _ = f.write(text)
>>> traj = read_juelich_trajectories(f.name)
>>> os.unlink(f.name)
>>> len(traj), traj.fps, traj.persons, traj.metadata["unit"]
(2, 25.0, 1, 'm')
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from stadswacht.errors import TrajectoryError

__all__ = ["DEFAULT_FPS", "Trajectories", "TrajectoryError", "read_juelich_trajectories"]

DEFAULT_FPS = 25.0
"""Frame rate of the Jülich experiments [frames/s] when the header does not say."""

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

_FRAMERATE = re.compile(r"frame\s*rate\s*:\s*([0-9.]+)", re.IGNORECASE)
_UNIT = re.compile(r"\bx\s*/\s*(cm|m)\b", re.IGNORECASE)


@dataclass(frozen=True, eq=False)
class Trajectories:
    """Positions of persons over frames, sorted by person then frame.

    Attributes
    ----------
    id, frame : numpy.ndarray
        Person id and frame number of each row (int64).
    x, y, z : numpy.ndarray
        Position [m]; ``z`` is the head height or the third coordinate [m].
    fps : float
        Frames per second.
    metadata : dict
        ``source`` (the path), ``unit`` of the file (``"m"``/``"cm"``), ``unit_from``
        (``"header"``, ``"magnitude"`` or ``"argument"``), ``comments`` (the header lines).
    """

    id: IntArray
    frame: IntArray
    x: FloatArray
    y: FloatArray
    z: FloatArray
    fps: float = DEFAULT_FPS
    metadata: dict[str, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.id)

    @property
    def persons(self) -> int:
        """Number of distinct persons."""
        return len(np.unique(self.id))

    @property
    def frames(self) -> IntArray:
        """The distinct frame numbers, ascending."""
        return np.unique(self.frame)

    def time_s(self) -> FloatArray:
        """Each row's time [s] from frame 0."""
        return self.frame.astype(np.float64) / self.fps

    def select(self, mask: npt.NDArray[np.bool_]) -> Trajectories:
        """The rows where ``mask`` is true."""
        return Trajectories(
            self.id[mask],
            self.frame[mask],
            self.x[mask],
            self.y[mask],
            self.z[mask],
            self.fps,
            dict(self.metadata),
        )


def read_juelich_trajectories(
    path: str | Path,
    *,
    unit: Literal["auto", "m", "cm"] = "auto",
    fps: float | None = None,
) -> Trajectories:
    """Read a Jülich trajectory file (``id frame x y z``) into :class:`Trajectories` [m].

    Parameters
    ----------
    path : str or Path
        The text file.
    unit : {"auto", "m", "cm"}
        Unit of x, y, z in the file. ``"auto"`` reads it from a header such as
        ``# id frame x/cm y/cm z/cm``; without one, a file whose coordinates exceed 100 in
        magnitude is taken as centimetres (the experiments span a few tens of metres at most).
    fps : float, optional
        Frame rate [1/s]; default the header's ``framerate:``, else 25.

    Raises
    ------
    TrajectoryError
        The file is missing, empty, or a row is not five numbers with integer id and frame
        (the message names the line), or a person appears twice in one frame.
    """
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise TrajectoryError(f"{p}: cannot read trajectory file: {exc.strerror or exc}") from exc
    comments: list[str] = []
    rows: list[tuple[int, int, float, float, float]] = []
    for lineno, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        if line.startswith("#"):
            comments.append(line.lstrip("#").strip())
            continue
        parts = line.split()
        if len(parts) < 5:
            raise TrajectoryError(
                f"{p}, line {lineno}: expected 5 columns 'id frame x y z', got {len(parts)}: "
                f"{line[:60]!r}"
            )
        try:
            pid = int(float(parts[0]))
            frame = int(float(parts[1]))
            x, y, z = float(parts[2]), float(parts[3]), float(parts[4])
        except ValueError:
            raise TrajectoryError(
                f"{p}, line {lineno}: columns 'id frame x y z' must be numbers, got {line[:60]!r}"
            ) from None
        if float(parts[0]) != pid or float(parts[1]) != frame:
            raise TrajectoryError(
                f"{p}, line {lineno}: id and frame must be whole numbers, got "
                f"{parts[0]!r} and {parts[1]!r}"
            )
        if not (math.isfinite(x) and math.isfinite(y) and math.isfinite(z)):
            raise TrajectoryError(f"{p}, line {lineno}: x, y and z must be finite: {line[:60]!r}")
        rows.append((pid, frame, x, y, z))
    if not rows:
        raise TrajectoryError(f"{p}: no trajectory rows (expected lines 'id frame x y z')")

    header = " ".join(comments)
    rate = fps
    if rate is None:
        m = _FRAMERATE.search(header)
        rate = float(m.group(1)) if m else DEFAULT_FPS
    if not rate > 0:
        raise TrajectoryError(f"{p}: frame rate must be positive, got {rate!r}")

    arr = np.array(rows, dtype=np.float64)
    unit_from = "argument"
    file_unit: str = unit
    if unit == "auto":
        m = _UNIT.search(header)
        if m:
            file_unit, unit_from = m.group(1).lower(), "header"
        else:
            big = float(np.max(np.abs(arr[:, 2:4]))) > 100.0
            file_unit, unit_from = ("cm" if big else "m"), "magnitude"
    elif unit not in ("m", "cm"):
        raise ValueError(f"unit must be 'auto', 'm' or 'cm', got {unit!r}")
    scale = 0.01 if file_unit == "cm" else 1.0

    ids = arr[:, 0].astype(np.int64)
    frames = arr[:, 1].astype(np.int64)
    order = np.lexsort((frames, ids))
    ids, frames, arr = ids[order], frames[order], arr[order]
    dup = (np.diff(ids) == 0) & (np.diff(frames) == 0)
    if np.any(dup):
        k = int(np.argmax(dup))
        raise TrajectoryError(
            f"{p}: person {ids[k]} appears twice in frame {frames[k]}; give one row per "
            "person and frame"
        )
    return Trajectories(
        id=ids,
        frame=frames,
        x=arr[:, 2] * scale,
        y=arr[:, 3] * scale,
        z=arr[:, 4] * scale,
        fps=rate,
        metadata={
            "source": str(p),
            "unit": file_unit,
            "unit_from": unit_from,
            "comments": comments,
        },
    )
