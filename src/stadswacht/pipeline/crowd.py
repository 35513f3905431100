"""The crowd stage: people counts in, zone states and crowd-warning detections out.

It adapts readings to :class:`~stadswacht.detect.crowd.CrowdDetector`: each zone comes from the
platform's areas (walkable area, gates, responsible agency, security lead), each counter is
attached to its device's zone on its first count (at the gate its ``line`` names, or as an
occupancy counter), and every zone gets a short-term forecast from its own recent density
(:class:`~stadswacht.detect.crowd.trend.TrendForecast`), so a warning can come before the
threshold is crossed; the same samples feed the zone's forecast to 3 h
(:class:`~stadswacht.detect.crowd.zone_forecast.ZoneForecast`), which the API publishes.
Warnings become :class:`~stadswacht.model.Detection` of kind ``crowd``, one per warning,
updated (same id, higher version) as it escalates, de-escalates and clears. No I/O here: the
live worker and the evaluator feed it, like the gunshot stage.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from stadswacht.detect.crowd import CrowdDetector, CrowdWarning, ZoneState
from stadswacht.detect.crowd.trend import TrendForecast
from stadswacht.detect.crowd.zone_forecast import ZoneForecast, ZoneOutlook
from stadswacht.errors import NotFound
from stadswacht.model import Area, Detection, Device, Position
from stadswacht.model.reading import epoch_seconds, format_epoch

__all__ = ["CrowdStage"]

log = logging.getLogger(__name__)

SAMPLE_S = 60.0
"""How often a zone's density is recorded for its trend forecast [s]."""

TREND_WINDOW_S = 600.0
"""History behind a zone's trend forecast [s]. Chosen on the Malieveld scenario's Koekamp
egress (so its lead time is not an independent test): windows of 30, 15 and 10 min gave leads of
10.2, 13.2 and 15.2 min, none a false warning. Then, unchanged, tested on two surges added to
that scenario afterwards and designed from flow rates, not on the detector: the entry queue at
the north forecourt (45 min to 4.5 persons/m²) was warned 34.0 min and the tram stop during
egress (22 min to 4.4) 16.0 min before the zone crossed 4 persons/m², none a false warning."""


def _centroid(area: Area) -> Position:
    ring = area.polygon
    lon = sum(p[0] for p in ring) / len(ring)
    lat = sum(p[1] for p in ring) / len(ring)
    return Position(lat=lat, lon=lon)


def _exceed_probability(value: float, low: float, high: float, threshold: float) -> float:
    """P(density >= threshold) for a normal forecast with this 80 % interval."""
    sigma = max((high - low) / (2 * 1.2815515655446004), 1e-9)
    return 0.5 * math.erfc((threshold - value) / (sigma * math.sqrt(2)))


