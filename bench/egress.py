"""Egress benchmark: the flow model of :mod:`stadswacht.detect.crowd.egress` against JuPedSim.

Run from the repository root (needs ``jupedsim``, a bench-only dependency)::

    .venv/bin/python bench/egress.py             # 32 layouts × 3 runs: 5.5 CPU-minutes
    .venv/bin/python bench/egress.py --quick     # 8 layouts, a smoke run
    .venv/bin/python bench/egress.py --dt 0.02   # coarser JuPedSim step (default 0.01 s)

Progress and a table go to stderr; stdout gets ONE line of JSON at the end.

What is measured
----------------
Each layout is a set of rectangular rooms (zones) with doors of 0.8-3 m: one room with one
exit, one room with exits on opposite walls, two rooms in series (room → door → room → exit),
two rooms merging into a third, and three rooms in series; 20-160 occupants. The reference is
JuPedSim's collision-free speed model (Tordeux et al. 2016; JuPedSim's default model and
recommended step of 0.01 s), agents of radius 0.2 m at a desired speed of 1.34 m/s placed at
random (at least 0.4 m apart, 0.25 m from walls). Beyond each exit they walk on into an open
yard 4 m deep and are removed at its far end (removing them in the doorway, JuPedSim's usual
set-up, doubles a door's flow: nobody ahead slows them);
evacuation time = when the last agent has left the building (rooms and door passages),
the median of 3 runs with different random placements (``--seeds``; one run in a few has an
agent held up at a door for tens of seconds; a run in which nobody leaves for 60 s counts as
stuck, ``inf``, and ``jupedsim_stuck_runs`` counts them). Where a room has two exits, the
agents nearest each exit take it, as many as its share of the width (the split the flow model
assumes).

The estimate gets only what an event file holds: each zone's area, its gates' widths and
where they lead, the occupants per zone and each zone's ``travel_distance_m`` (the longest
walk, farthest corner to nearest door, as a planner measures it on the plan); not the room
shapes, not the positions. ``area_only_*``: the same without ``travel_distance_m`` (the walk
then follows from the area alone: long corridors come out too short), calibrated apart.

- ``uncalibrated_*``: the estimate with the Green Guide design rate (82 persons/m/min). This is
  a design value for real crowds, not a property of JuPedSim: expect it to be far off.
- Calibration: the level flow rate [persons/m/min] is fitted (grid search minimising the
  largest relative error) on the calibration layouts (every third layout) and applied
  unchanged to the others. ``max_rel_error`` and ``mean_rel_error`` are over the held-out
  layouts only (``layouts`` of them); ``calibration_*`` are over the calibration layouts.
- ``max_estimate_s``: the longest wall time of one estimate (target < 1 s).

Target: ``max_rel_error`` <= 0.15 over at least 20 layouts.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import sys
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from stadswacht.detect.crowd.egress import FLOW_RATES_PER_M_MIN, estimate_egress
from stadswacht.detect.crowd.event import Event, parse_event

SPEED_M_S = 1.34
STUB_M = 0.4  # length of a door's passage (connector between rooms, or exit stub) [m]
YARD_M = 4.0  # depth of the open area outside an exit [m]
STALL_S = 60.0  # nobody out of the building for this long: the run is stuck [s]


@dataclass(frozen=True)
class Room:
    """A rectangular zone ``[x0, x1] × [y0, y1]`` [m] with ``n`` occupants."""

    id: str
    x0: float
    y0: float
    x1: float
    y1: float
    n: int


@dataclass(frozen=True)
class Door:
    """A door on a vertical wall at ``x`` centred on ``y``, of width ``w`` [m].

    ``to`` is the room beyond it (which starts at ``x + STUB_M``) or ``None`` for an exit;
    ``side`` is +1 for a door in a right-hand wall, -1 for a left-hand one (exits only).
    """

    room: str
    x: float
    y: float
    w: float
    to: str | None = None
    side: int = 1


@dataclass(frozen=True)
class Layout:
    name: str
    rooms: tuple[Room, ...]
    doors: tuple[Door, ...]
    seed: int = 1
    notes: dict[str, Any] = field(default_factory=dict)

    def event(self, travel: bool = True) -> Event:
        """The layout as an event file describes it; ``travel``: with each zone's longest walk."""
        zones = []
        for r in self.rooms:
            doors = [(i, d) for i, d in enumerate(self.doors) if d.room == r.id]
            gates = [
                {"id": f"{d.room}-{i}", "width_m": d.w, **({"leads_to": d.to} if d.to else {})}
                for i, d in doors
            ]
            zone: dict[str, Any] = {
                "id": r.id,
                "walkable_area_m2": (r.x1 - r.x0) * (r.y1 - r.y0),
                "gates": gates,
            }
            if travel:  # from the farthest corner to the nearest door, as measured on a plan
                corners = [(r.x0, r.y0), (r.x0, r.y1), (r.x1, r.y0), (r.x1, r.y1)]
                zone["travel_distance_m"] = max(
                    min(math.hypot(x - d.x, y - d.y) for _, d in doors) for x, y in corners
                )
            zones.append(zone)
        return parse_event({"id": self.name.replace("+", "_"), "zones": zones}, source=self.name)

    @property
    def occupants(self) -> dict[str, float]:
        return {r.id: float(r.n) for r in self.rooms}


