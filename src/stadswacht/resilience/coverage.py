"""Coverage and redundancy: how much of each capability survives the *k* worst single failures,
and which one added sensor or one added backup power would raise that worst case most.

Coverage is the share of the study area's sample points (a square grid, ``resolution_m``
apart, 25 m by default) a capability reaches: for ``gunshot`` within range of at least 3
working acoustic sensors, for ``hazard`` of at least one working gauge; for ``crowd`` it is
the share of the zones with counters that keep their count (:func:`crowd_zones`).

The *k* worst failures are found greedily (each step adds the node whose failure, on top of
those already chosen, lowers coverage most; of equals, the one that takes most nodes down), or
exactly over every set of *k* candidate nodes (``method="exact"``, up to :data:`MAX_EXACT`
sets). Candidates are the nodes some sensor of the
capability depends on, directly or not, the sensors themselves and every node that protects
an area.

An added sensor is tried at every point of a grid over the study area (``spacing_m``, a
quarter of the gunshot range by default) with the dependencies of the nearest sensor of its
capability (it would hang on the same lamp post power and gateway); for ``crowd``, as an
occupancy counter in each zone, with the dependencies of a counter of that zone. An added
backup makes one power requirement (on substations or feeders only) of one node redundant
with a battery at the node.

>>> from stadswacht.resilience.graph import parse_infra
>>> g = parse_infra({"defaults": {"agency": "c"}, "nodes": [
...     {"id": "ss", "kind": "substation"},
...     {"id": "a", "kind": "people_counter", "zone": "z", "position": [4.29, 52.09],
...      "depends_on": ["ss"]}]})
>>> m = CoverageModel(g)
>>> w = worst_case(m, "crowd", 1)
>>> w.before, w.after, w.failures
(1.0, 0.0, ('ss',))
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import networkx as nx
import numpy as np
import shapely
from scipy import sparse
from scipy.spatial import cKDTree
from shapely.geometry import Polygon

from stadswacht.resilience.blindspots import crowd_zones, disc_radii
from stadswacht.resilience.cascade import cascade
from stadswacht.resilience.geo import LocalProjection
from stadswacht.resilience.graph import POWER_KINDS, InfraGraph, Node

__all__ = [
    "MAX_EXACT",
    "AddedBackup",
    "AddedSensor",
    "CoverageModel",
    "WorstCase",
    "best_added_sensor",
    "best_backup",
    "coverage_report",
    "worst_case",
]

MAX_EXACT = 20_000
"""Most failure sets the exact search looks at; past it, the search is greedy."""


class CoverageModel:
    """A graph with its study area sampled, ready to score failure sets.

    Args:
        graph: The dependency graph.
        zones: Ids of crowd zones to count even when no counter names them.
        resolution_m: Spacing of the sample points [m].
    """

    def __init__(
        self, graph: InfraGraph, zones: Iterable[str] = (), *, resolution_m: float = 25.0
    ) -> None:
        self.graph = graph
        self.zones = tuple(zones)
        self.resolution_m = resolution_m
        ring = graph.study_area()
        self.projection = LocalProjection.around(ring)
        self.region = self.projection.forward(Polygon(ring))
        minx, miny, maxx, maxy = self.region.bounds
        xs = np.arange(minx + resolution_m / 2, maxx, resolution_m)
        ys = np.arange(miny + resolution_m / 2, maxy, resolution_m)
        mx, my = np.meshgrid(xs, ys)
        gx, gy = mx.ravel(), my.ravel()
        inside = shapely.contains_xy(self.region, gx, gy)
        self.points = np.column_stack([gx[inside], gy[inside]])
        self._tree = cKDTree(self.points) if len(self.points) else None
        self.need = {"gunshot": int(graph.parameters["gunshot_min_sensors"]), "hazard": 1}
        self.sensors: dict[str, list[str]] = {}
        self.matrix: dict[str, Any] = {}
        for cap in ("gunshot", "hazard"):
            nodes = graph.sensors(cap)
            self.sensors[cap] = [n.id for n in nodes]
            self.matrix[cap] = self._columns(nodes, cap)
        self._cascades: dict[frozenset[str], frozenset[str]] = {}
        self._counts: dict[tuple[str, frozenset[str]], Any] = {}

    def _columns(self, nodes: Sequence[Node], capability: str) -> Any:
        """Sparse (points × nodes) matrix: 1 where the point is within the node's range."""
        rows: list[int] = []
        cols: list[int] = []
        if nodes and self._tree is not None:
            radii = disc_radii(self.graph, nodes, capability)
            lon = [n.position[0] for n in nodes if n.position is not None]
            lat = [n.position[1] for n in nodes if n.position is not None]
            x, y = self.projection.forward_xy(lon, lat)
            for j, (cx, cy, r) in enumerate(zip(x, y, radii, strict=True)):
                hits = self._tree.query_ball_point((cx, cy), r)
                rows.extend(hits)
                cols.extend([j] * len(hits))
        data = np.ones(len(rows), dtype=np.int32)
        return sparse.csr_matrix((data, (rows, cols)), shape=(len(self.points), len(nodes)))

    def column(self, node: Node, capability: str) -> np.ndarray:
        """1 for every sample point within ``node``'s range, else 0 (an added sensor)."""
        out = np.zeros(len(self.points), dtype=np.int32)
        if self._tree is not None and node.position is not None:
            (r,) = disc_radii(self.graph, [node], capability)
            x, y = self.projection.forward_xy([node.position[0]], [node.position[1]])
            out[self._tree.query_ball_point((float(x[0]), float(y[0])), r)] = 1
        return out

    def failed(self, initial: frozenset[str], graph: InfraGraph | None = None) -> frozenset[str]:
        """The failed set of a cascade from ``initial`` (cached for the model's own graph)."""
        if graph is not None and graph is not self.graph:
            return cascade(graph, initial).failed
        hit = self._cascades.get(initial)
        if hit is None:
            hit = self._cascades[initial] = cascade(self.graph, initial).failed
        return hit

    def share(
        self,
        capability: str,
        failed: frozenset[str],
        extra: tuple[Any, bool] | None = None,
        graph: InfraGraph | None = None,
    ) -> float:
        """Coverage of ``capability`` when ``failed`` are down; ``extra`` is an added sensor's
        column and whether it works; ``graph`` a variant with other counters (crowd)."""
        if capability == "crowd":
            zones = crowd_zones(graph or self.graph, failed, self.zones)
            judged = [z for z in zones.values() if z.status != "uncovered"]
            if not judged:
                return 0.0
            return sum(z.status != "lost" for z in judged) / len(judged)
        if len(self.points) == 0:
            return 0.0
        key = (capability, failed)
        counts = self._counts.get(key)
        if counts is None:
            ids = self.sensors[capability]
            alive = np.array([i not in failed for i in ids], dtype=np.int32)
            counts = self.matrix[capability] @ alive if ids else np.zeros(len(self.points))
            if len(self._counts) > 4096:
                self._counts.clear()
            self._counts[key] = counts
        if extra is not None and extra[1]:
            counts = counts + extra[0]
        return float(np.mean(counts >= self.need[capability]))

    def candidates(self, capability: str, graph: InfraGraph | None = None) -> list[str]:
        """Nodes whose failure can touch ``capability``: what its sensors depend on
        (transitively), the sensors, and every node that protects an area."""
        g = graph or self.graph
        out: set[str] = set()
        for n in g.nodes.values():
            if capability in n.capability:
                out.add(n.id)
                out |= nx.descendants(g.graph, n.id)
            if n.flood_area is not None:
                out.add(n.id)
        return sorted(out)


