"""The ingest service: every reading enters here, is checked once, stored once, published once.

Both transports (HTTP and MQTT) hand raw items to :meth:`Ingestor.ingest`; the checks, in
order, each with its reason code:

1. ``malformed``: not a JSON object with ``device``, ``seq``, ``time``, ``kind``, ``values``
   and ``sig`` of the right types; ``too_large``: over ``max_reading_bytes``.
2. ``unknown_device`` / ``decommissioned``: not in the registry, or retired.
3. ``topic_mismatch`` (MQTT) / ``not_gateway``: the channel may not carry this device.
4. ``bad_signature``: the Ed25519 signature does not verify with the device's current key.
5. ``invalid_values``: the values break the kind's rules (fields, units, ranges).
6. ``clock_skew`` / ``too_old``: the time is too far in the future or the past.
7. ``rate_limited`` (HTTP only): the device sends faster than its allowance.
8. ``replay``: the sequence number was already used (an identical copy within the duplicate
   window is an idempotent ``duplicate`` instead, neither stored again nor rejected).

Rejected readings go to the dead-letter store with their reason and the ``source`` that sent
them (client address, broker) as a keyed pseudonym (:mod:`stadswacht.privacy.pseudonym`), never
the raw identifier; the rest of a batch is stored
in one transaction and then published on the bus. One bad reading never sinks the others.
:meth:`Ingestor.ingest_many` does the same for many messages (each with its own MQTT topic) in
one transaction, so a transport that acknowledges after commit can batch small messages.

Degraded mode (``docs/degraded-mode.md``): when the store fails, the readings that passed their
checks go to a durable local spool (:mod:`stadswacht.ingest.spool`) and are answered as
``buffered``; a background drainer stores them, in order and re-checked against the store,
once it answers. While the store is down, devices are checked against what this process last
knew of them. When the bus fails, stored readings wait in an outbox and are published again
(``msg_id`` de-duplication makes that safe). After each batch every rejection and every
``duplicate`` answer is published on ``stadswacht.rejections.<reason>`` (best effort).
"""

from __future__ import annotations

import itertools
import json
import logging
import os
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, cast

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from pydantic import ValidationError

from stadswacht.bus.base import Bus, reading_subject, rejection_subject
from stadswacht.config import Settings
from stadswacht.errors import InvalidReading, StadswachtError, StorageError
from stadswacht.ingest.metrics import (
    BATCH_SECONDS,
    BUS_PUBLISH_FAILURES,
    READINGS_ACCEPTED,
    READINGS_BUFFERED,
    READINGS_DUPLICATE,
    READINGS_REJECTED,
    REJECTION_EVENTS,
    SPOOL_DRAINED,
)
from stadswacht.ingest.ratelimit import TokenBuckets
from stadswacht.ingest.registry import DeviceRegistry
from stadswacht.ingest.spool import Outbox, OutboxItem, Spool, SpoolFull, spool_dir
from stadswacht.model import DeadLetter, Device, DeviceKind, DeviceStatus, StoredReading
from stadswacht.model.reading import READING_KINDS, parse_time_ns
from stadswacht.model.signing import load_public_key, verify_bytes, verify_canonical
from stadswacht.privacy.pseudonym import Pseudonymiser, pseudonymiser_from_settings
from stadswacht.store.base import ExistingReading, Store

__all__ = ["BatchResult", "IngestHealth", "Ingestor", "Rejection", "SpoolFull", "parse_body"]

log = logging.getLogger(__name__)

Transport = Literal["http", "mqtt", "inproc", "cli"]
_FIELDS = {"device", "seq", "time", "kind", "values", "sig"}


@dataclass(frozen=True, slots=True)
class Rejection:
    """Why the item at ``index`` of a batch was rejected."""

    index: int
    reason: str
    message: str
    device: str | None = None
    seq: int | None = None

    def as_dict(self) -> dict[str, Any]:
        """The per-item answer of the HTTP API."""
        return {"index": self.index, "reason": self.reason, "message": self.message}


