"""Egress time of an event: a flow model of people leaving a network of zones through gates.

The model is the hydraulic (flow) model behind the UK Green Guide's egress time (Guide to
Safety at Sports Grounds, 6th ed., 2018, ch. 10: a level route passes 82 persons per metre of
width per minute, a stepped one 66; many venues are designed to empty in 8 minutes), worked
out in time so zones in series and shared gates are handled:

1. People in a zone walk to its gates at a free walking speed (1.34 m/s, Weidmann 1993). The
   zone's people are taken as spread evenly over a half disc of the zone's walkable area with
   the gate at its centre, so the number who have reached the gate by time ``t`` is
   ``N·min(1, (v·t/R)²)`` with ``R = √(2A/π)`` (or the zone's ``travel_distance_m``).
2. A zone's people share its open gates in proportion to their capacity (width × rate), as
   the Green Guide assumes when it adds up exit widths.
3. A gate passes at most ``rate × width`` persons/min; the rest queue in front of it
   (a fluid queue: departures ``D(t) = min over s ≤ t of A(s) + c·(t - s)``).
4. People through a gate that leads to another zone arrive at that zone's gates after
   crossing it (``R/v`` later) and queue there with the zone's own people.

Against JuPedSim's collision-free speed model (``bench/egress.py``: 32 layouts of one to three
rooms) the model is within ±15 % once the rate is calibrated to that simulator (about 65
persons/m/min, fitted on 11 layouts, checked on the other 21); with the Green Guide's 82 it
comes out up to about 30 % short of the simulator (20 % on average). The Green Guide rates
are design values for real crowds; pass ``rates`` to use others.

The egress time is when the last person is outside. Computed on a grid of at most
:data:`GRID_STEPS` steps with numpy, it takes a few milliseconds. Holding capacity of a zone
downstream (people held back because the next zone is full), counter-flow and merging losses
are not modelled.

>>> from stadswacht.detect.crowd.event import parse_event
>>> ev = parse_event({"id": "hall", "zones": [{"id": "hall", "walkable_area_m2": 400,
...     "gates": [{"id": "door", "width_m": 2.0}]}]})
>>> est = estimate_egress(ev, {"hall": 820})
>>> round(est.total_s), est.limiting_gate, est.over_limit
(300, 'door', False)
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import time

import numpy as np
from numpy.typing import NDArray
from pydantic import BaseModel, ConfigDict

from stadswacht.detect.crowd.event import Event, EventZone, Gate, check_capacity

__all__ = [
    "EGRESS_LIMIT_S",
    "FLOW_RATES_PER_M_MIN",
    "GRID_STEPS",
    "WALKING_SPEED_M_S",
    "EgressEstimate",
    "GateEgress",
    "characteristic_distance",
    "estimate_egress",
    "gate_capacity_per_s",
    "queue_departures",
]

FLOW_RATES_PER_M_MIN: dict[str, float] = {"level": 82.0, "stepped": 66.0}
"""Green Guide design flow rates per metre of clear width [persons/m/min], by gate kind:
82 on level routes and ramps, 66 on stepped routes (Guide to Safety at Sports Grounds,
6th ed., 2018, ch. 10)."""

WALKING_SPEED_M_S = 1.34
"""Free walking speed [m/s]: the mean of Weidmann (1993), also used as JuPedSim's reference."""

EGRESS_LIMIT_S = 480.0
"""Egress time above which a layout is flagged [s]: the Green Guide's 8 minutes, the usual
design egress time for a venue with a normal fire risk."""

GRID_STEPS = 20_000
"""Time steps of the flow computation; the step is the horizon divided by this."""

_EPS = 1e-6


def characteristic_distance(area_m2: float) -> float:
    """Longest walk to a gate [m] in a zone of ``area_m2`` [m²], taken as a half disc.

    >>> round(characteristic_distance(100.0), 2)
    7.98
    """
    return math.sqrt(2.0 * area_m2 / math.pi)


def gate_capacity_per_s(gate: Gate, rates: Mapping[str, float] = FLOW_RATES_PER_M_MIN) -> float:
    """Persons a gate passes per second at full flow: rate [persons/m/min] × width [m] / 60.

    >>> from stadswacht.detect.crowd.event import Gate
    >>> round(gate_capacity_per_s(Gate(id="g", width_m=3.0, kind="stepped")), 2)
    3.3
    """
    return rates[gate.kind] * gate.width_m / 60.0


