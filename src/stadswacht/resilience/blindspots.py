"""Blind spots: where a capability is lost after a cascade.

- ``gunshot``: a shot is located where at least ``gunshot_min_sensors`` (3) working acoustic
  sensors hear it, within their range (``gunshot_range_m``, 800 m, or a node's ``range_m``);
  the blind spot is the rest of the study area, and ``lost`` the part that was covered before.
- ``crowd``: a zone keeps its count while a working occupancy counter covers it, or every
  gate named by its flow counters still has one working; else its count is ``lost``
  (``degraded`` when it keeps its count but some counter failed).
- ``hazard``: a gauge speaks for the area within its range (``water_gauge_range_m``,
  ``rain_gauge_range_m``); what loses its last working gauge is ``lost``.

Areas covered by at least *k* of a set of discs are computed exactly (on discs drawn as
64-sided polygons) on a metric projection, by a quadtree over the study area: a tile inside
*k* discs is covered, a tile meeting fewer than *k* is not, and the rest is split until few
discs cross it, where the union of the *k*-wise intersections is taken.

>>> import numpy as np
>>> from shapely.geometry import box
>>> region = box(-2000, -2000, 2000, 2000)
>>> covered = k_coverage(np.zeros((3, 2)), np.full(3, 800.0), 3, region)
>>> round(covered.area / (np.pi * 800**2), 3)   # a 64-gon fills 99.8 % of its circle
0.998
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import shapely
from scipy.spatial import cKDTree
from shapely.errors import GEOSException
from shapely.geometry import Polygon, box

from stadswacht.model.area import Area
from stadswacht.resilience.cascade import Cascade
from stadswacht.resilience.geo import LocalProjection, geometry_to_geojson
from stadswacht.resilience.graph import InfraGraph, Node

__all__ = [
    "QUAD_SEGS",
    "SNAP_M",
    "Assessment",
    "CapabilityLoss",
    "ZoneCount",
    "assess",
    "crowd_zones",
    "disc_radii",
    "k_coverage",
]

QUAD_SEGS = 16
"""Segments per quarter circle of a disc (64-sided polygons: 0.16 % less area than a circle)."""

_LEAF_DISCS = 6
"""A tile crossed by at most this many disc boundaries is computed exactly."""

_MAX_COMBINATIONS = 400
"""Past this many k-wise intersections in a leaf, the disc arrangement is polygonised."""

SNAP_M = 0.1
"""Grid a blind or lost area is snapped to before it goes back to WGS84 [m].

