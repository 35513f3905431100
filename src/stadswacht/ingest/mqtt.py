"""The MQTT transport of ingest: a persistent-session subscriber that acknowledges after commit.

Devices publish at QoS 1 to ``stadswacht/v1/readings/{device}`` (one reading, or a JSON array
of them) and gateways to ``stadswacht/v1/gateways/{gateway}`` (a signed envelope
``{"gateway", "payload", "sig"}``). This module carries those bytes to
:meth:`Ingestor.ingest_many <stadswacht.ingest.service.Ingestor.ingest_many>` and decides
nothing itself.

Delivery guarantee, end to end: the subscriber connects with a fixed client id and a session
that outlives the connection (MQTT v5 ``clean_start=False`` with a session expiry), subscribes
at QoS 1 and acknowledges a message (PUBACK) only after the readings it carried are committed,
either to the readings or to the dead-letter store. A message the broker has acknowledged to
a device therefore stays on the broker until the platform has stored it; if the platform dies
in between, the broker delivers it again and the ingest service recognises the copy as an
idempotent duplicate. Stored exactly once, lost never (as long as the broker keeps its queue:
see ``deploy/mosquitto/mosquitto.conf`` and ``docs/mqtt.md``).

Throughput comes from batching, not from acknowledging early: the paho network thread only
queues messages; one worker takes whatever has accumulated (up to ``max_batch_readings``),
commits it in one transaction and then acknowledges every message of the batch in the order
received. The broker's window of unacknowledged messages is ours to choose (MQTT v5 Receive
Maximum), so a batch can be that large.
"""

from __future__ import annotations

import asyncio
import json
import logging
import queue
import signal
import sys
import threading
import time
from dataclasses import dataclass
from types import FrameType, TracebackType
from typing import Any
from urllib.parse import unquote, urlsplit

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode
from paho.mqtt.subscribeoptions import SubscribeOptions

from stadswacht.config import Settings
from stadswacht.errors import ConfigurationError, StadswachtError, StorageError
from stadswacht.ingest.service import Ingestor, _Malformed

__all__ = [
    "GATEWAYS_FILTER",
    "READINGS_FILTER",
    "MqttIngest",
    "MqttStats",
    "gateway_topic",
    "main",
    "parse_mqtt_url",
    "parse_payload",
    "reading_topic",
    "topic_filters",
]

log = logging.getLogger(__name__)
_paho_log = logging.getLogger(f"{__name__}.paho")
# paho's loop logs an error each time it runs without a connection (after a failed attempt,
# after a clean disconnect); the callbacks below say what happened, once.
_paho_log.addFilter(lambda record: "not connected" not in record.getMessage())

TOPIC_ROOT = "stadswacht/v1"
READINGS_FILTER = f"{TOPIC_ROOT}/readings/+"
"""Devices publish their own readings here, one topic level per device id."""
GATEWAYS_FILTER = f"{TOPIC_ROOT}/gateways/+"
"""Gateways publish signed envelopes here, one topic level per gateway id."""

SESSION_NEVER_EXPIRES = 0xFFFFFFFF
"""MQTT v5 session expiry [s] meaning "never"; the broker's ``persistent_client_expiration``
bounds it (a session nobody resumes for that long is dropped)."""

DEFAULT_RECEIVE_MAXIMUM = 1000
"""Unacknowledged QoS 1 messages the broker may have in flight to us (MQTT v5 Receive
Maximum). It is meant to bound one batch, the memory held here and the redeliveries after a
crash; but Mosquitto 2.0.11 (Debian 12) was measured sending far more once acknowledgements
flow (31,835 unacknowledged with a window of 1,000), so with that broker none of the three is
bounded by it. Nothing is lost either way: every message is still acknowledged only after
its commit."""


def reading_topic(device_id: str) -> str:
    """The topic a device publishes its readings to.

    >>> reading_topic("iz-ac-01")
    'stadswacht/v1/readings/iz-ac-01'
    """
    return f"{TOPIC_ROOT}/readings/{device_id}"


def gateway_topic(gateway_id: str) -> str:
    """The topic a gateway publishes its signed envelopes to.

    >>> gateway_topic("gw-7")
    'stadswacht/v1/gateways/gw-7'
    """
    return f"{TOPIC_ROOT}/gateways/{gateway_id}"


