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
``duplicate`` answer is published on ``stadswacht.rejections.<reason>`` (best effort). That
part lives in :mod:`stadswacht.ingest.degraded` (:class:`~stadswacht.ingest.degraded.DegradedMode`,
which the ingestor composes); ``drain``, ``republish``, ``kick``, ``close`` and ``health`` here
delegate to it.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from stadswacht.bus.base import Bus
from stadswacht.config import Settings
from stadswacht.errors import InvalidReading, StorageError
from stadswacht.ingest.degraded import DegradedMode, IngestHealth, Transport, reading_text
from stadswacht.ingest.metrics import (
    BATCH_SECONDS,
    READINGS_ACCEPTED,
    READINGS_DUPLICATE,
    READINGS_REJECTED,
)
from stadswacht.ingest.ratelimit import TokenBuckets
from stadswacht.ingest.registry import DeviceRegistry
from stadswacht.ingest.spool import Outbox, Spool, SpoolFull
from stadswacht.model import DeadLetter, DeviceKind, StoredReading
from stadswacht.model.reading import READING_KINDS, parse_time_ns
from stadswacht.model.signing import verify_bytes, verify_canonical
from stadswacht.privacy.pseudonym import Pseudonymiser, pseudonymiser_from_settings
from stadswacht.store.base import Store

__all__ = ["BatchResult", "IngestHealth", "Ingestor", "Rejection", "SpoolFull", "parse_body"]

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
        # The spool, the outbox, the device cache, rejection events and the drainer.
        self._degraded = DegradedMode(store, bus, settings, self.registry, clock, spool)

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
            rejections = [rej for result in results for rej in result.rejected]
            events = self._degraded.events(rejections, dups, transport, source, now_us)
            self._degraded.publish(stored, events)
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

        device, key = self._degraded.device(device_id)
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
            gateway, key = self._degraded.device(gw_id)
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
        existing = self._degraded.existing([(c.reading.device, c.reading.seq) for c in candidates])
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
        if self._degraded.spooling():
            self._spool(fresh, dead, transport, source)
            return []
        try:
            stored = self.store.commit([c.reading for c in fresh], dead)
        except StorageError as exc:
            if self.spool is None:
                raise
            self._degraded.store_failed(exc)
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
                self._degraded.store_failed(exc)
                self._spool([], late, transport, source)

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
                payload=reading_text(r)[: self.settings.dead_letter_payload_bytes],
            )
        )

    # --- degraded mode (stadswacht.ingest.degraded) ----------------------------------------
    @property
    def spool(self) -> Spool | None:
        """Checked readings waiting for the store; None: a store outage fails ingest."""
        return self._degraded.spool

    @property
    def outbox(self) -> Outbox | None:
        """Messages waiting for the bus; None without a bus (or with the outbox off)."""
        return self._degraded.outbox

    def _spool(
        self,
        fresh: list[_Candidate],
        dead: list[DeadLetter],
        transport: Transport,
        source: str | None,
    ) -> None:
        self._degraded.spool_batch([c.reading for c in fresh], dead, transport, source)
        for c in fresh:
            c.result.buffered.append(c.index)

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
        return self._degraded.drain(max_readings)

    def republish(self, max_messages: int = 5000) -> int:
        """Publish the oldest ``max_messages`` of the outbox; how many went (0: empty).

        Raises:
            StadswachtError: the bus still fails; nothing was taken off the outbox.
        """
        return self._degraded.republish(max_messages)

    def health(self) -> IngestHealth:
        """What ``/readyz`` reports of ingest (see :class:`IngestHealth`)."""
        return self._degraded.health()

    def close(self, timeout: float = 10.0) -> None:
        """Stop the drainer and release the spool; what is spooled is drained by the next run.
        Outbox messages not yet published are logged (their readings are stored)."""
        self._degraded.close(timeout)

    def kick(self) -> None:
        """Wake the drainer, starting it if needed."""
        self._degraded.kick()


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
