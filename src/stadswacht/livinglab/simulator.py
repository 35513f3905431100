"""The simulator: what every sensor of a scenario reports, in time order, and the ground truth.

Deterministic: the same scenario, ``start`` and ``seq_base`` give the same emissions, byte for
byte (each process draws from its own numpy ``Generator`` seeded by the scenario's seed and the
process's name, so adding an event does not change the noise of the others).

What the sensors report (units as in :mod:`stadswacht.model.reading`):

- acoustic sensors: an ``acoustic_impulse`` per impulse heard, with ``arrival_time`` (nine
  fractional digits) = emission time + r / c(T) + timing noise, where r is the distance from
  the source to the sensor's *physical* position (its registered position plus a survey error)
  and c(T) = 331.3·sqrt(1 + T/273.15) m/s at the true air temperature; ``peak_db`` by spherical
  spreading (L = L0 − 20·log10(r/1 m) − α·r, plus noise), not heard below ``threshold_db``;
  where configured the direct path is blocked and a diffracted arrival comes later and weaker.
  Plus a ``heartbeat`` every ``time.heartbeat``.
- people counters: ``in``/``out`` per interval at a gate (Poisson, rate from the pedestrian
  rhythm and the gate width, plus crowd-surge flows), or the ``occupancy`` of their zone.
- water gauges: ``level_cm_nap`` = M2 + S2 tide + surge + water-rise events + noise.
- rain gauges, weather stations: ``rain_mm`` (wet/dry spells), ``temperature_c``.
- power monitors: ``on``/``voltage_v``; during a power cut ``on: false`` (they run on a
  battery, the only sensors that keep reporting in a cut).

Failures and power cuts change the outputs (silent: nothing; stuck: the values frozen at the
failure's start, and a stuck microphone hears nothing; clock_drift: the ``time`` runs off by
``drift_s_per_h``). Cyber attacks become emissions the runner signs with the wrong key
(``forged``, ``spoofed``) or resends unchanged (``replayed``).
"""

from __future__ import annotations

import math
import zlib
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np

from stadswacht.livinglab.classify import class_probabilities
from stadswacht.livinglab.physics import (
    M2_PERIOD_H,
    LocalFrame,
    astronomical_tide,
    speed_of_sound,
    spherical_spreading,
)
from stadswacht.livinglab.scenario import EventSpec, Scenario, SensorSpec, parse_duration
from stadswacht.model import Area, Position, format_time
from stadswacht.model.reading import parse_time_ns

__all__ = ["Emission", "Simulation", "TruthEvent", "astronomical_tides", "format_ns", "simulate"]

READING_KIND = {
    "people_counter": "people_count",
    "water_gauge": "water_level",
    "rain_gauge": "rain",
    "weather": "temperature",
    "power_monitor": "power",
}
"""The reading kind each periodic sensor group reports."""

FORGED_SEQ_OFFSET = 900_000
"""Forged and spoofed readings use sequence numbers from ``seq_base`` + this (+ 100 per
device), above any genuine one; a device sends fewer than this many readings in one run."""

DEFAULT_DAILY = (
    *(0.05, 0.03, 0.02, 0.02, 0.03, 0.08, 0.25, 0.6, 0.9, 0.7, 0.6, 0.7),
    *(0.9, 0.8, 0.7, 0.7, 0.8, 1.0, 0.8, 0.6, 0.45, 0.35, 0.2, 0.1),
)
"""Pedestrian rhythm per local hour, an inner-city weekday (peaks at 8:00, 12:00, 17:00)."""

DEFAULT_WEEKLY = (1.0, 1.0, 1.0, 1.0, 1.05, 0.8, 0.6)
"""Pedestrian rhythm per weekday, Monday first."""

ATTACK_REASON = {"forged": "bad_signature", "spoofed": "bad_signature", "replayed": "replay"}
"""The platform's expected rejection reason per attack mode (a replay resent within the
platform's ``duplicate_window_s`` of the original's receipt counts as ``duplicate`` instead)."""


