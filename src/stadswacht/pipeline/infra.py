"""The infrastructure stage: readings and ingest's rejections in, ``infra`` detections out.

It adapts readings to :class:`~stadswacht.detect.infra.InfraDetector` (device positions to a
local metric frame, RFC 3339 times to seconds, each device's gateway from the registry) and
its findings back to :class:`~stadswacht.model.Detection` of kind ``infra``, with
``details["type"]`` (``sensor_failure``, ``power_cut``, ``network_outage``, ``flood_outage``,
``cyber_attack``), ``details["check"]``, ``details["device"]`` or ``details["devices"]`` and
``details["quarantine"]``. A finding that changes (an outage growing, a silent device heard
again) keeps its id and raises its version. No I/O here: the live worker and the evaluator
feed it, like the other stages.

Time: silence is judged on the platform's clock ``at_s`` (live: the wall clock; in an
evaluation: the simulated time a reading reached the platform), never on a device's.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from stadswacht.detect.infra import DeviceInfo, Finding, InfraConfig, InfraDetector
from stadswacht.errors import NotFound
from stadswacht.model import Detection, Device, DeviceKind, Position
from stadswacht.model.geo import LocalFrame
from stadswacht.model.reading import epoch_seconds, format_epoch

__all__ = ["InfraStage", "recorded_stream", "summary"]

log = logging.getLogger(__name__)

_TIME_KEYS = ("last_heard", "first", "last", "repeats_from")

_WHAT_EN = {
    "silent": ("silent", "stil"),
    "stuck": ("values stuck", "waarden bevroren"),
    "clock_drift": ("clock off", "klok wijkt af"),
    "tdoa_clock": ("arrival times biased (clock)", "aankomsttijden scheef (klok)"),
    "out_of_range": ("values out of physical range", "waarden buiten fysisch bereik"),
    "neighbour_mismatch": ("inconsistent with its neighbours", "strijdig met buren"),
    "injected": ("readings look injected", "metingen lijken ingevoegd"),
    "replayed": ("readings look replayed", "metingen lijken herhaald"),
    "signature_failures": ("forged readings (bad signatures)", "vervalste metingen"),
    "probing": ("unknown devices probed", "onbekende apparaten geprobeerd"),
    "outage": ("outage", "uitval"),
}
_TYPE = {
    "sensor_failure": ("sensor failure", "sensorstoring"),
    "power_cut": ("power cut", "stroomstoring"),
    "network_outage": ("network outage", "netwerkstoring"),
    "flood_outage": ("outage by flooding", "uitval door overstroming"),
    "cyber_attack": ("suspected attack", "vermoedelijke aanval"),
}


def summary(finding: Finding) -> tuple[str, str]:
    """One line for an operator, in English and in Dutch.

    >>> f = Finding("x", "power_cut", "outage", ["a", "b"], 0.0, 0.0, False, 0.9)
    >>> summary(f)
    ('power cut: outage, 2 devices', 'stroomstoring: uitval, 2 apparaten')
    """
    what_en, what_nl = _WHAT_EN.get(finding.check, (finding.check, finding.check))
    type_en, type_nl = _TYPE.get(finding.type, (finding.type, finding.type))
    n = len(finding.devices)
    if n == 1:
        who_en = who_nl = finding.devices[0]
    else:
        who_en, who_nl = f"{n} devices", f"{n} apparaten"
    en, nl = f"{type_en}: {what_en}, {who_en}", f"{type_nl}: {what_nl}, {who_nl}"
    if finding.quarantine:
        en, nl = en + " (quarantined)", nl + " (in quarantaine)"
    if finding.ended_s is not None:
        en, nl = en + "; over", nl + "; voorbij"
    return en, nl


@dataclass
class InfraStage:
    """One infrastructure detector for every device the platform knows.

    Args:
        device: looks up a registered device by id (raises ``NotFound``).
        devices: lists the registered devices (to learn which gateway serves which device);
            None: no gateways known.
        config: the detector's settings.
        agency: owner of a finding that names no device (a probe of unknown ids).
        clock: wall clock [s], only to measure processing time (added to ``detected_at``).
    """

    device: Callable[[str], Device]
    devices: Callable[[], list[Device]] | None = None
    config: InfraConfig | None = None
    agency: str = "platform"
    clock: Callable[[], float] = time.perf_counter
    detector: InfraDetector = field(init=False)
    frame: LocalFrame | None = field(default=None, init=False)
    _known: dict[str, Device] = field(default_factory=dict, init=False)
    _gateways: dict[str, str] | None = field(default=None, init=False)
    _raised: dict[str, str] = field(default_factory=dict, init=False)
    _watermark: float = field(default=float("-inf"), init=False)

    def __post_init__(self) -> None:
        self.detector = InfraDetector(self._info, self.config)

    @property
    def watermark(self) -> float:
        """The newest event time seen [s since the Unix epoch]."""
        return self._watermark

    def handle(self, reading: Mapping[str, Any], at_s: float | None = None) -> list[Detection]:
        """Feed one accepted reading (any kind); return the detections new or changed.

        A recorded stream may carry a rejection wrapped as ``{"rejection": {...}}`` (see
        :func:`recorded_stream`): it goes to :meth:`handle_rejection`."""
        wrapped = reading.get("rejection")
        if isinstance(wrapped, Mapping) and "kind" not in reading:
            return self.handle_rejection(wrapped, at_s)
        started = self.clock()
        try:
            t = epoch_seconds(str(reading["time"]))
            device, kind = str(reading["device"]), str(reading["kind"])
            seq = int(reading.get("seq", 0))
            values = reading.get("values") or {}
        except (KeyError, ValueError, TypeError):
            log.warning("reading without device, kind or time ignored")
            return []
        at = self._at(reading, at_s, t)
        self._watermark = max(self._watermark, min(t, at))
        found = self.detector.reading(device, seq, kind, t, values, at)
        found += self.detector.advance(at)
        return self._detections(found, started)

    def handle_rejection(
        self, rejection: Mapping[str, Any], at_s: float | None = None
    ) -> list[Detection]:
        """Feed one reading ingest refused (``{"device", "seq", "reason", "message",
        "transport", "source", "received_us"}``, and ``original_age_s`` for a duplicate)."""
        started = self.clock()
        at = self._at(rejection, at_s, self._watermark)
        return self._detections(self.detector.rejection(rejection, at), started)

    def handle_localisation(
        self, residuals: Mapping[str, float], time_s: float, at_s: float | None = None
    ) -> list[Detection]:
        """Feed the arrival residuals [s] per acoustic sensor of one gunshot localisation
        (emitted at ``time_s``)."""
        started = self.clock()
        at = time_s if at_s is None else at_s
        return self._detections(self.detector.localisation(residuals, time_s, at), started)

    def advance(self, now_s: float, at_s: float | None = None) -> list[Detection]:
        """Move time on: ``at_s`` the platform's clock (default ``now_s``); devices overdue on
        their own rhythm become silent."""
        self._watermark = max(self._watermark, now_s)
        started = self.clock()
        return self._detections(self.detector.advance(now_s if at_s is None else at_s), started)

    def quarantined(self) -> set[str]:
        """Devices whose readings detectors should not use until a person clears them."""
        return self.detector.quarantined()

    def clear(self, device_id: str, at_s: float) -> list[Detection]:
        """A person cleared ``device_id``: its quarantining detections end."""
        return self._detections(self.detector.clear(device_id, at_s), self.clock())

    # --- internals ------------------------------------------------------------------------
    @staticmethod
    def _at(item: Mapping[str, Any], at_s: float | None, fallback: float) -> float:
        if at_s is not None:
            return at_s
        received = item.get("received_us")
        if isinstance(received, int | float):
            return float(received) / 1e6
        return fallback

    def _lookup(self, device_id: str) -> Device | None:
        known = self._known.get(device_id)
        if known is not None:
            return known
        try:
            dev = self.device(device_id)
        except NotFound:
            return None
        self._known[device_id] = dev
        return dev

    def _info(self, device_id: str) -> DeviceInfo | None:
        dev = self._lookup(device_id)
        if dev is None:
            return None
        if self.frame is None:
            self.frame = LocalFrame(dev.position.lon, dev.position.lat)
        x, y = self.frame.to_xy(dev.position.lon, dev.position.lat)
        if self._gateways is None:
            self._gateways = {}
            for g in self.devices() if self.devices is not None else []:
                if g.kind is DeviceKind.GATEWAY:
                    for served in g.gateway_for:
                        self._gateways[served] = g.id
        return DeviceInfo(dev.id, str(dev.kind), x, y, dev.area, self._gateways.get(dev.id))

    def _detections(self, found: list[Finding], started: float) -> list[Detection]:
        if not found:
            return []
        spent = self.clock() - started
        latest: dict[str, Finding] = {}
        for f in found:
            latest[f.id] = f
        return [self._detection(f, spent) for f in latest.values()]

    def _detection(self, f: Finding, spent: float) -> Detection:
        devs = [d for d in (self._lookup(i) for i in f.devices) if d is not None]
        agencies = Counter(d.agency for d in devs)
        areas = Counter(d.area for d in devs if d.area is not None)
        position = None
        if devs:
            position = Position(
                lat=sum(d.position.lat for d in devs) / len(devs),
                lon=sum(d.position.lon for d in devs) / len(devs),
            )
        detected_at = self._raised.setdefault(f.id, format_epoch(f.raised_s + spent))
        en, nl = summary(f)
        details: dict[str, Any] = {
            k: (format_epoch(v) if k in _TIME_KEYS and isinstance(v, float) else v)
            for k, v in f.details.items()
        }
        details.update(
            {
                "type": f.type,
                "check": f.check,
                # An ended finding asks for no (new) quarantine; one already applied stays
                # until a person clears the device.
                "quarantine": f.quarantine and f.ended_s is None,
                "ended": format_epoch(f.ended_s) if f.ended_s is not None else None,
                "summary_en": en,
                "summary_nl": nl,
            }
        )
        if len(f.devices) == 1:
            details["device"] = f.devices[0]
        else:
            details["devices"] = list(f.devices)
        return Detection(
            id=f.id,
            kind="infra",
            detector="infra",
            agency=agencies.most_common(1)[0][0] if agencies else self.agency,
            area=areas.most_common(1)[0][0] if areas else None,
            time=format_epoch(f.time_s),
            detected_at=detected_at,
            updated_at=format_epoch(f.updated_s + spent),
            version=f.version,
            position=position,
            probability=round(min(max(f.probability, 0.0), 1.0), 4),
            evidence=list(f.evidence),
            sensors=list(f.devices),
            details=details,
        )


def recorded_stream(
    readings: Iterable[tuple[float, Mapping[str, Any]]],
    rejections: Iterable[tuple[float, Mapping[str, Any]]],
) -> list[tuple[float, Mapping[str, Any]]]:
    """Readings and rejections, each ``(received_s, item)``, as one stream in receive order
    for :func:`~stadswacht.pipeline.offline.detect_recorded`; rejections are wrapped as
    ``{"rejection": item}`` so :meth:`InfraStage.handle` tells them apart.

    >>> [item for _, item in recorded_stream([(2.0, {"kind": "power"})],
    ...                                      [(1.0, {"reason": "replay"})])]
    [{'rejection': {'reason': 'replay'}}, {'kind': 'power'}]
    """
    out: list[tuple[float, Mapping[str, Any]]] = list(readings)
    out += [(at, {"rejection": dict(r)}) for at, r in rejections]
    out.sort(key=lambda pair: pair[0])
    return out
