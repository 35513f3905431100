"""Resilience benchmark: cascade and blind-spot map for a synthetic city.

Run from the repository root::

    .venv/bin/python bench/resilience.py                 # 10,000 sensors, 50,000+ edges
    .venv/bin/python bench/resilience.py --sensors 1000  # a smoke run

Progress goes to stderr; stdout gets ONE line of JSON at the end.

The city
--------
A 10 km x 10 km square cut into 10 x 10 districts, each with one substation (supplying the
district's square), 10 feeders (street-lighting circuits) on it, 4 gateways (mains or their
UPS, and one of two of the 25 mobile cell sites) and one crowd zone. 10,000 sensors at uniform
random positions (seeded): 30 % acoustic, 30 % people counters (counting their district's
zone), 2 % water gauges, 3 % rain gauges, 15 % weather stations, 20 % power monitors. Every
sensor needs the nearest feeder (which may be a neighbouring district's) and any one of the 4
nearest gateways, 5 edges each; 10 pumping stations each protect a 600 m square. Nodes and
edges are counted and reported (``nodes``, ``edges``).

What is timed
-------------
One what-if, as ``POST /v1/resilience/whatif`` does it: the substations of a block of
``--dark`` x ``--dark`` central districts fail (3 x 3 by default: a 3 km x 3 km dark area,
wide enough that its middle is out of earshot of the sensors around it) and a 1.5 km x 1 km
area elsewhere floods.

- ``cascade_s``: :func:`stadswacht.resilience.cascade` alone (fixed point over the
  dependencies, the flood and the flooding of what failed pumping stations protected);
- ``blindspots_s``: :func:`stadswacht.resilience.assess` on its result: the gunshot map (area
  within 800 m of >= 3 working acoustic sensors, before and after, exact on 64-gon discs),
  the hazard map (>= 1 gauge) and the crowd zones; ``cascade_blindspots_s`` is the sum
  (target: under 5 s);
- ``load_s``: building the graph from the parsed document (JSON Schema validation included);
- ``coverage_s`` (not with ``--no-coverage``): the worst single failure for ``gunshot`` over
  every candidate node, greedy, on a 100 m sample grid, no recommendations.

Each timed part runs ``--repeat`` times (default 3); the median is reported.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from typing import Any

import numpy as np
from scipy.spatial import cKDTree
from shapely.geometry import Polygon, box

from stadswacht.resilience import (
    CoverageModel,
    LocalProjection,
    assess,
    cascade,
    parse_infra,
    worst_case,
)

SIDE_M = 10_000.0
DISTRICTS = 10
KINDS = (
    ("acoustic", 0.30),
    ("people_counter", 0.30),
    ("water_gauge", 0.02),
    ("rain_gauge", 0.03),
    ("weather", 0.15),
    ("power_monitor", 0.20),
)


def city(n_sensors: int, seed: int) -> dict[str, Any]:
    """The synthetic city as a graph document (see the module docstring)."""
    rng = np.random.default_rng(seed)
    proj = LocalProjection(4.30, 52.08)
    half = SIDE_M / 2

    def lonlat(xy: np.ndarray) -> list[list[float]]:
        lon, lat = proj.inverse_xy(xy[:, 0], xy[:, 1])
        return [[round(float(a), 7), round(float(b), 7)] for a, b in zip(lon, lat, strict=True)]

    d = SIDE_M / DISTRICTS
    nodes: list[dict[str, Any]] = []
    cells = rng.uniform(-half, half, (25, 2))
    for i, p in enumerate(lonlat(cells)):
        nodes.append({"id": f"bat-cell-{i}", "kind": "backup_power"})
        nodes.append({"id": f"cell-{i}", "kind": "link", "position": p,
                      "depends_on": [{"any_of": [f"bat-cell-{i}"]}]})  # fmt: skip
    cell_tree = cKDTree(cells)
    feeders_xy, feeder_ids, gw_xy, gw_ids = [], [], [], []
    for i in range(DISTRICTS):
        for j in range(DISTRICTS):
            x0, y0 = -half + i * d, -half + j * d
            ss = f"ss-{i}-{j}"
            corners = np.array([[x0, y0], [x0 + d, y0], [x0 + d, y0 + d], [x0, y0 + d]])
            nodes.append({"id": ss, "kind": "substation", "position": lonlat(
                np.array([[x0 + d / 2, y0 + d / 2]]))[0], "polygon": lonlat(corners)})  # fmt: skip
            fx = rng.uniform([x0, y0], [x0 + d, y0 + d], (10, 2))
            for k, p in enumerate(lonlat(fx)):
                nodes.append({"id": f"fd-{i}-{j}-{k}", "kind": "feeder", "position": p,
                              "depends_on": [ss]})  # fmt: skip
                feeder_ids.append(f"fd-{i}-{j}-{k}")
            feeders_xy.extend(fx)
            gx = rng.uniform([x0, y0], [x0 + d, y0 + d], (4, 2))
            for k, p in enumerate(lonlat(gx)):
                gid = f"gw-{i}-{j}-{k}"
                _, near = cell_tree.query(gx[k], 2)
                nodes.append({"id": f"ups-{gid}", "kind": "backup_power", "position": p})
                nodes.append({"id": gid, "kind": "gateway", "position": p, "depends_on": [
                    {"any_of": [ss, f"ups-{gid}"]},
                    {"any_of": [f"cell-{int(near[0])}", f"cell-{int(near[1])}"]}]})  # fmt: skip
                gw_ids.append(gid)
            gw_xy.extend(gx)
    feeder_tree, gw_tree = cKDTree(np.array(feeders_xy)), cKDTree(np.array(gw_xy))
    for k in range(10):
        c = rng.uniform(-half + 300, half - 300, 2)
        sq = c + np.array([[-300, -300], [300, -300], [300, 300], [-300, 300]])
        ss = f"ss-{int((c[0] + half) // d)}-{int((c[1] + half) // d)}"
        nodes.append({"id": f"gen-ps-{k}", "kind": "backup_power"})
        nodes.append({"id": f"ps-{k}", "kind": "pumping_station", "position": lonlat(c[None])[0],
                      "protects": lonlat(sq),
                      "depends_on": [{"any_of": [ss, f"gen-ps-{k}"]}]})  # fmt: skip
    xy = rng.uniform(-half, half, (n_sensors, 2))
    kinds = rng.choice([k for k, _ in KINDS], n_sensors, p=[p for _, p in KINDS])
    _, fd = feeder_tree.query(xy, 1)
    _, gws = gw_tree.query(xy, 4)
    for n, (p, kind) in enumerate(zip(lonlat(xy), kinds, strict=True)):
        node: dict[str, Any] = {"id": f"s-{n}", "kind": str(kind), "position": p, "depends_on": [
            feeder_ids[int(fd[n])], {"any_of": [gw_ids[int(g)] for g in gws[n]]}]}  # fmt: skip
        if kind == "people_counter":
            i, j = (int(v) for v in np.clip((xy[n] + half) // d, 0, DISTRICTS - 1))
            node["zone"] = f"zone-{i}-{j}"
        nodes.append(node)
    return {
        "name": "synthetic city",
        "area": lonlat(np.array([[-half, -half], [half, -half], [half, half], [-half, half]])),
        "defaults": {"agency": "city"},
        "nodes": nodes,
    }


def _median(fn: Any, repeat: int) -> tuple[float, Any]:
    times, out = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sensors", type=int, default=10_000)
    ap.add_argument("--seed", type=int, default=20261126)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--dark", type=int, default=3, help="side of the block of dark districts")
    ap.add_argument("--no-coverage", action="store_true")
    args = ap.parse_args()

    doc = city(args.sensors, args.seed)
    load_s, graph = _median(lambda: parse_infra(doc, "synthetic"), args.repeat)
    print(f"city: {len(graph)} nodes, {graph.n_edges} edges; load {load_s:.2f} s", file=sys.stderr)
    proj = LocalProjection(4.30, 52.08)
    flood = proj.inverse(box(1500, -3000, 3000, -2000))
    lo = (DISTRICTS - args.dark) // 2
    fail = [f"ss-{i}-{j}" for i in range(lo, lo + args.dark) for j in range(lo, lo + args.dark)]

    cascade_s, result = _median(lambda: cascade(graph, fail, flood), args.repeat)
    print(f"cascade: {len(result.failed)} failed in {cascade_s:.3f} s", file=sys.stderr)
    blind_s, a = _median(lambda: assess(graph, result), args.repeat)
    summary = a.summary()
    brief = {cap: {k: v for k, v in doc.items() if k != "failed"} for cap, doc in summary.items()}
    print(f"blind spots in {blind_s:.2f} s: {json.dumps(brief)}", file=sys.stderr)
    out: dict[str, Any] = {
        "cascade_s": round(cascade_s, 4),
        "blindspots_s": round(blind_s, 3),
        "cascade_blindspots_s": round(cascade_s + blind_s, 3),
        "load_s": round(load_s, 3),
        "nodes": len(graph),
        "edges": graph.n_edges,
        "sensors": args.sensors,
        "failed": len(result.failed),
        "gunshot_covered_before": summary["gunshot"]["covered_before"],
        "gunshot_covered_after": summary["gunshot"]["covered_after"],
        "gunshot_blind_km2": round(a.losses["gunshot"].blind.area / 1e6, 3),
        "dark_districts": len(fail),
        "crowd_zones_lost": len(summary["crowd"]["lost"]),
        "repeat": args.repeat,
    }
    assert not Polygon(graph.study_area()).is_empty
    if not args.no_coverage:

        def worst() -> Any:
            model = CoverageModel(graph, resolution_m=100.0)
            return worst_case(model, "gunshot", 1)

        coverage_s, w = _median(worst, 1)
        print(f"worst single failure {w.failures} -> {w.after:.4f} in {coverage_s:.1f} s",
              file=sys.stderr)  # fmt: skip
        out.update(
            coverage_s=round(coverage_s, 2),
            coverage_worst=list(w.failures),
            coverage_after=round(w.after, 4),
            coverage_before=round(w.before, 4),
        )
    print(json.dumps(out))


if __name__ == "__main__":
    main()
