"""Density measured from trajectories, and line counts simulated from them.

To check the line-count density of :class:`~stadswacht.detect.crowd.detector.CrowdDetector`
against real movement: take a rectangular measurement area in a recorded experiment, put a
(virtual) line counter on each of its four edges, count the trajectories' crossings per
interval (what a counter would report, optionally missing a share of people, as real counters
do in dense flow), feed those counts to the detector and compare its density with the
*classic density* of the area (persons inside in a frame / area; the "classic" method of
PedPy and of Zhang et al. 2011, J. Stat. Mech. P06004).

Before the first interval the counters cannot know who is already inside: the zone starts
from the persons inside at the first frame (a head count when counting starts), and persons
whose trajectory begins or ends inside the area (tracking starts or stops there) change the
occupancy without crossing a line; both are reported.

>>> import numpy as np
>>> t = np.arange(100)  # one person walking through a 2 x 2 m area at 1 m/s, 25 fps
>>> tr = Trajectories(np.ones(100, dtype=np.int64), t, -1.0 + t * 0.04, np.ones(100),
...                   np.zeros(100))
>>> c = compare_density(tr, Rect(0.0, 2.0, 0.0, 2.0), interval_s=0.4)
>>> c.max_abs_error, round(float(c.reference.max()), 2)
(0.0, 0.25)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from stadswacht.detect.crowd.detector import CrowdDetector
from stadswacht.detect.crowd.trajectories import FloatArray, IntArray, Trajectories

__all__ = [
    "DensityComparison",
    "LineCounts",
    "Rect",
    "classic_density",
    "compare_density",
    "line_crossings",
    "simulate_line_counts",
]


@dataclass(frozen=True, slots=True)
class Rect:
    """An axis-parallel measurement area [m]."""

    xmin: float
    xmax: float
    ymin: float
    ymax: float

    def __post_init__(self) -> None:
        if not (self.xmax > self.xmin and self.ymax > self.ymin):
            raise ValueError(f"empty rectangle: {self!r}")

    @property
    def area_m2(self) -> float:
        """Area [m²]."""
        return (self.xmax - self.xmin) * (self.ymax - self.ymin)

    def contains(self, x: FloatArray, y: FloatArray) -> np.ndarray:
        """Which points lie strictly inside (a point on an edge is outside, as for
        :func:`line_crossings`, so that crossings and membership agree)."""
        return (x > self.xmin) & (x < self.xmax) & (y > self.ymin) & (y < self.ymax)

    def edges(self) -> dict[str, tuple[tuple[float, float], tuple[float, float]]]:
        """The four edges, counter-clockwise, so that the interior is on each edge's left."""
        a, b = (self.xmin, self.ymin), (self.xmax, self.ymin)
        c, d = (self.xmax, self.ymax), (self.xmin, self.ymax)
        return {"south": (a, b), "east": (b, c), "north": (c, d), "west": (d, a)}


def classic_density(traj: Trajectories, rect: Rect) -> tuple[IntArray, FloatArray]:
    """Persons inside ``rect`` per frame / its area [persons/m²], for every frame in view."""
    frames = traj.frames
    inside = rect.contains(traj.x, traj.y)
    idx = np.searchsorted(frames, traj.frame[inside])
    counts = np.bincount(idx, minlength=len(frames))
    return frames, counts / rect.area_m2


def line_crossings(
    traj: Trajectories, p0: tuple[float, float], p1: tuple[float, float]
) -> tuple[IntArray, IntArray]:
    """Crossings of the segment ``p0``-``p1`` between consecutive rows of each person.

    Returns the frame after each crossing and its direction: +1 to the segment's left
    (``in`` for a counter-clockwise edge), -1 to its right.
    """
    same = traj.id[1:] == traj.id[:-1]
    xa, ya, xb, yb = traj.x[:-1], traj.y[:-1], traj.x[1:], traj.y[1:]
    ex, ey = p1[0] - p0[0], p1[1] - p0[1]
    sa = ex * (ya - p0[1]) - ey * (xa - p0[0])  # > 0: left of the line
    sb = ex * (yb - p0[1]) - ey * (xb - p0[0])
    # Left side is "> 0"; a point exactly on the line counts as right, consistently.
    side_a, side_b = sa > 0, sb > 0
    cand = same & (side_a != side_b)
    # Where along the edge the step crosses: parameter u in [0, 1).
    with np.errstate(divide="ignore", invalid="ignore"):
        tstep = sa / (sa - sb)
        cx = xa + tstep * (xb - xa)
        cy = ya + tstep * (yb - ya)
        length2 = ex * ex + ey * ey
        u = ((cx - p0[0]) * ex + (cy - p0[1]) * ey) / length2
    hit = cand & (u >= 0) & (u < 1)
    frames = traj.frame[1:][hit]
    direction = np.where(side_b[hit], 1, -1).astype(np.int64)
    return frames.astype(np.int64), direction


@dataclass(frozen=True, eq=False)
class LineCounts:
    """What the four edge counters report, interval by interval.

    ``ends_s`` [s] are the interval ends (frame / fps); ``counts[edge]`` is an array of
    ``(in, out)`` per interval; ``initial`` the persons inside at ``start_frame``;
    ``unseen`` the occupancy changes that crossed no line (trajectories starting or ending
    inside).
    """

    start_frame: int
    interval_frames: int
    ends_s: FloatArray
    end_frames: IntArray
    counts: dict[str, IntArray]
    initial: int
    unseen: int


