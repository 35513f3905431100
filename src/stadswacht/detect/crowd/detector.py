"""The live crowd detector: counts in, zone state and density warnings out.

:class:`CrowdDetector` keeps each zone's occupancy from the line counters at its gates and its
occupancy counters (:class:`~stadswacht.detect.crowd.occupancy.ZoneOccupancy`), turns it into
density, level of service, specific flow and counter-flow (:mod:`.density`), checks each
counter against its "normal for this time" band (:class:`~.baseline.NormalBand`) and warns
when a zone's density, now or in its forecast, reaches the zone's thresholds. It is pure and
driven by event time: the caller feeds counts with their time and calls
:meth:`CrowdDetector.advance` with the current time; nothing reads a clock or does I/O.

Warnings. A zone has at most one warning, at level ``"warn"`` (default 2 persons/m²) or
``"critical"`` (default 4 persons/m², below the 5-6 persons/m² at which Seoul's system
alerts and crowd crush becomes possible; Fruin's walkway level F starts at 2.17). Its
lifecycle, each step one :class:`CrowdWarning` out of :meth:`~CrowdDetector.advance`:

- ``"raised"`` as soon as the current density reaches a threshold, or the forecast does at a
  time within ``forecast_horizon_s`` (``basis="forecast"``, with the expected time): the
  point of a forecast is to warn before the crossing;
- ``"escalated"`` from warn to critical at once;
- ``"de-escalated"`` / ``"cleared"`` only after the density has stayed below
  ``clear_ratio`` (80 %) of the level's threshold, and the forecast below the threshold,
  for ``clear_after_s`` (5 minutes) without a break. A density that oscillates around the
  threshold therefore raises once and stays raised: no flapping (hysteresis with a
  dwell time, as in process alarm management, EEMUA 191 / ISA-18.2 deadbands and
  off-delays);
- ``"updated"`` when a forecast warning is overtaken by the measured density (basis
  ``"forecast"`` to ``"current"``).

Every warning carries whom to escalate to: the zone's responsible agency at warn, and
also the event's security lead at critical, the person who can stop the show.

>>> det = CrowdDetector(security_lead="event-security")
>>> det.add_zone("square", 100.0, gates={"north": 4.0}, agency="police")
>>> det.add_counter("cnt-1", "square", gate="north")
>>> det.add_count("cnt-1", {"in": 260, "out": 20, "interval_s": 60}, 60.0)
>>> [(w.status, w.level, round(w.density, 1)) for w in det.advance(60.0)]
[('raised', 'warn', 2.4)]
>>> s = det.state("square")
>>> s.los_walkway, round(s.gates[0].in_pmm)
('F', 65)
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from stadswacht.detect.crowd.baseline import Anomaly, NormalBand
from stadswacht.detect.crowd.density import (
    CounterFlow,
    LosKind,
    counter_flow,
    density,
    level_of_service,
    specific_flow,
)
from stadswacht.detect.crowd.occupancy import ZoneOccupancy
from stadswacht.errors import UnknownDevice
from stadswacht.model.reading import PeopleCount

__all__ = [
    "CrowdDetector",
    "CrowdWarning",
    "ForecastLike",
    "ForecastPoint",
    "GateFlow",
    "ZoneState",
    "ZoneThresholds",
]

ForecastPoint = tuple[float, float, float, float]
"""One forecast value: ``(time_s, density, low, high)``, density [persons/m²]."""

ForecastLike = Callable[[float], Sequence[ForecastPoint]] | Sequence[ForecastPoint]
"""A zone's density forecast: a list of :data:`ForecastPoint`, or a callable that returns
one for the current time (``now_s``)."""

_LEVELS = ("none", "warn", "critical")


@dataclass(frozen=True, slots=True)
class ZoneThresholds:
    """Warning thresholds of a zone and their hysteresis.

    Attributes
    ----------
    warn, critical : float
        Density that raises a warning, and a critical one [persons/m²]. Defaults 2 and 4.
    clear_ratio : float
        A level de-escalates only below this share of its threshold. Default 0.8.
    clear_after_s : float
        ... held for this long without a break [s]. Default 300.
    forecast_horizon_s : float
        Forecast values up to this far ahead can raise a warning [s]. Default 1800.
    forecast_use : {"value", "high"}
        Warn on the forecast's central value (default; fewer false warnings) or on the
        upper end of its interval (earlier, more false warnings).
    """

    warn: float = 2.0
    critical: float = 4.0
    clear_ratio: float = 0.8
    clear_after_s: float = 300.0
    forecast_horizon_s: float = 1800.0
    forecast_use: Literal["value", "high"] = "value"

    def __post_init__(self) -> None:
        if not 0 < self.warn < self.critical:
            raise ValueError(
                f"need 0 < warn < critical, got warn={self.warn!r}, critical={self.critical!r}"
            )
        if not 0 < self.clear_ratio <= 1:
            raise ValueError(f"clear_ratio must be in (0, 1], got {self.clear_ratio!r}")

    def threshold(self, level: int) -> float:
        """Threshold of level 1 (warn) or 2 (critical) [persons/m²]."""
        return self.warn if level == 1 else self.critical


@dataclass(frozen=True, slots=True)
class CrowdWarning:
    """A density warning of one zone, in one step of its lifecycle.

    ``id`` stays the same from ``"raised"`` to ``"cleared"``. ``level`` is ``"warn"``,
    ``"critical"`` or, once cleared, ``"none"``. ``density`` is the zone's estimate at
    ``time_s`` [persons/m²]; ``forecast_density`` and ``forecast_time_s`` the highest forecast
    value within the horizon and when it is expected (None without a forecast).
    ``escalate_to`` lists whom to notify: the zone's agency, and the security lead when
    critical.
    """

    id: str
    zone: str
    level: str
    status: str
    basis: str
    density: float
    threshold: float
    time_s: float
    raised_s: float
    forecast_density: float | None
    forecast_time_s: float | None
    agency: str | None
    security_lead: str | None
    escalate_to: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class GateFlow:
    """Flow through one gate of a zone in the last reported interval.

    ``in_pmm`` is into the zone, ``out_pmm`` out of it [persons/m/min] (None without a known
    width, see ``in_per_min``).
    """

    gate: str
    width_m: float | None
    in_per_min: float
    out_per_min: float
    in_pmm: float | None
    out_pmm: float | None
    counter_flow: CounterFlow | None


@dataclass(frozen=True, slots=True)
class ZoneState:
    """What the dashboard shows for a zone.

    ``occupancy`` [persons] with its standard deviation ``occupancy_sd``; ``density``
    [persons/m²]; ``los`` the level of service on the zone's own scale (walkway or queuing),
    both scales also given; ``counter_flow`` the gate with the most counter-flow (None
    without gates); ``dropped_s`` how much counting time was lost to counter drop-outs and
    ``silent_gates`` the gates whose counter is silent now (their flow is filled in from their
    recent net flow); ``updated_s`` the last count's time (None before any).
    """

    zone: str
    occupancy: float
    occupancy_sd: float
    density: float
    walkable_area_m2: float
    los: str
    los_walkway: str
    los_queuing: str
    gates: tuple[GateFlow, ...]
    counter_flow: CounterFlow | None
    anomalies: tuple[Anomaly, ...]
    warning: str
    dropped_s: float
    silent_gates: tuple[str, ...]
    updated_s: float | None


@dataclass(slots=True)
class _Zone:
    id: str
    area_m2: float
    gates: dict[str, float]
    thresholds: ZoneThresholds
    agency: str | None
    security_lead: str | None
    los_kind: LosKind
    occ: ZoneOccupancy
    forecast: ForecastLike | None = None
    level: int = 0
    basis: str = "current"
    warning_id: str | None = None
    raised_s: float = 0.0
    calm_since: float | None = None
    sensors: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class _Counter:
    zone: str
    sign: int
    gate: str | None
    kind: str  # "line" or "occupancy"


class CrowdDetector:
    """Zone occupancy, density, flows and density warnings from people counts.

    Parameters
    ----------
    security_lead : str, optional
        The event's security lead, escalated to at critical (a zone can name its own).
    normal : NormalBand, optional
        The "normal for this time" bands of the counters (per sensor, gross flow per minute
        for a line, persons for a zone count). Preload it with history; ``learn`` adds each
        new count to it after checking it.
    learn : bool
        Add every count to ``normal``. Default True.
    count_sd, occupancy_sd : float
        Relative errors of line counts and of occupancy counts (:class:`ZoneOccupancy`).
    """

    def __init__(
        self,
        *,
        security_lead: str | None = None,
        normal: NormalBand | None = None,
        learn: bool = True,
        count_sd: float = 0.03,
        occupancy_sd: float = 0.05,
    ) -> None:
        self.security_lead = security_lead
        self.normal = normal if normal is not None else NormalBand()
        self.learn = learn
        self._count_sd = count_sd
        self._occupancy_sd = occupancy_sd
        self._zones: dict[str, _Zone] = {}
        self._counters: dict[tuple[str, str | None], list[_Counter]] = {}
        self._anomalies: dict[str, Anomaly] = {}
        self._seq = 0
        self._now: float | None = None

    # --- set-up ------------------------------------------------------------------------------

    def add_zone(
        self,
        zone: str,
        walkable_area_m2: float,
        *,
        gates: Mapping[str, float] | None = None,
        thresholds: ZoneThresholds | None = None,
        agency: str | None = None,
        security_lead: str | None = None,
        los_kind: LosKind = "walkway",
        forecast: ForecastLike | None = None,
    ) -> None:
        """Register a zone: walkable area [m²], gates (id → clear width [m]), thresholds,
        the responsible agency, and whether its level of service is that of a walkway or a
        queuing area."""
        if not walkable_area_m2 > 0:
            raise ValueError(
                f"zone {zone!r}: walkable_area_m2 must be positive, got {walkable_area_m2!r}"
            )
        for gate, width in (gates or {}).items():
            if not width > 0:
                raise ValueError(
                    f"zone {zone!r}: gate {gate!r} width must be positive, got {width!r}"
                )
        self._zones[zone] = _Zone(
            id=zone,
            area_m2=float(walkable_area_m2),
            gates=dict(gates or {}),
            thresholds=thresholds or ZoneThresholds(),
            agency=agency,
            security_lead=security_lead,
            los_kind=los_kind,
            occ=ZoneOccupancy(count_sd=self._count_sd, occupancy_sd=self._occupancy_sd),
            forecast=forecast,
        )

    def add_counter(
        self,
        sensor: str,
        zone: str,
        *,
        line: str | None = None,
        gate: str | None = None,
        inward: Literal["in", "out"] = "in",
        kind: Literal["line", "occupancy"] = "line",
    ) -> None:
        """Attach a counter to a zone.

        A line counter (``kind="line"``) at one of the zone's gates: ``inward`` says which of
        its directions goes into the zone. A line between two zones is attached to both,
        ``inward="in"`` for one and ``"out"`` for the other. ``line`` names one of several
        lines of one device (:class:`PeopleCount` ``line``). An occupancy counter
        (``kind="occupancy"``) counts the people in the zone.
        """
        z = self._zone(zone)
        if gate is not None and gate not in z.gates and kind == "line":
            known = ", ".join(sorted(z.gates)) or "none"
            raise ValueError(f"gate {gate!r} is not a gate of zone {zone!r} (gates: {known})")
        if inward not in ("in", "out"):
            raise ValueError(f"inward must be 'in' or 'out', got {inward!r}")
        counter = _Counter(zone, 1 if inward == "in" else -1, gate, kind)
        self._counters.setdefault((sensor, line), []).append(counter)
        z.sensors.append(sensor if line is None else f"{sensor}:{line}")

    def set_forecast(self, zone: str, forecast: ForecastLike | None) -> None:
        """Give (or replace, or with None remove) a zone's density forecast."""
        self._zone(zone).forecast = forecast

    # --- input -------------------------------------------------------------------------------

    def add_count(
        self, sensor: str, values: PeopleCount | Mapping[str, Any], time_s: float
    ) -> None:
        """Add one people count of ``sensor`` at ``time_s`` [s], the end of its interval.

        ``values`` is a :class:`~stadswacht.model.reading.PeopleCount` or the same as a
        mapping (``{"in": 12, "out": 3, "interval_s": 60}`` or ``{"occupancy": 140}``).
        A repeated or older interval of a line is ignored.
        """
        pc = values if isinstance(values, PeopleCount) else PeopleCount.model_validate(values)
        line = pc.line if (sensor, pc.line) in self._counters else None
        counters = self._counters.get((sensor, line))
        if not counters:
            raise UnknownDevice(
                f"counter {sensor!r} (line {pc.line!r}) is not attached to a zone; call "
                "add_counter first"
            )
        key = sensor if line is None else f"{sensor}:{line}"
        if pc.occupancy is not None:
            for c in counters:
                self._zones[c.zone].occ.add_occupancy(pc.occupancy, time_s=time_s)
            self._check_normal(key, time_s, float(pc.occupancy))
            return
        assert pc.count_in is not None and pc.count_out is not None and pc.interval_s
        fresh = False
        for c in counters:
            fresh |= self._zones[c.zone].occ.add_line(
                c.sign,
                pc.count_in,
                pc.count_out,
                end_s=time_s,
                interval_s=pc.interval_s,
                gate=c.gate or key,
            )
        if fresh:
            self._check_normal(key, time_s, (pc.count_in + pc.count_out) * 60.0 / pc.interval_s)

    def _check_normal(self, key: str, time_s: float, value: float) -> None:
        found = self.normal.anomaly(key, time_s, value)
        if found is None:
            self._anomalies.pop(key, None)
        else:
            self._anomalies[key] = found
        if self.learn:
            self.normal.add(key, time_s, value)

    # --- output ------------------------------------------------------------------------------

    def state(self, zone: str, now_s: float | None = None) -> ZoneState:
        """The zone's figures at ``now_s`` [s] for the dashboard (default: the time of the
        last :meth:`advance`, or of the last count before any)."""
        z = self._zone(zone)
        now = now_s if now_s is not None else self._now
        silent: tuple[str, ...] = ()
        if now is None:
            occ, sd = z.occ.occupancy, z.occ.sd
        else:
            (occ, sd), silent = z.occ.estimate(now), z.occ.silent_gates(now)
        d = density(occ, z.area_m2)
        flows: list[GateFlow] = []
        for gate, (cin, cout, interval) in z.occ.gate_counts().items():
            sign = self._sign(z.id, gate)
            into, outof = (cin, cout) if sign > 0 else (cout, cin)
            width = z.gates.get(gate)
            per_min = 60.0 / interval
            flows.append(
                GateFlow(
                    gate=gate,
                    width_m=width,
                    in_per_min=into * per_min,
                    out_per_min=outof * per_min,
                    in_pmm=None if width is None else specific_flow(into, width, interval),
                    out_pmm=None if width is None else specific_flow(outof, width, interval),
                    counter_flow=None
                    if width is None
                    else counter_flow(into, outof, width, interval),
                )
            )
        worst = max(
            (g.counter_flow for g in flows if g.counter_flow is not None),
            key=lambda cf: (cf.flagged, cf.minor_share),
            default=None,
        )
        walk = level_of_service(d, "walkway")
        queue = level_of_service(d, "queuing")
        return ZoneState(
            zone=z.id,
            occupancy=occ,
            occupancy_sd=sd,
            density=d,
            walkable_area_m2=z.area_m2,
            los=walk if z.los_kind == "walkway" else queue,
            los_walkway=walk,
            los_queuing=queue,
            gates=tuple(flows),
            counter_flow=worst,
            anomalies=tuple(a for k, a in sorted(self._anomalies.items()) if k in z.sensors),
            warning=_LEVELS[z.level],
            dropped_s=z.occ.dropped_s,
            silent_gates=silent,
            updated_s=z.occ.updated_s,
        )

    def advance(self, now_s: float) -> list[CrowdWarning]:
        """Evaluate every zone at ``now_s`` [s]; return the warnings that are new or changed."""
        self._now = now_s if self._now is None else max(self._now, now_s)
        out: list[CrowdWarning] = []
        for z in self._zones.values():
            w = self._evaluate(z, now_s)
            if w is not None:
                out.append(w)
        return out

    @property
    def zones(self) -> tuple[str, ...]:
        """The registered zones' ids."""
        return tuple(self._zones)

    # --- internals ---------------------------------------------------------------------------

    def _zone(self, zone: str) -> _Zone:
        try:
            return self._zones[zone]
        except KeyError:
            known = ", ".join(sorted(self._zones)) or "none"
            raise KeyError(
                f"zone {zone!r} is not registered (zones: {known}); call add_zone"
            ) from None

    def _sign(self, zone: str, gate: str) -> int:
        for (sensor, line), counters in self._counters.items():
            for c in counters:
                key = sensor if line is None else f"{sensor}:{line}"
                if c.zone == zone and (c.gate or key) == gate:
                    return c.sign
        return 1

    def _forecast_peak(self, z: _Zone, now_s: float) -> tuple[float, float] | None:
        if z.forecast is None:
            return None
        points = z.forecast(now_s) if callable(z.forecast) else z.forecast
        horizon = now_s + z.thresholds.forecast_horizon_s
        best: tuple[float, float] | None = None
        for t, value, _low, high in points:
            if not now_s < t <= horizon:
                continue
            v = high if z.thresholds.forecast_use == "high" else value
            if math.isfinite(v) and (best is None or v > best[1]):
                best = (float(t), float(v))
        return best

    def _evaluate(self, z: _Zone, now_s: float) -> CrowdWarning | None:
        if z.occ.updated_s is None and z.forecast is None:
            return None
        th = z.thresholds
        d = density(z.occ.estimate(now_s)[0], z.area_m2)
        peak = self._forecast_peak(z, now_s)
        fd = peak[1] if peak else -math.inf

        def level_of(value: float) -> int:
            return 2 if value >= th.critical else 1 if value >= th.warn else 0

        current, predicted = level_of(d), level_of(fd)
        target = max(current, predicted)
        basis = "current" if current >= predicted else "forecast"
        if target > z.level:
            status = "raised" if z.level == 0 else "escalated"
            if z.level == 0:
                self._seq += 1
                z.warning_id = f"crowd:{z.id}:{self._seq}"
                z.raised_s = now_s
            z.level, z.basis, z.calm_since = target, basis, None
            return self._public(z, status, d, peak, now_s)
        if z.level == 0:
            return None

        def holds(level: int) -> bool:  # still within the level's hysteresis band
            thr = th.threshold(level)
            return d >= th.clear_ratio * thr or fd >= thr

        if holds(z.level):
            z.calm_since = None
            if z.basis == "forecast" and current >= z.level:
                z.basis = "current"
                return self._public(z, "updated", d, peak, now_s)
            return None
        if z.calm_since is None:
            z.calm_since = now_s
        if now_s - z.calm_since < th.clear_after_s:
            return None
        new = max((lv for lv in range(1, z.level) if holds(lv)), default=0)
        z.level, z.calm_since = new, None
        z.basis = "current" if current >= predicted else "forecast"
        return self._public(z, "de-escalated" if new else "cleared", d, peak, now_s)

    def _public(
        self,
        z: _Zone,
        status: str,
        d: float,
        peak: tuple[float, float] | None,
        now_s: float,
    ) -> CrowdWarning:
        lead = z.security_lead or self.security_lead
        targets = [t for t in (z.agency,) if t]
        if z.level == 2 and lead and lead not in targets:
            targets.append(lead)
        return CrowdWarning(
            id=z.warning_id or f"crowd:{z.id}",
            zone=z.id,
            level=_LEVELS[z.level],
            status=status,
            basis=z.basis,
            density=d,
            threshold=z.thresholds.threshold(max(z.level, 1)),
            time_s=now_s,
            raised_s=z.raised_s,
            forecast_density=None if peak is None else peak[1],
            forecast_time_s=None if peak is None else peak[0],
            agency=z.agency,
            security_lead=lead,
            escalate_to=tuple(targets),
        )