def queue_departures(
    arrivals: NDArray[np.float64], capacity_per_step: float
) -> NDArray[np.float64]:
    """Cumulative departures through a gate from cumulative arrivals, both per time step.

    ``D[k] = min over j ≤ k of A[j] + c·(k - j)``: nobody leaves before arriving, and at most
    ``c`` persons leave per step (the fluid queue of a bottleneck).

    >>> queue_departures(np.array([0.0, 5.0, 5.0, 5.0, 5.0]), 2.0).tolist()
    [0.0, 2.0, 4.0, 5.0, 5.0]
    """
    k = np.arange(arrivals.size, dtype=np.float64) * capacity_per_step
    out: NDArray[np.float64] = k + np.minimum.accumulate(arrivals - k)
    return out


class GateEgress(BaseModel):
    """What the flow model found at one gate.

    ``clear_s`` is when its last person passed [s]; ``max_queue`` the longest queue in front
    of it [persons]; ``mean_flow_per_m_min`` persons per metre per minute while it was in use.
    """

    model_config = ConfigDict(frozen=True)

    gate: str
    zone: str
    leads_to: str | None
    persons: float
    capacity_per_min: float
    first_s: float
    clear_s: float
    max_queue: float
    mean_flow_per_m_min: float


class EgressEstimate(BaseModel):
    """An egress estimate of an event.

    ``total_s`` is when the last person is outside [s] (``inf`` if a zone with people has no
    open way out: see ``blocked_zones``); ``limiting_gate`` the queueing gate that held the
    last person up, ``None`` when egress is limited by walking alone; ``over_limit`` is true
    when ``total_s`` exceeds ``limit_s``.
    """

    model_config = ConfigDict(frozen=True)

    total_s: float
    persons: float
    limit_s: float
    over_limit: bool
    limiting_gate: str | None
    gates: tuple[GateEgress, ...]
    zone_clear_s: dict[str, float]
    blocked_zones: tuple[str, ...] = ()


def _open_gates(zone: EventZone, at: time | None) -> list[Gate]:
    return [g for g in zone.gates if at is None or g.is_open(at)]


def _first_time(curve: NDArray[np.float64], level: float, dt: float) -> float:
    """First time [s] at which a non-decreasing ``curve`` reaches ``level``, interpolated."""
    k = int(np.searchsorted(curve, level - _EPS, side="left"))
    if k >= curve.size:
        return math.inf
    if k == 0:
        return 0.0
    lo, hi = curve[k - 1], curve[k]
    frac = 0.0 if hi <= lo else float((level - _EPS - lo) / (hi - lo))
    return (k - 1 + min(max(frac, 0.0), 1.0)) * dt


