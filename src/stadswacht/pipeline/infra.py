"""The infrastructure stage: readings and ingest's rejections in, ``infra`` detections out.

It adapts readings to :class:`~stadswacht.detect.infra.InfraDetector` (device positions to a
local metric frame, RFC 3339 times to seconds, each device's gateway from the registry) and
its findings back to :class:`~stadswacht.model.Detection` of kind ``infra``, with
``details["type"]`` (``sensor_failure``, ``power_cut``, ``network_outage``, ``flood_outage``,
``cyber_attack``), ``details["check"]``, ``details["device"]`` or ``details["devices"]`` and
``details["quarantine"]``. A finding that changes (an outage growing, a silent device heard
again) keeps its id and raises its version. A finding about devices of several agencies (an
outage, an attack) is reported once per agency, each detection naming only that agency's
devices (need-to-know), under one ``details["group"]`` (see :class:`InfraStage`). No I/O
here: the live worker and the evaluator feed it, like the other stages.

Time: silence is judged on the platform's clock ``at_s`` (live: the wall clock; in an
evaluation: the simulated time a reading reached the platform), never on a device's.
"""

from __future__ import annotations

import logging
import re
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from stadswacht.detect.infra import DeviceInfo, Finding, InfraConfig, InfraDetector
from stadswacht.errors import NotFound
from stadswacht.model import Area, Detection, Device, DeviceKind, Position
from stadswacht.model.geo import LocalFrame
from stadswacht.model.reading import epoch_seconds, format_epoch

__all__ = ["InfraStage", "group_of", "recorded_stream", "summary"]

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
_DEVICE_LISTS = ("silent", "power_off", "flood_gauges")
"""Details of a group finding that list devices: each agency's detection lists its own only."""

_AGENCY = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")
_SEP = ":"
"""Between a group finding's id and the agency in the id of that agency's detection (agency
ids have no colon): ``infra-outage-bosjes-1764000000:police``."""


def group_of(detection_id: str) -> tuple[str, str | None]:
    """The group (the finding's id) and the agency of an infra detection's id; a detection of
    one device has no agency part.

    >>> group_of("infra-outage-bosjes-1764000000:police")
    ('infra-outage-bosjes-1764000000', 'police')
    >>> group_of("infra-silent-c1-1764000000")
    ('infra-silent-c1-1764000000', None)
    """
    group, sep, agency = detection_id.rpartition(_SEP)
    if not sep or not group or not _AGENCY.match(agency):
        return detection_id, None
    return group, agency


def _apparaat(n: int) -> str:
    return "apparaat" if n == 1 else "apparaten"


def _place(names: Sequence[str]) -> tuple[str, str]:
    if not names:
        return "", ""
    if len(names) == 1:
        return f" in {names[0]}", f" in {names[0]}"
    if len(names) == 2:
        return f" in {names[0]} and {names[1]}", f" in {names[0]} en {names[1]}"
    more = len(names) - 1
    return f" in {names[0]} and {more} other areas", f" in {names[0]} en {more} andere gebieden"


def _outage_summary(
    finding: Finding, devices: Sequence[str], places: Sequence[str]
) -> tuple[str, str]:
    type_en, type_nl = _TYPE.get(finding.type, (finding.type, finding.type))
    at_en, at_nl = _place(places)
    mine = set(devices)
    n = len(devices)
    if finding.ended_s is not None:
        en = f"{type_en}{at_en}: over ({n} device{'s' * (n != 1)})"
        nl = f"{type_nl}{at_nl}: voorbij ({n} {_apparaat(n)})"
    else:
        silent = len(mine & set(finding.details.get("silent") or ()))
        off = len(mine & set(finding.details.get("power_off") or ()))
        parts_en, parts_nl = [], []
        if silent:
            parts_en.append(f"{silent} silent")
            parts_nl.append(f"{silent} stil")
        if off:
            parts_en.append(f"{off} reporting no power")
            parts_nl.append(f"{off} meld{'t' if off == 1 else 'en'} geen stroom")
        if not parts_en:
            parts_en.append(f"{n} device{'s' * (n != 1)}")
            parts_nl.append(f"{n} {_apparaat(n)}")
        en = f"{type_en}{at_en}: {', '.join(parts_en)}"
        nl = f"{type_nl}{at_nl}: {', '.join(parts_nl)}"
    total = len(finding.devices)
    if total > n:
        en += f" ({total} devices of all agencies)"
        nl += f" ({total} apparaten van alle organisaties)"
    return en, nl


