"""MQTT transport: publish at QoS 1 over MQTT v5 with paho-mqtt 2, and wait for each PUBACK.

Readings go as a JSON array on ``stadswacht/v1/readings/{device}`` (consecutive readings of
one device in one message); a gateway envelope goes alone, as a JSON object, on
``stadswacht/v1/gateways/{gateway}``. A batch counts as delivered once the broker has
acknowledged every message with success. A PUBACK with a failure reason (MQTT v5: "not
authorized" when the broker's ACL does not let this user publish on that topic) is not a
delivery: the readings stay queued, and the error names the topic. The broker does not answer
per reading, so the platform's rejections are visible in its dead-letter store, not here.

The connection is opened on the first send and kept. Any failure (refused, dropped, no PUBACK
in time) closes it and raises :class:`~stadswacht.errors.TransportError`; the next send opens a
new one. The client, not paho, decides when to retry, with its own back-off.
"""

from __future__ import annotations

import json
import ssl
import threading
import time
import uuid
from collections.abc import Sequence
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.reasoncodes import ReasonCode

from stadswacht.client.base import Answer, Item
from stadswacht.errors import PayloadTooLarge, TransportError

__all__ = ["TOPIC_ROOT", "MqttTransport", "topic_for"]

TOPIC_ROOT = "stadswacht/v1"

_PACKET_TOO_LARGE = 0x95  # MQTT v5 reason code: the broker's max_packet_size was exceeded


def topic_for(item: Item, root: str = TOPIC_ROOT) -> str:
    """The topic an item goes on: its device's readings topic, or its gateway's topic.

    >>> topic_for({"device": "iz-ac-01", "seq": 1})
    'stadswacht/v1/readings/iz-ac-01'
    >>> topic_for({"gateway": "gw-7", "payload": "{}", "sig": "..."})
    'stadswacht/v1/gateways/gw-7'
    """
    if "gateway" in item:
        return f"{root}/gateways/{item['gateway']}"
    return f"{root}/readings/{item.get('device', '')}"


def _groups(items: Sequence[Item], root: str) -> list[tuple[str, bytes]]:
    """``(topic, payload)`` per message: runs of readings of one device, envelopes alone."""
    out: list[tuple[str, bytes]] = []
    run: list[Item] = []
    run_topic = ""

    def close_run() -> None:
        if run:
            out.append((run_topic, _dumps(run)))
            run.clear()

    for item in items:
        topic = topic_for(item, root)
        if "gateway" in item:
            close_run()
            out.append((topic, _dumps(item)))
            continue
        if topic != run_topic:
            close_run()
            run_topic = topic
        run.append(item)
    close_run()
    return out