def estimate_egress(
    event: Event,
    occupancy: Mapping[str, float] | None = None,
    *,
    rates: Mapping[str, float] = FLOW_RATES_PER_M_MIN,
    walking_speed_m_s: float = WALKING_SPEED_M_S,
    at: time | None = None,
    limit_s: float = EGRESS_LIMIT_S,
) -> EgressEstimate:
    """Estimate the egress time of an event with the flow model of the module docstring.

    Parameters
    ----------
    event
        The event (zones, gates, where each gate leads).
    occupancy
        Persons per zone id at the start of egress; ``None`` fills every zone to its
        capacity (:func:`~stadswacht.detect.crowd.event.check_capacity`), the design case.
    rates
        Flow rate per metre of gate width by gate kind [persons/m/min]; Green Guide by default.
    walking_speed_m_s
        Free walking speed [m/s].
    at
        Local time of egress: gates closed then (their ``open`` windows) are not used.
    limit_s
        Egress time above which the layout is flagged [s].
    """
    if walking_speed_m_s <= 0:
        raise ValueError(f"walking_speed_m_s={walking_speed_m_s} must be > 0")
    for kind in ("level", "stepped"):
        if rates.get(kind, 0.0) <= 0:
            raise ValueError(f"rates[{kind!r}] must be > 0 [persons/m/min], got {rates.get(kind)}")
    if occupancy is None:
        occupancy = {r.zone: float(r.capacity) for r in check_capacity(event).zones}
    unknown = set(occupancy) - {z.id for z in event.zones}
    if unknown:
        raise KeyError(f"occupancy names zones not in event {event.id!r}: {sorted(unknown)}")
    people = {z.id: max(0.0, float(occupancy.get(z.id, 0.0))) for z in event.zones}
    total = sum(people.values())
    order = event.topological_order()
    zones = {z.id: z for z in event.zones}
    gates = {zid: _open_gates(zones[zid], at) for zid in order}
    dist = {
        zid: zones[zid].travel_distance_m or characteristic_distance(zones[zid].walkable_area_m2)
        for zid in order
    }

    # Who reaches which zone (to find blocked zones and bound the horizon).
    reach = dict(people)
    blocked: list[str] = []
    for zid in order:
        caps = [gate_capacity_per_s(g, rates) for g in gates[zid]]
        if not caps:
            if reach[zid] > 0:
                blocked.append(zid)
            continue
        for g, c in zip(gates[zid], caps, strict=True):
            if g.leads_to is not None:
                reach[g.leads_to] += reach[zid] * c / sum(caps)
    if blocked:
        return EgressEstimate(
            total_s=math.inf,
            persons=total,
            limit_s=limit_s,
            over_limit=True,
            limiting_gate=None,
            gates=(),
            zone_clear_s={},
            blocked_zones=tuple(blocked),
        )
    # Horizon: every zone's walk plus each zone's people through its gates one after another.
    horizon = sum(2.0 * d / walking_speed_m_s for d in dist.values()) + 10.0
    for zid in order:
        cap = sum(gate_capacity_per_s(g, rates) for g in gates[zid])
        horizon += reach[zid] / cap if cap > 0 else 0.0
    dt = horizon / GRID_STEPS
    t = np.arange(GRID_STEPS + 1, dtype=np.float64) * dt

    inflow = {zid: np.zeros_like(t) for zid in order}  # arrivals at a zone's far side
    outside = np.zeros_like(t)
    flows: list[GateEgress] = []
    queued_at_end: dict[str, bool] = {}
    feeders: dict[str, list[str]] = {zid: [] for zid in order}
    zone_clear: dict[str, float] = {}
    own_done: dict[str, float] = {}
    for zid in order:
        own_gates = gates[zid]
        if not own_gates:
            zone_clear[zid] = 0.0
            continue
        d = dist[zid]
        own = people[zid] * np.minimum(1.0, (walking_speed_m_s * t / d) ** 2)
        own_done[zid] = d / walking_speed_m_s if people[zid] > 0 else 0.0
        shift = round(d / walking_speed_m_s / dt)
        through = np.concatenate([np.zeros(shift), inflow[zid][: t.size - shift]])
        arrivals = own + through
        caps = [gate_capacity_per_s(g, rates) for g in own_gates]
        for g, c in zip(own_gates, caps, strict=True):
            arr = arrivals * (c / sum(caps))
            dep = queue_departures(arr, c * dt)
            n = float(dep[-1])
            first = _first_time(dep, min(1.0, n), dt) if n > 0 else 0.0
            clear = _first_time(dep, n, dt) if n > 0 else 0.0
            queue = arr - dep
            # A bottleneck at the end: its last person still queued after everyone had come.
            arrived = _first_time(arr, n, dt) if n > 0 else 0.0
            queued_at_end[g.id] = n > 0 and clear - arrived > 0.5 + 2 * dt
            busy = max(clear - first, dt)
            flows.append(
                GateEgress(
                    gate=g.id,
                    zone=zid,
                    leads_to=g.leads_to,
                    persons=n,
                    capacity_per_min=c * 60.0,
                    first_s=first,
                    clear_s=clear,
                    max_queue=float(np.max(queue)),
                    mean_flow_per_m_min=n / g.width_m / busy * 60.0 if n > 0 else 0.0,
                )
            )
            if g.leads_to is None:
                outside += dep
            else:
                inflow[g.leads_to] += dep
                feeders[g.leads_to].append(g.id)
        zone_clear[zid] = max((f.clear_s for f in flows if f.zone == zid), default=0.0)

    total_s = _first_time(outside, total, dt) if total > 0 else 0.0
    by_id = {f.gate: f for f in flows}
    # Trace the last person back: the gate out that clears last; if it had no queue at the
    # end, whoever fed its zone last (or nobody: walking was the limit).
    limiting: str | None = None
    last_out = [f for f in flows if f.leads_to is None and f.persons > 0]
    gid: str | None = max(last_out, key=lambda f: f.clear_s).gate if last_out else None
    while gid is not None:
        if queued_at_end[gid]:
            limiting = gid
            break
        zid = by_id[gid].zone
        fed = [by_id[f] for f in feeders[zid] if by_id[f].persons > 0]
        if not fed or max(f.clear_s for f in fed) + dist[zid] / walking_speed_m_s < own_done[zid]:
            break
        gid = max(fed, key=lambda f: f.clear_s).gate
    return EgressEstimate(
        total_s=total_s,
        persons=total,
        limit_s=limit_s,
        over_limit=total_s > limit_s,
        limiting_gate=limiting,
        gates=tuple(flows),
        zone_clear_s=zone_clear,
    )
