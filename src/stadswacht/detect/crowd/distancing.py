"""1.5 m distancing from trajectories, with people who walk together counted apart.

Per frame, every pair of persons closer than ``distance_m`` (1.5 m, the Dutch "1.5 m society"
rule) is a close pair. People who walk together (family, friends) are close by choice and do
not break a distancing rule meant for strangers, so close pairs are split into *group pairs*
and *violations*.

Group rule. Two persons are a group when, over the time both are in view (at least
``min_together_s``, default 5 s), they are within ``group_distance_m`` (default 1.5 m) for at
least ``min_close_share`` (80 %) of the frames, with a mean velocity difference of at most
``max_speed_diff_m_s`` (0.3 m/s) over those frames, *and* are each other's nearest neighbour
in at least ``min_mutual_share`` (50 %) of them. The last condition matters in dense flow:
there everyone has neighbours within 1.5 m moving at the same speed for a long time, but a
companion stays *the* nearest one while strangers around keep changing.

Proximity sustained over time together with similar velocity is how groups are recognised in
trajectory data (Pellegrini, Ess & Van Gool 2010, ECCV, "Improving data association by joint
modeling of pedestrian trajectories and groupings"; Ge, Collins & Ruback 2012, IEEE TPAMI
34(5)), and group members observed in the street keep 0.5-1.5 m apart at a common speed
(Moussaïd et al. 2010, PLoS ONE 5(4): e10047). Groups of three or more are the connected
components of group pairs.

On the Jülich laboratory experiments (participants told to walk, no social groups by design),
the rule without the nearest-neighbour condition joined nearly everyone in dense flow into one
"group" (69 of 75 persons in the bottleneck experiment); with it, only pairs remain (4 pairs
there, 27 among 148 persons in the 5 m unidirectional corridor), which are probably still
partly strangers who happened to walk side by side.

Limitation: in a dense queue, strangers who stand side by side for a long time with the same
(zero) velocity meet the rule too; trajectories alone cannot tell them from a group.

The share of person-time in violation is the number of (person, frame) with at least one
close non-group neighbour, over all (person, frame).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.spatial import cKDTree

from stadswacht.detect.crowd.trajectories import FloatArray, IntArray, Trajectories

__all__ = ["DistancingResult", "distancing"]


@dataclass(frozen=True, eq=False)
class DistancingResult:
    """Close pairs per frame, and who walks together.

    Attributes
    ----------
    frames : numpy.ndarray
        Frame numbers, ascending.
    persons : numpy.ndarray
        Persons in view in each frame.
    close_pairs, group_pairs : numpy.ndarray
        Pairs closer than ``distance_m`` in each frame; of those, pairs of one group.
    violating : numpy.ndarray
        Persons in each frame with at least one close neighbour outside their group.
    groups : tuple of frozenset
        Groups (two or more person ids).
    violation_share : float
        Share of person-time in violation (0 to 1).
    distance_m : float
        The distance rule [m].
    """

    frames: IntArray
    persons: IntArray
    close_pairs: IntArray
    group_pairs: IntArray
    violating: IntArray
    groups: tuple[frozenset[int], ...]
    violation_share: float
    distance_m: float


def _velocities(traj: Trajectories, smooth_s: float) -> tuple[FloatArray, FloatArray]:
    """Velocity [m/s] of each row: a centred moving average (damps head sway), then the
    central difference, per person."""
    vx = np.zeros(len(traj))
    vy = np.zeros(len(traj))
    k = max(1, round(smooth_s * traj.fps)) | 1
    kernel = np.ones(k) / k
    bounds = np.flatnonzero(np.diff(traj.id)) + 1
    for rows in np.split(np.arange(len(traj)), bounds):
        if len(rows) < 2:
            continue
        t = traj.frame[rows].astype(np.float64) / traj.fps
        for src, dst in ((traj.x, vx), (traj.y, vy)):
            p = src[rows]
            if len(rows) >= k:
                pad = np.pad(p, k // 2, mode="edge")
                p = np.convolve(pad, kernel, mode="valid")
            dst[rows] = np.gradient(p, t)
    return vx, vy


def _components(pairs: list[tuple[int, int]]) -> tuple[frozenset[int], ...]:
    parent: dict[int, int] = {}

    def find(a: int) -> int:
        while parent.setdefault(a, a) != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    for a, b in pairs:
        parent[find(a)] = find(b)
    comps: dict[int, set[int]] = {}
    for a in parent:
        comps.setdefault(find(a), set()).add(a)
    return tuple(sorted((frozenset(c) for c in comps.values()), key=min))


def distancing(
    traj: Trajectories,
    distance_m: float = 1.5,
    *,
    group_distance_m: float = 1.5,
    min_together_s: float = 5.0,
    min_close_share: float = 0.8,
    max_speed_diff_m_s: float = 0.3,
    min_mutual_share: float = 0.5,
    smooth_s: float = 0.5,
) -> DistancingResult:
    """Close pairs per frame and the share of person-time in violation, groups apart.

    Parameters
    ----------
    traj : Trajectories
        Positions [m] (e.g. from :func:`read_juelich_trajectories`).
    distance_m : float
        The distance to keep [m]. Default 1.5.
    group_distance_m, min_together_s, min_close_share, max_speed_diff_m_s : float
    min_mutual_share : float
        The group rule (module docstring).
    smooth_s : float
        Window of the moving average before velocities are taken [s].

    >>> import numpy as np
    >>> n = 200  # 8 s at 25 fps: two friends side by side at 0.7 m, a stranger passing
    >>> t = np.arange(n)
    >>> ids = np.repeat([1, 2, 3], n); frames = np.tile(t, 3)
    >>> x = np.concatenate([t * 0.05, t * 0.05, 10 - t * 0.05])
    >>> y = np.concatenate([np.zeros(n), np.full(n, 0.7), np.full(n, 1.0)])
    >>> tr = Trajectories(ids, frames, x, y, np.zeros(3 * n))
    >>> r = distancing(tr)
    >>> r.groups, int(r.close_pairs.max()), int(r.group_pairs.max())
    ((frozenset({1, 2}),), 3, 1)
    """
    if not distance_m > 0:
        raise ValueError(f"distance_m must be positive, got {distance_m!r}")
    reach = max(distance_m, group_distance_m)
    vx, vy = _velocities(traj, smooth_s)
    order = np.argsort(traj.frame, kind="stable")
    frames, starts = np.unique(traj.frame[order], return_index=True)
    ends = np.append(starts[1:], len(order))
    persons = (ends - starts).astype(np.int64)

    rows_a: list[npt.NDArray[np.intp]] = []
    rows_b: list[npt.NDArray[np.intp]] = []
    fidx: list[npt.NDArray[np.intp]] = []
    mutual_ids: list[IntArray] = []
    for i, (s, e) in enumerate(zip(starts, ends, strict=True)):
        rows = order[s:e]
        if len(rows) < 2:
            continue
        pts = np.column_stack([traj.x[rows], traj.y[rows]])
        tree = cKDTree(pts)
        pairs = tree.query_pairs(reach, output_type="ndarray")
        _, nn = tree.query(pts, k=2)
        nearest = nn[:, 1]
        me = np.arange(len(rows))
        mutual = (nearest[nearest] == me) & (me < nearest)
        mutual_ids.append(
            np.column_stack([traj.id[rows[me[mutual]]], traj.id[rows[nearest[mutual]]]])
        )
        if len(pairs):
            rows_a.append(rows[pairs[:, 0]])
            rows_b.append(rows[pairs[:, 1]])
            fidx.append(np.full(len(pairs), i, dtype=np.intp))
    empty = np.zeros(len(frames), dtype=np.int64)
    if not rows_a:
        return DistancingResult(
            frames, persons, empty, empty.copy(), empty.copy(), (), 0.0, distance_m
        )
    ra, rb, fi = np.concatenate(rows_a), np.concatenate(rows_b), np.concatenate(fidx)
    ida, idb = traj.id[ra], traj.id[rb]
    lo, hi = np.minimum(ida, idb), np.maximum(ida, idb)
    dist = np.hypot(traj.x[ra] - traj.x[rb], traj.y[ra] - traj.y[rb])
    dv = np.hypot(vx[ra] - vx[rb], vy[ra] - vy[rb])

    # Pair statistics over the whole recording; a pair's key is lo * span + hi.
    span = int(traj.id.max()) + 1
    keys, inv = np.unique(lo * span + hi, return_inverse=True)
    inv = inv.ravel()
    near = dist < group_distance_m
    close_n = np.bincount(inv, weights=near, minlength=len(keys))
    dv_sum = np.bincount(inv, weights=np.where(near, dv, 0.0), minlength=len(keys))
    first: dict[int, int] = {}
    last: dict[int, int] = {}
    for pid, f in zip(traj.id.tolist(), traj.frame.tolist(), strict=True):
        first.setdefault(pid, f)
        last[pid] = f
    pair_lo, pair_hi = keys // span, keys % span
    together = np.array(
        [
            min(last[a], last[b]) - max(first[a], first[b]) + 1
            for a, b in zip(pair_lo.tolist(), pair_hi.tolist(), strict=True)
        ],
        dtype=np.float64,
    )
    mean_dv = dv_sum / np.maximum(close_n, 1)
    mm = np.concatenate(mutual_ids) if mutual_ids else np.zeros((0, 2), dtype=np.int64)
    mkeys, mcount = np.unique(mm.min(axis=1) * span + mm.max(axis=1), return_counts=True)
    at = np.clip(np.searchsorted(mkeys, keys), 0, max(len(mkeys) - 1, 0))
    mutual_n = (
        np.where(mkeys[at] == keys, mcount[at], 0).astype(np.float64)
        if len(mkeys)
        else np.zeros(len(keys))
    )
    is_group = (
        (together / traj.fps >= min_together_s)
        & (close_n >= min_close_share * together)
        & (mean_dv <= max_speed_diff_m_s)
        & (mutual_n >= min_mutual_share * np.maximum(close_n, 1))
    )

    close = dist < distance_m
    grouped = close & is_group[inv]
    close_pairs = np.bincount(fi[close], minlength=len(frames)).astype(np.int64)
    group_pairs = np.bincount(fi[grouped], minlength=len(frames)).astype(np.int64)
    bad = close & ~is_group[inv]
    rows_n = len(traj)
    who = np.unique(np.concatenate([fi[bad] * rows_n + ra[bad], fi[bad] * rows_n + rb[bad]]))
    violating = np.bincount(who // rows_n, minlength=len(frames)).astype(np.int64)
    share = float(violating.sum() / persons.sum()) if persons.sum() else 0.0
    groups = _components(
        list(zip(pair_lo[is_group].tolist(), pair_hi[is_group].tolist(), strict=True))
    )
    return DistancingResult(
        frames, persons, close_pairs, group_pairs, violating, groups, share, distance_m
    )