def topic_filters(shared_group: str | None = None) -> list[str]:
    """The subscriptions of the ingest; as a shared subscription when a group is given.

    >>> topic_filters("ingest")
    ['$share/ingest/stadswacht/v1/readings/+', '$share/ingest/stadswacht/v1/gateways/+']
    """
    prefix = f"$share/{shared_group}/" if shared_group else ""
    return [prefix + READINGS_FILTER, prefix + GATEWAYS_FILTER]


def parse_mqtt_url(url: str) -> tuple[str, int, bool, str | None, str | None]:
    """Split ``mqtt[s]://[user[:password]@]host[:port]`` into host, port, TLS, user, password.

    >>> parse_mqtt_url("mqtts://ingest:s3cret@broker.example:8883")
    ('broker.example', 8883, True, 'ingest', 's3cret')
    >>> parse_mqtt_url("mqtt://127.0.0.1")
    ('127.0.0.1', 1883, False, None, None)
    """
    parts = urlsplit(url)
    schemes = {"mqtt": False, "tcp": False, "mqtts": True, "ssl": True}
    if parts.scheme not in schemes or not parts.hostname:
        raise ConfigurationError(
            f"STADSWACHT_MQTT_URL={url!r} is not a broker URL; use mqtt://host:1883 "
            "or mqtts://host:8883"
        )
    tls = schemes[parts.scheme]
    try:
        port = parts.port or (8883 if tls else 1883)
    except ValueError as exc:
        raise ConfigurationError(f"STADSWACHT_MQTT_URL={url!r}: {exc}") from None
    user = unquote(parts.username) if parts.username else None
    password = unquote(parts.password) if parts.password else None
    return parts.hostname, port, tls, user, password


def parse_payload(
    topic: str, payload: bytes, *, max_bytes: int, max_items: int
) -> tuple[str | None, list[Any]]:
    """Split one message into the device its topic names and the items to ingest.

    A payload that cannot be read becomes one malformed item, so it is rejected (and kept in
    the dead-letter store) with its reason instead of vanishing.

    >>> parse_payload("stadswacht/v1/readings/d1", b'[{"a": 1}, 2]', max_bytes=99, max_items=9)
    ('d1', [{'a': 1}, 2])
    >>> device, items = parse_payload("stadswacht/v1/readings/d1", b"{oops", max_bytes=99,
    ...                               max_items=9)
    >>> items[0].reason, items[0].device
    ('malformed', 'd1')
    """
    levels = topic.split("/")
    device: str | None = None
    ours = len(levels) == 4 and "/".join(levels[:2]) == TOPIC_ROOT
    if ours and levels[2] in ("readings", "gateways") and levels[3]:
        device = levels[3]
    if device is None:
        return None, [_Malformed(f"topic {topic!r} is not a Stadswacht topic", payload[:200])]
    if len(payload) > max_bytes:
        return device, [
            _Malformed(
                f"payload on {topic} is {len(payload)} bytes; at most {max_bytes} are allowed",
                payload[:200],
                device=device,
            )
        ]
    try:
        doc = json.loads(payload)
    except ValueError as exc:  # UnicodeDecodeError is a ValueError too
        return device, [
            _Malformed(f"payload on {topic} is not JSON: {exc}", payload[:200], device=device)
        ]
    if not isinstance(doc, list):
        return device, [doc]
    if len(doc) > max_items:
        return device, [
            _Malformed(
                f"payload on {topic} holds {len(doc)} readings; at most {max_items} are allowed",
                payload[:200],
                device=device,
            )
        ]
    return device, doc


@dataclass(slots=True)
class MqttStats:
    """What the subscriber has done since it started; read it, don't write it."""

    connects: int = 0
    """Successful connections to the broker (more than one: it reconnected)."""
    messages: int = 0
    """Messages taken from the broker."""
    acked: int = 0
    """Messages acknowledged after their batch was committed."""
    batches: int = 0
    """Commits (one per batch of messages)."""
    accepted: int = 0
    duplicates: int = 0
    """Copies of stored readings: redeliveries after a crash or a lost acknowledgement."""
    rejected: int = 0


