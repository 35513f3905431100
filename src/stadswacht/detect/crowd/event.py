"""Event mode: an event with zones, gates and opening times, and its capacity check.

An event is a network of zones. Each zone has a walkable area [m²] and gates; a gate either
leads to another zone (``leads_to: <zone id>``) or to the outside (``leads_to`` left out).
:func:`check_capacity` compares the people in each zone with its holding capacity, and
:mod:`stadswacht.detect.crowd.egress` estimates how long the zones take to empty.

Format of an event file (YAML, or the same as a dict for :func:`parse_event`)::

    id: malieveld-concert                 # letters, digits, _ . : -
    name: Concert on the Malieveld        # optional
    opens: 2026-06-20T18:00:00+02:00      # optional, ISO 8601 with offset
    closes: 2026-06-20T23:30:00+02:00     # optional, after ``opens``
    capacity: 60000                       # optional event-wide cap (licence) [persons]
    zones:
      - id: malieveld
        name: Malieveld                   # optional
        walkable_area_m2: 50000           # net area people can stand or walk on [m²], > 0
        capacity: 45000                   # optional override of area × density [persons]
        travel_distance_m: 180            # optional longest walk to a gate [m]
        gates:
          - id: north                     # unique within the event
            width_m: 12                   # clear width [m], > 0
            kind: level                   # level (default) or stepped
            leads_to: koekamp             # another zone's id; left out: the outside
            open: [["18:00", "23:59"]]    # optional local windows, quoted; left out: always open
      - id: koekamp
        walkable_area_m2: 8000
        gates:
          - {id: station, width_m: 8}

Gates must not lead in a circle (the zones form a directed acyclic graph), every zone must
have a way out, and every ``leads_to`` must name a zone of the event. A mistake is reported as
a :class:`~stadswacht.errors.ScenarioError` naming the source and the field, e.g.
``event.yaml, field zones[0].gates[1].width_m: Input should be greater than 0 (got -2)``.

>>> ev = parse_event({"id": "hall", "zones": [{"id": "hall", "walkable_area_m2": 500,
...     "gates": [{"id": "door", "width_m": 2.4}]}]})
>>> check_capacity(ev, {"hall": 1200}).zones[0].over
True
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import datetime, time
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
    model_validator,
)

from stadswacht.errors import ScenarioError

__all__ = [
    "DEFAULT_DENSITY_PER_M2",
    "MAX_STANDING_DENSITY_PER_M2",
    "CapacityReport",
    "Event",
    "EventZone",
    "Gate",
    "ZoneCapacity",
    "check_capacity",
    "parse_event",
    "read_event",
]

DEFAULT_DENSITY_PER_M2 = 2.0
"""Planning density of a standing audience [persons/m² of walkable area].

Two persons per m² of net area (0.5 m² a person) is the usual figure in Dutch event permits
and in the UK Purple Guide for standing audiences; it leaves room to move and keeps the crowd
below the 2-4 persons/m² band in which the crowd warnings of issue #5 start."""

MAX_STANDING_DENSITY_PER_M2 = 4.7
"""Highest density the UK Green Guide (Guide to Safety at Sports Grounds, 6th ed., 2018)
allows on a standing terrace in the best condition (47 persons per 10 m²) [persons/m²]; a
density argument above it is refused."""

Id = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$")]