def summary(
    finding: Finding,
    devices: Sequence[str] | None = None,
    places: Sequence[str] = (),
) -> tuple[str, str]:
    """One line for an operator, in English and in Dutch.

    Args:
        finding: what was found.
        devices: the devices the line is about (one agency's share of a group finding);
            default all of the finding's.
        places: names of the areas they are in (an outage says where it is).

    >>> f = Finding("x", "power_cut", "outage", ["a", "b", "c"], 0.0, 0.0, False, 0.9,
    ...             details={"silent": ["a", "b"], "power_off": ["c"]})
    >>> summary(f, places=["Scheveningse Bosjes"])  # doctest: +NORMALIZE_WHITESPACE
    ('power cut in Scheveningse Bosjes: 2 silent, 1 reporting no power',
     'stroomstoring in Scheveningse Bosjes: 2 stil, 1 meldt geen stroom')
    >>> stuck = Finding("y", "sensor_failure", "stuck", ["pc-5"], 0.0, 0.0, True, 0.9,
    ...                 ended_s=60.0)
    >>> for line in summary(stuck)[0].split("; "):
    ...     print(line)
    sensor failure: values stuck, pc-5
    values normal again
    still quarantined until a person clears it
    """
    devices = list(finding.devices if devices is None else devices)
    if finding.check == "outage":
        return _outage_summary(finding, devices, places)
    what_en, what_nl = _WHAT_EN.get(finding.check, (finding.check, finding.check))
    type_en, type_nl = _TYPE.get(finding.type, (finding.type, finding.type))
    n = len(devices)
    if n == 1:
        who_en = who_nl = devices[0]
    else:
        who_en, who_nl = f"{n} devices", f"{n} apparaten"
    en, nl = f"{type_en}: {what_en}, {who_en}", f"{type_nl}: {what_nl}, {who_nl}"
    if finding.ended_s is None:
        if finding.quarantine:
            en, nl = en + " (quarantined)", nl + " (in quarantaine)"
    elif finding.details.get("cleared"):
        en, nl = en + "; cleared by a person", nl + "; vrijgegeven door een persoon"
    elif finding.quarantine:
        # Ending a check does not lift a quarantine: only a person does (POST .../clear).
        en += "; values normal again; still quarantined until a person clears it"
        nl += "; waarden weer normaal; blijft in quarantaine tot iemand het vrijgeeft"
    elif finding.details.get("superseded_by"):
        en, nl = en + "; part of an outage", nl + "; onderdeel van een uitval"
    elif finding.check == "silent":
        en, nl = en + "; heard again", nl + "; weer gehoord"
    else:
        en, nl = en + "; over", nl + "; voorbij"
    return en, nl


