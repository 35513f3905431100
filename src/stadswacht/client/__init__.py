"""The device client: what an integrator embeds in a sensor or a gateway.

Contract: a client makes readings, signs them (Ed25519 over RFC 8785, as the platform
verifies), queues them, and sends them in batches over HTTP or MQTT. A reading leaves the
queue only when the platform has answered for it, so an unreachable platform loses nothing:
with a buffer file, queued readings survive restarts and go out later with their original
times and sequence numbers, in order. Sequence numbers of a device strictly increase, across
restarts too. Transport failures, 429 and 5xx are retried with exponential back-off and full
jitter (honouring ``Retry-After``); a reading the platform rejects is never sent again (except
``rate_limited``): it is reported. The client imports ``model`` and the pure signing functions
of ``model.signing``, nothing that does platform I/O.

A sensor in ten lines::

    import pathlib, time
    from stadswacht.client import DeviceClient, HttpTransport

    client = DeviceClient(
        "iz-wx-01", pathlib.Path("/etc/stadswacht/iz-wx-01.key").read_text(),
        HttpTransport("https://stadswacht.example.org"),
        buffer_path="/var/lib/stadswacht/iz-wx-01.db", background=True,
    )
    with client:
        while True:
            client.reading("temperature", {"temperature_c": read_sensor()})
            time.sleep(60)

Modules: ``device`` and ``gateway`` (the two clients), ``sender`` (batching and retrying, shared
by both), ``buffer`` (the local queue and sequence counters), ``backoff``, ``base`` (the
transport interface and reports), ``http`` and ``mqtt`` (the transports), ``transports``
(pick one from a URL), ``files`` (send a CSV/JSON/NDJSON file).

The wire protocol (for an integrator writing their own client) is in
``docs/device-protocol.md``.
"""

from __future__ import annotations

from stadswacht.client.backoff import Backoff
from stadswacht.client.base import (
    RETRYABLE_REASONS,
    Answer,
    Rejected,
    RetryLater,
    SendReport,
    Transport,
)
from stadswacht.client.buffer import Buffer, MemoryBuffer, SqliteBuffer
from stadswacht.client.device import DeviceClient, make_reading
from stadswacht.client.files import FileReading, read_readings, send_file
from stadswacht.client.gateway import GatewayClient, seal
from stadswacht.client.http import HttpTransport
from stadswacht.client.mqtt import MqttTransport, topic_for
from stadswacht.client.transports import open_transport

__all__ = [
    "RETRYABLE_REASONS",
    "Answer",
    "Backoff",
    "Buffer",
    "DeviceClient",
    "FileReading",
    "GatewayClient",
    "HttpTransport",
    "MemoryBuffer",
    "MqttTransport",
    "Rejected",
    "RetryLater",
    "SendReport",
    "SqliteBuffer",
    "Transport",
    "make_reading",
    "open_transport",
    "read_readings",
    "seal",
    "send_file",
    "topic_for",
]
