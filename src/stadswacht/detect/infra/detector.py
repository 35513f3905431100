"""The infrastructure detector: every health check on every device, outages inferred from
many devices at once, attacks from ingest's refusals; one :class:`Finding` per problem.

Feed it readings (:meth:`InfraDetector.reading`), ingest's rejections
(:meth:`InfraDetector.rejection`), acoustic localisation residuals
(:meth:`InfraDetector.localisation`) and the passing of time (:meth:`InfraDetector.advance`),
all stamped with the platform's clock ``at_s``; it returns the findings that are new or changed.
Silence is judged on the platform's clock, never on a device's (which may be the thing that is
wrong).

Outages: a device overdue on its own rhythm first looks for an open outage it belongs to (same
area as a member, or within ``cluster_radius_m`` of one, gone quiet around the outage's start);
else, with ``min_cluster - 1`` other devices near it that went quiet within
``cluster_window_s``, it opens one, taking their silent-device findings into it (updated as
``superseded_by``); else it is one silent device. A power monitor reporting power off opens or
joins an outage at once. An outage is told apart by what else is seen (:func:`classify_outage`).

>>> det = InfraDetector(device=lambda i: DeviceInfo(i, "people_counter", 0.0, 0.0, "zone"))
>>> for k in range(10):
...     _ = det.reading("c1", k, "heartbeat", 60.0 * k, {}, 60.0 * k)
>>> [(f.type, f.check, f.devices) for f in det.advance(540.0 + 121.0)]
[('sensor_failure', 'silent', ['c1'])]
"""

from __future__ import annotations

import bisect
import math
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from stadswacht.detect.infra.attack import Burst, RejectionWatch
from stadswacht.detect.infra.base import DeviceInfo, Finding, distance_m
from stadswacht.detect.infra.clock import ClockWatch, tdoa_clock_bias
from stadswacht.detect.infra.health import (
    MessageRate,
    PatternRepeat,
    Rhythm,
    StuckRun,
    out_of_range,
    rate_of_change,
    signature,
)

__all__ = ["InfraConfig", "InfraDetector", "classify_outage"]

_STUCK_KINDS = ("people_count", "water_level", "temperature", "rain", "wind", "power")
_PATTERN_KINDS = ("water_level", "temperature", "wind", "power", "people_count")
_CONSTANT_KEYS = {"interval_s", "line", "on"}
HAZARD_KINDS = frozenset({"water_level", "rain"})
"""Reading kinds that warn the public: a sudden change flags them but does not quarantine them
(see :meth:`InfraDetector.reading`)."""

_RATE: dict[str, dict[str, Any]] = {"acoustic_impulse": {"min_count": 600}}
"""Message-rate limits of event-driven kinds, not tied to the device's rhythm: automatic fire
or fireworks give bursts of impulses, but not over 10 a second for a minute."""


@dataclass(frozen=True)
class InfraConfig:
    """The detector's settings.

    Args:
        silent_factor: a device is silent this many of its own intervals after its last
            message.
        min_cluster: silent devices that make an outage.
        cluster_radius_m: devices this close (or in one area) belong to one outage [m].
        cluster_window_s: devices that went quiet this close in time belong to one outage [s].
        flood_radius_m: a water gauge this close to an outage's devices tells of a flood [m].
        flood_level_cm_nap: a level at or above this at such a gauge is a flood [cm NAP].
        flood_rise_cm: or a rise of this much over the last hour [cm].
        stuck_log10_alpha: a run of identical values less probable than 10^-this is stuck.
        mismatch_z: a people counter this many robust deviations above its own normal while
            its neighbours are within ``calm_z`` of theirs reports a crowd nobody sees.
        gauge_mismatch_cm: a water gauge this far (and 8 MADs) from what its two nearest
            gauges say, beyond its usual difference from them [cm].
        confirm: consecutive readings before a neighbour mismatch is reported.
    """

    silent_factor: float = 2.0
    min_cluster: int = 3
    cluster_radius_m: float = 750.0
    cluster_window_s: float = 600.0
    flood_radius_m: float = 1000.0
    flood_level_cm_nap: float = 200.0
    flood_rise_cm: float = 60.0
    stuck_log10_alpha: float = 9.0
    mismatch_z: float = 10.0
    calm_z: float = 2.0
    gauge_mismatch_cm: float = 30.0
    confirm: int = 3
    min_history: int = 60