class Gate(BaseModel):
    """A gate of a zone: its clear width [m], kind, where it leads and when it is open.

    ``leads_to`` is another zone's id, or ``None`` for the outside. ``open`` holds local
    (start, end) windows; an end before its start runs past midnight; empty means always open.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: Id
    width_m: float = Field(gt=0, allow_inf_nan=False)
    kind: Literal["level", "stepped"] = "level"
    leads_to: Id | None = None
    open: tuple[tuple[time, time], ...] = ()

    @field_validator("open", mode="before")
    @classmethod
    def _times_as_text(cls, value: Any) -> Any:
        # YAML 1.1 reads an unquoted 18:00 as the integer 1080 (base 60): refuse it rather
        # than take it as 00:18:00.
        for window in value if isinstance(value, list | tuple) else ():
            for t in window if isinstance(window, list | tuple) else ():
                if isinstance(t, int | float):
                    raise ValueError('write opening times as quoted text such as "18:00"')
        return value

    def is_open(self, at: time) -> bool:
        """Whether the gate is open at local time ``at``."""
        if not self.open:
            return True
        for start, end in self.open:
            inside = start <= at < end if start <= end else (at >= start or at < end)
            if inside:
                return True
        return False


class EventZone(BaseModel):
    """A zone of an event: walkable area [m²], optional capacity and travel distance, gates."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: Id
    name: str = ""
    walkable_area_m2: float = Field(gt=0, allow_inf_nan=False)
    capacity: int | None = Field(default=None, ge=0)
    travel_distance_m: float | None = Field(default=None, gt=0, allow_inf_nan=False)
    gates: tuple[Gate, ...] = Field(min_length=1)


