"""The runner: register a scenario's agencies, areas and devices, then stream the simulator's
readings, signed, through the platform's real ingest path, at a chosen speed.

The runner never imports the platform. What it needs is injected:

- a :class:`Registrar` that registers agencies, areas and devices and hands back each device's
  private key (:class:`PlatformRegistrar` adapts a platform's store and device registry);
- a transport (:class:`~stadswacht.client.Transport`): an ``HttpTransport`` (``--via http``),
  an ``MqttTransport`` (``--via mqtt``), or an :class:`InprocTransport` around a platform's
  ``ingest(items)`` (``--via inproc``).

Readings are signed here with the registered keys (the simulator fixes their sequence
numbers, so a replay is deterministic) and sent as batches on the transport, the same bytes a
:class:`~stadswacht.client.DeviceClient` would send. Attacks are carried out as instructed:
``forged`` and ``spoofed`` readings are signed with an attacker's key (derived from the seed),
``replayed`` ones are genuine readings sent a second time.
"""

from __future__ import annotations

import hashlib
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from stadswacht.client import Answer, RetryLater, Transport
from stadswacht.errors import AlreadyExists, TransportError
from stadswacht.livinglab.scenario import Scenario, SensorSpec
from stadswacht.livinglab.simulator import Emission, Simulation, simulate
from stadswacht.model import Agency, Area, Position
from stadswacht.model.signing import load_private_key, sign_reading

__all__ = [
    "InprocTransport",
    "PlatformRegistrar",
    "Registrar",
    "ReplayReport",
    "register_scenario",
    "replay",
]

Progress = Callable[[int, int], None]
"""Called as ``progress(sent, total)`` after each batch."""


class Registrar(Protocol):
    """Registers what a scenario needs on a platform."""

    def agency(self, agency: Agency) -> None:
        """Create or update an agency."""
        ...

    def area(self, area: Area) -> None:
        """Create or update an area (the scenario's area and each of its zones)."""
        ...

    def device(self, spec: SensorSpec) -> tuple[str, bool]:
        """Register a device (or give an existing one a new key); return its private key
        (base64url) and whether an existing device was re-keyed."""
        ...


class _Store(Protocol):
    def put_agency(self, agency: Agency) -> None: ...
    def put_area(self, area: Area) -> None: ...


class _Registration(Protocol):
    @property
    def private_key(self) -> str | None: ...


class _Registry(Protocol):
    def register(
        self, device_id: str, *, kind: Any, position: Position, agency: str, area: str | None
    ) -> _Registration: ...
    def rotate_key(self, device_id: str) -> _Registration: ...


class PlatformRegistrar:
    """A :class:`Registrar` on a platform's store and device registry (``Platform.store``,
    ``Platform.registry``). A device that already exists (an earlier replay) gets a new key."""

    def __init__(self, store: _Store, registry: _Registry) -> None:
        self.store = store
        self.registry = registry

    def agency(self, agency: Agency) -> None:
        """Create or update an agency."""
        self.store.put_agency(agency)

    def area(self, area: Area) -> None:
        """Create or update an area."""
        self.store.put_area(area)

    def device(self, spec: SensorSpec) -> tuple[str, bool]:
        """Register the device, or rotate its key if it exists; return the private key."""
        rekeyed = False
        try:
            reg = self.registry.register(
                spec.id, kind=spec.kind, position=spec.position, agency=spec.agency, area=spec.zone
            )
        except AlreadyExists:
            reg = self.registry.rotate_key(spec.id)
            rekeyed = True
        if reg.private_key is None:  # pragma: no cover - the registry made the key
            raise AssertionError(f"no private key for {spec.id}")
        return reg.private_key, rekeyed


class _Result(Protocol):
    @property
    def accepted(self) -> int: ...
    @property
    def duplicates(self) -> Sequence[int]: ...
    @property
    def rejected(self) -> Sequence[Any]: ...


class InprocTransport:
    """A transport that hands batches to ``ingest(items)`` in this process (``--via inproc``).

    ``ingest`` answers with an object carrying ``accepted``, ``duplicates`` (indices) and
    ``rejected`` (items with ``index``, ``reason``, ``message``): a platform's
    ``Ingestor.ingest`` with ``transport="inproc"`` bound.
    """

    def __init__(self, ingest: Callable[[Sequence[dict[str, Any]]], _Result]) -> None:
        self._ingest = ingest

    def send(self, items: Sequence[dict[str, Any]]) -> Answer:
        """Ingest ``items``; the platform's answer per item."""
        result = self._ingest(items)
        return Answer(
            accepted=result.accepted,
            duplicates=tuple(result.duplicates),
            rejected=tuple((r.index, r.reason, r.message) for r in result.rejected),
        )

    def close(self) -> None:
        """Nothing to release."""


