"""The gunshot stage: acoustic impulse and temperature readings in, gunshot detections out.

It adapts readings to :class:`~stadswacht.detect.gunshot.GunshotDetector` (device positions to
a local metric frame, RFC 3339 arrival times to seconds) and its events back to
:class:`~stadswacht.model.Detection` (WGS84 position, uncertainty ellipse, evidence, owner).
It does no I/O itself: the live worker (:mod:`stadswacht.pipeline.detectors`) feeds it from the
bus and stores and publishes what it returns; the living-lab evaluator feeds it the same
readings on the simulated clock. Same code, live and in a replay.

Time: the detector runs on event time. ``handle`` advances it to the newest reading time seen
(the watermark); ``advance(now_s)`` moves it on when no reading comes. ``at_s`` is the
platform's own clock at that moment (live: the wall clock; in an evaluation: the simulated
time the reading reached the platform): a detection's ``detected_at`` is ``at_s`` plus the
detector's own processing time, so the latency an evaluation reports is what an operator
would see.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from stadswacht.detect.gunshot import (
    GunshotConfig,
    GunshotDetector,
    GunshotEvent,
    ImpulseReport,
)
from stadswacht.errors import NotFound
from stadswacht.model import Detection, Device, DeviceKind, Ellipse, Position
from stadswacht.model.geo import LocalFrame
from stadswacht.model.reading import epoch_seconds, format_epoch

__all__ = ["GunshotStage", "ReadingLike"]

log = logging.getLogger(__name__)

ReadingLike = Mapping[str, Any]
"""A reading as the bus carries it (:meth:`StoredReading.as_dict`): ``device``, ``seq``,
``time``, ``kind``, ``values``, ``agency``, ``area``."""

KINDS = ("acoustic_impulse", "temperature")
"""Reading kinds the stage uses."""


@dataclass
class _Raised:
    detected_at: str
    version: int
    raised_after_last_arrival_s: float


@dataclass
class GunshotStage:
    """One gunshot detector for every acoustic sensor the platform knows.

    Args:
        device: looks up a registered device by id (raises ``NotFound``).
        acoustic_devices: lists the registered acoustic devices (called when an unknown
            sensor reports, so a newly registered sensor joins without a restart).
        config: the detector's settings.
        clock: wall clock [s] used only to measure the detector's own processing time, which
            is added to ``detected_at`` so a latency measured on the simulated clock is honest.
    """

    device: Callable[[str], Device]
    acoustic_devices: Callable[[], list[Device]]
    config: GunshotConfig | None = None
    clock: Callable[[], float] = time.perf_counter
    detector: GunshotDetector = field(init=False)
    frame: LocalFrame | None = field(default=None, init=False)
    _sensors: dict[str, Device] = field(default_factory=dict, init=False)
    _raised: dict[str, _Raised] = field(default_factory=dict, init=False)
    _watermark: float = field(default=float("-inf"), init=False)

    def __post_init__(self) -> None:
        self.detector = GunshotDetector(self.config)

    # --- input ----------------------------------------------------------------------------
    def handle(self, reading: ReadingLike, at_s: float | None = None) -> list[Detection]:
        """Feed one reading; return the detections that became due (new or updated).

        ``at_s`` is the platform's clock now [s since the Unix epoch] (default: event time).

        Readings of other kinds and of unknown devices (removed since: logged) are ignored;
        values are taken as ingest validated them.
        """
        kind = reading.get("kind")
        if kind not in KINDS:
            return []
        started = self.clock()
        try:
            dev = self._device(str(reading["device"]))
        except NotFound:
            log.warning("reading of unknown device %s ignored", reading.get("device"))
            return []
        values = reading["values"]
        x, y = self._xy(dev.position)
        if kind == "temperature":
            t = epoch_seconds(str(reading["time"]))
            self.detector.add_temperature(x, y, t, float(values["temperature_c"]))
        else:
            if dev.id not in self._sensors:
                self._add_sensor(dev)
            t = epoch_seconds(str(values["arrival_time"]))
            self.detector.add_report(
                ImpulseReport(
                    ref=f"{dev.id}:{reading['seq']}",
                    sensor=dev.id,
                    arrival_s=t,
                    level_db=float(values["peak_db"]),
                    classes=dict(values["classes"]),
                )
            )
        # Event time never runs ahead of the platform's clock: one sensor with a clock running
        # fast must not make the detector decide before the other sensors' reports are in.
        self._watermark = max(self._watermark, t if at_s is None else min(t, at_s))
        return self._advance(self._watermark, at_s, started)

    def advance(self, now_s: float, at_s: float | None = None) -> list[Detection]:
        """Move event time on to ``now_s`` [s since the Unix epoch]; return due detections.

        ``at_s`` is the platform's clock now (default: ``now_s``)."""
        self._watermark = max(self._watermark, now_s)
        return self._advance(self._watermark, at_s, self.clock())

    @property
    def watermark(self) -> float:
        """The newest event time seen [s since the Unix epoch]."""
        return self._watermark

    # --- internals ------------------------------------------------------------------------
    def _device(self, device_id: str) -> Device:
        known = self._sensors.get(device_id)
        return known if known is not None else self.device(device_id)

    def _xy(self, pos: Position) -> tuple[float, float]:
        if self.frame is None:
            self.frame = LocalFrame(pos.lon, pos.lat)
        return self.frame.to_xy(pos.lon, pos.lat)

    def _add_sensor(self, dev: Device) -> None:
        # All acoustic sensors, not only those that report: the detector needs to know who
        # could have heard a shot and did not, to decide when waiting longer is useless.
        for d in [*self.acoustic_devices(), dev]:
            if d.kind is DeviceKind.ACOUSTIC and d.id not in self._sensors:
                self._sensors[d.id] = d
                self.detector.add_sensor(d.id, *self._xy(d.position))

    def _advance(self, now_s: float, at_s: float | None, started: float) -> list[Detection]:
        events = self.detector.advance(now_s)
        if not events:
            return []
        spent = self.clock() - started
        return [
            self._detection(ev, (ev.decided_s if at_s is None else at_s) + spent) for ev in events
        ]

    def _detection(self, ev: GunshotEvent, at_s: float) -> Detection:
        assert self.frame is not None  # an event needs sensors, which set the frame
        lon, lat = self.frame.to_lonlat(float(ev.xy[0]), float(ev.xy[1]))
        decided = format_epoch(at_s)
        raised = self._raised.get(ev.id)
        if raised is None:
            raised = _Raised(decided, 0, at_s - ev.last_arrival_s)
            self._raised[ev.id] = raised
        raised.version += 1
        agencies = Counter(self._sensors[s].agency for s in ev.sensors if s in self._sensors)
        areas = Counter(self._sensors[s].area for s in ev.sensors if s in self._sensors)
        major, minor, angle = ev.ellipse
        probability = ev.p_gunshot if ev.kind == "gunshot" else float(ev.classes.get(ev.kind, 0))
        return Detection(
            id=ev.id,
            kind=ev.kind,
            detector="gunshot",
            agency=agencies.most_common(1)[0][0] if agencies else "unknown",
            area=areas.most_common(1)[0][0] if areas else None,
            time=format_epoch(ev.round_times_s[0]),
            detected_at=raised.detected_at,
            updated_at=decided,
            version=raised.version,
            position=Position(lat=lat, lon=lon),
            uncertainty=Ellipse(
                semi_major_m=round(major, 2),
                semi_minor_m=round(minor, 2),
                orientation_deg=round(angle, 1),
            ),
            probability=round(min(max(probability, 0.0), 1.0), 4),
            evidence=list(ev.refs),
            sensors=list(ev.sensors),
            details={
                "rounds": ev.rounds,
                "round_times": [format_epoch(t) for t in ev.round_times_s],
                "classes": {k: round(float(v), 4) for k, v in ev.classes.items()},
                "speed_of_sound_m_s": round(ev.speed_of_sound, 2),
                "poor_geometry": ev.poor_geometry,
                "rejected_evidence": list(ev.rejected_refs),
                "last_arrival": format_epoch(ev.last_arrival_s),
                "raised_after_last_arrival_s": round(raised.raised_after_last_arrival_s, 3),
                "residuals_s": {k: round(v, 6) for k, v in ev.residuals_s.items()},
            },
        )