def room(id_: str, x0: float, w: float, h: float, n: int, y0: float | None = None) -> Room:
    lo = -h / 2 if y0 is None else y0
    return Room(id_, x0, lo, x0 + w, lo + h, n)


def single(name: str, w: float, h: float, door: float, n: int, seed: int = 1) -> Layout:
    return Layout(name, (room("a", 0, w, h, n),), (Door("a", w, 0, door),), seed)


def two_exits(name: str, w: float, h: float, right: float, left: float, n: int) -> Layout:
    return Layout(
        name,
        (room("a", 0, w, h, n),),
        (Door("a", w, 0, right), Door("a", 0, 0, left, side=-1)),
    )


def series(name: str, specs: Sequence[tuple[float, float, int, float]]) -> Layout:
    """Rooms left to right, each ``(width, height, occupants, door to the next / exit)``."""
    rooms, doors, x = [], [], 0.0
    for i, (w, h, n, door) in enumerate(specs):
        rid = "abcdefg"[i]
        rooms.append(room(rid, x, w, h, n))
        nxt = "abcdefg"[i + 1] if i + 1 < len(specs) else None
        doors.append(Door(rid, x + w, 0, door, to=nxt))
        x += w + STUB_M
    return Layout(name, tuple(rooms), tuple(doors))


def merge(
    name: str,
    top: tuple[float, float, int, float],
    bottom: tuple[float, float, int, float],
    hall: tuple[float, float, int, float],
) -> Layout:
    """Two rooms (``top`` above y=0.5, ``bottom`` below y=-0.5) opening into ``hall``."""
    (wt, ht, nt, dt), (wb, hb, nb, db), (wh, hh, nh, dh) = top, bottom, hall
    w = max(wt, wb)
    a = Room("a", w - wt, 0.5, w, 0.5 + ht, nt)
    b = Room("b", w - wb, -0.5 - hb, w, -0.5, nb)
    c = room("c", w + STUB_M, wh, hh, nh)
    ya, yb = 0.5 + min(ht, hh / 2 - 0.5) / 2, -0.5 - min(hb, hh / 2 - 0.5) / 2
    doors = (
        Door("a", w, ya, dt, to="c"),
        Door("b", w, yb, db, to="c"),
        Door("c", w + STUB_M + wh, 0, dh),
    )
    return Layout(name, (a, b, c), doors)


