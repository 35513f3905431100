"""MQTT transport: publish to ``stadswacht/v1/readings/{device}`` at QoS 1 with paho-mqtt 2.

Readings go as a JSON array on the topic of their device (consecutive readings of one device
in one message); a gateway envelope goes alone, as a JSON object, on the gateway's topic. A
batch counts as delivered once the broker has acknowledged every message (PUBACK); the broker
does not answer per reading, so rejections are visible in the platform's dead-letter store, not
here.

The connection is opened on the first send and kept. Any failure (refused, dropped, no PUBACK
in time) closes it and raises :class:`~stadswacht.errors.TransportError`; the next send opens a
new one. The client, not paho, decides when to retry, with its own back-off.
"""

from __future__ import annotations

import json
import ssl
import threading
import uuid
from collections.abc import Sequence
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.reasoncodes import ReasonCode

from stadswacht.client.base import Answer, Item
from stadswacht.errors import TransportError

__all__ = ["TOPIC_PREFIX", "MqttTransport", "topic_for"]

TOPIC_PREFIX = "stadswacht/v1/readings"


def topic_for(device: str, prefix: str = TOPIC_PREFIX) -> str:
    """The topic a device (or a gateway) publishes on.

    >>> topic_for("iz-ac-01")
    'stadswacht/v1/readings/iz-ac-01'
    """
    return f"{prefix}/{device}"


def _groups(items: Sequence[Item]) -> list[tuple[str, bytes]]:
    """``(device, payload)`` per message: runs of readings of one device, envelopes alone."""
    out: list[tuple[str, bytes]] = []
    run: list[Item] = []
    run_device = ""

    def close_run() -> None:
        if run:
            out.append((run_device, _dumps(run)))
            run.clear()

    for item in items:
        if "gateway" in item:
            close_run()
            out.append((str(item["gateway"]), _dumps(item)))
            continue
        device = str(item.get("device", ""))
        if device != run_device:
            close_run()
            run_device = device
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
        topic_prefix: the platform's topic prefix.

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
        topic_prefix: str = TOPIC_PREFIX,
    ) -> None:
        self.host = host
        self.port = port
        self.username = username
        self._password = password
        self.tls = tls
        self.client_id = client_id
        self.keepalive = keepalive
        self.timeout = timeout
        self.topic_prefix = topic_prefix
        self._client: mqtt.Client | None = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"MqttTransport({self.host!r}, {self.port}, username={self.username!r})"

    def _connect(self) -> mqtt.Client:
        if self._client is not None and self._client.is_connected():
            return self._client
        self._teardown()
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
            connected.set()  # wake a waiting connect; is_connected() tells the rest

        client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=self.client_id or f"stadswacht-{uuid.uuid4().hex[:12]}",
            reconnect_on_failure=False,
        )
        client.on_connect = on_connect
        client.on_disconnect = on_disconnect
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
        client, self._client = self._client, None
        if client is not None:
            client.disconnect()
            client.loop_stop()

    def send(self, items: Sequence[Item]) -> Answer:
        """Publish ``items`` at QoS 1 and wait until the broker acknowledged each message."""
        with self._lock:
            client = self._connect()
            infos = []
            for device, payload in _groups(items):
                info = client.publish(topic_for(device, self.topic_prefix), payload, qos=1)
                infos.append(info)
            try:
                for info in infos:
                    info.wait_for_publish(self.timeout)
                    if not info.is_published():
                        raise TimeoutError(f"no PUBACK within {self.timeout:g} s")
            except (RuntimeError, ValueError, TimeoutError) as exc:
                self._teardown()
                raise TransportError(
                    f"the broker at mqtt://{self.host}:{self.port} did not confirm the batch: "
                    f"{exc}; it is kept and published again"
                ) from exc
        return Answer(accepted=len(items), by="broker")

    def close(self) -> None:
        """Disconnect from the broker."""
        with self._lock:
            self._teardown()