@dataclass(frozen=True, slots=True)
class _Delivery:
    generation: int  # connection the message came on; an ack is only valid on it
    mid: int
    qos: int
    topic: str
    payload: bytes


@dataclass(frozen=True, slots=True)
class _Parsed:
    delivery: _Delivery
    topic_device: str | None
    items: list[Any]


class MqttIngest:
    """Subscribes to the device topics and feeds the messages to an :class:`Ingestor`.

    Use as a context manager, or call :meth:`start` and :meth:`stop`. :meth:`start` returns at
    once; the connection (and every reconnection, with backoff) happens in the background, and
    :meth:`wait_subscribed` tells when messages flow.

    Args:
        settings: ``mqtt_url``, ``mqtt_username``/``mqtt_password`` (or in the URL),
            ``mqtt_client_id`` (the persistent session) and ``mqtt_shared_group``.
        ingestor: checks, stores and publishes; must commit before returning.
        max_batch_readings: a batch is closed once it holds this many readings.
        linger_s: how long to wait for more messages before committing a small batch [s].
        receive_maximum: unacknowledged messages the broker may send us (MQTT v5).
    """

    def __init__(
        self,
        settings: Settings,
        ingestor: Ingestor,
        *,
        max_batch_readings: int = 2000,
        linger_s: float = 0.002,
        receive_maximum: int = DEFAULT_RECEIVE_MAXIMUM,
        keepalive_s: int = 30,
    ) -> None:
        if not settings.mqtt_url:
            raise ConfigurationError("set STADSWACHT_MQTT_URL, e.g. mqtt://127.0.0.1:1883")
        if not 1 <= receive_maximum <= 65535:
            raise ConfigurationError(f"receive_maximum must be 1..65535, got {receive_maximum}")
        host, port, tls, user, password = parse_mqtt_url(settings.mqtt_url)
        self.settings = settings
        self.ingestor = ingestor
        self.host, self.port = host, port
        self.max_batch_readings = max_batch_readings
        self.linger_s = linger_s
        self.receive_maximum = receive_maximum
        self.keepalive_s = keepalive_s
        self.filters = topic_filters(settings.mqtt_shared_group)
        self.stats = MqttStats()
        self._source = f"{'mqtts' if tls else 'mqtt'}://{host}:{port}"
        self._queue: queue.Queue[_Delivery] = queue.Queue()
        self._lock = threading.Lock()  # guards _generation/_connected against acks in flight
        self._generation = 0
        self._connected = False
        self._outstanding = 0  # received, not yet acknowledged (or abandoned)
        self._subscribed = threading.Event()
        self._stopping = threading.Event()
        self._worker: threading.Thread | None = None

        client = paho.Client(
            CallbackAPIVersion.VERSION2,
            client_id=settings.mqtt_client_id,
            protocol=MQTTProtocolVersion.MQTTv5,
            manual_ack=True,
        )
        username = settings.mqtt_username or user
        if username is not None:
            client.username_pw_set(username, settings.mqtt_password or password)
        if tls:
            client.tls_set()
        client.reconnect_delay_set(min_delay=1, max_delay=30)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_subscribe = self._on_subscribe
        client.on_message = self._on_message
        client.on_connect_fail = self._on_connect_fail
        # An exception escaping a callback would end paho's network thread, and with it the
        # ingest; paho logs it instead.
        client.suppress_exceptions = True
        client.enable_logger(_paho_log)
        self._client = client

    # --- life cycle ----------------------------------------------------------------------
    def start(self) -> None:
        """Connect in the background and start the worker; returns at once."""
        if self._worker is not None:
            return
        self._stopping.clear()
        props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        props.SessionExpiryInterval = SESSION_NEVER_EXPIRES
        props.ReceiveMaximum = self.receive_maximum
        self._client.connect_async(
            self.host,
            self.port,
            keepalive=self.keepalive_s,
            clean_start=False,
            properties=props,
        )
        self._worker = threading.Thread(target=self._run, name="mqtt-ingest", daemon=True)
        self._worker.start()
        self._client.loop_start()

    def wait_subscribed(self, timeout: float | None = None) -> bool:
        """Wait until the subscriptions are in place; whether they are."""
        return self._subscribed.wait(timeout)

    def stop(self, timeout: float = 30.0) -> None:
        """Commit and acknowledge what has been received, then disconnect.

        Messages that arrive meanwhile are left unacknowledged: the broker keeps them for the
        session and delivers them when it resumes.
        """
        if self._worker is None:
            return
        self._stopping.set()
        self._worker.join(timeout)
        if self._worker.is_alive():
            log.warning("MQTT ingest worker still busy after %.0f s; disconnecting", timeout)
        self._client.disconnect()  # queued PUBACKs go out before the DISCONNECT
        self._client.loop_stop()
        self._worker = None

    def __enter__(self) -> MqttIngest:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # --- paho callbacks (network thread) -------------------------------------------------
    def _on_connect_fail(self, client: paho.Client, userdata: Any) -> None:
        log.warning("cannot reach the broker %s; retrying", self._source)

    def _on_connect(
        self,
        client: paho.Client,
        userdata: Any,
        flags: paho.ConnectFlags,
        reason_code: ReasonCode,
        properties: Properties | None,
    ) -> None:
        if reason_code.is_failure:
            log.error(
                "broker %s refused the connection: %s (check STADSWACHT_MQTT_USERNAME/"
                "_PASSWORD and the broker's password file); retrying",
                self._source,
                reason_code,
            )
            return
        with self._lock:
            self._generation += 1
            self._connected = True
            self._outstanding = 0  # the broker resends whatever we had not acknowledged
        self.stats.connects += 1
        if not flags.session_present:
            log.warning(
                "broker %s had no session for client id %r: anything published while this "
                "subscriber was away and not queued for it is not delivered (first start, "
                "expired session, or a broker without persistence)",
                self._source,
                self.settings.mqtt_client_id,
            )
        options = SubscribeOptions(qos=1)
        client.subscribe([(f, options) for f in self.filters])

    def _on_subscribe(
        self,
        client: paho.Client,
        userdata: Any,
        mid: int,
        reason_codes: list[ReasonCode],
        properties: Properties | None,
    ) -> None:
        refused = [f for f, rc in zip(self.filters, reason_codes, strict=False) if rc.is_failure]
        if refused:
            log.error(
                "broker %s refused the subscription to %s; check the ingest user's ACL "
                "(it needs `topic read %s/#`)",
                self._source,
                ", ".join(refused),
                TOPIC_ROOT,
            )
            return
        log.info("subscribed to %s at %s", ", ".join(self.filters), self._source)
        self._subscribed.set()

    def _on_disconnect(
        self,
        client: paho.Client,
        userdata: Any,
        flags: paho.DisconnectFlags,
        reason_code: ReasonCode,
        properties: Properties | None,
    ) -> None:
        with self._lock:
            self._generation += 1  # acks of this connection's messages are void from now
            self._connected = False
        self._subscribed.clear()
        if not self._stopping.is_set():
            log.warning("lost the broker %s (%s); reconnecting", self._source, reason_code)

    def _on_message(self, client: paho.Client, userdata: Any, message: paho.MQTTMessage) -> None:
        if self._stopping.is_set():
            return  # not acknowledged: the broker keeps it for the next session
        with self._lock:
            generation = self._generation
            self._outstanding += 1
        self._queue.put(
            _Delivery(generation, message.mid, message.qos, message.topic, bytes(message.payload))
        )

    # --- worker --------------------------------------------------------------------------
    def _run(self) -> None:
        while True:
            batch = self._take()
            if batch is None:
                return
            self._handle(batch)

    def _parse(self, d: _Delivery) -> _Parsed:
        device, items = parse_payload(
            d.topic,
            d.payload,
            max_bytes=self.settings.max_body_bytes,
            max_items=self.settings.max_batch_items,
        )
        return _Parsed(d, device, items)

    def _take(self) -> list[_Parsed] | None:
        """Block for a first message, then take what has accumulated; None when stopping."""
        while True:
            try:
                first = self._queue.get(timeout=0.1)
                break
            except queue.Empty:
                if self._stopping.is_set():
                    return None
        batch = [self._parse(first)]
        readings = len(batch[0].items)
        deadline = time.monotonic() + self.linger_s
        while readings < self.max_batch_readings:
            try:
                d = self._queue.get_nowait()
            except queue.Empty:
                remaining = deadline - time.monotonic()
                with self._lock:
                    window_full = self._outstanding >= self.receive_maximum
                if remaining <= 0 or window_full or self._stopping.is_set():
                    break  # nothing more can come until we acknowledge
                try:
                    d = self._queue.get(timeout=remaining)
                except queue.Empty:
                    break
            parsed = self._parse(d)
            batch.append(parsed)
            readings += len(parsed.items)
        return batch

    def _handle(self, batch: list[_Parsed]) -> None:
        messages = [(p.topic_device, p.items) for p in batch]
        delay = 0.1
        while True:
            try:
                results = self.ingestor.ingest_many(messages, transport="mqtt", source=self._source)
                break
            except StorageError:
                # Nothing was committed, so nothing is acknowledged. Every later batch would
                # fail the same way: wait for the store instead of skipping ahead.
                log.exception(
                    "storing %d MQTT messages failed; retrying in %.1f s", len(batch), delay
                )
                if self._stopping.wait(delay):
                    self._abandon(batch)
                    return
                delay = min(delay * 2, 5.0)
            except Exception:
                log.exception("ingesting %d MQTT messages failed", len(batch))
                if len(batch) > 1:  # find the message that breaks the service, keep the rest
                    for one in batch:
                        self._handle([one])
                else:
                    self._abandon(batch)
                return
        stats = self.stats
        stats.batches += 1
        stats.messages += len(batch)
        for result in results:
            stats.accepted += result.accepted
            stats.duplicates += len(result.duplicates)
            stats.rejected += len(result.rejected)
        redelivered = sum(len(r.duplicates) for r in results)
        if redelivered:
            log.info("%d redelivered readings were already stored (not stored again)", redelivered)
        for p in batch:
            self._ack(p.delivery)

    def _abandon(self, batch: list[_Parsed]) -> None:
        # Left unacknowledged, so the broker delivers them again when the session resumes.
        log.error("%d MQTT messages left unacknowledged on the broker", len(batch))
        with self._lock:
            for p in batch:
                if p.delivery.generation == self._generation:
                    self._outstanding -= 1

    def _ack(self, d: _Delivery) -> None:
        with self._lock:
            if not self._connected or d.generation != self._generation:
                return  # came on an earlier connection: the broker sends it again
            self._outstanding -= 1
            rc = self._client.ack(d.mid, d.qos)
        if rc is MQTTErrorCode.MQTT_ERR_SUCCESS:
            self.stats.acked += 1
        else:
            log.warning("acknowledging message %d failed: %s", d.mid, rc)


