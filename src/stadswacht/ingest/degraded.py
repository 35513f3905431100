"""Ingest's degraded mode: what :class:`~stadswacht.ingest.service.Ingestor` does when the
store or the bus fails (``docs/degraded-mode.md``).

:class:`DegradedMode` is the part of the ingestor that keeps taking readings through an
outage. It owns the spool and the outbox (:mod:`stadswacht.ingest.spool`), what this process
last knew of each device (to check readings while the store is down), the rejection events,
and the drainer: a background thread that stores the spool (re-checking each reading against
the store) once the store answers and publishes the outbox once the bus answers.
:meth:`DegradedMode.health` is what ``/readyz`` reports of ingest.

The ingestor composes one and calls it; its public methods (``drain``, ``republish``,
``kick``, ``close``, ``health``) delegate here.
"""

from __future__ import annotations

import itertools
import json
import logging
import os
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, cast

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from stadswacht.bus.base import Bus, reading_subject, rejection_subject
from stadswacht.config import Settings
from stadswacht.errors import InvalidReading, StadswachtError, StorageError
from stadswacht.ingest.metrics import (
    BUS_PUBLISH_FAILURES,
    READINGS_BUFFERED,
    REJECTION_EVENTS,
    SPOOL_DRAINED,
)
from stadswacht.ingest.registry import DeviceRegistry
from stadswacht.ingest.spool import Outbox, OutboxItem, Spool, spool_dir
from stadswacht.model import DeadLetter, Device, DeviceStatus, StoredReading
from stadswacht.model.signing import load_public_key
from stadswacht.store.base import ExistingReading, Store

if TYPE_CHECKING:
    from stadswacht.ingest.service import Rejection

__all__ = ["DegradedMode", "IngestHealth", "Transport", "reading_text"]

# The ingestor's log, as before this part moved out of stadswacht.ingest.service: operators'
# log filters keep working.
log = logging.getLogger("stadswacht.ingest.service")

Transport = Literal["http", "mqtt", "inproc", "cli"]


@dataclass(frozen=True, slots=True)
class IngestHealth:
    """What ingest knows of the store and the bus, for ``/readyz``.

    ``store``/``bus`` are ``"down"`` from a failure until the drainer has seen them answer;
    ``spool`` is ``"off"`` (no spool: a store outage fails ingest), ``"ok"`` or ``"full"``
    (the last batch offered was refused). ``since`` is when degraded mode began [s since the
    Unix epoch], None when not degraded.
    """

    store: Literal["ok", "down"]
    bus: Literal["ok", "down"]
    buffered_readings: int
    unpublished: int
    spool: Literal["off", "ok", "full"]
    since: float | None

    @property
    def degraded(self) -> bool:
        """Something waits for the store or the bus."""
        return (
            self.store == "down"
            or self.bus == "down"
            or self.buffered_readings > 0
            or self.unpublished > 0
        )


def reading_text(r: StoredReading) -> str:
    """A checked reading as its wire JSON (ASCII-only, so any store can keep it)."""
    return json.dumps(
        {
            "device": r.device,
            "seq": r.seq,
            "time": r.time,
            "kind": r.kind,
            "values": r.values,
            "sig": r.sig,
        },
        separators=(",", ":"),
    )