@dataclass
class CrowdStage:
    """One crowd detector for every zone with a walkable area.

    Args:
        device: looks up a registered device by id (raises ``NotFound``).
        areas: lists the platform's areas (called when a count names an unknown zone).
        clock: wall clock [s], only to measure processing time (added to ``detected_at``).
    """

    device: Callable[[str], Device]
    areas: Callable[[], list[Area]]
    clock: Callable[[], float] = time.perf_counter
    detector: CrowdDetector = field(default_factory=CrowdDetector, init=False)
    _zones: dict[str, Area] = field(default_factory=dict, init=False)
    _trends: dict[str, TrendForecast] = field(default_factory=dict, init=False)
    _outlooks: dict[str, ZoneForecast] = field(default_factory=dict, init=False)
    _counters: set[tuple[str, str | None]] = field(default_factory=set, init=False)
    _raised: dict[str, tuple[str, int]] = field(default_factory=dict, init=False)
    _sampled: float = field(default=float("-inf"), init=False)
    _watermark: float = field(default=float("-inf"), init=False)

    @property
    def watermark(self) -> float:
        """The newest event time seen [s since the Unix epoch]."""
        return self._watermark

    def handle(self, reading: Mapping[str, Any], at_s: float | None = None) -> list[Detection]:
        """Feed one reading; return the crowd detections that are new or changed."""
        if reading.get("kind") != "people_count":
            return []
        started = self.clock()
        try:
            dev = self.device(str(reading["device"]))
        except NotFound:
            log.warning("count of unknown device %s ignored", reading.get("device"))
            return []
        zone = self._zone(dev.area)
        if zone is None:
            return []
        values = dict(reading["values"])
        line = values.get("line")
        if (dev.id, line) not in self._counters:
            occupancy = "occupancy" in values
            gate = line if line in zone.gates else None
            self.detector.add_counter(
                dev.id, zone.id, line=line, gate=gate, kind="occupancy" if occupancy else "line"
            )
            self._counters.add((dev.id, line))
        t = epoch_seconds(str(reading["time"]))
        self.detector.add_count(dev.id, values, t)
        # Event time never runs ahead of the platform's clock (a counter's clock running fast).
        self._watermark = max(self._watermark, t if at_s is None else min(t, at_s))
        return self._advance(self._watermark, at_s, started)

    def advance(self, now_s: float, at_s: float | None = None) -> list[Detection]:
        """Move event time on to ``now_s``; return the crowd detections that became due."""
        self._watermark = max(self._watermark, now_s)
        return self._advance(self._watermark, at_s, self.clock())

    def states(self, now_s: float | None = None) -> dict[str, ZoneState]:
        """The state of every zone (occupancy, density, level of service, flows, warning)."""
        return {z: self.detector.state(z, now_s) for z in self.detector.zones}

    def forecast(self, zone: str, now_s: float) -> list[tuple[float, float, float, float]]:
        """The zone's density forecast ``(time_s, density, low, high)`` (80 % band)."""
        trend = self._trends.get(zone)
        return trend(now_s) if trend is not None else []

    def outlook(self, zone: str, now_s: float) -> ZoneOutlook:
        """The zone's forecast from 5 min to 3 h ahead with its basis (trend, normal band)."""
        forecast = self._outlooks.get(zone)
        return forecast(now_s) if forecast is not None else ZoneOutlook("none", [])

    def area(self, zone: str) -> Area | None:
        """The area a zone was registered from."""
        return self._zones.get(zone)

    # --- internals ------------------------------------------------------------------------
    def _zone(self, zone_id: str | None) -> Area | None:
        if zone_id is None:
            return None
        if zone_id not in self._zones:
            # Every crowd zone at once, so the dashboard lists the ones not measured yet too.
            for area in self.areas():
                if area.id not in self._zones and area.walkable_area_m2 is not None:
                    self._add_zone(area)
        return self._zones.get(zone_id)  # None: not a crowd zone, no area to measure over

    def _add_zone(self, area: Area) -> None:
        assert area.walkable_area_m2 is not None
        trend = TrendForecast(window_s=TREND_WINDOW_S)
        self.detector.add_zone(
            area.id,
            area.walkable_area_m2,
            gates=area.gates,
            agency=area.agency,
            security_lead=area.security_lead,
            forecast=trend,
        )
        self._zones[area.id] = area
        self._trends[area.id] = trend
        self._outlooks[area.id] = ZoneForecast(trend=trend)

    def _advance(self, now_s: float, at_s: float | None, started: float) -> list[Detection]:
        if now_s - self._sampled >= SAMPLE_S:
            self._sampled = now_s
            for zone, outlook in self._outlooks.items():
                state = self.detector.state(zone, now_s)
                if state.updated_s is not None:
                    outlook.add(now_s, state.density)  # into its trend too
        warnings = self.detector.advance(now_s)
        if not warnings:
            return []
        raised_at = (now_s if at_s is None else at_s) + (self.clock() - started)
        return [self._detection(w, raised_at) for w in warnings]

    def _detection(self, w: CrowdWarning, at_s: float) -> Detection:
        area = self._zones[w.zone]
        first, version = self._raised.get(w.id, (format_epoch(at_s), 0))
        self._raised[w.id] = (first, version + 1)
        probability = 1.0
        band = None
        if w.basis == "forecast" and w.forecast_time_s is not None:
            point = min(
                self.forecast(w.zone, w.time_s),
                key=lambda p: abs(p[0] - (w.forecast_time_s or 0.0)),
                default=None,
            )
            if point is not None:
                band = [round(point[2], 3), round(point[3], 3)]
                probability = _exceed_probability(point[1], point[2], point[3], w.threshold)
        return Detection(
            id=w.id.replace(":", "-"),
            kind="crowd",
            detector="crowd",
            agency=w.agency or area.agency or "municipality",
            area=w.zone,
            time=format_epoch(w.raised_s),
            detected_at=first,
            updated_at=format_epoch(at_s),
            version=version + 1,
            position=_centroid(area),
            probability=round(min(max(probability, 0.0), 1.0), 4),
            details={
                "level": w.level,
                "status": w.status,
                "basis": w.basis,
                "density": round(w.density, 3),
                "threshold": w.threshold,
                "forecast_density": None
                if w.forecast_density is None
                else round(w.forecast_density, 3),
                "forecast_time": None
                if w.forecast_time_s is None
                else format_epoch(w.forecast_time_s),
                "forecast_band_80": band,
                "escalate_to": list(w.escalate_to),
                "security_lead": w.security_lead,
                "zone_name": area.name,
            },
        )