def simulate_line_counts(
    traj: Trajectories,
    rect: Rect,
    interval_s: float = 1.0,
    *,
    miss_rate: float = 0.0,
    seed: int = 0,
) -> LineCounts:
    """Simulate line counters on the edges of ``rect`` from trajectories.

    Each crossing is counted in the interval in which its frame falls; with ``miss_rate`` > 0
    each is missed independently with that probability (binomial thinning; counters miss
    more in dense flow, so a constant rate is a simplification).
    """
    if not 0 <= miss_rate < 1:
        raise ValueError(f"miss_rate must be in [0, 1), got {miss_rate!r}")
    m = max(1, round(interval_s * traj.fps))
    f0, f1 = int(traj.frame.min()), int(traj.frame.max())
    n = max(1, -(-(f1 - f0) // m))
    end_frames = f0 + m * np.arange(1, n + 1, dtype=np.int64)
    rng = np.random.default_rng(seed)
    counts: dict[str, IntArray] = {}
    for name, (p0, p1) in rect.edges().items():
        frames, direction = line_crossings(traj, p0, p1)
        if miss_rate > 0:
            keep = rng.random(len(frames)) >= miss_rate
            frames, direction = frames[keep], direction[keep]
        k = np.clip((frames - f0 - 1) // m, 0, n - 1)
        cin = np.bincount(k[direction > 0], minlength=n)
        cout = np.bincount(k[direction < 0], minlength=n)
        counts[name] = np.column_stack([cin, cout]).astype(np.int64)
    inside = rect.contains(traj.x, traj.y)
    initial = int(np.count_nonzero(inside & (traj.frame == f0)))
    first = np.r_[True, traj.id[1:] != traj.id[:-1]]
    last = np.r_[traj.id[1:] != traj.id[:-1], True]
    unseen = int(np.count_nonzero(inside & first & (traj.frame > f0))) + int(
        np.count_nonzero(inside & last & (traj.frame < f1))
    )
    return LineCounts(
        start_frame=f0,
        interval_frames=m,
        ends_s=end_frames / traj.fps,
        end_frames=end_frames,
        counts=counts,
        initial=initial,
        unseen=unseen,
    )


@dataclass(frozen=True, eq=False)
class DensityComparison:
    """Line-count density against classic density at each interval end.

    ``estimate`` and ``reference`` [persons/m²] at ``end_frames``; errors over the interval
    ends whose reference density is at most ``max_density``; ``n`` how many those are.
    """

    end_frames: IntArray
    estimate: FloatArray
    reference: FloatArray
    n: int
    max_abs_error: float
    mean_abs_error: float
    counts: LineCounts


def compare_density(
    traj: Trajectories,
    rect: Rect,
    interval_s: float = 1.0,
    *,
    miss_rate: float = 0.0,
    seed: int = 0,
    occupancy_every_s: float | None = None,
    occupancy_sd: float = 0.05,
    max_density: float = 4.0,
) -> DensityComparison:
    """Density of ``rect`` from simulated edge line counts (through :class:`CrowdDetector`)
    against the classic density from the trajectories.

    Parameters
    ----------
    traj : Trajectories
        Recorded trajectories [m].
    rect : Rect
        The measurement area (the zone).
    interval_s : float
        Counting interval [s].
    miss_rate : float
        Share of crossings each counter misses.
    seed : int
        Seed of the misses and of the zone-count noise.
    occupancy_every_s : float, optional
        Also a zone occupancy count this often [s] (the true count with relative noise
        ``occupancy_sd``), for the detector's drift correction.
    max_density : float
        Errors are taken over interval ends with a reference density up to this
        [persons/m²].
    """
    lc = simulate_line_counts(traj, rect, interval_s, miss_rate=miss_rate, seed=seed)
    frames, ref_all = classic_density(traj, rect)
    ref = np.interp(lc.end_frames, frames, ref_all)
    det = CrowdDetector(learn=False, occupancy_sd=occupancy_sd)
    edges = rect.edges()
    widths = {
        name: float(np.hypot(p1[0] - p0[0], p1[1] - p0[1])) for name, (p0, p1) in edges.items()
    }
    det.add_zone("area", rect.area_m2, gates=widths)
    for name in edges:
        det.add_counter(f"line-{name}", "area", gate=name)
    det.add_counter("zone-count", "area", kind="occupancy")
    t0 = lc.start_frame / traj.fps
    det.add_count("zone-count", {"occupancy": lc.initial}, t0)
    rng = np.random.default_rng(seed + 1)
    step = lc.interval_frames / traj.fps
    every = None if occupancy_every_s is None else max(1, round(occupancy_every_s / step))
    est = np.zeros(len(lc.end_frames))
    for k, end in enumerate(lc.ends_s.tolist()):
        for name in edges:
            cin, cout = lc.counts[name][k]
            det.add_count(
                f"line-{name}", {"in": int(cin), "out": int(cout), "interval_s": step}, end
            )
        if every is not None and (k + 1) % every == 0:
            true = ref[k] * rect.area_m2
            noisy = max(0, round(true * (1 + occupancy_sd * rng.standard_normal())))
            det.add_count("zone-count", {"occupancy": noisy}, end)
        est[k] = det.state("area").density
    use = ref <= max_density
    err = np.abs(est - ref)[use]
    return DensityComparison(
        end_frames=lc.end_frames,
        estimate=est,
        reference=ref,
        n=int(use.sum()),
        max_abs_error=float(err.max()) if len(err) else 0.0,
        mean_abs_error=float(err.mean()) if len(err) else 0.0,
        counts=lc,
    )