class DegradedMode:
    """The spool, the outbox, the device cache, rejection events and the drainer of one
    ingestor. Thread-safe.

    ``spool`` defaults to one made from the settings (``spool_dir``, ``spool_max_bytes``; off
    when that is 0). The drainer starts when first needed (at once if the spool holds readings
    from an earlier run); :meth:`close` stops it.
    """

    def __init__(
        self,
        store: Store,
        bus: Bus | None,
        settings: Settings,
        registry: DeviceRegistry,
        clock: Callable[[], float] = time.time,
        spool: Spool | None = None,
    ) -> None:
        self.store = store
        self.bus = bus
        self.settings = settings
        self.registry = registry
        self.clock = clock
        if spool is None and settings.spool_max_bytes > 0:
            try:
                # Ask senders to come back after a few of the drainer's attempts.
                retry = min(30.0, max(1.0, 10 * settings.spool_drain_interval_s))
                spool = Spool(spool_dir(settings), settings.spool_max_bytes, retry)
            except StorageError as exc:
                log.error("ingest runs without a spool (a store outage fails ingest): %s", exc)
        self.spool = spool
        """Checked readings waiting for the store; None: a store outage fails ingest."""
        self.outbox = (
            Outbox(settings.outbox_max_messages)
            if bus is not None and settings.outbox_max_messages > 0
            else None
        )
        """Messages waiting for the bus; None without a bus (or with the outbox off)."""
        self._store_down: float | None = None  # when the store last failed, until it answers
        self._bus_down: float | None = None
        self._spool_since: float | None = None
        self._known: dict[str, tuple[Device, Ed25519PublicKey]] = {}
        self._event_ids = itertools.count()
        self._event_prefix = f"rej:{os.urandom(6).hex()}:"
        self._drain_lock = threading.Lock()
        self._worker: threading.Thread | None = None
        self._worker_lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        if self.spool is not None:
            self._prime()
            if not self.spool.empty:  # left by an earlier run: drain it now
                self._spool_since = self.clock()
                self.kick()

    # --- the store -----------------------------------------------------------------------
    def device(self, device_id: str) -> tuple[Device, Ed25519PublicKey]:
        """The registry's :meth:`~DeviceRegistry.active`; while the store is down (with a
        spool), what this process last knew of the device.

        Raises:
            InvalidReading: unknown or retired, or ``unavailable`` (the store is down and this
                process has not seen the device).
        """
        if self.spool is None:
            return self.registry.active(device_id)
        if self._store_down is None:
            try:
                found = self.registry.active(device_id)
            except InvalidReading:
                self._known.pop(device_id, None)
                raise
            except StorageError as exc:
                self.store_failed(exc)
            else:
                self._known[device_id] = found
                return found
        known = self._known.get(device_id)
        if known is None:
            raise InvalidReading(
                "unavailable",
                f"device {device_id!r} cannot be checked while the store is unavailable "
                "(this ingest process has not seen it yet); send the reading again later",
            )
        return known

    def _prime(self) -> None:
        """Learn every registered device, so they can be checked while the store is down."""
        try:
            devices = self.store.list_devices()
        except StorageError as exc:
            log.warning("cannot read the device registry yet: %s", exc)
            return
        for device in devices:
            if device.status is DeviceStatus.DECOMMISSIONED:
                continue
            try:
                self._known[device.id] = (device, load_public_key(device.public_key))
            except ValueError:  # a key the registry would refuse too
                continue

    def existing(self, keys: list[tuple[str, int]]) -> dict[tuple[str, int], ExistingReading]:
        """Of these keys, those stored (if the store answers) or waiting in the spool."""
        found: dict[tuple[str, int], ExistingReading] = {}
        if keys and (self.spool is None or self._store_down is None):
            try:
                found = self.store.existing(keys)
            except StorageError as exc:
                if self.spool is None:
                    raise
                # Replays of readings stored before the outage are caught when draining.
                self.store_failed(exc)
        if keys and self.spool is not None and not self.spool.empty:
            for key, entry in self.spool.pending(keys).items():
                found.setdefault(key, entry)
        return found

    def spooling(self) -> bool:
        """Whether a batch goes to the spool: the store is down, or readings wait there (a
        later reading must not overtake an earlier one of its device)."""
        spool = self.spool
        return spool is not None and (self._store_down is not None or not spool.empty)

    def spool_batch(
        self,
        readings: list[StoredReading],
        dead: list[DeadLetter],
        transport: Transport,
        source: str | None,
    ) -> None:
        """Append a batch to the spool (``fsync``'d) and wake the drainer.

        Raises:
            SpoolFull: no room: nothing of the batch was kept.
        """
        assert self.spool is not None
        if not readings and not dead:
            return
        self.spool.append(readings, dead, transport, source)
        if self._spool_since is None:
            self._spool_since = self.clock()
        READINGS_BUFFERED.labels(transport).inc(len(readings))
        self.kick()

    def store_failed(self, exc: StorageError) -> None:
        """Note that the store failed (logged once per outage) and wake the drainer."""
        if self._store_down is None:
            self._store_down = self.clock()
            log.error("the store failed (%s); ingest spools checked readings until it answers", exc)
        self.kick()

    def drain(self, max_readings: int = 5000) -> int:
        """Store the oldest spooled batches, in order; see :meth:`Ingestor.drain`."""
        spool = self.spool
        if spool is None:
            return 0
        with self._drain_lock:
            records = spool.peek(max_readings)
            if not records:
                return 0
            readings = [(rec, r) for rec in records for r in rec.readings]
            keys = [(r.device, r.seq) for _, r in readings]
            existing = self.store.existing(keys) if keys else {}
            fresh: list[StoredReading] = []
            dead = [d for rec in records for d in rec.dead]
            events: list[OutboxItem] = []
            seen: dict[tuple[str, int], str] = {}
            duplicates = 0
            for rec, r in readings:
                key = (r.device, r.seq)
                prior = existing.get(key)
                prior_sig = prior.sig if prior is not None else seen.get(key)
                if prior_sig is None:
                    seen[key] = r.sig
                    fresh.append(r)
                elif prior_sig == r.sig:
                    duplicates += 1
                else:
                    msg = (
                        f"sequence {r.seq} of device {r.device!r} was already used: a different "
                        "reading with this sequence number is already stored"
                    )
                    transport = cast(Transport, rec.transport)
                    dead.append(
                        DeadLetter(
                            received_us=r.received_us, reason="replay", message=msg,
                            device=r.device, seq=r.seq, transport=transport, source=rec.source,
                            payload=reading_text(r)[: self.settings.dead_letter_payload_bytes],
                        )
                    )  # fmt: skip
                    events.append(
                        self.event("replay", r.device, r.seq, msg, transport, rec.source,
                                   r.received_us)
                    )  # fmt: skip
            stored = self.store.commit(fresh, dead)
            spool.consume(records)
            if spool.empty:
                self._spool_since = None
        SPOOL_DRAINED.labels("stored").inc(len(stored))
        SPOOL_DRAINED.labels("duplicate").inc(duplicates + len(fresh) - len(stored))
        SPOOL_DRAINED.labels("replay").inc(len(events))
        if self.bus is not None:
            self.publish(stored, events)
        return len(records)

    # --- the bus -------------------------------------------------------------------------
    def publish(self, stored: list[StoredReading], events: list[OutboxItem]) -> None:
        """Publish stored readings and events in one bus call; to the outbox if the bus fails
        (or messages already wait there). Never raises for a bus failure."""
        items: list[OutboxItem] = [
            (reading_subject(s.area, s.kind), s.to_json(), f"{s.device}:{s.seq}") for s in stored
        ]
        items.extend(events)
        if not items or self.bus is None:
            return
        if self.outbox is not None and len(self.outbox):
            self.outbox.add(items)  # behind those waiting: consumers see readings in order
            self.kick()
            return
        try:
            self.bus.publish(items)
        except (StadswachtError, OSError) as exc:
            # Stored is stored: the device is answered and the readings are durable. They
            # are published again when the bus answers; every message carries its msg_id
            # ("<device>:<seq>"), which JetStream de-duplicates and consumers treat
            # idempotently.
            BUS_PUBLISH_FAILURES.inc(len(items))
            if self.outbox is None:
                log.exception("publishing %d messages on the bus failed (no outbox)", len(items))
                return
            if self._bus_down is None:
                self._bus_down = self.clock()
                log.error("the bus failed (%s); %d messages wait in the outbox", exc, len(items))
            self.outbox.add(items)
            self.kick()

    def republish(self, max_messages: int = 5000) -> int:
        """Publish the oldest messages of the outbox; see :meth:`Ingestor.republish`."""
        if self.outbox is None or self.bus is None:
            return 0
        items = self.outbox.peek(max_messages)
        if items:
            self.bus.publish(items)
            self.outbox.consume(items)
        return len(items)

    def events(
        self,
        rejections: Iterable[Rejection],
        dups: list[tuple[str, int, float]],
        transport: Transport,
        source: str | None,
        now_us: int,
    ) -> list[OutboxItem]:
        """The rejection and duplicate events of a batch, for the infrastructure detectors."""
        events = [
            self.event(rej.reason, rej.device, rej.seq, rej.message, transport, source, now_us)
            for rej in rejections
        ]
        for device, seq, age in dups:
            msg = f"sequence {seq} of device {device!r}: an identical copy was already received"
            events.append(self.event("duplicate", device, seq, msg, transport, source, now_us, age))
        return events

    def event(
        self,
        reason: str,
        device: str | None,
        seq: int | None,
        message: str,
        transport: str,
        source: str | None,
        received_us: int,
        original_age_s: float | None = None,
    ) -> OutboxItem:
        """One event on ``stadswacht.rejections.<reason>``, with a msg_id of its own."""
        doc: dict[str, Any] = {
            "device": device, "seq": seq, "reason": reason, "message": message,
            "transport": transport, "source": source, "received_us": received_us,
        }  # fmt: skip
        if original_age_s is not None:
            doc["original_age_s"] = round(original_age_s, 6)
        REJECTION_EVENTS.labels(reason).inc()
        data = json.dumps(doc, separators=(",", ":")).encode("utf-8")
        return rejection_subject(reason), data, f"{self._event_prefix}{next(self._event_ids)}"

    # --- the drainer ---------------------------------------------------------------------
    def health(self) -> IngestHealth:
        """What ``/readyz`` reports of ingest (see :class:`IngestHealth`)."""
        spool = self.spool
        since = [t for t in (self._store_down, self._bus_down, self._spool_since) if t]
        return IngestHealth(
            store="down" if self._store_down is not None else "ok",
            bus="down" if self._bus_down is not None else "ok",
            buffered_readings=spool.readings if spool is not None else 0,
            unpublished=len(self.outbox) if self.outbox is not None else 0,
            spool="off" if spool is None else "full" if spool.full else "ok",
            since=min(since) if since else None,
        )

    def close(self, timeout: float = 10.0) -> None:
        """Stop the drainer and release the spool; see :meth:`Ingestor.close`."""
        self._stop.set()
        self._wake.set()
        worker = self._worker
        if worker is not None and worker is not threading.current_thread():
            worker.join(timeout)
        if self.outbox is not None and len(self.outbox):
            log.warning("closing with %d messages unpublished on the bus", len(self.outbox))
        if self.spool is not None:
            self.spool.close()

    def kick(self) -> None:
        """Wake the drainer, starting it if needed."""
        if self._stop.is_set():
            return
        if self._worker is None:
            with self._worker_lock:
                if self._worker is None:
                    self._worker = threading.Thread(
                        target=self._run, name="stadswacht-ingest-drainer", daemon=True
                    )
                    self._worker.start()
        self._wake.set()

    def _run(self) -> None:
        base = self.settings.spool_drain_interval_s
        delay = base
        while not self._stop.is_set():
            self._wake.clear()
            if self._step():
                delay = base
                self._wake.wait()
            else:
                self._stop.wait(delay)
                delay = min(delay * 2, max(base, 30.0))

    def _step(self) -> bool:
        """Drain the spool and the outbox as far as they go; True when nothing is left."""
        clear = True
        spool = self.spool
        if spool is not None and (self._store_down is not None or not spool.empty):
            try:
                while not self._stop.is_set() and self.drain():
                    pass
                if self._store_down is not None:
                    self.store.ping()
                    log.info("the store answers again; the spool is drained")
                self._store_down = None
            except StorageError as exc:
                self.store_failed(exc)
                clear = False
            except Exception:  # keep the drainer alive; the spool keeps the readings
                log.exception("draining the ingest spool failed")
                clear = False
        if self.outbox is not None and (self._bus_down is not None or len(self.outbox)):
            try:
                while not self._stop.is_set() and self.republish():
                    pass
                if self._bus_down is not None:
                    log.info("the bus answers again; the outbox is published")
                self._bus_down = None
            except (StadswachtError, OSError) as exc:
                if self._bus_down is None:
                    self._bus_down = self.clock()
                log.debug("the bus still fails: %s", exc)
                clear = False
        return clear and not self._stop.is_set()