def classify_outage(
    *, power: bool, flood: bool, gateway: str | None, attack: bool
) -> tuple[str, float]:
    """An outage's type and its probability from what else is seen.

    A flood (a gauge high or rising nearby) explains power and network loss too; power
    monitors off or silent say power cut; all devices behind one gateway say its network;
    a burst of forged or replayed messages at the same time says attack. With none of these
    the network is the likeliest cause, at a lower probability.

    >>> classify_outage(power=True, flood=False, gateway=None, attack=True)
    ('power_cut', 0.9)
    >>> classify_outage(power=False, flood=False, gateway=None, attack=False)
    ('network_outage', 0.5)
    """
    if flood:
        return "flood_outage", 0.8
    if power:
        return "power_cut", 0.9
    if gateway is not None:
        return "network_outage", 0.85
    if attack:
        return "cyber_attack", 0.7
    return "network_outage", 0.5


@dataclass
class _Dev:
    info: DeviceInfo
    rhythm: Rhythm = field(default_factory=Rhythm)
    rates: dict[str, MessageRate] = field(default_factory=dict)
    clock: ClockWatch = field(default_factory=ClockWatch)
    stuck: dict[str, StuckRun] = field(default_factory=dict)
    patterns: dict[str, PatternRepeat] = field(default_factory=dict)
    last: dict[str, tuple[float, Mapping[str, Any], int]] = field(default_factory=dict)
    levels: deque[float] = field(default_factory=lambda: deque(maxlen=1440))
    level_now: tuple[float, float] | None = None
    residuals: deque[float] = field(default_factory=lambda: deque(maxlen=1440))
    gauge_hist: deque[tuple[float, float]] = field(default_factory=lambda: deque(maxlen=240))
    streak: dict[str, int] = field(default_factory=dict)
    open: dict[str, Finding] = field(default_factory=dict)
    silent: bool = False
    silent_since: float | None = None
    outage: str | None = None
    power_off: bool = False
    mode: str | None = None
    gauge_dev: float = 0.0
    z_now: float | None = None
    cum: deque[tuple[float, float]] = field(default_factory=lambda: deque(maxlen=1440))
    persons_sum: float = 0.0
    persons_n: int = 0
    baseline: tuple[float, float] | None = None
    baseline_age: int = 0


@dataclass
class _Outage:
    finding: Finding
    members: set[str]
    areas: set[str]
    power: set[str]
    start_s: float