@dataclass(frozen=True)
class WorstCase:
    """Coverage before and after the ``k`` worst single failures found."""

    capability: str
    k: int
    method: str
    before: float
    after: float
    failures: tuple[str, ...]
    steps: tuple[tuple[str, float], ...] = ()


def worst_case(
    model: CoverageModel,
    capability: str,
    k: int,
    *,
    method: str = "greedy",
    graph: InfraGraph | None = None,
    extra: tuple[Any, Node] | None = None,
) -> WorstCase:
    """The ``k`` node failures that lower ``capability`` most, and the coverage left.

    Args:
        model: The sampled graph.
        capability: ``gunshot``, ``crowd`` or ``hazard``.
        k: How many single failures (0 or more).
        method: ``greedy`` or ``exact`` (exact falls back to greedy past :data:`MAX_EXACT`
            failure sets; ``method`` of the result says which ran).
        graph: A variant of the model's graph (same sensors) to score instead.
        extra: An added sensor: its coverage column and node (it fails with its requirements).
    """
    g = graph or model.graph
    cands = model.candidates(capability, g)
    if extra is not None:
        cands.append(extra[1].id)

    def score(initial: frozenset[str]) -> float:
        if extra is None:
            return model.share(capability, model.failed(initial, g), graph=g)
        node = extra[1]
        failed = model.failed(initial - {node.id}, g)
        works = node.id not in initial and not any(r <= failed for r in node.requires)
        return model.share(capability, failed, (extra[0], works))

    added = frozenset() if extra is None else frozenset({extra[1].id})
    before = score(frozenset())
    if k <= 0 or not cands:
        return WorstCase(capability, k, method, before, before, ())
    if method == "exact" and math.comb(len(cands), min(k, len(cands))) <= MAX_EXACT:
        best = min(
            itertools.combinations(cands, min(k, len(cands))),
            key=lambda c: (score(frozenset(c)), -len(model.failed(frozenset(c) - added, g)), c),
        )
        return WorstCase(capability, k, "exact", before, score(frozenset(best)), best)
    chosen: list[str] = []
    steps: list[tuple[str, float]] = []
    current = before
    for _ in range(min(k, len(cands))):
        # Ties go to the failure that takes most nodes down, then to the first id.
        options = [
            (score(f), -len(model.failed(f - added, g)), c)
            for c in cands
            if c not in chosen
            for f in [frozenset([*chosen, c])]
        ]
        value, _, node = min(options)
        chosen.append(node)
        steps.append((node, value))
        current = value
    return WorstCase(capability, k, "greedy", before, current, tuple(chosen), tuple(steps))