@dataclass(frozen=True, slots=True)
class Emission:
    """One reading the runner sends when the simulated clock reaches ``send_s`` [s from start].

    ``reading`` has ``device``, ``seq``, ``time``, ``kind``, ``values`` and no signature.
    ``attack`` is None for a genuine reading; ``forged``/``spoofed``: sign with a wrong key;
    ``replayed``: an earlier genuine reading, sent again unchanged (signed with the right key,
    the signature is the same bytes as the first time).
    """

    send_s: float
    reading: dict[str, Any]
    attack: str | None = None
    event: str | None = None


@dataclass(frozen=True, slots=True)
class TruthEvent:
    """What really happened: an injected event or a background impulse, with its details."""

    id: str
    type: str
    start: str
    end: str
    position: tuple[float, float] | None = None
    zone: str | None = None
    details: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "id": self.id,
            "type": self.type,
            "start": self.start,
            "end": self.end,
            "position": list(self.position) if self.position else None,
            "zone": self.zone,
            "details": self.details,
        }


@dataclass
class Simulation:
    """Everything a scenario produced: emissions in send order and the ground truth."""

    scenario: Scenario
    start: datetime
    seq_base: int
    emissions: list[Emission]
    truth: list[TruthEvent]
    posts: list[Any] = field(default_factory=list)
    """Public posts (:class:`stadswacht.livinglab.posts.SimPost`), in send order."""

    def genuine(self) -> Iterator[Emission]:
        """The emissions that are not attacks."""
        return (e for e in self.emissions if e.attack is None)

    def attacks(self) -> Iterator[Emission]:
        """The emissions that are attacks."""
        return (e for e in self.emissions if e.attack is not None)


def format_ns(ns: int) -> str:
    """RFC 3339 UTC with nine fractional digits for ``ns`` [ns since the epoch].

    >>> format_ns(1_000_000_123)
    '1970-01-01T00:00:01.000000123Z'
    """
    sec, frac = divmod(ns, 1_000_000_000)
    base = datetime.fromtimestamp(sec, UTC).strftime("%Y-%m-%dT%H:%M:%S")
    return f"{base}.{frac:09d}Z"


def _rng(seed: int, name: str) -> np.random.Generator:
    return np.random.default_rng([seed, zlib.crc32(name.encode())])


@dataclass(slots=True)
class _Raw:
    t: float
    kind: str
    values: dict[str, Any]
    event: str | None = None


@dataclass(slots=True)
class _Impulse:
    t: float
    x: float
    y: float
    level_db: float
    cls: str
    event: str | None