@dataclass
class InfraStage:
    """One infrastructure detector for every device the platform knows.

    A finding about one device becomes one detection, owned by the device's agency. A finding
    about a group of devices (an outage, an attack) becomes one detection per agency whose
    devices it concerns, each naming only that agency's devices (need-to-know: an agency sees
    findings about its own devices; a sharing agreement may share them wider), with id
    ``<group>:<agency>`` and ``details["group"]`` (and, for an outage, ``details["outage"]``)
    the finding's id, ``details["agency_devices"]`` and ``details["total_devices"]``.

    Args:
        device: looks up a registered device by id (raises ``NotFound``).
        devices: lists the registered devices (to learn which gateway serves which device);
            None: no gateways known.
        config: the detector's settings.
        agency: owner of a finding that names no device (a probe of unknown ids).
        clock: wall clock [s], only to measure processing time (added to ``detected_at``).
        areas: lists the platform's areas, for the names an outage's summary gives its place;
            None: the area ids are the names.
    """

    device: Callable[[str], Device]
    devices: Callable[[], list[Device]] | None = None
    config: InfraConfig | None = None
    agency: str = "platform"
    clock: Callable[[], float] = time.perf_counter
    areas: Callable[[], Iterable[Area]] | None = None
    detector: InfraDetector = field(init=False)
    frame: LocalFrame | None = field(default=None, init=False)
    _known: dict[str, Device] = field(default_factory=dict, init=False)
    _gateways: dict[str, str] | None = field(default=None, init=False)
    _raised: dict[str, str] = field(default_factory=dict, init=False)
    _versions: dict[str, int] = field(default_factory=dict, init=False)
    _area_names: dict[str, str] = field(default_factory=dict, init=False)
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

    def _owner(self, device_id: str) -> str:
        dev = self._lookup(device_id)
        return dev.agency if dev is not None else self.agency

    def _area_name(self, area_id: str) -> str:
        if area_id not in self._area_names and self.areas is not None:
            try:
                self._area_names = {a.id: a.name for a in self.areas()}
            except Exception:  # a name is a courtesy: the id will do
                log.exception("cannot list areas for infra summaries")
            self._area_names.setdefault(area_id, area_id)
        return self._area_names.get(area_id, area_id)

    def _detections(self, found: list[Finding], started: float) -> list[Detection]:
        if not found:
            return []
        spent = self.clock() - started
        latest: dict[str, Finding] = {}
        for f in found:
            latest[f.id] = f
        out: list[Detection] = []
        for f in latest.values():
            if not f.group:
                out.append(self._detection(f, spent, list(f.devices), None))
                continue
            shares: dict[str, list[str]] = {}
            for d in f.devices:
                shares.setdefault(self._owner(d), []).append(d)
            if not shares:  # a probe of unknown ids: no owner but the platform's
                shares[self.agency] = []
            for agency, mine in sorted(shares.items()):
                out.append(self._detection(f, spent, mine, agency))
        return out

    def _detection(
        self, f: Finding, spent: float, mine: list[str], group_agency: str | None
    ) -> Detection:
        """``f`` as a detection about ``mine``, its devices of one agency (``group_agency``
        for a group finding; None: ``f`` concerns one device, or none)."""
        devs = [d for d in (self._lookup(i) for i in mine) if d is not None]
        agencies = Counter(d.agency for d in devs)
        areas = Counter(d.area for d in devs if d.area is not None)
        position = None
        if devs:
            position = Position(
                lat=sum(d.position.lat for d in devs) / len(devs),
                lon=sum(d.position.lon for d in devs) / len(devs),
            )
        details: dict[str, Any] = {
            k: (format_epoch(v) if k in _TIME_KEYS and isinstance(v, float) else v)
            for k, v in f.details.items()
        }
        evidence = list(f.evidence)
        ended_s, quarantine, cleared = f.ended_s, f.quarantine, bool(f.details.get("cleared"))
        cleared_at: dict[str, float] = dict(details.pop("cleared_devices", None) or {})
        if mine and all(d in cleared_at for d in mine):
            # A person cleared every device of this share: it is over for this agency, though
            # the attack may go on for devices of others.
            ended_s = max(cleared_at[d] for d in mine)
            cleared = True
        if group_agency is None:
            det_id, version = f.id, f.version
            agency = agencies.most_common(1)[0][0] if agencies else self.agency
            first_raised = f.raised_s
            superseded = details.get("superseded_by")
            if isinstance(superseded, str) and mine:
                # The outage is reported per agency: point at this device's agency's share.
                details["superseded_by"] = f"{superseded}{_SEP}{self._owner(mine[0])}"
        else:
            det_id, agency = f"{f.id}{_SEP}{group_agency}", group_agency
            version = self._versions.get(det_id, 0) + 1
            self._versions[det_id] = version
            # An agency whose first device joins a group later sees it raised then.
            first_raised = f.raised_s if version == 1 and f.version == 1 else f.updated_s
            own = set(mine)
            for key in _DEVICE_LISTS:
                if isinstance(details.get(key), list):
                    details[key] = [d for d in details[key] if d in own]
            evidence = [e for e in evidence if e in own or e.rpartition(":")[0] in own]
            details["group"] = f.id
            if f.check == "outage":
                details["outage"] = f.id
            details["agency_devices"] = len(mine)
            details["total_devices"] = len(f.devices)
        detected_at = self._raised.setdefault(det_id, format_epoch(first_raised + spent))
        places = [self._area_name(a) for a, _ in areas.most_common()]
        if cleared:
            details["cleared"] = True
        share = replace(f, ended_s=ended_s, details=details)
        en, nl = summary(share, mine, places)
        details.update(
            {
                "type": f.type,
                "check": f.check,
                # An ended finding asks for no (new) quarantine; one already applied stays
                # until a person clears the device.
                "quarantine": quarantine and ended_s is None,
                "ended": format_epoch(ended_s) if ended_s is not None else None,
                "summary_en": en,
                "summary_nl": nl,
            }
        )
        if len(mine) == 1:
            details["device"] = mine[0]
        else:
            details["devices"] = list(mine)
        return Detection(
            id=det_id,
            kind="infra",
            detector="infra",
            agency=agency,
            area=areas.most_common(1)[0][0] if areas else None,
            time=format_epoch(f.time_s),
            detected_at=detected_at,
            updated_at=format_epoch(f.updated_s + spent),
            version=version,
            position=position,
            probability=round(min(max(f.probability, 0.0), 1.0), 4),
            evidence=evidence,
            sensors=list(mine),
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