def _dumps(doc: Any) -> bytes:
    return json.dumps(doc, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


class MqttTransport:
    """Publishes batches to an MQTT broker at QoS 1 and waits for the broker's PUBACK.

    Args:
        host: the broker.
        port: 1883, or 8883 with TLS.
        username: the device's (or gateway's) user name on the broker.
        password: its password.
        tls: an ``ssl.SSLContext`` to connect with TLS (e.g. ``ssl.create_default_context()``).
        client_id: the MQTT client id; by default a random one per connection.
        keepalive: seconds between pings on an idle connection.
        timeout: how long to wait for the broker's CONNACK and each PUBACK [s].
        topic_root: the platform's topic root.

    Example::

        transport = MqttTransport("broker.example.org", 8883, username="iz-ac-01",
                                  password=secret, tls=ssl.create_default_context())
    """

    def __init__(
        self,
        host: str,
        port: int = 1883,
        *,
        username: str | None = None,
        password: str | None = None,
        tls: ssl.SSLContext | None = None,
        client_id: str | None = None,
        keepalive: int = 60,
        timeout: float = 10.0,
        topic_root: str = TOPIC_ROOT,
    ) -> None:
        self.host = host
        self.port = port
        self.username = username
        self._password = password
        self.tls = tls
        self.client_id = client_id
        self.keepalive = keepalive
        self.timeout = timeout
        self.topic_root = topic_root
        self._client: mqtt.Client | None = None
        self._acks: dict[int, ReasonCode] = {}  # mid -> the broker's PUBACK reason
        self._dropped: ReasonCode | None = None  # why the broker last disconnected us
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"MqttTransport({self.host!r}, {self.port}, username={self.username!r})"

    def _connect(self) -> mqtt.Client:
        if self._client is not None and self._client.is_connected():
            return self._client
        self._teardown()
        self._dropped = None
        connected = threading.Event()
        outcome: list[str] = []

        def on_connect(
            client: mqtt.Client, userdata: Any, flags: Any, reason: ReasonCode, props: Any
        ) -> None:
            if reason.is_failure:
                outcome.append(str(reason))
            connected.set()

        def on_disconnect(
            client: mqtt.Client, userdata: Any, flags: Any, reason: ReasonCode, props: Any
        ) -> None:
            self._dropped = reason
            connected.set()  # wake a waiting connect; is_connected() tells the rest

        def on_publish(
            client: mqtt.Client, userdata: Any, mid: int, reason: ReasonCode, props: Any
        ) -> None:
            self._acks[mid] = reason  # runs before wait_for_publish returns

        client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=self.client_id or f"stadswacht-{uuid.uuid4().hex[:12]}",
            protocol=MQTTProtocolVersion.MQTTv5,
            reconnect_on_failure=False,
        )
        client.on_connect = on_connect
        client.on_disconnect = on_disconnect
        client.on_publish = on_publish
        if self.username is not None:
            client.username_pw_set(self.username, self._password)
        if self.tls is not None:
            client.tls_set_context(self.tls)
        where = f"mqtt://{self.host}:{self.port}"
        try:
            client.connect(self.host, self.port, self.keepalive)
        except (OSError, ValueError) as exc:
            raise TransportError(f"cannot connect to the broker at {where}: {exc}") from exc
        client.loop_start()
        self._client = client
        if not connected.wait(self.timeout):
            self._teardown()
            raise TransportError(f"no answer (CONNACK) from the broker at {where}")
        if outcome or not client.is_connected():
            self._teardown()
            why = outcome[0] if outcome else "connection closed"
            raise TransportError(
                f"the broker at {where} refused user {self.username!r}: {why}; check the "
                "device's broker credentials"
            )
        return client

    def _teardown(self) -> None:
        self._acks.clear()
        client, self._client = self._client, None
        if client is not None:
            client.disconnect()
            client.loop_stop()

    def send(self, items: Sequence[Item]) -> Answer:
        """Publish ``items`` at QoS 1 and wait until the broker acknowledged each message."""
        where = f"mqtt://{self.host}:{self.port}"
        with self._lock:
            client = self._connect()
            sent = []
            for topic, payload in _groups(items, self.topic_root):
                sent.append((topic, client.publish(topic, payload, qos=1)))
            try:
                deadline = time.monotonic() + self.timeout
                for topic, info in sent:
                    while not info.is_published():
                        if self._dropped is not None or not client.is_connected():
                            raise ConnectionError(f"the connection was lost ({self._dropped})")
                        if time.monotonic() > deadline:
                            raise TimeoutError(f"no PUBACK for {topic} within {self.timeout:g} s")
                        info.wait_for_publish(0.05)
                    reason = self._acks.pop(info.mid, None)
                    if reason is not None and reason.is_failure:
                        raise PermissionError(
                            f"the broker refused the message on {topic}: {reason}; check that "
                            f"user {self.username!r} may publish there (broker ACL)"
                        )
            except (RuntimeError, ValueError, OSError) as exc:
                dropped, self._dropped = self._dropped, None
                self._teardown()
                if dropped is not None and dropped.value == _PACKET_TOO_LARGE:
                    raise PayloadTooLarge(
                        f"{where} dropped the connection: a message of this batch exceeds the "
                        "broker's max_packet_size"
                    ) from exc
                raise TransportError(
                    f"{where} did not take the batch: {exc}; it is kept and published again"
                ) from exc
        return Answer(accepted=len(items), by="broker")

    def close(self) -> None:
        """Disconnect from the broker."""
        with self._lock:
            self._teardown()