class Event(BaseModel):
    """An event: its zones (a directed acyclic network through gates), times and capacity."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: Id
    name: str = ""
    opens: datetime | None = None
    closes: datetime | None = None
    capacity: int | None = Field(default=None, ge=0)
    zones: tuple[EventZone, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _check_network(self) -> Event:
        if self.opens and self.closes and self.closes <= self.opens:
            raise ValueError(f"closes ({self.closes}) must be after opens ({self.opens})")
        ids = [z.id for z in self.zones]
        for i, zid in enumerate(ids):
            if zid in ids[:i]:
                raise ValueError(f"zones[{i}].id: zone {zid!r} appears twice")
        gate_ids: set[str] = set()
        for i, z in enumerate(self.zones):
            for j, g in enumerate(z.gates):
                where = f"zones[{i}].gates[{j}]"
                if g.id in gate_ids:
                    raise ValueError(f"{where}.id: gate {g.id!r} appears twice in the event")
                gate_ids.add(g.id)
                if g.leads_to is not None and g.leads_to not in ids:
                    raise ValueError(f"{where}.leads_to: {g.leads_to!r} is not a zone id")
                if g.leads_to == z.id:
                    raise ValueError(f"{where}.leads_to: a gate cannot lead to its own zone")
        self.topological_order()  # raises on a cycle
        return self

    def zone(self, zone_id: str) -> EventZone:
        """The zone with this id (``KeyError`` if there is none)."""
        for z in self.zones:
            if z.id == zone_id:
                return z
        raise KeyError(zone_id)

    def topological_order(self) -> tuple[str, ...]:
        """Zone ids, each before every zone its gates lead to (Kahn's algorithm)."""
        indeg = {z.id: 0 for z in self.zones}
        for z in self.zones:
            for g in z.gates:
                if g.leads_to is not None:
                    indeg[g.leads_to] += 1
        ready = [zid for zid, d in indeg.items() if d == 0]
        order: list[str] = []
        while ready:
            zid = ready.pop(0)
            order.append(zid)
            for g in self.zone(zid).gates:
                if g.leads_to is not None:
                    indeg[g.leads_to] -= 1
                    if indeg[g.leads_to] == 0:
                        ready.append(g.leads_to)
        if len(order) != len(self.zones):
            stuck = sorted(set(indeg) - set(order))
            raise ValueError(f"zones: gates lead in a circle through {stuck}")
        return tuple(order)


class ZoneCapacity(BaseModel):
    """The capacity check of one zone [persons]; ``over`` when occupancy exceeds capacity."""

    model_config = ConfigDict(frozen=True)

    zone: str
    capacity: int
    occupancy: int | None
    density_per_m2: float | None
    over: bool


class CapacityReport(BaseModel):
    """The capacity check of an event: per zone, in total, and what the gates let out.

    ``exit_capacity_8min`` is how many people the gates to the outside pass in 8 minutes at
    the Green Guide rates (the Green Guide's "exit capacity" for an 8-minute egress time).
    """

    model_config = ConfigDict(frozen=True)

    zones: tuple[ZoneCapacity, ...]
    capacity: int
    occupancy: int | None
    exit_capacity_8min: int
    over: bool


def check_capacity(
    event: Event,
    occupancy: Mapping[str, int] | None = None,
    *,
    density_per_m2: float = DEFAULT_DENSITY_PER_M2,
) -> CapacityReport:
    """Check each zone's occupancy against its holding capacity, and the event's total.

    Parameters
    ----------
    event
        The event.
    occupancy
        Persons per zone id (zones left out count as empty); ``None`` computes capacities only.
    density_per_m2
        Planning density [persons/m²], used where a zone has no ``capacity`` of its own.

    The event's capacity is the sum of its zones' capacities, capped by ``event.capacity``.

    >>> ev = parse_event({"id": "e", "zones": [{"id": "a", "walkable_area_m2": 100,
    ...     "gates": [{"id": "g", "width_m": 1}]}]})
    >>> check_capacity(ev).capacity
    200
    """
    from stadswacht.detect.crowd.egress import FLOW_RATES_PER_M_MIN  # avoid an import cycle

    if not 0 < density_per_m2 <= MAX_STANDING_DENSITY_PER_M2:
        raise ValueError(
            f"density_per_m2={density_per_m2} is outside (0, {MAX_STANDING_DENSITY_PER_M2}]"
        )
    known = {z.id for z in event.zones}
    for zid in occupancy or {}:
        if zid not in known:
            raise KeyError(f"occupancy names zone {zid!r}, which is not in event {event.id!r}")
    rows = []
    for z in event.zones:
        cap = (
            z.capacity
            if z.capacity is not None
            else math.floor(z.walkable_area_m2 * density_per_m2)
        )
        occ = None if occupancy is None else int(occupancy.get(z.id, 0))
        dens = None if occ is None else occ / z.walkable_area_m2
        rows.append(
            ZoneCapacity(
                zone=z.id,
                capacity=cap,
                occupancy=occ,
                density_per_m2=dens,
                over=occ is not None and occ > cap,
            )
        )
    total = sum(r.capacity for r in rows)
    if event.capacity is not None:
        total = min(total, event.capacity)
    occ_total = None if occupancy is None else sum(r.occupancy or 0 for r in rows)
    exit_cap = sum(
        g.width_m * FLOW_RATES_PER_M_MIN[g.kind] * 8.0
        for z in event.zones
        for g in z.gates
        if g.leads_to is None
    )
    over = any(r.over for r in rows) or (occ_total is not None and occ_total > total)
    return CapacityReport(
        zones=tuple(rows),
        capacity=total,
        occupancy=occ_total,
        exit_capacity_8min=math.floor(exit_cap),
        over=over,
    )


def _loc(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def parse_event(doc: Mapping[str, Any], source: str = "<event>") -> Event:
    """An :class:`Event` from a dict in the format of the module docstring.

    Raises :class:`~stadswacht.errors.ScenarioError` naming ``source`` and the field.
    """
    if not isinstance(doc, Mapping):
        raise ScenarioError(f"{source}: an event is a mapping, got {type(doc).__name__}")
    try:
        return Event.model_validate(dict(doc))
    except ValidationError as exc:
        msgs = []
        errors = exc.errors()
        locs = [tuple(e["loc"]) for e in errors]
        for err in errors:
            loc = tuple(err["loc"])
            # A list left short because an item in it failed: the item's error says it all.
            if err["type"] == "too_short" and any(o[: len(loc)] == loc != o for o in locs):
                continue
            field = _loc(loc)
            text = str(err["msg"]).removeprefix("Value error, ")
            got = "" if err["type"] == "missing" else f" (got {err.get('input')!r})"
            if err["type"] == "value_error" and not field:
                msgs.append(f"{source}, field {text}")
            else:
                msgs.append(f"{source}, field {field or '<root>'}: {text}{got}")
        raise ScenarioError("; ".join(msgs)) from exc


def read_event(path: str | Path) -> tuple[Event, dict[str, Any]]:
    """Read an event YAML file; returns ``(event, metadata)`` with the ``source`` path."""
    p = Path(path)
    try:
        doc = yaml.safe_load(p.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ScenarioError(f"{p}: cannot read the event file: {exc}") from exc
    return parse_event(doc, source=str(p)), {"source": str(p)}