@dataclass(frozen=True)
class AddedSensor:
    """The best place for one more sensor, and the worst case with it."""

    capability: str
    position: tuple[float, float] | None
    zone: str | None
    template: str
    worst: WorstCase


@dataclass(frozen=True)
class AddedBackup:
    """The best node to give backup power, which requirement it makes redundant, and the
    worst case with it."""

    capability: str
    node: str
    requirement: tuple[str, ...]
    worst: WorstCase


def best_added_sensor(
    model: CoverageModel, capability: str, k: int, *, spacing_m: float | None = None
) -> AddedSensor | None:
    """Where one added sensor raises the worst-case coverage after ``k`` failures most
    (``None`` when the capability has no sensor to copy from)."""
    g = model.graph
    sensors = g.sensors(capability)
    if not sensors:
        return None
    best: AddedSensor | None = None
    if capability == "crowd":
        zones = sorted({n.zone for n in sensors if n.zone})
        for zone in zones:
            template = min((n for n in sensors if n.zone == zone), key=lambda n: n.id)
            node = replace(template, id=f"{template.id}#added", mode="occupancy", gate=None)
            w = worst_case(model, capability, k, graph=g.with_nodes([node]))
            if best is None or w.after > best.worst.after:
                best = AddedSensor(capability, None, zone, template.id, w)
        return best
    spacing = spacing_m or float(g.parameters["gunshot_range_m"]) / 4
    minx, miny, maxx, maxy = model.region.bounds
    mx, my = np.meshgrid(
        np.arange(minx + spacing / 2, maxx, spacing), np.arange(miny + spacing / 2, maxy, spacing)
    )
    inside = shapely.contains_xy(model.region, mx.ravel(), my.ravel())
    gx, gy = mx.ravel()[inside], my.ravel()[inside]
    lon = [n.position[0] for n in sensors if n.position is not None]
    lat = [n.position[1] for n in sensors if n.position is not None]
    sx, sy = model.projection.forward_xy(lon, lat)
    nearest = cKDTree(np.column_stack([sx, sy])).query(np.column_stack([gx, gy]))[1]
    for x, y, t in zip(gx, gy, np.atleast_1d(nearest), strict=True):
        template = sensors[int(t)]
        p = model.projection.inverse(shapely.points([x, y]))
        pos = (round(float(p.x), 6), round(float(p.y), 6))
        node = replace(template, id=f"{template.id}#added", position=pos, range_m=template.range_m)
        col = model.column(node, capability)
        w = worst_case(model, capability, k, extra=(col, node))
        if best is None or w.after > best.worst.after + 1e-12:
            best = AddedSensor(capability, pos, None, template.id, w)
    return best