class InfraDetector:
    """Sensor health, outages and attacks over every device of a platform.

    Args:
        device: the facts about a device by id (None: unknown, its readings are ignored).
        config: the detector's settings.
    """

    def __init__(
        self, device: Callable[[str], DeviceInfo | None], config: InfraConfig | None = None
    ) -> None:
        self.device = device
        self.config = config or InfraConfig()
        self.rejections = RejectionWatch()
        self._devs: dict[str, _Dev] = {}
        self._outages: dict[str, _Outage] = {}
        self._attacks: dict[str, Finding] = {}
        self._fixes: deque[tuple[float, Mapping[str, float]]] = deque(maxlen=200)
        self._next_due = math.inf

    # --- public ---------------------------------------------------------------------------
    def quarantined(self) -> set[str]:
        """Devices under suspicion: their readings are kept but detectors should not use them."""
        out: set[str] = set()
        for d in self._devs.values():
            if any(f.quarantine for f in d.open.values()):
                out.add(d.info.id)
        for f in self._attacks.values():
            if f.quarantine and f.ended_s is None:
                out.update(set(f.devices) - set(f.details.get("cleared_devices") or {}))
        return out

    def clear(self, device_id: str, at_s: float) -> list[Finding]:
        """A person cleared ``device_id``: end its quarantining findings; return them.

        An attack on several devices (perhaps of several agencies) ends when every one of them
        is cleared; until then ``details["cleared_devices"]`` says which are, and when [s]."""
        out: list[Finding] = []
        dev = self._devs.get(device_id)
        if dev is not None:
            for check, f in list(dev.open.items()):
                if f.quarantine:
                    f.ended_s = at_s
                    f.details["cleared"] = True
                    out.append(f.touch(at_s))
                    del dev.open[check]
        for f in self._attacks.values():
            cleared: dict[str, float] = dict(f.details.get("cleared_devices") or {})
            if f.ended_s is None and device_id in f.devices and device_id not in cleared:
                cleared[device_id] = at_s
                f.details["cleared_devices"] = cleared
                if set(f.devices) <= set(cleared):
                    f.ended_s = at_s
                    f.details["cleared"] = True
                out.append(f.touch(at_s))
        return out

    def reading(
        self,
        device_id: str,
        seq: int,
        kind: str,
        time_s: float,
        values: Mapping[str, Any],
        at_s: float,
    ) -> list[Finding]:
        """One accepted reading, stamped ``time_s`` by its device, received at ``at_s``."""
        dev = self._dev(device_id)
        if dev is None:
            return []
        out: list[Finding] = []
        ref = f"{device_id}:{seq}"
        interval = dev.rhythm.interval_s()
        dev.rhythm.heard(at_s)
        if dev.silent:
            out += self._resumed(dev, at_s)
        self._schedule(dev)
        rate = dev.rates.setdefault(kind, MessageRate(**_RATE.get(kind, {})))
        count = rate.add(time_s, None if kind in _RATE else interval)
        if count is not None:
            out += self._raise(dev, "injected", "cyber_attack", time_s, at_s, True, 0.7, ref,
                               {"reason": "message_rate", "messages_per_min": count})  # fmt: skip
        fault = dev.clock.add(time_s, at_s)
        if fault is not None:
            quarantine = dev.info.kind == "acoustic"
            out += self._raise(dev, "clock_drift", "sensor_failure", fault.onset_s, at_s,
                               quarantine, 0.8, ref,
                               {"fault": fault.kind, "offset_s": round(fault.offset_s, 3),
                                "drift_s_per_h": round(fault.rate_s_per_h, 2)})  # fmt: skip
        bad = out_of_range(kind, values)
        if bad:
            out += self._raise(dev, "out_of_range", "sensor_failure", time_s, at_s, True, 0.9,
                               ref, {"values": bad, "reading_kind": kind})  # fmt: skip
        prev = dev.last.get(kind)
        if prev is not None:
            jump = rate_of_change(kind, prev[1], values, time_s - prev[0])
            if jump is not None:
                # A hazard gauge is never silenced on its own evidence alone: a jump may be the
                # event itself (a breach, a cloudburst). It is flagged for a person; its
                # neighbours (neighbour_mismatch) can still quarantine it.
                keep = kind in HAZARD_KINDS
                out += self._raise(dev, "injected", "cyber_attack", time_s, at_s, not keep, 0.6,
                                   ref, {"reason": "rate_of_change",
                                         "change_per_min": round(jump, 2),
                                         "kept_in_use": keep})  # fmt: skip
        dev.last[kind] = (time_s, values, seq)
        sig = signature(values)
        if kind in _PATTERN_KINDS:
            pattern = dev.patterns.setdefault(kind, PatternRepeat())
            first = pattern.add(sig, time_s)
            if first is not None:
                out += self._raise(dev, "replayed", "cyber_attack", time_s, at_s, True, 0.7,
                                   ref, {"reason": "repeated_pattern",
                                         "repeats_from": first})  # fmt: skip
        if kind in _STUCK_KINDS:
            out += self._stuck(dev, kind, sig, values, time_s, at_s, ref)
        if kind == "power":
            out += self._power(dev, bool(values.get("on", True)), time_s, at_s, ref)
        if kind == "people_count":
            out += self._counter(dev, values, time_s, at_s, ref)
        if kind == "water_level" and isinstance(values.get("level_cm_nap"), int | float):
            out += self._gauge(dev, float(values["level_cm_nap"]), time_s, at_s, ref)
        return out

    def rejection(self, rejection: Mapping[str, Any], at_s: float) -> list[Finding]:
        """One reading ingest refused (see :mod:`stadswacht.detect.infra.attack`)."""
        device = rejection.get("device")
        dev = self._devs.get(device) if isinstance(device, str) else None
        suspicious = dev is not None and (dev.silent or dev.outage is not None)
        burst = self.rejections.add(rejection, at_s, suspicious=suspicious)
        if burst is None:
            return []
        out = [self._attack(burst, at_s)]
        for o in self._outages.values():
            if o.finding.ended_s is None and self._near_outage(o, burst.devices):
                out += self._reclassify(o, at_s)
        return out

    def localisation(
        self, residuals: Mapping[str, float], time_s: float, at_s: float
    ) -> list[Finding]:
        """The arrival residuals [s] per acoustic sensor of one gunshot localisation."""
        self._fixes.append((time_s, dict(residuals)))
        out: list[Finding] = []
        biased = tdoa_clock_bias([r for _, r in self._fixes], times_s=[t for t, _ in self._fixes])
        for b in biased:
            dev = self._dev(b.sensor)
            if dev is None or "tdoa_clock" in dev.open:
                continue
            details = {"bias_s": round(b.bias_s, 6), "localisations": b.n, "z": round(b.z, 1)}
            if b.trend_s_per_h is not None:
                details["drift_s_per_h"] = round(b.trend_s_per_h, 6)
            out += self._raise(dev, "tdoa_clock", "sensor_failure", time_s, at_s, True, 0.8,
                               b.sensor, details)  # fmt: skip
        return out

    def advance(self, at_s: float) -> list[Finding]:
        """The platform's clock reached ``at_s``: devices overdue become silent."""
        if at_s < self._next_due:
            return []
        out: list[Finding] = []
        due = math.inf
        overdue: list[tuple[_Dev, float]] = []
        for dev in self._devs.values():
            if dev.silent:
                continue
            deadline = dev.rhythm.deadline_s()
            if deadline is None:
                continue
            if deadline <= at_s:
                overdue.append((dev, deadline))
            else:
                due = min(due, deadline)
        self._next_due = due
        for dev, _ in sorted(overdue, key=lambda x: x[1]):
            out += self._went_silent(dev, at_s)
        return out

    # --- devices --------------------------------------------------------------------------
    def _dev(self, device_id: str) -> _Dev | None:
        dev = self._devs.get(device_id)
        if dev is None:
            info = self.device(device_id)
            if info is None:
                return None
            dev = self._devs[device_id] = _Dev(info)
        return dev

    def _schedule(self, dev: _Dev) -> None:
        deadline = dev.rhythm.deadline_s()
        if deadline is not None:
            self._next_due = min(self._next_due, deadline)

    def _raise(
        self,
        dev: _Dev,
        check: str,
        type_: str,
        time_s: float,
        at_s: float,
        quarantine: bool,
        probability: float,
        ref: str,
        details: dict[str, Any],
        key: str | None = None,
    ) -> list[Finding]:
        key = key or check
        open_ = dev.open.get(key)
        if open_ is not None:
            if len(open_.evidence) < 50:
                open_.evidence.append(ref)
            return []
        f = Finding(
            id=f"infra-{key.replace(':', '-')}-{dev.info.id}-{int(time_s)}",
            type=type_,
            check=check,
            devices=[dev.info.id],
            time_s=time_s,
            raised_s=at_s,
            updated_s=at_s,
            quarantine=quarantine,
            probability=probability,
            evidence=[ref],
            details=details,
        )
        dev.open[key] = f
        return [f]

    def _end(self, dev: _Dev, check: str, at_s: float) -> list[Finding]:
        f = dev.open.pop(check, None)
        if f is None:
            return []
        f.ended_s = at_s
        return [f.touch(at_s)]

    # --- silence and outages --------------------------------------------------------------
    def _went_silent(self, dev: _Dev, at_s: float) -> list[Finding]:
        dev.silent = True
        interval = dev.rhythm.interval_s() or 0.0
        last = dev.rhythm.last_s or at_s
        dev.silent_since = last
        for o in self._outages.values():
            if o.finding.ended_s is None and self._joins(o, dev, last, interval):
                return self._join(o, dev, at_s)
        cfg = self.config
        near = [
            d
            for d in self._devs.values()
            if d is not dev
            and d.outage is None
            and (d.silent or d.power_off)
            and d.silent_since is not None
            and abs(d.silent_since - last) <= cfg.cluster_window_s
            and self._near(d.info, dev.info)
        ]
        if len(near) + 1 >= cfg.min_cluster:
            return self._open_outage(
                [*near, dev], min(last, *(d.silent_since or last for d in near)), at_s
            )
        details = {"last_heard": last, "interval_s": round(interval, 3),
                   "overdue_after_s": round(cfg.silent_factor * interval, 3)}  # fmt: skip
        return self._raise(dev, "silent", "sensor_failure", last + interval, at_s, False, 0.9,
                           dev.info.id, details)  # fmt: skip

    def _resumed(self, dev: _Dev, at_s: float) -> list[Finding]:
        dev.silent = False
        dev.silent_since = None
        out = self._end(dev, "silent", at_s)
        if dev.outage is not None:
            out += self._maybe_end_outage(self._outages[dev.outage], at_s)
        return out

    def _near(self, a: DeviceInfo, b: DeviceInfo) -> bool:
        if a.area is not None and a.area == b.area:
            return True
        return distance_m(a, b) <= self.config.cluster_radius_m

    def _joins(self, o: _Outage, dev: _Dev, last: float, interval: float) -> bool:
        slack = max(self.config.silent_factor * interval, self.config.cluster_window_s)
        if last < o.start_s - slack:
            return False
        if dev.info.area is not None and dev.info.area in o.areas:
            return True
        return any(
            distance_m(self._devs[m].info, dev.info) <= self.config.cluster_radius_m
            for m in o.members
        )

    def _near_outage(self, o: _Outage, devices: Iterable[str]) -> bool:
        for d in devices:
            dev = self._devs.get(d)
            if d in o.members or (dev is not None and dev.info.area in o.areas):
                return True
        return False

    def _open_outage(self, devs: list[_Dev], start_s: float, at_s: float) -> list[Finding]:
        f = Finding(
            id=f"infra-outage-{devs[0].info.area or devs[0].info.id}-{int(start_s)}",
            type="network_outage",
            check="outage",
            devices=[],
            time_s=start_s,
            raised_s=at_s,
            updated_s=at_s,
            quarantine=False,
            probability=0.5,
            group=True,
        )
        o = _Outage(f, set(), set(), set(), start_s)
        self._outages[f.id] = o
        out: list[Finding] = []
        for dev in devs:
            out += self._absorb(o, dev, at_s)
        self._describe(o, at_s)
        return [*out, f]

    def _absorb(self, o: _Outage, dev: _Dev, at_s: float) -> list[Finding]:
        o.members.add(dev.info.id)
        if dev.info.area is not None:
            o.areas.add(dev.info.area)
        if dev.info.kind == "power_monitor":
            o.power.add(dev.info.id)
        dev.outage = o.finding.id
        own = dev.open.pop("silent", None)
        if own is None:
            return []
        own.ended_s = at_s
        own.details["superseded_by"] = o.finding.id
        return [own.touch(at_s)]

    def _join(self, o: _Outage, dev: _Dev, at_s: float) -> list[Finding]:
        out = self._absorb(o, dev, at_s)
        self._describe(o, at_s)
        return [*out, o.finding.touch(at_s)]

    def _reclassify(self, o: _Outage, at_s: float) -> list[Finding]:
        before = o.finding.type
        self._describe(o, at_s)
        return [o.finding.touch(at_s)] if o.finding.type != before else []

    def _describe(self, o: _Outage, at_s: float) -> None:
        members = [self._devs[m] for m in sorted(o.members)]
        flood = self._flood_evidence(members, at_s)
        gateways = {d.info.gateway for d in members}
        gateway = next(iter(gateways)) if len(gateways) == 1 else None
        attack = [
            f.id
            for f in self._attacks.values()
            if abs(f.time_s - o.start_s) <= self.config.cluster_window_s
            and self._near_outage(o, f.devices)
        ]
        type_, p = classify_outage(
            power=bool(o.power), flood=bool(flood), gateway=gateway, attack=bool(attack)
        )
        f = o.finding
        f.type, f.probability = type_, p
        f.devices = sorted(o.members)
        f.evidence = [d.info.id for d in members]
        f.details.update(
            {
                "silent": sorted(d.info.id for d in members if d.silent),
                "power_off": sorted(d.info.id for d in members if d.power_off),
                "areas": sorted(o.areas),
                "gateway": gateway,
                "flood_gauges": flood,
                "attacks": attack,
            }
        )

    def _maybe_end_outage(self, o: _Outage, at_s: float) -> list[Finding]:
        if o.finding.ended_s is not None:
            return []
        out_now = [m for m in o.members if self._devs[m].silent or self._devs[m].power_off]
        powered = not any(self._devs[m].power_off for m in o.power)
        if powered and len(out_now) * 2 <= len(o.members):
            o.finding.ended_s = at_s
            for m in o.members:
                self._devs[m].outage = None
            self._describe(o, at_s)
            return [o.finding.touch(at_s)]
        return []

    def _power(self, dev: _Dev, on: bool, time_s: float, at_s: float, ref: str) -> list[Finding]:
        if on:
            if dev.power_off:
                dev.power_off = False
                dev.silent_since = None if not dev.silent else dev.silent_since
                if dev.outage is not None:
                    return self._maybe_end_outage(self._outages[dev.outage], at_s)
            return []
        if dev.power_off:
            return []
        dev.power_off = True
        dev.silent_since = time_s
        for o in self._outages.values():
            if o.finding.ended_s is None and self._joins(o, dev, time_s, 0.0):
                return self._join(o, dev, at_s)
        near = [
            d
            for d in self._devs.values()
            if d is not dev
            and d.outage is None
            and (d.silent or d.power_off)
            and d.silent_since is not None
            and abs(d.silent_since - time_s) <= self.config.cluster_window_s
            and self._near(d.info, dev.info)
        ]
        return self._open_outage([dev, *near], time_s, at_s)

    def _flood_evidence(self, members: list[_Dev], at_s: float) -> list[str]:
        cfg = self.config
        out: list[str] = []
        for g in self._devs.values():
            if g.level_now is None or not members:
                continue
            if min(distance_m(g.info, m.info) for m in members) > cfg.flood_radius_m:
                continue
            t, level = g.level_now
            hour_ago = [v for s, v in g.gauge_hist if t - 3600.0 <= s <= t - 3000.0]
            rise = level - min(hour_ago) if hour_ago else 0.0
            if level >= cfg.flood_level_cm_nap or rise >= cfg.flood_rise_cm:
                out.append(g.info.id)
        return out

    # --- attacks --------------------------------------------------------------------------
    def _attack(self, burst: Burst, at_s: float) -> Finding:
        f = self._attacks.get(burst.id)
        details = {
            "reasons": dict(burst.reasons),
            "rejections": burst.count,
            "sources": sorted(burst.sources),
            "first": burst.first_s,
            "last": burst.last_s,
        }
        if f is None:
            f = Finding(
                id=f"infra-attack-{burst.id}",
                type="cyber_attack",
                check=burst.check,
                devices=sorted(burst.devices),
                time_s=burst.first_s,
                raised_s=at_s,
                updated_s=at_s,
                quarantine=bool(burst.devices),
                probability=0.8 if burst.count >= 3 else 0.6,
                evidence=list(burst.evidence[:50]),
                details=details,
                group=True,
            )
            self._attacks[burst.id] = f
            return f
        f.devices = sorted(burst.devices)
        f.quarantine = bool(burst.devices)
        f.evidence = list(burst.evidence[:50])
        f.probability = 0.8 if burst.count >= 3 else 0.6
        f.details.update(details)
        return f.touch(at_s)

    # --- values ---------------------------------------------------------------------------
    def _stuck(
        self,
        dev: _Dev,
        kind: str,
        sig: str,
        values: Mapping[str, Any],
        time_s: float,
        at_s: float,
        ref: str,
    ) -> list[Finding]:
        numbers = {
            k: v
            for k, v in values.items()
            if k not in _CONSTANT_KEYS and isinstance(v, int | float) and not isinstance(v, bool)
        }
        if not numbers:
            return []  # nothing that should vary (a bare on/off)
        zero = all(v == 0 for v in numbers.values())
        run = dev.stuck.setdefault(kind, StuckRun(log10_alpha=self.config.stuck_log10_alpha))
        was = run.value
        run.add(sig, time_s)
        check = f"stuck:{kind}"
        lp: float | None
        if run.value != was and check in dev.open:
            return self._end(dev, check, at_s)
        if check in dev.open:
            dev.open[check].details["readings"] = run.run
            return []
        if zero:
            # Nothing at all is plausible (a quiet night, a dry day): judged not on the
            # device's history but on what its peers counted meanwhile.
            if kind != "people_count" or dev.mode != "line" or run.run < run.min_run:
                return []
            expected = self._expected_persons(dev, run.run_start_s)
            lp = -expected / math.log(10)  # Poisson: P(0 | expected)
            if lp >= -self.config.stuck_log10_alpha:
                return []
        elif not run.stuck():
            return []
        else:
            lp = run.log10_p()
        return self._raise(dev, "stuck", "sensor_failure", run.run_start_s, at_s, True, 0.9, ref,
                           {"values": dict(values), "readings": run.run,
                            "log10_probability": round(lp or 0.0, 2), "reading_kind": kind},
                           key=check)  # fmt: skip

    def _peers(self, dev: _Dev, mode: str) -> list[_Dev]:
        """Counters that count the same crowd the same way: the same mode (line or
        occupancy) in the same area; for a counter without an area, those within 300 m."""
        peers = [d for d in self._devs.values() if d is not dev and d.mode == mode]
        if dev.info.area is not None:
            return [d for d in peers if d.info.area == dev.info.area]
        return [d for d in peers if distance_m(d.info, dev.info) <= 300.0]

    def _expected_persons(self, dev: _Dev, since_s: float) -> float:
        """People ``dev`` should have counted since ``since_s``: what its line-counting peers
        counted, scaled by its share of their usual counts."""
        if dev.persons_n < self.config.min_history or dev.persons_sum <= 0:
            return 0.0
        seen = usual = 0.0
        for p in self._peers(dev, "line"):
            if p.persons_n < self.config.min_history or not p.cum:
                continue
            times = [t for t, _ in p.cum]
            i = bisect.bisect_left(times, since_s)
            before = p.cum[i - 1][1] if i > 0 else p.cum[0][1] - 0.0
            seen += p.cum[-1][1] - before
            usual += p.persons_sum / p.persons_n
        if usual <= 0:
            return 0.0
        return seen * (dev.persons_sum / dev.persons_n) / usual

    @staticmethod
    def _baseline(dev: _Dev, history: deque[float], poisson: bool) -> tuple[float, float]:
        """The median and robust scale of ``history``, recomputed every 30 values (a median
        over a day of values per reading would dominate the detector's time)."""
        if dev.baseline is None or dev.baseline_age >= 30:
            h = np.fromiter(history, float)
            med = float(np.median(h))
            mad = 1.4826 * float(np.median(np.abs(h - med)))
            floor = math.sqrt(max(med, 0.0)) + 1.0 if poisson else 0.0
            dev.baseline, dev.baseline_age = (med, max(mad, floor)), 0
        dev.baseline_age += 1
        return dev.baseline

    def _counter(
        self, dev: _Dev, values: Mapping[str, Any], time_s: float, at_s: float, ref: str
    ) -> list[Finding]:
        mode = "occupancy" if "occupancy" in values else "line"
        dev.mode = mode
        if mode == "line":
            persons = float(values.get("in", 0)) + float(values.get("out", 0))
            dev.cum.append((time_s, (dev.cum[-1][1] if dev.cum else 0.0) + persons))
            if not any(f.quarantine for f in dev.open.values()):
                dev.persons_sum += persons
                dev.persons_n += 1
        if mode == "occupancy":
            level = float(values["occupancy"])
        elif values.get("interval_s"):
            flow = float(values.get("in", 0)) + float(values.get("out", 0))
            level = flow / float(values["interval_s"]) * 60.0
        else:
            return []
        z = None
        if len(dev.levels) >= self.config.min_history:
            med, scale = self._baseline(dev, dev.levels, poisson=True)
            z = (level - med) / scale
        dev.z_now = z
        out: list[Finding] = []
        check = "neighbour_mismatch"
        if z is not None and z >= self.config.mismatch_z:
            calm = []
            for n in self._peers(dev, mode):
                last = n.last.get("people_count")
                if (
                    last is None
                    or time_s - last[0] > 180.0
                    or len(n.levels) < self.config.min_history
                ):
                    continue
                calm.append(n.z_now is not None and n.z_now < self.config.calm_z)
            if calm and all(calm):
                dev.streak[check] = dev.streak.get(check, 0) + 1
            else:
                dev.streak[check] = 0
        else:
            dev.streak[check] = 0
            if check in dev.open:
                out += self._end(dev, check, at_s)
        if dev.streak[check] >= self.config.confirm:
            out += self._raise(dev, check, "sensor_failure", time_s, at_s, True, 0.7, ref,
                               {"z": round(z or 0.0, 1), "level_per_min": level})  # fmt: skip
        # A quarantined reading does not become the device's normal.
        if check not in dev.open:
            dev.levels.append(level)
        return out

    def _gauge(
        self, dev: _Dev, level: float, time_s: float, at_s: float, ref: str
    ) -> list[Finding]:
        dev.level_now = (time_s, level)
        dev.gauge_hist.append((time_s, level))
        nbrs = [
            d
            for d in self._devs.values()
            if d is not dev and d.level_now is not None and abs(d.level_now[0] - time_s) <= 900.0
        ]
        nbrs.sort(key=lambda d: distance_m(d.info, dev.info))
        if len(nbrs) < 2:
            return []
        residual = level - (nbrs[0].level_now[1] + nbrs[1].level_now[1]) / 2  # type: ignore[index]
        check = "neighbour_mismatch"
        out: list[Finding] = []
        if len(dev.residuals) >= 30:
            med, mad = self._baseline(dev, dev.residuals, poisson=False)
            dev.gauge_dev = abs(residual - med)
            # One wrong gauge also pulls its neighbours' residuals (by half as much): only the
            # one that is furthest off is the suspect.
            furthest = all(n.gauge_dev <= dev.gauge_dev for n in nbrs[:2])
            far = furthest and dev.gauge_dev > max(self.config.gauge_mismatch_cm, 8.0 * mad)
            dev.streak[check] = dev.streak.get(check, 0) + 1 if far else 0
            if not far and check in dev.open:
                out += self._end(dev, check, at_s)
            if dev.streak[check] >= self.config.confirm:
                out += self._raise(dev, check, "sensor_failure", time_s, at_s, True, 0.8, ref,
                                   {"residual_cm": round(residual - med, 1),
                                    "neighbours": [nbrs[0].info.id, nbrs[1].info.id]})  # fmt: skip
        if check not in dev.open:
            dev.residuals.append(residual)
        return out