@dataclass(slots=True)
class BatchResult:
    """What happened to each item of a batch."""

    accepted: int = 0
    duplicates: list[int] = field(default_factory=list)
    rejected: list[Rejection] = field(default_factory=list)
    stored: list[StoredReading] = field(default_factory=list)
    buffered: list[int] = field(default_factory=list)
    """Items that passed their checks and wait in the spool for the store (kept durably: the
    sender must not send them again)."""

    def as_dict(self) -> dict[str, Any]:
        """The HTTP API's answer: ``{"accepted": n, "duplicates": [...], "rejected": [...]}``,
        with ``"buffered": [...]`` when the store was down."""
        doc: dict[str, Any] = {
            "accepted": self.accepted,
            "duplicates": self.duplicates,
            "rejected": [r.as_dict() for r in self.rejected],
        }
        if self.buffered:
            doc["buffered"] = self.buffered
        return doc


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


def parse_body(body: bytes, content_type: str = "application/json") -> list[Any]:
    """Split a request body into items: ``{"readings": [...]}``, a JSON array, one reading, a
    gateway envelope, or NDJSON (one reading per line).

    A line of NDJSON that is not JSON becomes a ``_Malformed`` item, so it is rejected alone.

    >>> parse_body(b'{"a": 1}\\n{oops\\n', "application/x-ndjson")[0]
    {'a': 1}
    """
    if "ndjson" in content_type or "jsonl" in content_type:
        items: list[Any] = []
        for line in body.split(b"\n"):
            if not line.strip():
                continue
            try:
                items.append(json.loads(line))
            except ValueError as exc:
                items.append(_Malformed(f"line is not JSON: {exc}", line[:200]))
        return items
    try:
        doc = json.loads(body)
    except ValueError as exc:
        raise InvalidReading("malformed", f"body is not JSON: {exc}") from None
    if isinstance(doc, dict) and "readings" in doc and isinstance(doc["readings"], list):
        return list(doc["readings"])
    if isinstance(doc, list):
        return doc
    return [doc]


@dataclass(frozen=True, slots=True)
class _Malformed:
    """An item that could not even be parsed; ``device`` is the one its channel names, if any."""

    message: str
    raw: bytes
    reason: str = "malformed"
    device: str | None = None


@dataclass(slots=True)
class _Candidate:
    index: int
    reading: StoredReading
    result: BatchResult