def layouts() -> list[Layout]:
    out = [
        single("room-10x10-w1.0-n100", 10, 10, 1.0, 100),
        single("room-10x10-w2.0-n100", 10, 10, 2.0, 100),
        single("room-15x10-w1.2-n130", 15, 10, 1.2, 130),
        single("room-12x8-w0.9-n80", 12, 8, 0.9, 80),
        single("room-20x10-w1.5-n150", 20, 10, 1.5, 150),
        single("room-8x8-w2.4-n40", 8, 8, 2.4, 40),
        single("room-20x20-w3.0-n120", 20, 20, 3.0, 120),
        single("room-25x10-w1.0-n150", 25, 10, 1.0, 150),
        single("room-6x6-w1.2-n30", 6, 6, 1.2, 30),
        single("room-16x12-w1.8-n140", 16, 12, 1.8, 140),
        single("room-30x12-w2.0-n150", 30, 12, 2.0, 150),
        single("room-12x12-w0.8-n120", 12, 12, 0.8, 120),
        single("room-14x14-w2.5-n160", 14, 14, 2.5, 160),
        single("room-18x8-w1.4-n60", 18, 8, 1.4, 60),
        single("room-10x20-w1.6-n120", 10, 20, 1.6, 120),
        single("room-24x16-w1.2-n20", 24, 16, 1.2, 20),
        two_exits("room2-20x10-w1.0+1.6-n140", 20, 10, 1.0, 1.6, 140),
        two_exits("room2-16x16-w1.2+1.2-n160", 16, 16, 1.2, 1.2, 160),
        two_exits("room2-24x12-w0.9+2.0-n140", 24, 12, 0.9, 2.0, 140),
        two_exits("room2-12x10-w1.5+0.8-n120", 12, 10, 1.5, 0.8, 120),
        series("series-narrow-inner", [(12, 10, 100, 1.0), (8, 10, 20, 2.0)]),
        series("series-narrow-exit", [(12, 10, 100, 2.0), (8, 10, 30, 1.0)]),
        series("series-equal", [(10, 10, 100, 1.2), (10, 10, 60, 1.2)]),
        series("series-corridor", [(10, 10, 80, 1.5), (20, 3, 0, 1.5)]),
        series("series-15x12-6x12", [(15, 12, 120, 1.6), (6, 12, 20, 1.2)]),
        series("series-8x8-12x8", [(8, 8, 60, 0.9), (12, 8, 80, 1.8)]),
        series("series-20x10-10x10", [(20, 10, 110, 2.4), (10, 10, 40, 1.4)]),
        series("series-full-foyer", [(10, 10, 40, 2.0), (10, 10, 90, 1.0)]),
        series("series3", [(10, 10, 90, 1.2), (8, 6, 20, 1.6), (8, 6, 20, 1.0)]),
        merge("merge-1.0+1.0-1.6", (10, 8, 80, 1.0), (10, 8, 80, 1.0), (6, 20, 20, 1.6)),
        merge("merge-1.6+0.9-1.2", (12, 8, 100, 1.6), (8, 8, 50, 0.9), (8, 20, 10, 1.2)),
        merge("merge-2.0+2.0-3.0", (12, 9, 90, 2.0), (12, 9, 90, 2.0), (6, 22, 0, 3.0)),
    ]
    return out