def best_backup(model: CoverageModel, capability: str, k: int) -> AddedBackup | None:
    """Which one node, given a battery beside one of its power requirements, raises the
    worst-case coverage after ``k`` failures most (``None``: no power requirement to back)."""
    g = model.graph
    best: AddedBackup | None = None
    for nid in model.candidates(capability):
        n = g.nodes[nid]
        for i, req in enumerate(n.requires):
            if not all(g.nodes[b].kind in POWER_KINDS for b in req):
                continue
            battery = Node(
                id=f"{nid}#backup", kind="backup_power", agency=n.agency, position=n.position
            )
            requires = (*n.requires[:i], req | {battery.id}, *n.requires[i + 1 :])
            variant = g.with_nodes([replace(n, requires=requires), battery])
            w = worst_case(model, capability, k, graph=variant)
            if best is None or w.after > best.worst.after + 1e-12:
                best = AddedBackup(capability, nid, tuple(sorted(req)), w)
    return best


def coverage_report(
    graph: InfraGraph,
    k: int = 1,
    *,
    zones: Iterable[str] = (),
    resolution_m: float = 25.0,
    method: str = "greedy",
    recommend: bool = True,
) -> dict[str, Any]:
    """Per capability: coverage before and after the ``k`` worst failures, which they are,
    and (``recommend``) the best added sensor and backup power with their worst case.

    Shares are rounded to 4 decimals; positions are ``[lon, lat]``. ``add_sensor`` and
    ``add_backup`` are ``None`` when no single addition raises the worst case (no sensor to
    copy, no power requirement to back, or a gain of 0).
    """
    model = CoverageModel(graph, zones, resolution_m=resolution_m)
    out: dict[str, Any] = {
        "k": k,
        "method": method,
        "resolution_m": resolution_m,
        "sample_points": len(model.points),
        "capabilities": {},
    }
    for cap in ("gunshot", "crowd", "hazard"):
        w = worst_case(model, cap, k, method=method)
        doc: dict[str, Any] = _worst_doc(w)
        doc["sensors"] = len(graph.sensors(cap))
        if recommend:
            # No recommendation (null) when the best addition does not raise the worst case.
            s = best_added_sensor(model, cap, k)
            doc["add_sensor"] = None if s is None or not _helps(s.worst, w) else {
                "position": None if s.position is None else list(s.position),
                "zone": s.zone, "like": s.template, "after": round(s.worst.after, 4),
                "gain": round(s.worst.after - w.after, 4), "failures": list(s.worst.failures),
            }  # fmt: skip
            b = best_backup(model, cap, k)
            doc["add_backup"] = None if b is None or not _helps(b.worst, w) else {
                "node": b.node, "requirement": list(b.requirement),
                "after": round(b.worst.after, 4), "gain": round(b.worst.after - w.after, 4),
                "failures": list(b.worst.failures),
            }  # fmt: skip
        out["capabilities"][cap] = doc
    return out


def _helps(added: WorstCase, now: WorstCase) -> bool:
    """Whether an addition raises the worst case by at least 0.01 % (a rounded gain above 0)."""
    return round(added.after - now.after, 4) > 0


def _worst_doc(w: WorstCase) -> dict[str, Any]:
    return {
        "sensors": None,
        "before": round(w.before, 4),
        "after": round(w.after, 4),
        "method": w.method,
        "failures": list(w.failures),
        "steps": [{"node": n, "after": round(v, 4)} for n, v in w.steps],
    }