@dataclass
class ReplayReport:
    """What became of a replay. Over MQTT only the broker answers: rejections are then not
    known here (they are in the platform's dead-letter store)."""

    simulation: Simulation
    sent: int = 0
    accepted: int = 0
    duplicates: int = 0
    by: str = "platform"
    rejected: Counter[str] = field(default_factory=Counter)
    """Rejections per reason."""
    attacks: Counter[tuple[str, str]] = field(default_factory=Counter)
    """Attack readings per ``(mode, outcome)``; outcome is a reason, ``accepted`` or
    ``duplicate`` (over MQTT ``delivered``: the platform's verdict is in its dead letters)."""
    unexpected: list[tuple[str, int, str, str]] = field(default_factory=list)
    """Genuine readings the platform rejected: ``(device, seq, reason, message)``."""

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready summary."""
        return {
            "scenario": self.simulation.scenario.name,
            "start": self.simulation.start.isoformat(),
            "sent": self.sent,
            "accepted": self.accepted,
            "duplicates": self.duplicates,
            "answered_by": self.by,
            "rejected": dict(self.rejected),
            "attacks": {f"{m}:{o}": n for (m, o), n in sorted(self.attacks.items())},
            "unexpected": [list(u) for u in self.unexpected],
        }


def attacker_key(seed: int) -> Ed25519PrivateKey:
    """The attacker's key for a scenario: fixed by the seed, never any device's key."""
    return Ed25519PrivateKey.from_private_bytes(
        hashlib.sha256(f"stadswacht-attacker:{seed}".encode()).digest()
    )


def register_scenario(
    scenario: Scenario, registrar: Registrar
) -> tuple[dict[str, Ed25519PrivateKey], bool]:
    """Register the scenario's agencies, area, zones and sensors; return the device keys and
    whether any existing device was re-keyed."""
    for agency in scenario.agencies:
        registrar.agency(agency)
    registrar.area(scenario.area)
    for zone in scenario.zones:
        registrar.area(zone.area)
    keys: dict[str, Ed25519PrivateKey] = {}
    rekeyed = False
    for spec in scenario.sensors:
        private, again = registrar.device(spec)
        keys[spec.id] = load_private_key(private)
        rekeyed = rekeyed or again
    return keys, rekeyed


def _send(
    transport: Transport, items: list[dict[str, Any]], sleep: Callable[[float], None]
) -> Answer:
    for attempt in range(6):
        try:
            return transport.send(items)
        except RetryLater as exc:
            if attempt == 5:
                raise
            sleep(exc.retry_after if exc.retry_after is not None else 0.5 * 2**attempt)
        except TransportError:
            if attempt == 5:
                raise
            sleep(0.5 * 2**attempt)
    raise AssertionError("unreachable")  # pragma: no cover


def replay(
    scenario: Scenario,
    transport: Transport,
    registrar: Registrar,
    *,
    speed: float = 0.0,
    now: datetime | None = None,
    seq_base: int | None = None,
    batch_size: int = 200,
    settle_s: float = 0.0,
    progress: Progress | None = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> ReplayReport:
    """Register ``scenario`` and stream its readings on ``transport``.

    Args:
        speed: simulated seconds per wall-clock second; 1 is real time, 0 as fast as possible.
        now: when the replay starts (default: the wall clock); it fixes the simulated start
            (:meth:`Scenario.start_time`) so every reading is within the platform's time window.
        seq_base: first sequence number of every device (default: ``now`` in whole seconds
            × 10^6, so a later replay on the same platform never reuses one).
        settle_s: wait this long after re-keying existing devices, so a platform process
            with a cached old key (``DeviceRegistry.ttl``) sees the new one.
        progress: called as ``progress(sent, total)`` after each batch.

    Deterministic: the same scenario, ``now`` and ``seq_base`` send the same bytes.
    """
    if speed < 0:
        raise ValueError(f"speed must be 0 (as fast as possible) or positive, not {speed}")
    now = now or datetime.now(UTC)
    if seq_base is None:
        seq_base = int(now.timestamp()) * 1_000_000
    sim = simulate(scenario, scenario.start_time(now), seq_base=seq_base)
    keys, rekeyed = register_scenario(scenario, registrar)
    if rekeyed and settle_s > 0:
        sleep(settle_s)
    bad_key = attacker_key(scenario.seed)
    report = ReplayReport(simulation=sim)
    total = len(sim.emissions)
    t0 = clock()
    i = 0
    while i < total:
        if speed > 0:
            due = t0 + sim.emissions[i].send_s / speed
            wait = due - clock()
            if wait > 0:
                sleep(wait)
            horizon = (clock() - t0) * speed
            j = i
            while j < total and j - i < batch_size and sim.emissions[j].send_s <= horizon:
                j += 1
            j = max(j, i + 1)
        else:
            j = min(total, i + batch_size)
        batch = sim.emissions[i:j]
        items = [
            sign_reading(
                bad_key if e.attack in ("forged", "spoofed") else keys[e.reading["device"]],
                e.reading,
            )
            for e in batch
        ]
        answer = _send(transport, items, sleep)
        _account(report, batch, answer)
        i = j
        if progress is not None:
            progress(i, total)
    return report


def _account(report: ReplayReport, batch: list[Emission], answer: Answer) -> None:
    report.sent += len(batch)
    report.accepted += answer.accepted
    report.duplicates += len(answer.duplicates)
    report.by = answer.by
    outcome = dict.fromkeys(
        range(len(batch)), "accepted" if answer.by == "platform" else "delivered"
    )
    for index in answer.duplicates:
        outcome[index] = "duplicate"
    for index, reason, message in answer.rejected:
        outcome[index] = reason
        report.rejected[reason] += 1
        e = batch[index]
        if e.attack is None:
            report.unexpected.append((e.reading["device"], e.reading["seq"], reason, message))
    for index, e in enumerate(batch):
        if e.attack is not None:
            report.attacks[(e.attack, outcome[index])] += 1