def simulate(layout: Layout, dt: float) -> tuple[float, float]:
    """Evacuation time of ``layout`` in JuPedSim [s] and the wall time of the run [s]."""
    import jupedsim as jps
    import shapely

    start = time.perf_counter()
    rooms = {r.id: shapely.box(r.x0, r.y0, r.x1, r.y1) for r in layout.rooms}
    parts = list(rooms.values())
    exits: list[tuple[Door, Any]] = []
    yards = []
    for d in layout.doors:
        x_out = d.x + d.side * STUB_M
        parts.append(shapely.box(min(d.x, x_out), d.y - d.w / 2, max(d.x, x_out), d.y + d.w / 2))
        if d.to is not None:
            continue
        # Outside: a yard 4 m deep beyond the door's passage; agents walk on and are removed
        # at its far end, so the door's flow is not helped by people vanishing in the doorway.
        x_far = x_out + d.side * YARD_M
        yards.append(
            shapely.box(min(x_out, x_far), d.y - d.w / 2 - 3, max(x_out, x_far), d.y + d.w / 2 + 3)
        )
        x_end = x_far - d.side * 0.5
        exits.append(
            (
                d,
                shapely.box(
                    min(x_end, x_far), d.y - d.w / 2 - 3, max(x_end, x_far), d.y + d.w / 2 + 3
                ),
            )
        )
    building = shapely.union_all(parts, grid_size=1e-3)  # snap: rooms and doors touch exactly
    geometry = shapely.union_all([building, *yards], grid_size=1e-3)
    sim = jps.Simulation(model=jps.CollisionFreeSpeedModel(), geometry=geometry, dt=dt)
    stages = {}
    for d, poly in exits:
        stage = sim.add_exit_stage(poly)
        stages[id(d)] = (stage, sim.add_journey(jps.JourneyDescription([stage])))
    for k, r in enumerate(layout.rooms):
        if r.n == 0:
            continue
        pos = jps.distribute_by_number(
            polygon=rooms[r.id],
            number_of_agents=r.n,
            distance_to_agents=0.4,
            distance_to_polygon=0.25,
            seed=layout.seed * 100 + k,
        )
        # Exits in the room itself: nearest agents first, each exit its share of the width.
        own = [d for d, _ in exits if d.room == r.id]
        if len(own) > 1:
            pos = sorted(pos, key=lambda p: p[0])
            own = sorted(own, key=lambda d: d.x)
            cuts = np.cumsum([d.w for d in own]) / sum(d.w for d in own) * len(pos)
            targets = [own[int(np.searchsorted(cuts, i, side="right"))] for i in range(len(pos))]
        else:
            # The exit downstream: rooms here are chained, so every room has one way out.
            targets = [_exit_for(layout, r.id, [d for d, _ in exits])] * len(pos)
        for p, d in zip(pos, targets, strict=True):
            stage, journey = stages[id(d)]
            sim.add_agent(
                jps.CollisionFreeSpeedModelAgentParameters(
                    journey_id=journey, stage_id=stage, position=p, desired_speed=SPEED_M_S
                )
            )
    # Evacuation time: when the last agent has left the building (rooms, doors' passages).
    # A run in which nobody leaves for STALL_S is stuck (agents deadlocked at a door): inf.
    shapely.prepare(building)
    inside, last_change = -1, 0.0
    while True:
        for _ in range(10):
            sim.iterate()
        xy = np.array([a.position for a in sim.agents()]).reshape(-1, 2)
        now = int(shapely.contains_xy(building, xy[:, 0], xy[:, 1]).sum())
        if now == 0:
            break
        if now != inside:
            inside, last_change = now, sim.elapsed_time()
        elif sim.elapsed_time() - last_change > STALL_S:
            return math.inf, time.perf_counter() - start
    return sim.elapsed_time(), time.perf_counter() - start


def _exit_for(layout: Layout, room_id: str, exits: list[Door]) -> Door:
    here = room_id
    for _ in range(len(layout.rooms)):
        for d in exits:
            if d.room == here:
                return d
        here = next(d.to for d in layout.doors if d.room == here and d.to is not None)
    raise ValueError(f"{layout.name}: no exit from room {room_id}")


def estimate(layout: Layout, rate: float, travel: bool = True) -> tuple[float, float, str | None]:
    ev = layout.event(travel)
    start = time.perf_counter()
    est = estimate_egress(
        ev,
        layout.occupants,
        rates={"level": rate, "stepped": rate * 66 / 82},
        walking_speed_m_s=SPEED_M_S,
    )
    return est.total_s, time.perf_counter() - start, est.limiting_gate