def main(settings: Settings | None = None) -> int:
    """Run a standalone MQTT ingest process until SIGTERM or SIGINT; the exit code.

    Builds store, bus, registry and :class:`Ingestor` from the settings (environment
    ``STADSWACHT_*``), as ``python -m stadswacht.ingest.mqtt`` and ``stadswacht ingest mqtt``.
    """
    from stadswacht.bus import open_bus
    from stadswacht.config import get_settings
    from stadswacht.ingest.registry import DeviceRegistry
    from stadswacht.store import open_store

    if not logging.getLogger().handlers:
        logging.basicConfig(
            level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
        )
    try:
        settings = settings or get_settings()
        if not settings.mqtt_url:
            raise ConfigurationError("set STADSWACHT_MQTT_URL, e.g. mqtt://127.0.0.1:1883")
        store = open_store(settings.database_url)
    except StadswachtError as exc:
        log.error("%s", exc)
        return 2
    try:
        bus = open_bus(settings.bus_url)
    except StadswachtError as exc:
        log.error("%s", exc)
        store.close()
        return 2
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        log.info("%s: stopping", signal.Signals(signum).name)
        stop.set()

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGTERM, signal.SIGINT)}
    ingestor: Ingestor | None = None
    try:
        ingestor = Ingestor(store, bus, settings, DeviceRegistry(store))
        with MqttIngest(settings, ingestor):
            while not stop.wait(1.0):
                pass
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
        if ingestor is not None:
            ingestor.close()  # stop the spool drainer; what is spooled stays for the next run
        asyncio.run(bus.close())
        store.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