class _Sim:
    def __init__(self, sc: Scenario, start: datetime, seq_base: int) -> None:
        self.sc = sc
        self.start = start.astimezone(UTC)
        self.start_ns = round(self.start.timestamp() * 1e6) * 1000
        self.seq_base = seq_base
        lon0 = sum(v[0] for v in sc.area.polygon) / len(sc.area.polygon)
        lat0 = sum(v[1] for v in sc.area.polygon) / len(sc.area.polygon)
        self.frame = LocalFrame(lon0, lat0)
        self.step = sc.interval_s
        self.n = int(sc.duration_s // self.step)
        self.times = np.arange(1, self.n + 1) * self.step  # end of each interval [s]
        self.truth: list[TruthEvent] = []
        self.proc = sc.section("processes")
        self.temp = self._temperature()
        self.rain = self._rain()

    # --- time -----------------------------------------------------------------------------
    def iso(self, t: float) -> str:
        return format_time(self.start + timedelta(seconds=t))

    def local(self, t: float) -> datetime:
        return (self.start + timedelta(seconds=t)).astimezone(self.sc.timezone)

    def events(self, kind: str) -> list[EventSpec]:
        return [e for e in self.sc.events if e.type == kind]

    # --- background fields -----------------------------------------------------------------
    def _temperature(self) -> np.ndarray[Any, np.dtype[np.float64]]:
        p = self.proc.get("temperature") or {}
        rng = _rng(self.sc.seed, "temperature")
        hours = np.array([self.local(t).hour + self.local(t).minute / 60 for t in self.times])
        base = p.get("mean_c", 10.0) + p.get("daily_amplitude_c", 3.0) * np.cos(
            2 * np.pi * (hours - 15.0) / 24.0
        )
        # A slow AR(1) weather wobble (time constant ~2 h) on top of the daily cycle.
        phi = math.exp(-self.step / 7200.0)
        wobble = np.zeros(self.n)
        eps = rng.normal(0.0, 0.5 * math.sqrt(1 - phi**2), self.n)
        for i in range(1, self.n):
            wobble[i] = phi * wobble[i - 1] + eps[i]
        return np.asarray(base + wobble, dtype=np.float64)

    def temperature_at(self, t: float) -> float:
        """True air temperature [°C] at ``t`` [s]."""
        i = min(max(int(t // self.step) - 1, 0), self.n - 1) if self.n else 0
        return float(self.temp[i]) if self.n else 10.0

    # --- sensor outputs ------------------------------------------------------------------
    def periodic(self, s: SensorSpec) -> list[_Raw]:
        rng = _rng(self.sc.seed, f"sensor:{s.id}")
        if s.group == "weather":
            noise = (self.proc.get("temperature") or {}).get("noise_c", 0.1)
            return [
                _Raw(t, "temperature", {"temperature_c": round(float(v + rng.normal(0, noise)), 2)})
                for t, v in zip(self.times.tolist(), self.temp, strict=True)
            ]
        if s.group == "rain_gauge":
            return [
                _Raw(t, "rain", {"rain_mm": round(float(v), 2), "interval_s": self.step})
                for t, v in zip(self.times.tolist(), self.rain, strict=True)
            ]
        if s.group == "water_gauge":
            levels = self.water_level(s, rng)
            return [
                _Raw(t, "water_level", {"level_cm_nap": round(float(v), 1)})
                for t, v in zip(self.times.tolist(), levels, strict=True)
            ]
        if s.group == "power_monitor":
            return [
                _Raw(t, "power", {"on": True, "voltage_v": round(float(230 + rng.normal(0, 1)), 1)})
                for t in self.times.tolist()
            ]
        if s.group == "people_counter":
            return self.counts(s, rng)
        return []

    def _rain(self) -> np.ndarray[Any, np.dtype[np.float64]]:
        p = self.proc.get("rain") or {}
        rng = _rng(self.sc.seed, "rain")
        wet_fraction = p.get("wet_fraction", 0.15)
        spell = parse_duration(p.get("spell", "1h"))
        mean = p.get("mean_mm_per_h", 1.0) * self.step / 3600
        # Two-state Markov chain: mean spell length ``spell``, stationary wet share wet_fraction.
        leave_wet = min(1.0, self.step / spell)
        leave_dry = min(1.0, leave_wet * wet_fraction / max(1e-9, 1 - wet_fraction))
        wet = rng.random() < wet_fraction
        out = np.zeros(self.n)
        for i in range(self.n):
            if wet:
                out[i] = rng.gamma(0.8, mean / 0.8)
            wet = (rng.random() >= leave_wet) if wet else (rng.random() < leave_dry)
        return out

    def water_level(
        self, s: SensorSpec, rng: np.random.Generator
    ) -> np.ndarray[Any, np.dtype[np.float64]]:
        p = self.proc.get("tide") or {}
        hours = (self.start.timestamp() + self.times) / 3600.0
        level = astronomical_tide(
            hours,
            p.get("mean_cm_nap", 10.0),
            p.get("m2_amplitude_cm", 75.0),
            p.get("s2_amplitude_cm", 18.0),
            self.tide_phase_h(),
            p.get("m2_period_h", M2_PERIOD_H),
        )
        level = level + p.get("surge_cm", 0.0) + rng.normal(0, p.get("noise_cm", 2.0), self.n)
        for ev in self.events("water_rise"):
            gauges = ev.params.get("gauges")
            if gauges and s.id not in gauges:
                continue
            level = level + ev.params["rise_cm"] * self._rise_shape(ev)
        return np.asarray(level, dtype=np.float64)

    def tide_phase_h(self) -> float:
        """The time of an M2 high water [h since the Unix epoch]: ``high_water`` after the
        start when the scenario gives it (the same tide whatever day it is replayed), else
        ``phase_h``."""
        p = self.proc.get("tide") or {}
        if "high_water" in p:
            return (self.start.timestamp() + parse_duration(p["high_water"])) / 3600.0
        return float(p.get("phase_h", 0.0))

    def _rise_shape(self, ev: EventSpec) -> np.ndarray[Any, np.dtype[np.float64]]:
        up = max(parse_duration(ev.params["build_up"]), 1.0)
        hold = parse_duration(ev.params.get("duration", 0))
        x = self.times - ev.at_s
        rise = np.clip(x / up, 0, 1)
        fall = np.clip(1 - (x - up - hold) / up, 0, 1)
        shape = np.minimum(rise, fall)
        return np.asarray(shape * shape * (3 - 2 * shape), dtype=np.float64)  # smoothstep

    # --- crowds --------------------------------------------------------------------------
    def rhythm(self, t: float) -> float:
        p = self.proc.get("pedestrians") or {}
        daily = p.get("daily") or DEFAULT_DAILY
        weekly = p.get("weekly") or DEFAULT_WEEKLY
        loc = self.local(t)
        return float(daily[loc.hour]) * float(weekly[loc.weekday()])

    def surge_extra(self, zone: str, t: Any) -> Any:
        """Extra people [persons] in ``zone`` from crowd surges at times ``t`` [s]."""
        z = next(z for z in self.sc.zones if z.id == zone)
        extra = np.zeros_like(t)
        for ev in self.events("crowd_surge"):
            if ev.params["zone"] != zone:
                continue
            up = max(parse_duration(ev.params["build_up"]), 1.0)
            hold = parse_duration(ev.params.get("hold", 0))
            down = max(parse_duration(ev.params.get("release", ev.params["build_up"])), 1.0)
            x = t - ev.at_s
            shape = np.minimum(np.clip(x / up, 0, 1), np.clip(1 - (x - up - hold) / down, 0, 1))
            extra = extra + shape * ev.params["peak_density"] * z.walkable_area_m2
        return extra

    def counts(self, s: SensorSpec, rng: np.random.Generator) -> list[_Raw]:
        p = self.proc.get("pedestrians") or {}
        per_m = p.get("rate_per_min_per_m", 2.0)
        zone = next((z for z in self.sc.zones if z.id == s.zone), None)
        if zone is None:
            return []
        out: list[_Raw] = []
        if s.mode == "occupancy":
            extra = self.surge_extra(zone.id, self.times)
            for t, e in zip(self.times.tolist(), extra, strict=True):
                base = 0.02 * zone.walkable_area_m2 * self.rhythm(t)
                out.append(_Raw(t, "people_count", {"occupancy": int(rng.poisson(base + e))}))
            return out
        widths = zone.gates or {"gate": 1.0}
        width = widths.get(s.gate or "", next(iter(widths.values())))
        share = width / sum(widths.values())
        # Surge flows: the increase of the extra occupancy comes in, its decrease goes out,
        # through the zone's gates in proportion to their width.
        edges = np.concatenate(([0.0], self.times))
        delta = np.diff(self.surge_extra(zone.id, edges)) * share
        for t, d in zip(self.times.tolist(), delta, strict=True):
            lam = per_m * width * self.rhythm(t) * self.step / 60.0
            n_in = rng.poisson(lam + max(d, 0.0))
            n_out = rng.poisson(lam + max(-d, 0.0))
            values: dict[str, Any] = {"in": int(n_in), "out": int(n_out), "interval_s": self.step}
            if s.gate:
                values["line"] = s.gate
            out.append(_Raw(t, "people_count", values))
        return out

    # --- acoustics ---------------------------------------------------------------------------
    def impulses(self) -> list[_Impulse]:
        out: list[_Impulse] = []
        for ev in self.events("gunshot"):
            rng = _rng(self.sc.seed, f"event:{ev.id}")
            x, y = self.frame.to_xy(*ev.params["position"])
            rounds = int(ev.params.get("rounds", 1))
            interval = float(ev.params.get("interval_s", 0.5))
            level = float(ev.params.get("level_db", 150.0))
            times = [ev.at_s + k * interval for k in range(rounds)]
            for t in times:
                out.append(_Impulse(t, x, y, level + rng.normal(0, 1.0), "gunshot", ev.id))
            self.truth.append(
                TruthEvent(
                    ev.id,
                    "gunshot",
                    self.iso(times[0]),
                    self.iso(times[-1]),
                    tuple(ev.params["position"]),
                    self._zone_of(ev.params["position"]),
                    {"rounds": rounds, "round_times": [self.iso(t) for t in times]},
                )
            )
        for ev in self.events("fireworks"):
            rng = _rng(self.sc.seed, f"event:{ev.id}")
            x0, y0 = self.frame.to_xy(*ev.params["position"])
            bursts = int(ev.params.get("bursts", 20))
            span = parse_duration(ev.params.get("duration", "2m"))
            spread = float(ev.params.get("spread_m", 30.0))
            level = float(ev.params.get("level_db", 140.0))
            ts = np.sort(ev.at_s + rng.random(bursts) * span)
            for t in ts:
                dx, dy = rng.normal(0, spread, 2)
                out.append(
                    _Impulse(
                        float(t), x0 + dx, y0 + dy, level + rng.normal(0, 3), "fireworks", ev.id
                    )
                )
            self.truth.append(
                TruthEvent(
                    ev.id,
                    "fireworks",
                    self.iso(float(ts[0])),
                    self.iso(float(ts[-1])),
                    tuple(ev.params["position"]),
                    self._zone_of(ev.params["position"]),
                    {"bursts": bursts},
                )
            )
        noise = self.proc.get("impulsive_noise") or {}
        rate = float(noise.get("rate_per_h", 0.0))
        if rate > 0:
            rng = _rng(self.sc.seed, "impulsive_noise")
            lo, hi = noise.get("level_db", [110.0, 130.0])
            n = int(rng.poisson(rate * self.sc.duration_s / 3600))
            xs = [self.frame.to_xy(*v) for v in self.sc.area.polygon]
            x_min, x_max = min(p[0] for p in xs), max(p[0] for p in xs)
            y_min, y_max = min(p[1] for p in xs), max(p[1] for p in xs)
            for k, t in enumerate(np.sort(rng.random(n) * self.sc.duration_s).tolist()):
                for _ in range(100):
                    x, y = rng.uniform(x_min, x_max), rng.uniform(y_min, y_max)
                    lon, lat = self.frame.to_lonlat(x, y)
                    if self.sc.area.contains(Position(lat=lat, lon=lon)):
                        break
                level = float(rng.uniform(lo, hi))
                name = f"noise-{k + 1}"
                out.append(_Impulse(t, x, y, level, "impulsive_other", name))
                # Background truth: an evaluator can tell a false alarm on a slammed door
                # from one on nothing at all.
                self.truth.append(
                    TruthEvent(
                        name,
                        "impulsive_noise",
                        self.iso(t),
                        self.iso(t),
                        (round(lon, 6), round(lat, 6)),
                        self._zone_of([lon, lat]),
                        {"level_db": round(level, 1)},
                    )
                )
        return sorted(out, key=lambda i: i.t)

    def _zone_of(self, lonlat: list[float]) -> str | None:
        pos = Position(lat=lonlat[1], lon=lonlat[0])
        return next((z.id for z in self.sc.zones if z.area.contains(pos)), None)

    def heard(self, s: SensorSpec, impulses: list[_Impulse]) -> list[_Raw]:
        a = self.sc.section("acoustics")
        rng = _rng(self.sc.seed, f"acoustic:{s.id}")
        sx, sy = self.frame.to_xy(s.position.lon, s.position.lat)
        survey = float(a.get("survey_error_m", 0.0))
        if survey > 0:
            sx, sy = sx + rng.normal(0, survey), sy + rng.normal(0, survey)
        sigma_t = float(a.get("timing_noise_s", 1e-4))
        threshold = float(a.get("threshold_db", 70.0))
        level_noise = float(a.get("level_noise_db", 1.5))
        alpha = float(a.get("excess_attenuation_db_per_m", 0.0))
        diff = a.get("diffraction") or {}
        p_diff = float(diff.get("probability", 0.0))
        d_lo, d_hi = diff.get("delay_ms", [2.0, 20.0])
        loss = float(diff.get("loss_db", 6.0))
        out: list[_Raw] = []
        for imp in impulses:
            r = math.hypot(imp.x - sx, imp.y - sy)
            level = spherical_spreading(imp.level_db, r, alpha) + rng.normal(0, level_noise)
            delay = timing = rng.normal(0, sigma_t)
            diffracted = rng.random() < p_diff
            if diffracted:
                delay = timing + rng.uniform(d_lo, d_hi) / 1000.0
                level -= loss
            if level < threshold:
                continue
            c = speed_of_sound(self.temperature_at(imp.t))
            arrival = imp.t + r / c + delay
            arrival_ns = self.start_ns + round(arrival * 1e9)
            values = {
                "arrival_time": format_ns(arrival_ns),
                "peak_db": round(min(level, 200.0), 1),
                "classes": class_probabilities(imp.cls, level - threshold, rng),
                "duration_ms": round(float(rng.uniform(2, 8)), 1),
            }
            out.append(_Raw(arrival, "acoustic_impulse", values, imp.event))
        for k in range(1, int(self.sc.duration_s // self.sc.heartbeat_s) + 1):
            t = k * self.sc.heartbeat_s
            out.append(
                _Raw(t, "heartbeat", {"battery_pct": round(100 - 5 * t / 86400, 1), "uptime_s": t})
            )
        return sorted(out, key=lambda r: r.t)

    # --- failures --------------------------------------------------------------------------
    def down_windows(self, s: SensorSpec) -> list[tuple[float, float, str, str]]:
        """``(from, to, mode, event)`` windows in which ``s`` is silent, stuck or drifting."""
        out: list[tuple[float, float, str, str]] = []
        for ev in self.events("sensor_failure"):
            if ev.params["sensor"] == s.id:
                length = parse_duration(ev.params.get("duration", self.sc.duration_s))
                out.append((ev.at_s, ev.at_s + length, ev.params["mode"], ev.id))
        for ev in self.events("power_cut"):
            if s.id in self._cut_sensors(ev):
                length = parse_duration(ev.params["duration"])
                mode = "power_off" if s.group == "power_monitor" else "silent"
                out.append((ev.at_s, ev.at_s + length, mode, ev.id))
        return out

    def _cut_sensors(self, ev: EventSpec) -> set[str]:
        ids = set(ev.params.get("sensors") or ())
        if "polygon" in ev.params:
            ring = Area(id="cut", name="cut", polygon=tuple(tuple(v) for v in ev.params["polygon"]))
            ids |= {s.id for s in self.sc.sensors if ring.contains(s.position)}
        return ids

    def apply(self, s: SensorSpec, raw: list[_Raw]) -> list[tuple[float, float, _Raw]]:
        """``(send time, reading time, raw)`` after failures and power cuts."""
        windows = self.down_windows(s)
        out: list[tuple[float, float, _Raw]] = []
        stuck: dict[str, dict[str, Any]] = {}
        for r in raw:
            t_read = r.t
            keep: _Raw | None = r
            for lo, hi, mode, event in windows:
                if not lo <= r.t < hi:
                    continue
                if mode == "silent":
                    keep = None
                elif mode == "power_off" and r.kind == "power":
                    keep = _Raw(r.t, r.kind, {"on": False, "voltage_v": 0.0}, event)
                elif mode == "stuck":
                    if r.kind == "acoustic_impulse":
                        keep = None
                    else:
                        frozen = stuck.setdefault(r.kind, r.values)
                        keep = _Raw(r.t, r.kind, frozen, event)
                elif mode == "clock_drift":
                    drift = float(self._param(event, "drift_s_per_h", 30.0))
                    t_read = r.t + drift * (r.t - lo) / 3600.0
                    if r.kind == "acoustic_impulse":
                        # The sensor's clock stamps the arrival too: that is what hurts TDOA.
                        off_ns = round((t_read - r.t) * 1e9)
                        arrival = parse_time_ns(r.values["arrival_time"]) + off_ns
                        keep = _Raw(
                            r.t, r.kind, {**r.values, "arrival_time": format_ns(arrival)}, r.event
                        )
            if keep is None:
                continue
            latency = float(self.sc.section("acoustics").get("latency_s", 0.2))
            send = r.t + latency if r.kind == "acoustic_impulse" else r.t
            out.append((send, t_read, keep))
        return out

    def _crossings(self, zone: str, levels: tuple[float, ...] = (2.0, 4.0)) -> dict[str, str]:
        """When the zone's true density [persons/m²] first reaches each level (10 s steps):
        the background (2 % of the walkable area times the daily rhythm) plus every surge.
        The evaluator scores a crowd warning's lead time against these."""
        z = next(z for z in self.sc.zones if z.id == zone)
        t = np.arange(0.0, self.sc.duration_s + 1.0, 10.0)
        rhythm = np.array([self.rhythm(float(v)) for v in t])
        density = 0.02 * rhythm + self.surge_extra(zone, t) / z.walkable_area_m2
        out: dict[str, str] = {}
        for level in levels:
            above = np.flatnonzero(density >= level)
            if above.size:
                out[f"{level:g}"] = self.iso(float(t[above[0]]))
        return out

    def _param(self, event_id: str, key: str, default: Any) -> Any:
        ev = next(e for e in self.sc.events if e.id == event_id)
        return ev.params.get(key, default)

    def failure_truth(self) -> None:
        for ev in self.sc.events:
            if ev.type in ("sensor_failure", "power_cut", "water_rise", "crowd_surge"):
                length = parse_duration(ev.params.get("duration", 0))
                details: dict[str, Any] = {}
                zone = None
                if ev.type == "sensor_failure":
                    details = {"sensor": ev.params["sensor"], "mode": ev.params["mode"]}
                    if length == 0:
                        length = self.sc.duration_s - ev.at_s
                elif ev.type == "power_cut":
                    details = {"sensors": sorted(self._cut_sensors(ev))}
                elif ev.type == "water_rise":
                    up = parse_duration(ev.params["build_up"])
                    details = {"rise_cm": ev.params["rise_cm"], "peak": self.iso(ev.at_s + up)}
                    length = 2 * up + length
                else:
                    zone = ev.params["zone"]
                    up = parse_duration(ev.params["build_up"])
                    hold = parse_duration(ev.params.get("hold", 0))
                    release = parse_duration(ev.params.get("release", ev.params["build_up"]))
                    length = up + hold + release
                    details = {
                        "peak_density": ev.params["peak_density"],
                        "peak": self.iso(ev.at_s + up),
                        "crosses": self._crossings(zone),
                    }
                end = min(ev.at_s + length, self.sc.duration_s)
                self.truth.append(
                    TruthEvent(
                        ev.id, ev.type, self.iso(ev.at_s), self.iso(end), None, zone, details
                    )
                )

    # --- attacks -------------------------------------------------------------------------------
    def attacks(
        self, genuine: dict[str, list[Emission]], rng: np.random.Generator
    ) -> list[Emission]:
        out: list[Emission] = []
        for ev in self.events("cyber_attack"):
            mode = ev.params["mode"]
            count = int(ev.params.get("count", 5))
            span = parse_duration(ev.params.get("duration", "1m"))
            sent: list[dict[str, Any]] = []
            for d_i, device in enumerate(ev.params["devices"]):
                s = self.sc.sensor(device)
                for k in range(count):
                    t = ev.at_s + span * (k + 0.5) / count
                    if mode == "replayed":
                        age = parse_duration(ev.params.get("age", "30m"))
                        earlier = [e for e in genuine.get(device, []) if e.send_s < ev.at_s - age]
                        if not earlier:
                            continue
                        old = earlier[max(0, len(earlier) - count + k)]
                        reading = dict(old.reading)
                    else:
                        seq = self.seq_base + FORGED_SEQ_OFFSET + d_i * 100 + k
                        reading = {
                            "device": device,
                            "seq": seq,
                            "time": self.iso(t),
                            "kind": self._attack_kind(s),
                            "values": self._attack_values(s, t, rng),
                        }
                    out.append(Emission(t, reading, mode, ev.id))
                    sent.append({"device": device, "seq": reading["seq"]})
            self.truth.append(
                TruthEvent(
                    ev.id,
                    "cyber_attack",
                    self.iso(ev.at_s),
                    self.iso(ev.at_s + span),
                    details={
                        "mode": mode,
                        "devices": list(ev.params["devices"]),
                        "readings": sent,
                        "expected_reason": ATTACK_REASON[mode],
                    },
                )
            )
        return out

    @staticmethod
    def _attack_kind(s: SensorSpec) -> str:
        return "acoustic_impulse" if s.group == "acoustic" else READING_KIND[s.group]

    def _attack_values(self, s: SensorSpec, t: float, rng: np.random.Generator) -> dict[str, Any]:
        kind = self._attack_kind(s)
        if kind == "acoustic_impulse":
            return {
                "arrival_time": format_ns(self.start_ns + round(t * 1e9)),
                "peak_db": 118.0,
                "classes": {"gunshot": 0.9, "fireworks": 0.05, "impulsive_other": 0.05},
            }
        if kind == "people_count":
            return {"in": int(rng.integers(300, 600)), "out": 0, "interval_s": self.step}
        if kind == "water_level":
            return {"level_cm_nap": 350.0}
        if kind == "rain":
            return {"rain_mm": 40.0, "interval_s": self.step}
        if kind == "temperature":
            return {"temperature_c": 41.0}
        return {"on": True, "voltage_v": 230.0}


def simulate(scenario: Scenario, start: datetime, *, seq_base: int = 1) -> Simulation:
    """Simulate ``scenario`` from ``start`` (an aware datetime: the simulated start).

    ``seq_base`` is the first sequence number of every device; a replay that repeats the
    scenario on the same platform gives a higher one each time (the runner uses the wall
    clock), since the platform refuses a sequence number used before.

    >>> from stadswacht.livinglab.scenario import read_scenario
    >>> sim = simulate(read_scenario("scenarios/malieveld_event.yaml"),
    ...                datetime(2026, 11, 20, 18, 0, tzinfo=UTC))
    >>> sim.emissions[0].reading["time"] <= sim.emissions[-1].reading["time"]
    True
    """
    if start.tzinfo is None:
        raise ValueError("start must be timezone-aware")
    sim = _Sim(scenario, start, seq_base)
    impulses = sim.impulses()
    per_device: dict[str, list[tuple[float, float, _Raw]]] = {}
    for s in scenario.sensors:
        raw = sim.heard(s, impulses) if s.group == "acoustic" else sim.periodic(s)
        per_device[s.id] = sim.apply(s, raw)
    genuine: dict[str, list[Emission]] = defaultdict(list)
    for device, items in per_device.items():
        items.sort(key=lambda x: x[0])
        for i, (send, t_read, item) in enumerate(items):
            reading = {
                "device": device,
                "seq": seq_base + i,
                "time": sim.iso(t_read),
                "kind": item.kind,
                "values": item.values,
            }
            genuine[device].append(Emission(send, reading, None, item.event))
    sim.failure_truth()
    attacks = sim.attacks(genuine, _rng(scenario.seed, "attacks"))
    emissions = [e for items in genuine.values() for e in items] + attacks
    emissions.sort(key=lambda e: (e.send_s, e.attack is not None, e.reading["device"]))
    from stadswacht.livinglab.posts import simulate_posts  # it builds on this module

    posts, post_truth = simulate_posts(scenario, sim.start)
    sim.truth += post_truth
    sim.truth.sort(key=lambda e: (e.start, e.id))
    return Simulation(scenario, sim.start, seq_base, emissions, sim.truth, posts)


def astronomical_tides(
    sc: Scenario, start: datetime
) -> dict[
    str, Callable[[np.ndarray[Any, np.dtype[np.float64]]], np.ndarray[Any, np.dtype[np.float64]]]
]:
    """Each water gauge's astronomical tide [cm NAP] at times [s since the Unix epoch]: the
    scenario's tide without its surge and noise, as a tide table would give it (what the
    platform's water-level forecaster may know in advance)."""
    p = sc.section("processes").get("tide") or {}
    if "high_water" in p:
        phase_h = (start.timestamp() + parse_duration(p["high_water"])) / 3600.0
    else:
        phase_h = float(p.get("phase_h", 0.0))

    def tide(t: np.ndarray[Any, np.dtype[np.float64]]) -> np.ndarray[Any, np.dtype[np.float64]]:
        return astronomical_tide(
            np.asarray(t, dtype=np.float64) / 3600.0,
            p.get("mean_cm_nap", 10.0),
            p.get("m2_amplitude_cm", 75.0),
            p.get("s2_amplitude_cm", 18.0),
            phase_h,
            p.get("m2_period_h", M2_PERIOD_H),
        )

    return {s.id: tide for s in sc.sensors if s.group == "water_gauge"}