def main(argv: Sequence[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="8 layouts: a smoke run")
    ap.add_argument("--dt", type=float, default=0.01, help="JuPedSim step [s]")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--seeds", type=int, default=3, help="JuPedSim runs per layout (median)")
    ap.add_argument("--cache", help="JSON file keeping JuPedSim times between runs (dev aid)")
    args = ap.parse_args(argv)
    lays = layouts()
    if args.quick:
        lays = lays[::4]
    t0 = time.perf_counter()
    cache: dict[str, list[float]] = {}
    if args.cache and Path(args.cache).exists():
        cache = json.loads(Path(args.cache).read_text())
    runs_wanted = [
        dataclasses.replace(lay, seed=seed) for lay in lays for seed in range(1, args.seeds + 1)
    ]
    key = {id(r): f"{r.name}@{args.dt}#{r.seed}" for r in runs_wanted}
    todo = [r for r in runs_wanted if key[id(r)] not in cache]
    todo.sort(key=lambda r: -sum(room.n for room in r.rooms))  # long runs first: even load
    with ProcessPoolExecutor(max_workers=args.workers) as pool:
        for r, res in zip(todo, pool.map(simulate, todo, [args.dt] * len(todo)), strict=True):
            cache[key[id(r)]] = list(res)
            print(f"  {r.name} run {r.seed}: {res[0]:.1f} s", file=sys.stderr, flush=True)
            if args.cache:
                Path(args.cache).write_text(json.dumps(cache))
    per_seed = np.array([cache[key[id(r)]][0] for r in runs_wanted]).reshape(len(lays), -1)
    walls = [cache[key[id(r)]][1] for r in runs_wanted]
    ref = np.median(per_seed, axis=1)
    finite = np.where(np.isfinite(per_seed), per_seed, np.nan)
    spread = (np.nanmax(finite, axis=1) - np.nanmin(finite, axis=1)) / ref
    stuck = int(np.sum(~np.isfinite(per_seed)))
    if not np.all(np.isfinite(ref)):
        raise SystemExit("most runs of a layout were stuck: no reference for it")
    print(
        f"JuPedSim: {len(lays)} layouts in {time.perf_counter() - t0:.0f} s "
        f"(longest run {max(walls):.1f} s); seed-to-seed spread up to {spread.max():.0%}",
        file=sys.stderr,
    )

    calib = np.arange(len(lays)) % 3 == 0
    test = ~calib

    def errors(rate: float, travel: bool = True) -> NDArray[np.float64]:
        est = np.array([estimate(lay, rate, travel)[0] for lay in lays])
        out: NDArray[np.float64] = (est - ref) / ref
        return out

    def calibrate(travel: bool) -> float:
        grid = np.arange(30.0, 200.01, 0.5)
        worst = [float(np.max(np.abs(errors(q, travel)[calib]))) for q in grid]
        return float(grid[int(np.argmin(worst))])

    gg = errors(FLOW_RATES_PER_M_MIN["level"])
    rate = calibrate(travel=True)
    area_rate = calibrate(travel=False)
    area_err = errors(area_rate, travel=False)
    runs = [estimate(lay, rate) for lay in lays]
    est = np.array([e for e, _, _ in runs])
    err = (est - ref) / ref
    print(
        f"calibrated level rate: {rate:.1f} persons/m/min "
        f"(Green Guide design rate: {FLOW_RATES_PER_M_MIN['level']:.0f})",
        file=sys.stderr,
    )
    print(
        f"{'layout':32} {'set':5} {'jupedsim_s':>10} {'est_s':>7} {'err':>7} {'gg_err':>7} "
        "limiting",
        file=sys.stderr,
    )
    for lay, r, e, x, g, c, (_, _, lim) in zip(lays, ref, est, err, gg, calib, runs, strict=True):
        print(
            f"{lay.name:32} {'calib' if c else 'test':5} {r:10.1f} {e:7.1f} {x:+7.1%} "
            f"{g:+7.1%} {lim}",
            file=sys.stderr,
        )
    max_est_s = max(w for _, w, _ in runs)
    result = {
        "max_rel_error": round(float(np.max(np.abs(err[test]))), 4),
        "mean_rel_error": round(float(np.mean(np.abs(err[test]))), 4),
        "layouts": int(test.sum()),
        "max_estimate_s": round(max_est_s, 4),
        "calibration_layouts": int(calib.sum()),
        "calibration_max_rel_error": round(float(np.max(np.abs(err[calib]))), 4),
        "calibrated_level_rate_per_m_min": rate,
        "uncalibrated_max_rel_error": round(float(np.max(np.abs(gg))), 4),
        "uncalibrated_mean_rel_error": round(float(np.mean(np.abs(gg))), 4),
        "uncalibrated_layouts": len(lays),
        "area_only_max_rel_error": round(float(np.max(np.abs(area_err[test]))), 4),
        "area_only_mean_rel_error": round(float(np.mean(np.abs(area_err[test]))), 4),
        "area_only_level_rate_per_m_min": area_rate,
        "jupedsim_dt_s": args.dt,
        "jupedsim_seeds": args.seeds,
        "jupedsim_max_seed_spread": round(float(spread.max()), 4),
        "jupedsim_stuck_runs": stuck,
        "runtime_s": round(time.perf_counter() - t0, 1),
    }
    if math.isnan(result["max_rel_error"]):
        raise SystemExit("no held-out layouts")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
