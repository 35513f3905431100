"""The small test city, drawn by hand::

    ss-a ──┬── gw-1 ◀─ a1 (at A)          A = (-300, 0) m, B = (300, 0) m, range 800 m
    bat ─┐ │   ▲                           a1, a2 at A; b1, b2 at B
         ├─ lte ◀── gw-2 ◀── b1, b2 (at B)
    ss-b ┴─ fibre   (gw-1 needs ss-a and lte or fibre; gw-2 needs ss-b or bat, and lte)

a2 needs ss-b and gw-1 or gw-2; b1 and b2 need ss-b and gw-2. The pumping station ps (ss-b or
its generator gen) keeps a small square around A dry.
"""

from __future__ import annotations

from typing import Any

from stadswacht.resilience import InfraGraph, parse_infra
from tests.resilience.conftest import lonlat, square

A, B = (-300.0, 0.0), (300.0, 0.0)
R = 800.0
HALF = 2000.0
PROTECTED = [lonlat(x, y) for x, y in ((-400, -100), (-200, -100), (-200, 100), (-400, 100))]


def city(**parameters: Any) -> InfraGraph:
    return parse_infra({
        "area": square(HALF),
        "defaults": {"agency": "city"},
        "parameters": {"gunshot_range_m": R, **parameters},
        "nodes": [
            {"id": "ss-a", "kind": "substation", "position": lonlat(-1500, 1500)},
            {"id": "ss-b", "kind": "substation", "position": lonlat(1500, 1500)},
            {"id": "bat", "kind": "backup_power"},
            {"id": "gen", "kind": "backup_power"},
            {"id": "lte", "kind": "link", "depends_on": [{"any_of": ["ss-a", "bat"]}]},
            {"id": "fibre", "kind": "link", "depends_on": ["ss-b"]},
            {"id": "gw-1", "kind": "gateway", "depends_on": ["ss-a", {"any_of": ["lte", "fibre"]}]},
            {"id": "gw-2", "kind": "gateway", "depends_on": [{"any_of": ["ss-b", "bat"]}, "lte"]},
            {"id": "ps", "kind": "pumping_station", "position": lonlat(0, 1500),
             "protects": PROTECTED, "depends_on": [{"any_of": ["ss-b", "gen"]}]},
            {"id": "a1", "kind": "acoustic", "agency": "police", "position": lonlat(*A),
             "depends_on": ["ss-a", "gw-1"]},
            {"id": "a2", "kind": "acoustic", "agency": "police", "position": lonlat(*A),
             "depends_on": ["ss-b", {"any_of": ["gw-1", "gw-2"]}]},
            {"id": "b1", "kind": "acoustic", "agency": "police", "position": lonlat(*B),
             "depends_on": ["ss-b", "gw-2"]},
            {"id": "b2", "kind": "acoustic", "agency": "police", "position": lonlat(*B),
             "depends_on": ["ss-b", "gw-2"]},
        ],
    })  # fmt: skip