class Ingestor:
    """Checks, stores and publishes readings. Thread-safe; one per process.

    ``spool`` defaults to one made from the settings (``spool_dir``, ``spool_max_bytes``; off
    when that is 0). A background thread, started when first needed (at once if the spool
    holds readings from an earlier run), drains the spool and the outbox; :meth:`close` stops
    it.
    """

    def __init__(
        self,
        store: Store,
        bus: Bus | None,
        settings: Settings,
        registry: DeviceRegistry | None = None,
        clock: Callable[[], float] = time.time,
        on_result: Callable[[BatchResult, Transport], None] | None = None,
        pseudonymiser: Pseudonymiser | None = None,
        spool: Spool | None = None,
    ) -> None:
        self.store = store
        self.bus = bus
        self.settings = settings
        self.registry = registry or DeviceRegistry(store)
        self.clock = clock
        self.on_result = on_result
        self.rates = TokenBuckets(settings.device_rate_per_s, settings.device_rate_burst)
        self.pseudonymiser = pseudonymiser or pseudonymiser_from_settings(settings, "source")
        """Turns a message's ``source`` into the pseudonym its dead letters keep."""
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

    # --- entry points ----------------------------------------------------------------------
    def ingest(
        self,
        items: Sequence[Any],
        *,
        transport: Transport = "http",
        source: str | None = None,
        topic_device: str | None = None,
    ) -> BatchResult:
        """Check, store and publish a batch of readings as received (parsed JSON values).

        ``topic_device`` is the device named by an MQTT topic; every reading must be its own.
        A gateway envelope (``{"gateway": ..., "payload": ..., "sig": ...}``) among the items
        is expanded in place; its readings are numbered after the batch's own items.
        """
        return self.ingest_many([(topic_device, items)], transport=transport, source=source)[0]

    def ingest_many(
        self,
        messages: Sequence[tuple[str | None, Sequence[Any]]],
        *,
        transport: Transport = "mqtt",
        source: str | None = None,
    ) -> list[BatchResult]:
        """Ingest several messages, each ``(topic_device, items)``, committed in ONE transaction.

        The outcome is that of calling :meth:`ingest` on each message in turn (a reading
        repeated in a later message is a duplicate or a replay, as it would be then), but all
        accepted readings and dead letters go to the store in one commit and to the bus in one
        publish. Returns one :class:`BatchResult` per message, in order.

        ``source`` (an HTTP client's address, the MQTT broker) is pseudonymised here, before
        anything is kept: dead letters store only its pseudonym.

        When the store is down, readings that passed their checks are spooled and listed in
        each result's ``buffered``.

        Raises:
            SpoolFull: the store is down and the spool has no room: nothing was kept.
            StorageError: the store is down and there is no spool (or it cannot be written).
        """
        started = time.perf_counter()
        source = self.pseudonymiser(source)
        now_us = int(self.clock() * 1_000_000)
        results: list[BatchResult] = []
        candidates: list[_Candidate] = []
        dead: list[DeadLetter] = []
        for topic_device, items in messages:
            result = BatchResult()
            results.append(result)
            self._check_message(
                items, topic_device, result, candidates, dead, transport, source, now_us
            )
        dups: list[tuple[str, int, float]] = []
        stored = self._store(candidates, dead, transport, source, now_us, dups)
        elapsed = time.perf_counter() - started
        for result in results:
            result.rejected.sort(key=lambda r: r.index)
            result.duplicates.sort()
            READINGS_ACCEPTED.labels(transport).inc(result.accepted)
            if result.duplicates:
                READINGS_DUPLICATE.labels(transport).inc(len(result.duplicates))
            for rej in result.rejected:
                READINGS_REJECTED.labels(transport, rej.reason).inc()
        if self.bus is not None:
            self._publish(stored, self._events(results, dups, transport, source, now_us))
        BATCH_SECONDS.labels(transport).observe(elapsed)
        if self.on_result is not None:
            for result in results:
                self.on_result(result, transport)
        return results

    def _check_message(
        self,
        items: Sequence[Any],
        topic_device: str | None,
        result: BatchResult,
        candidates: list[_Candidate],
        dead: list[DeadLetter],
        transport: Transport,
        source: str | None,
        now_us: int,
    ) -> None:
        work: list[tuple[int, Any, str | None]] = []  # (index, item, gateway signature tag)
        extra = len(items)
        for index, item in enumerate(items):
            if isinstance(item, dict) and "gateway" in item:
                expanded, err = self._expand_gateway(item, topic_device)
                if err is not None:
                    self._reject(result, dead, index, err, item, transport, source, now_us)
                    continue
                for reading, tag in expanded:
                    work.append((extra, reading, tag))
                    extra += 1
            else:
                work.append((index, item, None))
        for index, item, gw_tag in work:
            # A gateway forwards other devices' readings: its envelope was matched to the topic
            # in _expand_gateway, and each reading's device to the gateway's ``gateway_for``.
            own_topic = topic_device if gw_tag is None else None
            try:
                reading = self._check(item, gw_tag, now_us, own_topic, gw_tag is None)
            except InvalidReading as exc:
                self._reject(result, dead, index, exc, item, transport, source, now_us)
            else:
                candidates.append(_Candidate(index, reading, result))

    # --- checks --------------------------------------------------------------------------
    def _check(
        self,
        item: Any,
        gateway_tag: str | None,
        now_us: int,
        topic_device: str | None,
        need_sig: bool,
    ) -> StoredReading:
        if isinstance(item, _Malformed):
            raise InvalidReading(item.reason, item.message)
        if not isinstance(item, dict):
            raise InvalidReading(
                "malformed", f"a reading is a JSON object, got {type(item).__name__}"
            )
        keys = set(item)
        need = _FIELDS if need_sig else _FIELDS - {"sig"}
        if keys - _FIELDS or need - keys:
            missing, unknown = sorted(need - keys), sorted(keys - _FIELDS)
            parts = []
            if missing:
                parts.append(f"missing {', '.join(missing)}")
            if unknown:
                parts.append(f"unknown field {', '.join(unknown)}")
            raise InvalidReading("malformed", "; ".join(parts))
        device_id, seq, t, kind, values = (
            item["device"],
            item["seq"],
            item["time"],
            item["kind"],
            item["values"],
        )
        if not isinstance(device_id, str) or not device_id:
            raise InvalidReading("malformed", "device must be a non-empty string")
        if not isinstance(seq, int) or isinstance(seq, bool) or not 0 <= seq < 2**53:
            # 2^53: the largest integer every JSON implementation (and RFC 8785) reads exactly.
            raise InvalidReading("malformed", f"seq must be an integer 0..2^53-1, got {seq!r}")
        if not isinstance(t, str):
            raise InvalidReading("malformed", "time must be an RFC 3339 string")
        if not isinstance(values, dict):
            raise InvalidReading("malformed", "values must be a JSON object")
        if kind not in READING_KINDS:
            raise InvalidReading(
                "malformed", f"kind {kind!r} is not one of {', '.join(sorted(READING_KINDS))}"
            )
        if need_sig and not isinstance(item["sig"], str):
            raise InvalidReading("malformed", "sig must be a base64url string")

        device, key = self._device(device_id)
        if topic_device is not None and device_id != topic_device:
            raise InvalidReading(
                "topic_mismatch",
                f"reading of device {device_id!r} arrived on the topic of {topic_device!r}",
            )
        if need_sig:
            body = {k: item[k] for k in ("device", "seq", "time", "kind", "values")}
            try:
                verified = verify_canonical(key, body, item["sig"])
            except (TypeError, ValueError) as exc:
                raise InvalidReading("malformed", f"cannot canonicalise: {exc}") from None
            if verified is None:
                raise InvalidReading(
                    "bad_signature",
                    f"signature does not verify with the key of {device_id!r} "
                    f"(key version {device.key_version}); sign the RFC 8785 form without 'sig'",
                )
            data = verified
            if len(data) > self.settings.max_reading_bytes:
                raise InvalidReading(
                    "too_large",
                    f"reading of {len(data)} bytes exceeds the limit of "
                    f"{self.settings.max_reading_bytes}; send large data another way",
                )
            sig: str = item["sig"]
        else:
            sig = gateway_tag or ""
            data = b""

        try:
            time_ns = parse_time_ns(t)
        except ValueError as exc:
            raise InvalidReading("malformed", str(exc)) from None
        try:
            READING_KINDS[kind].model_validate(values)
        except ValidationError as exc:
            errs = "; ".join(
                f"{'.'.join(str(p) for p in e['loc']) or 'values'}: {e['msg']}"
                for e in exc.errors(include_url=False)
            )
            raise InvalidReading("invalid_values", f"{kind}: {errs}") from None

        time_us = time_ns // 1000
        ahead = (time_us - now_us) / 1e6
        if ahead > self.settings.max_clock_skew_s:
            raise InvalidReading(
                "clock_skew",
                f"time {t} is {ahead:.0f} s ahead of the platform's clock "
                f"(allowed {self.settings.max_clock_skew_s:.0f} s); check the device's NTP",
            )
        if -ahead > self.settings.max_reading_age_s:
            raise InvalidReading(
                "too_old",
                f"time {t} is {-ahead:.0f} s old (allowed {self.settings.max_reading_age_s:.0f} s)",
            )
        return StoredReading(
            id=None,
            device=device_id,
            seq=seq,
            time=t,
            time_us=time_us,
            kind=kind,
            values=values,
            agency=device.agency,
            area=device.area,
            sig=sig,
            received_us=now_us,
            values_json=_values_json(data),
        )

    def _expand_gateway(
        self, envelope: dict[str, Any], topic_device: str | None
    ) -> tuple[list[tuple[Any, str]], InvalidReading | None]:
        gw_id, payload, sig = envelope.get("gateway"), envelope.get("payload"), envelope.get("sig")
        if not (isinstance(gw_id, str) and isinstance(payload, str) and isinstance(sig, str)):
            return [], InvalidReading(
                "malformed", 'a gateway batch is {"gateway": id, "payload": text, "sig": ...}'
            )
        try:
            gateway, key = self._device(gw_id)
        except InvalidReading as exc:
            return [], exc
        if gateway.kind is not DeviceKind.GATEWAY:
            return [], InvalidReading("not_gateway", f"device {gw_id!r} is not a gateway")
        if topic_device is not None and gw_id != topic_device:
            return [], InvalidReading(
                "topic_mismatch", f"batch of gateway {gw_id!r} on the topic of {topic_device!r}"
            )
        if not verify_bytes(key, payload.encode("utf-8"), sig):
            return [], InvalidReading(
                "bad_signature",
                f"batch signature does not verify with the key of gateway {gw_id!r}; "
                "sign the UTF-8 bytes of 'payload'",
            )
        try:
            doc = json.loads(payload)
        except ValueError as exc:
            return [], InvalidReading("malformed", f"gateway payload is not JSON: {exc}")
        readings = doc.get("readings") if isinstance(doc, dict) else doc
        if not isinstance(readings, list):
            return [], InvalidReading("malformed", "gateway payload holds no list of readings")
        allowed = set(gateway.gateway_for)
        tag = f"gw:{gw_id}:{sig}"
        out: list[tuple[Any, str]] = []
        for r in readings:
            dev = r.get("device") if isinstance(r, dict) else None
            if isinstance(dev, str) and dev not in allowed:
                out.append(
                    (
                        _Malformed(
                            f"gateway {gw_id!r} may not sign for {dev!r}", b"", "not_gateway"
                        ),
                        tag,
                    )
                )
                continue
            out.append((r, tag))
        return out, None

    # --- storing -------------------------------------------------------------------------
    def _reject(
        self,
        result: BatchResult,
        dead: list[DeadLetter],
        index: int,
        exc: InvalidReading,
        item: Any,
        transport: Transport,
        source: str | None,
        now_us: int,
    ) -> None:
        device = item.get("device") if isinstance(item, dict) else None
        if isinstance(item, _Malformed):
            device = item.device
        seq = item.get("seq") if isinstance(item, dict) else None
        device = device.encode("utf-8", "replace").decode() if isinstance(device, str) else None
        seq = (
            seq if isinstance(seq, int) and not isinstance(seq, bool) and 0 <= seq < 2**63 else None
        )
        reason = exc.reason
        result.rejected.append(Rejection(index, reason, exc.message, device, seq))
        dead.append(
            DeadLetter(
                received_us=now_us,
                reason=reason,
                message=exc.message,
                device=device,
                seq=seq,
                transport=transport,
                source=source,
                payload=self._payload_text(item),
            )
        )

    def _payload_text(self, item: Any) -> str:
        if isinstance(item, _Malformed):
            text = item.raw.decode("utf-8", "replace")
        else:
            try:
                # ASCII escapes: a lone surrogate in a payload must not break the store.
                text = json.dumps(item, separators=(",", ":"), default=str)
            except (TypeError, ValueError):
                text = repr(item)
        limit = self.settings.dead_letter_payload_bytes
        return text if len(text) <= limit else text[:limit] + "…"

    def _store(
        self,
        candidates: list[_Candidate],
        dead: list[DeadLetter],
        transport: Transport,
        source: str | None,
        now_us: int,
        dups: list[tuple[str, int, float]],
    ) -> list[StoredReading]:
        """Store (or spool) what passed the checks; return the readings stored now."""
        window_us = int(self.settings.duplicate_window_s * 1_000_000)
        # Only HTTP is rate-limited per device: an HTTP client is told and retries. An MQTT
        # message was already acknowledged by the broker, whose queues and in-flight window
        # pace the device, so refusing its readings here would lose them.
        limit_rate = transport == "http"
        fresh: list[_Candidate] = []
        seen: dict[tuple[str, int], str] = {}
        existing = self._existing([(c.reading.device, c.reading.seq) for c in candidates])
        for c in candidates:
            r = c.reading
            key = (r.device, r.seq)
            prior = existing.get(key)
            prior_sig = prior.sig if prior is not None else seen.get(key)
            if prior_sig is None:
                if limit_rate and not self.rates.take(r.device):
                    self._rate_limited(c, dead, transport, source, now_us)
                    continue
                seen[key] = r.sig
                fresh.append(c)
                continue
            first_us = prior.received_us if prior is not None else now_us
            if prior_sig == r.sig and now_us - first_us <= window_us:
                c.result.duplicates.append(c.index)
                dups.append((r.device, r.seq, (now_us - first_us) / 1e6))
                continue
            self._replay(c.result, dead, c, prior_sig == r.sig, transport, source, now_us)
        if self._spooling():
            self._spool(fresh, dead, transport, source)
            return []
        try:
            stored = self.store.commit([c.reading for c in fresh], dead)
        except StorageError as exc:
            if self.spool is None:
                raise
            self._store_failed(exc)
            self._spool(fresh, dead, transport, source)
            return []
        inserted = {(s.device, s.seq): s for s in stored}
        lost = [c for c in fresh if (c.reading.device, c.reading.seq) not in inserted]
        if lost:
            self._settle_lost(lost, transport, source, now_us, dups)
        for c in fresh:
            s = inserted.get((c.reading.device, c.reading.seq))
            if s is not None:
                c.result.stored.append(s)
                c.result.accepted += 1
        return stored

    def _settle_lost(
        self,
        lost: list[_Candidate],
        transport: Transport,
        source: str | None,
        now_us: int,
        dups: list[tuple[str, int, float]],
    ) -> None:
        """Another process stored the same ``(device, seq)`` between our check and commit."""
        late: list[DeadLetter] = []
        again = self.store.existing([(c.reading.device, c.reading.seq) for c in lost])
        for c in lost:
            prior = again.get((c.reading.device, c.reading.seq))
            if prior is not None and prior.sig == c.reading.sig:
                c.result.duplicates.append(c.index)
                dups.append((c.reading.device, c.reading.seq, (now_us - prior.received_us) / 1e6))
            else:
                self._replay(c.result, late, c, False, transport, source, now_us)
        if late:
            try:
                self.store.commit([], late)
            except StorageError as exc:
                if self.spool is None:
                    raise
                self._store_failed(exc)
                self._spool([], late, transport, source)

    # --- degraded mode: the store ------------------------------------------------------
    def _device(self, device_id: str) -> tuple[Device, Ed25519PublicKey]:
        """The registry's :meth:`~DeviceRegistry.active`; while the store is down (with a
        spool), what this process last knew of the device."""
        if self.spool is None:
            return self.registry.active(device_id)
        if self._store_down is None:
            try:
                found = self.registry.active(device_id)
            except InvalidReading:
                self._known.pop(device_id, None)
                raise
            except StorageError as exc:
                self._store_failed(exc)
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

    def _existing(self, keys: list[tuple[str, int]]) -> dict[tuple[str, int], ExistingReading]:
        """Of these keys, those stored (if the store answers) or waiting in the spool."""
        found: dict[tuple[str, int], ExistingReading] = {}
        if keys and (self.spool is None or self._store_down is None):
            try:
                found = self.store.existing(keys)
            except StorageError as exc:
                if self.spool is None:
                    raise
                # Replays of readings stored before the outage are caught when draining.
                self._store_failed(exc)
        if keys and self.spool is not None and not self.spool.empty:
            for key, entry in self.spool.pending(keys).items():
                found.setdefault(key, entry)
        return found

    def _spooling(self) -> bool:
        """Whether a batch goes to the spool: the store is down, or readings wait there (a
        later reading must not overtake an earlier one of its device)."""
        spool = self.spool
        return spool is not None and (self._store_down is not None or not spool.empty)

    def _spool(
        self,
        fresh: list[_Candidate],
        dead: list[DeadLetter],
        transport: Transport,
        source: str | None,
    ) -> None:
        assert self.spool is not None
        if not fresh and not dead:
            return
        readings = [c.reading for c in fresh]
        self.spool.append(readings, dead, transport, source)
        if self._spool_since is None:
            self._spool_since = self.clock()
        for c in fresh:
            c.result.buffered.append(c.index)
        READINGS_BUFFERED.labels(transport).inc(len(readings))
        self.kick()

    def _store_failed(self, exc: StorageError) -> None:
        if self._store_down is None:
            self._store_down = self.clock()
            log.error("the store failed (%s); ingest spools checked readings until it answers", exc)
        self.kick()

    def drain(self, max_readings: int = 5000) -> int:
        """Store the oldest spooled batches (about ``max_readings`` readings), in order.

        Each reading is checked against the store again: one already stored with the same
        signature is a duplicate (stored once, not an error), one with another signature a
        ``replay`` (dead-lettered, and its rejection event published). What is stored is
        published. The background drainer calls this; tests and tools may too.

        Returns:
            How many spool records were handled; 0 when the spool is empty.

        Raises:
            StorageError: the store still fails; nothing was taken off the spool.
        """
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
                            payload=_reading_text(r)[: self.settings.dead_letter_payload_bytes],
                        )
                    )  # fmt: skip
                    events.append(
                        self._event("replay", r.device, r.seq, msg, transport, rec.source,
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
            self._publish(stored, events)
        return len(records)

    # --- degraded mode: the bus --------------------------------------------------------
    def _publish(self, stored: list[StoredReading], events: list[OutboxItem]) -> None:
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
        """Publish the oldest ``max_messages`` of the outbox; how many went (0: empty).

        Raises:
            StadswachtError: the bus still fails; nothing was taken off the outbox.
        """
        if self.outbox is None or self.bus is None:
            return 0
        items = self.outbox.peek(max_messages)
        if items:
            self.bus.publish(items)
            self.outbox.consume(items)
        return len(items)

    def _events(
        self,
        results: list[BatchResult],
        dups: list[tuple[str, int, float]],
        transport: Transport,
        source: str | None,
        now_us: int,
    ) -> list[OutboxItem]:
        """The rejection and duplicate events of a batch, for the infrastructure detectors."""
        events = [
            self._event(rej.reason, rej.device, rej.seq, rej.message, transport, source, now_us)
            for result in results
            for rej in result.rejected
        ]
        for device, seq, age in dups:
            msg = f"sequence {seq} of device {device!r}: an identical copy was already received"
            events.append(
                self._event("duplicate", device, seq, msg, transport, source, now_us, age)
            )
        return events

    def _event(
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
        doc: dict[str, Any] = {
            "device": device, "seq": seq, "reason": reason, "message": message,
            "transport": transport, "source": source, "received_us": received_us,
        }  # fmt: skip
        if original_age_s is not None:
            doc["original_age_s"] = round(original_age_s, 6)
        REJECTION_EVENTS.labels(reason).inc()
        data = json.dumps(doc, separators=(",", ":")).encode("utf-8")
        return rejection_subject(reason), data, f"{self._event_prefix}{next(self._event_ids)}"

    # --- degraded mode: the drainer ----------------------------------------------------
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
        """Stop the drainer and release the spool; what is spooled is drained by the next run.
        Outbox messages not yet published are logged (their readings are stored)."""
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
                self._store_failed(exc)
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

    def _rate_limited(
        self,
        c: _Candidate,
        dead: list[DeadLetter],
        transport: Transport,
        source: str | None,
        now_us: int,
    ) -> None:
        r = c.reading
        msg = (
            f"device {r.device!r} exceeds {self.settings.device_rate_per_s:g} readings/s "
            f"(burst {self.settings.device_rate_burst:g}); retry in "
            f"{self.rates.retry_after(r.device):.1f} s"
        )
        self._refuse(c.result, dead, c, "rate_limited", msg, transport, source, now_us)

    def _replay(
        self,
        result: BatchResult,
        dead: list[DeadLetter],
        c: _Candidate,
        identical: bool,
        transport: Transport,
        source: str | None,
        now_us: int,
    ) -> None:
        r = c.reading
        why = (
            "an identical copy was first received more than "
            f"{self.settings.duplicate_window_s:.0f} s ago"
            if identical
            else "a different reading with this sequence number is already stored"
        )
        msg = f"sequence {r.seq} of device {r.device!r} was already used: {why}"
        self._refuse(result, dead, c, "replay", msg, transport, source, now_us)

    def _refuse(
        self,
        result: BatchResult,
        dead: list[DeadLetter],
        c: _Candidate,
        reason: str,
        message: str,
        transport: Transport,
        source: str | None,
        now_us: int,
    ) -> None:
        """Reject a reading that passed its checks (replay, rate limit) and dead-letter it."""
        r = c.reading
        result.rejected.append(Rejection(c.index, reason, message, r.device, r.seq))
        dead.append(
            DeadLetter(
                received_us=now_us,
                reason=reason,
                message=message,
                device=r.device,
                seq=r.seq,
                transport=transport,
                source=source,
                payload=_reading_text(r)[: self.settings.dead_letter_payload_bytes],
            )
        )


def _reading_text(r: StoredReading) -> str:
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


def _values_json(canonical: bytes) -> str | None:
    """The ``values`` member of a checked reading's canonical form, as JSON text.

    RFC 8785 sorts members, so ``values`` is the last one; and in a reading that passed every
    check, ``device``, ``kind``, ``seq`` and ``time`` cannot contain ``,"values":``, so its
    first occurrence is the member itself. Saves serialising the values again for storage.
    """
    i = canonical.find(b',"values":')
    if i < 0:
        return None
    return canonical[i + 10 : -1].decode("utf-8")
