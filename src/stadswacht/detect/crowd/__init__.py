"""Crowd detection: people counts in, zone state and density warnings out.

Contract: a crowd detector consumes people counts (:class:`~stadswacht.model.reading.PeopleCount`
values with their time) and yields zone states and :class:`CrowdWarning` s; it never reads a
clock, never does I/O and never writes to the store. Only counts reach it, never identities.

- :mod:`.density`: density, Fruin level of service (walkway, queuing), specific flow,
  counter-flow, the density at which 1.5 m distancing is impossible.
- :mod:`.occupancy`: a zone's occupancy from gate line counts and zone counts, robust to
  counter drop-outs, with drift correction.
- :mod:`.baseline`: the "normal for this time" band per sensor, and anomalies against it.
- :mod:`.detector`: :class:`CrowdDetector`, the live detector with warning hysteresis and
  escalation.
- :mod:`.distancing`: 1.5 m distancing from trajectories, groups apart.
- :mod:`.trajectories`: trajectories and :func:`read_juelich_trajectories`.
- :mod:`.measurement`: classic density and simulated line counts from trajectories (the
  benchmark's core).
- :mod:`.trend`: a zone's short-term density forecast from its own recent history.
- :mod:`.zone_forecast`: a zone's forecast to 3 h: the trend, relaxing to the normal band.
- :mod:`.event`: event mode: an event's zones, gates and opening times, capacity check.
- :mod:`.egress`: egress time through a network of zones at Green Guide flow rates.
"""

from __future__ import annotations

from stadswacht.detect.crowd.baseline import Anomaly, Band, NormalBand
from stadswacht.detect.crowd.density import (
    LOS_QUEUING,
    LOS_WALKWAY,
    CounterFlow,
    counter_flow,
    density,
    distancing_max_density,
    level_of_service,
    specific_flow,
)
from stadswacht.detect.crowd.detector import (
    CrowdDetector,
    CrowdWarning,
    ForecastLike,
    ForecastPoint,
    GateFlow,
    ZoneState,
    ZoneThresholds,
)
from stadswacht.detect.crowd.distancing import DistancingResult, distancing
from stadswacht.detect.crowd.egress import (
    EGRESS_LIMIT_S,
    FLOW_RATES_PER_M_MIN,
    EgressEstimate,
    GateEgress,
    estimate_egress,
)
from stadswacht.detect.crowd.event import (
    CapacityReport,
    Event,
    EventZone,
    Gate,
    ZoneCapacity,
    check_capacity,
    parse_event,
    read_event,
)
from stadswacht.detect.crowd.measurement import (
    DensityComparison,
    LineCounts,
    Rect,
    classic_density,
    compare_density,
    line_crossings,
    simulate_line_counts,
)
from stadswacht.detect.crowd.occupancy import ZoneOccupancy
from stadswacht.detect.crowd.trajectories import (
    Trajectories,
    TrajectoryError,
    read_juelich_trajectories,
)
from stadswacht.detect.crowd.zone_forecast import ZoneForecast, ZoneOutlook

__all__ = [
    "EGRESS_LIMIT_S",
    "FLOW_RATES_PER_M_MIN",
    "LOS_QUEUING",
    "LOS_WALKWAY",
    "Anomaly",
    "Band",
    "CapacityReport",
    "CounterFlow",
    "CrowdDetector",
    "CrowdWarning",
    "DensityComparison",
    "DistancingResult",
    "EgressEstimate",
    "Event",
    "EventZone",
    "ForecastLike",
    "ForecastPoint",
    "Gate",
    "GateEgress",
    "GateFlow",
    "LineCounts",
    "NormalBand",
    "Rect",
    "Trajectories",
    "TrajectoryError",
    "ZoneCapacity",
    "ZoneForecast",
    "ZoneOccupancy",
    "ZoneOutlook",
    "ZoneState",
    "ZoneThresholds",
    "check_capacity",
    "classic_density",
    "compare_density",
    "counter_flow",
    "density",
    "distancing",
    "distancing_max_density",
    "estimate_egress",
    "level_of_service",
    "line_crossings",
    "parse_event",
    "read_event",
    "read_juelich_trajectories",
    "simulate_line_counts",
    "specific_flow",
]
