"""The MQTT transport end to end: client → Mosquitto (per-device users and ACL) → MQTT
ingest → store."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from stadswacht.client import DeviceClient, GatewayClient, MqttTransport
from stadswacht.errors import TransportError
from stadswacht.ingest.broker import (
    DEFAULT_INGEST_USER,
    create_device_password,
    set_password,
    write_acl_file,
)
from stadswacht.ingest.mqtt import MqttIngest
from stadswacht.model import DeviceKind, Position
from stadswacht.pipeline import Platform
from stadswacht.store.base import ReadingQuery
from tests.client.conftest import FAST
from tests.support.mosquitto import Broker, mosquitto_broker

pytestmark = pytest.mark.integration


@dataclass
class Site:
    platform: Platform
    broker: Broker
    keys: dict[str, str]
    passwords: dict[str, str]

    def transport(self, user: str, password: str | None = None) -> MqttTransport:
        return MqttTransport(
            self.broker.host,
            self.broker.port,
            username=user,
            password=password or self.passwords[user],
            timeout=5,
        )

    def stored(self) -> list[tuple[str, int, str]]:
        page = self.platform.store.query_readings(ReadingQuery(limit=10_000))
        return [(r.device, r.seq, r.time) for r in page]


def wait_until(check: Callable[[], bool], what: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


@pytest.fixture
def site(platform: Platform, tmp_path: Path) -> Iterator[Site]:
    keys: dict[str, str] = {}
    for device, kind, behind in [
        ("mq-a", DeviceKind.WEATHER, ()),
        ("mq-b", DeviceKind.WEATHER, ()),
        ("mq-cnt", DeviceKind.PEOPLE_COUNTER, ()),
        ("mq-gw", DeviceKind.GATEWAY, ("mq-cnt",)),
    ]:
        reg = platform.registry.register(
            device,
            kind=kind,
            position=Position(lat=52.09, lon=4.28),
            agency="municipality",
            gateway_for=behind,
        )
        assert reg.private_key is not None
        keys[device] = reg.private_key
    password_file, acl = tmp_path / "password_file", tmp_path / "acl_file"
    ingest_password = set_password(password_file, DEFAULT_INGEST_USER)
    passwords = {
        d: create_device_password(password_file, platform.registry.get(d))
        for d in ("mq-a", "mq-b", "mq-gw")
    }
    write_acl_file(acl, platform.registry.list())
    with mosquitto_broker(password_file=password_file, acl_file=acl) as broker:
        settings = platform.settings.model_copy(
            update={
                "mqtt_url": broker.url,
                "mqtt_client_id": f"ingest-{uuid.uuid4().hex[:8]}",
                "mqtt_username": DEFAULT_INGEST_USER,
                "mqtt_password": ingest_password,
            }
        )
        with MqttIngest(settings, platform.ingestor) as ingest:
            assert ingest.wait_subscribed(10), "the ingest did not subscribe"
            yield Site(platform, broker, keys, passwords)


def test_readings_published_at_qos1_are_stored_in_order(site: Site) -> None:
    with DeviceClient("mq-a", site.keys["mq-a"], site.transport("mq-a"), batch_size=3) as c:
        made = [c.reading("temperature", {"temperature_c": 10.0 + i}) for i in range(5)]
        report = c.flush()
        assert (report.accepted, report.pending) == (2, 0)  # the first 3 went as one batch
    wait_until(lambda: len(site.stored()) == 5, "5 readings stored")
    assert site.stored() == [(r["device"], r["seq"], r["time"]) for r in made]


def test_a_gateway_envelope_goes_on_the_gateway_topic_and_is_stored(site: Site) -> None:
    with GatewayClient("mq-gw", site.keys["mq-gw"], site.transport("mq-gw")) as gw:
        made = [gw.reading("mq-cnt", "people_count", {"occupancy": n}) for n in (4, 9)]
        assert gw.flush().accepted == 2
    wait_until(lambda: len(site.stored()) == 2, "2 gateway readings stored")
    assert site.stored() == [(r["device"], r["seq"], r["time"]) for r in made]


def test_a_publish_the_broker_refuses_is_not_a_delivery(site: Site) -> None:
    # mq-b's readings sent with mq-a's broker account: the ACL refuses the topic (PUBACK 135).
    client = DeviceClient("mq-b", site.keys["mq-b"], site.transport("mq-a"), backoff=FAST)
    client.queue("temperature", {"temperature_c": 1.0})
    with pytest.raises(TransportError, match=r"refused the message on stadswacht/v1/readings/mq-b"):
        client.flush(timeout=0.5)
    assert client.pending == 1
    client.close(flush_timeout=0)
    assert site.stored() == []


def test_wrong_credentials_are_a_transport_error_that_says_so(site: Site) -> None:
    with pytest.raises(TransportError, match="refused user 'mq-a'"):
        site.transport("mq-a", "wrong password").send([{"device": "mq-a"}])


def test_a_batch_over_the_brokers_packet_limit_is_split_until_it_fits(platform: Platform) -> None:
    reg = platform.registry.register(
        "mq-big", kind=DeviceKind.WEATHER, position=Position(lat=52.09, lon=4.28), agency="m"
    )
    assert reg.private_key is not None
    with mosquitto_broker(settings=["max_packet_size 2000"]) as broker:
        transport = MqttTransport(broker.host, broker.port, timeout=5)
        with DeviceClient("mq-big", reg.private_key, transport, batch_size=100) as client:
            for i in range(20):  # about 230 bytes each: 20 make one packet of about 4.6 kB
                client.queue("temperature", {"temperature_c": float(i)})
            report = client.flush(timeout=10)
            assert (report.accepted, report.rejected, report.pending) == (20, [], 0)
            assert client._limit < 20  # it learnt the broker's limit