The quadtree's union of tiles and disc pieces is valid in metres but can hold slivers and
vertices a few millimetres apart; projected back to degrees, such a part collapses
("Too few points in geometry component") and rounding to 6 decimals fails. Snapping first in
metres removes them (it changes the area by less than 0.03 % on the International Zone)."""


def k_coverage(
    centres: np.ndarray,
    radii: np.ndarray,
    k: int,
    region: Any,
    *,
    min_tile_m: float = 2.0,
) -> Any:
    """The part of ``region`` within the discs of at least ``k`` of the sensors.

    Parameters
    ----------
    centres : ndarray, shape (n, 2)
        Disc centres, projected [m].
    radii : ndarray, shape (n,)
        Disc radii [m].
    k : int
        How many discs must cover a point.
    region : shapely geometry
        The area of interest, projected [m].
    min_tile_m : float
        Below this tile size the quadtree stops splitting [m].

    Returns
    -------
    shapely geometry
        The covered part of ``region`` (possibly empty).
    """
    if k <= 0:
        return region
    n = len(centres)
    if n < k or region.is_empty:
        return Polygon()
    centres = np.asarray(centres, dtype=float).reshape(-1, 2)
    radii = np.asarray(radii, dtype=float)
    inner = radii * math.cos(math.pi / (4 * QUAD_SEGS))  # a disc polygon holds this circle
    rmax = float(radii.max())
    tree = cKDTree(centres)
    discs: dict[int, Any] = {}

    def disc(i: int) -> Any:
        if i not in discs:
            discs[i] = shapely.buffer(shapely.points(centres[i]), radii[i], quad_segs=QUAD_SEGS)
        return discs[i]

    shapely.prepare(region)
    minx, miny, maxx, maxy = region.bounds
    size = max(float(np.median(radii)), min_tile_m)
    stack = [(x, y, size) for x in np.arange(minx, maxx, size) for y in np.arange(miny, maxy, size)]
    covered: list[Any] = []
    while stack:
        x0, y0, s = stack.pop()
        tile = box(x0, y0, x0 + s, y0 + s)
        if not region.intersects(tile):
            continue
        cx, cy = x0 + s / 2, y0 + s / 2
        near = np.asarray(tree.query_ball_point((cx, cy), s * math.sqrt(0.5) + rmax), dtype=int)
        if len(near) < k:
            continue
        dx = np.abs(centres[near, 0] - cx)
        dy = np.abs(centres[near, 1] - cy)
        nearest = np.hypot(np.maximum(dx - s / 2, 0), np.maximum(dy - s / 2, 0))
        farthest = np.hypot(dx + s / 2, dy + s / 2)
        r = radii[near]
        containing = farthest <= inner[near]
        crossing = near[(nearest < r) & ~containing]
        c = int(containing.sum())
        if c >= k:
            covered.append(tile)
            continue
        if c + len(crossing) < k:
            continue
        if len(crossing) <= _LEAF_DISCS or s / 2 < min_tile_m:
            part = _at_least([disc(int(i)) for i in crossing], k - c, tile)
            if not part.is_empty:
                covered.append(part)
            continue
        h = s / 2
        stack.extend([(x0, y0, h), (x0 + h, y0, h), (x0, y0 + h, h), (x0 + h, y0 + h, h)])
    if not covered:
        return Polygon()
    return shapely.intersection(shapely.union_all(covered), region)


def _at_least(discs: Sequence[Any], k: int, tile: Any) -> Any:
    """The part of ``tile`` inside at least ``k`` of ``discs``."""
    clipped = [shapely.intersection(d, tile) for d in discs]
    clipped = [d for d in clipped if not d.is_empty]
    if len(clipped) < k:
        return Polygon()
    if math.comb(len(clipped), k) <= _MAX_COMBINATIONS:
        parts = []
        for combo in itertools.combinations(clipped, k):
            inter = combo[0]
            for d in combo[1:]:
                inter = shapely.intersection(inter, d)
                if inter.is_empty:
                    break
            if not inter.is_empty:
                parts.append(inter)
        return shapely.union_all(parts) if parts else Polygon()
    # Many discs in one small tile: count the discs over each face of their arrangement.
    faces = shapely.get_parts(
        shapely.polygonize(
            [shapely.union_all([shapely.boundary(d) for d in clipped] + [tile.boundary])]
        )
    )
    faces = [f for f in shapely.get_parts(faces) if f.geom_type == "Polygon"]
    points = [f.representative_point() for f in faces]
    counts = np.zeros(len(faces), dtype=int)
    for d in clipped:
        counts += shapely.contains(d, points)
    keep = [f for f, c in zip(faces, counts, strict=True) if c >= k]
    return shapely.union_all(keep) if keep else Polygon()


def disc_radii(graph: InfraGraph, nodes: Sequence[Node], capability: str) -> np.ndarray:
    """The range of each sensor for ``capability`` [m]: its own ``range_m``, else the graph's
    parameter for its kind."""
    p = graph.parameters

    def default(n: Node) -> float:
        if capability == "gunshot":
            return float(p["gunshot_range_m"])
        return float(p["rain_gauge_range_m" if n.kind == "rain_gauge" else "water_gauge_range_m"])

    return np.array([n.range_m or default(n) for n in nodes], dtype=float)


@dataclass(frozen=True)
class CapabilityLoss:
    """What one capability (``gunshot`` or ``hazard``) loses in a cascade.

    Geometries are projected [m]; :meth:`Assessment.to_geojson` gives them in WGS84.
    """

    capability: str
    sensors: tuple[str, ...]
    failed: tuple[str, ...]
    covered_before: Any
    covered_after: Any
    region: Any

    @property
    def blind(self) -> Any:
        """Where the capability does not reach after the cascade (within the study area)."""
        return shapely.difference(self.region, self.covered_after)

    @property
    def lost(self) -> Any:
        """Where it reached before and does not after."""
        return shapely.difference(self.covered_before, self.covered_after)

    def share(self, geom: Any) -> float:
        """The share of the study area ``geom`` makes up."""
        return float(geom.area / self.region.area) if self.region.area > 0 else 0.0


@dataclass(frozen=True)
class ZoneCount:
    """Whether one crowd zone keeps its count (``counted``, ``degraded``, ``lost``,
    ``uncovered``: no counter at all)."""

    zone: str
    status: str
    counters: tuple[str, ...]
    failed: tuple[str, ...]
    gates_lost: tuple[str, ...] = ()


def crowd_zones(
    graph: InfraGraph, failed: Iterable[str], zones: Iterable[str] = ()
) -> dict[str, ZoneCount]:
    """Which zones keep their counts when ``failed`` are down.

    A zone is counted while a working counter in ``occupancy`` mode covers it, or, with flow
    counters at named gates, while every such gate has a working counter; with flow counters
    that name no gate, while any works. ``zones`` adds zones without any counter.

    >>> from stadswacht.resilience.graph import parse_infra
    >>> g = parse_infra({"defaults": {"agency": "c"}, "nodes": [
    ...     {"id": "a", "kind": "people_counter", "zone": "z", "gate": "n"},
    ...     {"id": "b", "kind": "people_counter", "zone": "z", "gate": "s"}]})
    >>> crowd_zones(g, {"b"})["z"].status
    'lost'
    """
    down = set(failed)
    counters: dict[str, list[Node]] = {z: [] for z in zones}
    for n in graph.nodes.values():
        if "crowd" in n.capability and n.zone:
            counters.setdefault(n.zone, []).append(n)
    out = {}
    for zone, ns in counters.items():
        ids = tuple(sorted(n.id for n in ns))
        bad = tuple(sorted(n.id for n in ns if n.id in down))
        if not ns:
            out[zone] = ZoneCount(zone, "uncovered", ids, bad)
            continue
        works = [n for n in ns if n.id not in down]
        occupancy = any(n.mode == "occupancy" for n in works)
        gates = {n.gate for n in ns if n.mode != "occupancy" and n.gate}
        open_gates = {n.gate for n in works if n.mode != "occupancy" and n.gate}
        lost_gates = tuple(sorted(g for g in gates - open_gates if g))
        flow = [n for n in works if n.mode != "occupancy"]
        counted = occupancy or (not lost_gates and bool(flow if not gates else open_gates))
        status = ("degraded" if bad else "counted") if counted else "lost"
        out[zone] = ZoneCount(zone, status, ids, bad, lost_gates)
    return out


@dataclass
class Assessment:
    """Everything a cascade costs: per capability the loss, per zone the count."""

    cascade: Cascade
    projection: LocalProjection
    losses: dict[str, CapabilityLoss] = field(default_factory=dict)
    zones: dict[str, ZoneCount] = field(default_factory=dict)
    zone_areas: Mapping[str, Area] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        """Per capability the figures (no geometry): sensors, failed, shares of the area."""
        out: dict[str, Any] = {}
        for cap, loss in self.losses.items():
            out[cap] = {
                "sensors": len(loss.sensors),
                "failed": list(loss.failed),
                "covered_before": round(loss.share(loss.covered_before), 4),
                "covered_after": round(loss.share(loss.covered_after), 4),
                "lost_share": round(loss.share(loss.lost), 4),
            }
        counted = [z for z in self.zones.values() if z.status != "uncovered"]
        out["crowd"] = {
            "zones": len(counted),
            "lost": sorted(z.zone for z in self.zones.values() if z.status == "lost"),
            "degraded": sorted(z.zone for z in self.zones.values() if z.status == "degraded"),
        }
        return out

    def to_geojson(self, capability: str, which: str = "blind") -> dict[str, Any]:
        """A capability's ``blind`` or ``lost`` area as a GeoJSON Feature in WGS84 (for
        ``crowd``: a FeatureCollection of the zones that lose their count)."""
        if capability == "crowd":
            feats = []
            for z in self.zones.values():
                if z.status in ("lost", "degraded") and z.zone in self.zone_areas:
                    f = self.zone_areas[z.zone].to_geojson()
                    f["properties"].update(
                        status=z.status, failed=list(z.failed), gates_lost=list(z.gates_lost)
                    )
                    feats.append(f)
            return {"type": "FeatureCollection", "features": feats}
        loss = self.losses[capability]
        geom = loss.blind if which == "blind" else loss.lost
        return {
            "type": "Feature",
            "id": f"{capability}-{which}",
            "properties": {
                "capability": capability,
                "which": which,
                "area_m2": round(float(geom.area), 1),
                "share": round(loss.share(geom), 4),
            },
            "geometry": geometry_to_geojson(self.projection.inverse(_snap(geom))),
        }


def _snap(geom: Any) -> Any:
    """``geom`` on the :data:`SNAP_M` grid (unchanged if GEOS cannot snap it)."""
    try:
        return shapely.set_precision(geom, SNAP_M)
    except GEOSException:
        return geom


def assess(
    graph: InfraGraph,
    result: Cascade,
    zones: Iterable[Area] = (),
    *,
    before: Mapping[str, Any] | None = None,
) -> Assessment:
    """The blind spots and lost counts of a cascade.

    Args:
        graph: The graph the cascade ran on.
        result: The cascade.
        zones: Crowd zones (the platform's areas); zones named by counters but not given are
            still judged, without a polygon.
        before: Coverage with nothing failed per capability (projected), if already known
            (:func:`baseline`); computed otherwise.
    """
    ring = graph.study_area()
    proj = LocalProjection.around(ring)
    region = proj.forward(Polygon(ring))
    areas = {a.id: a for a in zones}
    out = Assessment(result, proj, zone_areas=areas)
    base = dict(before) if before is not None else baseline(graph, proj, region)
    for cap, need in (("gunshot", int(graph.parameters["gunshot_min_sensors"])), ("hazard", 1)):
        nodes = graph.sensors(cap)
        alive = [n for n in nodes if n.id not in result.failed]
        out.losses[cap] = CapabilityLoss(
            cap,
            tuple(n.id for n in nodes),
            tuple(sorted(n.id for n in nodes if n.id in result.failed)),
            base[cap],
            base[cap]
            if len(alive) == len(nodes)
            else _covered(graph, alive, cap, need, proj, region),
            region,
        )
    out.zones = crowd_zones(graph, result.failed, areas)
    return out


def baseline(graph: InfraGraph, proj: LocalProjection, region: Any) -> dict[str, Any]:
    """Coverage of ``gunshot`` and ``hazard`` with every sensor working (projected)."""
    need = {"gunshot": int(graph.parameters["gunshot_min_sensors"]), "hazard": 1}
    return {
        cap: _covered(graph, graph.sensors(cap), cap, need[cap], proj, region)
        for cap in ("gunshot", "hazard")
    }


def _covered(
    graph: InfraGraph,
    nodes: Sequence[Node],
    capability: str,
    need: int,
    proj: LocalProjection,
    region: Any,
) -> Any:
    if len(nodes) < need:
        return Polygon()
    lon = [n.position[0] for n in nodes if n.position is not None]
    lat = [n.position[1] for n in nodes if n.position is not None]
    x, y = proj.forward_xy(lon, lat)
    return k_coverage(np.column_stack([x, y]), disc_radii(graph, nodes, capability), need, region)
