"""MQTT ingest on a real Mosquitto: per-device credentials, acknowledge-after-commit, crashes
and bursts.

What a user would notice: a device's reading that the broker acknowledged is stored exactly
once, even when the ingest process is killed mid-stream or the platform falls behind a burst;
bad messages end up in the dead-letter store with their reason; a device cannot publish on
another device's topic. And with Mosquitto's default queue limit a burst IS lost, which is why
``deploy/mosquitto/mosquitto.conf`` exists.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import paho.mqtt.client as paho
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from stadswacht.config import Settings
from stadswacht.ingest.broker import (
    DEFAULT_INGEST_USER,
    check_password,
    create_device_password,
    hash_password,
    set_password,
    write_acl_file,
)
from stadswacht.ingest.mqtt import MqttIngest, gateway_topic, reading_topic
from stadswacht.model import DeviceKind, Position, format_time
from stadswacht.model.signing import generate_key, public_key_b64, sign_bytes, sign_reading
from stadswacht.pipeline import Platform
from stadswacht.store.base import ReadingQuery
from tests.conftest import FakeDevice
from tests.support.mosquitto import Broker, mosquitto_broker, shipped_policy

pytestmark = pytest.mark.integration

NOT_AUTHORIZED = 135  # MQTT v5 reason code


# --- helpers -------------------------------------------------------------------------------
@dataclass
class Publisher:
    """A device's MQTT connection that remembers the broker's answer to every QoS 1 publish."""

    client: paho.Client
    acks: dict[int, int] = field(default_factory=dict)  # mid -> reason code
    lock: threading.Lock = field(default_factory=threading.Lock)
    all_acked: threading.Condition = field(init=False)

    def __post_init__(self) -> None:
        self.all_acked = threading.Condition(self.lock)

    def publish(self, topic: str, payload: bytes) -> int:
        info = self.client.publish(topic, payload, qos=1)
        assert info.rc == paho.MQTT_ERR_SUCCESS, info.rc
        return info.mid

    def wait_acked(self, mids: Sequence[int], timeout: float = 30.0) -> dict[int, int]:
        """The broker's reason code for each of ``mids``, once it has answered them all."""
        with self.all_acked:
            ok = self.all_acked.wait_for(lambda: all(m in self.acks for m in mids), timeout)
            assert ok, f"the broker acknowledged {sum(m in self.acks for m in mids)}/{len(mids)}"
            return {m: self.acks[m] for m in mids}


@contextmanager
def device_connection(
    broker: Broker, client_id: str, username: str | None = None, password: str | None = None
) -> Iterator[Publisher]:
    """Connect as a device (MQTT v5, clean session) and yield a :class:`Publisher`."""
    client = paho.Client(
        CallbackAPIVersion.VERSION2, client_id=client_id, protocol=MQTTProtocolVersion.MQTTv5
    )
    client.max_inflight_messages_set(200)
    client.max_queued_messages_set(0)
    pub = Publisher(client)

    def on_publish(c: paho.Client, u: Any, mid: int, rc: ReasonCode, p: Properties | None) -> None:
        with pub.all_acked:
            pub.acks[mid] = rc.value
            pub.all_acked.notify_all()

    client.on_publish = on_publish
    if username is not None:
        client.username_pw_set(username, password)
    client.connect(broker.host, broker.port, keepalive=30)
    client.loop_start()
    try:
        yield pub
    finally:
        client.disconnect()
        client.loop_stop()


def connack(broker: Broker, username: str, password: str) -> ReasonCode:
    """The broker's answer to a CONNECT with these credentials."""
    got: list[ReasonCode] = []
    done = threading.Event()
    client = paho.Client(
        CallbackAPIVersion.VERSION2, client_id=f"probe-{uuid.uuid4().hex[:8]}",
        protocol=MQTTProtocolVersion.MQTTv5,
    )  # fmt: skip

    def on_connect(c: paho.Client, u: Any, f: Any, rc: ReasonCode, p: Properties | None) -> None:
        got.append(rc)
        done.set()

    client.on_connect = on_connect
    client.username_pw_set(username, password)
    client.connect(broker.host, broker.port)
    client.loop_start()
    try:
        assert done.wait(10), "no CONNACK"
    finally:
        client.disconnect()
        client.loop_stop()
    return got[0]


def wait_until(check: Callable[[], bool], timeout: float, what: str, poll: float = 0.01) -> float:
    """Poll ``check`` every ``poll`` seconds until it holds; the seconds it took."""
    started = time.monotonic()
    while not check():
        if time.monotonic() - started > timeout:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(poll)
    return time.monotonic() - started


def wait_stable(count: Callable[[], int], quiet: float, timeout: float) -> int:
    """Wait until ``count()`` has not changed for ``quiet`` seconds; its value."""
    deadline = time.monotonic() + timeout
    last, since = count(), time.monotonic()
    while time.monotonic() < deadline:
        time.sleep(0.1)
        now = count()
        if now != last:
            last, since = now, time.monotonic()
        elif time.monotonic() - since >= quiet:
            return now
    raise AssertionError(f"count still moving after {timeout:.0f} s (at {last})")


def mqtt_settings(base: Settings, broker: Broker, **kw: Any) -> Settings:
    return base.model_copy(
        update={"mqtt_url": broker.url, "mqtt_client_id": f"ingest-{uuid.uuid4().hex[:8]}", **kw}
    )


def stored_keys(platform: Platform) -> list[tuple[str, int]]:
    out: list[tuple[str, int]] = []
    after = 0
    while True:
        page = platform.store.query_readings(ReadingQuery(after_id=after, limit=10_000))
        if not page:
            return out
        out.extend((r.device, r.seq) for r in page)
        after = page[-1].id or 0


def register(platform: Platform, device_id: str, key: Ed25519PrivateKey) -> None:
    platform.registry.register(
        device_id,
        kind=DeviceKind.WEATHER,
        position=Position(lat=52.08, lon=4.31),
        agency="municipality",
        area="international-zone",
        public_key=public_key_b64(key),
    )


def signed(key: Ed25519PrivateKey, device_id: str, seq: int, time: str) -> dict[str, Any]:
    body = {
        "device": device_id,
        "seq": seq,
        "time": time,
        "kind": "temperature",
        "values": {"temperature_c": round(5 + seq % 200 / 10, 1)},
    }
    return sign_reading(key, body)


# --- (a) devices, credentials and reasons --------------------------------------------------
def test_check_password_reads_mosquitto_passwd_lines(tmp_path: Path) -> None:
    path = tmp_path / "pw"
    subprocess.run(["mosquitto_passwd", "-c", "-b", str(path), "d1", "s3cret"], check=True)
    hashed = path.read_text().strip().partition(":")[2]
    assert hashed.startswith("$7$")
    assert check_password(hashed, "s3cret")
    assert not check_password(hashed, "s3cret!")
    assert check_password(hash_password("s3cret"), "s3cret")


def test_devices_publish_over_mqtt_and_bad_messages_get_their_reason(
    platform: Platform, make_device: Callable[..., FakeDevice], tmp_path: Path
) -> None:
    a, b, c = make_device("mq-a"), make_device("mq-b"), make_device("mq-c")
    gw = make_device("mq-gw", kind=DeviceKind.GATEWAY, gateway_for=["mq-c"])
    passwords = tmp_path / "password_file"
    acl = tmp_path / "acl_file"
    ingest_password = set_password(passwords, DEFAULT_INGEST_USER)
    pw = {d.id: create_device_password(passwords, platform.registry.get(d.id)) for d in (a, b, gw)}
    write_acl_file(acl, platform.registry.list())

    with mosquitto_broker(password_file=passwords, acl_file=acl) as broker:
        assert connack(broker, "mq-a", "wrong").is_failure
        settings = mqtt_settings(
            platform.settings,
            broker,
            mqtt_username=DEFAULT_INGEST_USER,
            mqtt_password=ingest_password,
            mqtt_shared_group="ingest",  # the ACL must allow $share/... too
        )
        with (
            MqttIngest(settings, platform.ingestor) as ingest,
            device_connection(broker, "mq-a", "mq-a", pw["mq-a"]) as dev_a,
            device_connection(broker, "mq-gw", "mq-gw", pw["mq-gw"]) as dev_gw,
        ):
            assert ingest.wait_subscribed(10), "the ingest did not subscribe"
            singles = [a.reading() for _ in range(3)]
            many = [a.reading() for _ in range(5)]
            forged = dict(a.reading())
            forged["values"] = {"temperature_c": 30.0}  # changed after signing
            foreign = b.reading()  # b's genuine reading, on a's topic
            for_c = [c.reading(), c.reading()]
            payload = json.dumps({"readings": for_c})
            envelope = {
                "gateway": gw.id,
                "payload": payload,
                "sig": sign_bytes(gw.key, payload.encode()),
            }
            intruding = a.reading()  # a's own reading, published on b's topic

            mids = [dev_a.publish(reading_topic(a.id), json.dumps(r).encode()) for r in singles]
            mids.append(dev_a.publish(reading_topic(a.id), json.dumps(many).encode()))
            mids.append(dev_a.publish(reading_topic(a.id), json.dumps(forged).encode()))
            mids.append(dev_a.publish(reading_topic(a.id), json.dumps(foreign).encode()))
            mids.append(dev_a.publish(reading_topic(a.id), b"\xff{not json"))
            denied = dev_a.publish(reading_topic(b.id), json.dumps(intruding).encode())
            gw_mid = dev_gw.publish(gateway_topic(gw.id), json.dumps(envelope).encode())

            assert set(dev_a.wait_acked(mids).values()) == {0}
            assert dev_a.wait_acked([denied]) == {denied: NOT_AUTHORIZED}
            assert dev_gw.wait_acked([gw_mid]) == {gw_mid: 0}
            good = {(r["device"], r["seq"]) for r in [*singles, *many, *for_c]}
            wait_until(
                lambda: (
                    len(platform.store.list_dead_letters()) == 3
                    and platform.store.count_readings() == len(good)
                ),
                10,
                "10 readings stored and 3 dead letters",
            )
            time.sleep(0.3)  # anything wrongly let through would arrive by now
            assert ingest.stats.acked == len(mids) + 1

    assert set(stored_keys(platform)) == good
    assert (a.id, intruding["seq"]) not in set(stored_keys(platform))
    dead = {d.reason: d for d in platform.store.list_dead_letters()}
    assert set(dead) == {"bad_signature", "topic_mismatch", "malformed"}
    assert (dead["bad_signature"].device, dead["bad_signature"].seq) == (a.id, forged["seq"])
    assert dead["topic_mismatch"].device == b.id
    assert "on the topic of 'mq-a'" in dead["topic_mismatch"].message
    assert dead["malformed"].device == a.id  # the topic names it
    assert "not JSON" in dead["malformed"].message
    assert all(d.transport == "mqtt" for d in dead.values())


def test_ingest_reconnects_and_the_broker_keeps_its_queue_across_a_restart(
    platform: Platform, make_device: Callable[..., FakeDevice]
) -> None:
    dev = make_device("mq-restart")
    with mosquitto_broker(settings=shipped_policy()) as broker:
        settings = mqtt_settings(platform.settings, broker)
        with MqttIngest(settings, platform.ingestor) as ingest:
            assert ingest.wait_subscribed(10)
            with device_connection(broker, "d-1") as pub:
                pub.wait_acked(
                    [pub.publish(reading_topic(dev.id), json.dumps(dev.reading()).encode())]
                )
            wait_until(lambda: platform.store.count_readings() == 1, 10, "the first reading")
        # The ingest is away: the broker queues for its session, then restarts (saving it).
        with device_connection(broker, "d-1") as pub:
            queued = [dev.reading() for _ in range(20)]
            pub.wait_acked(
                [pub.publish(reading_topic(dev.id), json.dumps(r).encode()) for r in queued]
            )
        broker.restart()
        with MqttIngest(settings, platform.ingestor) as ingest:
            assert ingest.wait_subscribed(10)
            wait_until(lambda: platform.store.count_readings() == 21, 10, "the queued readings")
            broker.restart()  # now under the running ingest: it must reconnect by itself
            wait_until(lambda: ingest.stats.connects == 2, 15, "the ingest to reconnect")
            assert ingest.wait_subscribed(15)
            with device_connection(broker, "d-1") as pub:
                pub.wait_acked(
                    [pub.publish(reading_topic(dev.id), json.dumps(dev.reading()).encode())]
                )
            wait_until(lambda: platform.store.count_readings() == 22, 15, "the reading after")
    assert sorted(seq for _, seq in stored_keys(platform)) == list(range(1, 23))
    assert platform.store.list_dead_letters() == []


# --- (b) the crash test --------------------------------------------------------------------
class IngestProcess:
    """``python -m stadswacht.ingest.mqtt`` as a separate process, as it runs in production."""

    def __init__(self, env: dict[str, str], cwd: Path) -> None:
        self.env, self.cwd = env, cwd
        self.lines: list[str] = []
        self.proc: subprocess.Popen[str] | None = None
        self._reader = threading.Thread()
        self._subscribed = threading.Event()

    def start(self) -> None:
        self._subscribed.clear()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "stadswacht.ingest.mqtt"],
            env=self.env,
            cwd=self.cwd,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        self._reader = threading.Thread(target=self._read, args=(self.proc,), daemon=True)
        self._reader.start()
        if not self._subscribed.wait(30):
            self.kill()
            raise AssertionError("the ingest process did not subscribe:\n" + "".join(self.lines))

    def _read(self, proc: subprocess.Popen[str]) -> None:
        assert proc.stderr is not None
        with proc.stderr:
            for line in proc.stderr:
                self.lines.append(line)
                if "subscribed to" in line:
                    self._subscribed.set()

    def _wait(self, timeout: float) -> int:
        assert self.proc is not None
        code = self.proc.wait(timeout)
        self._reader.join(10)
        return code

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self._wait(10)

    def terminate(self) -> int:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        return self._wait(30)


@pytest.mark.slow
def test_kill_9_of_the_ingest_mid_stream_loses_nothing_and_stores_nothing_twice(
    platform: Platform, tmp_path: Path
) -> None:
    total = 3000
    key = generate_key()
    device = "mq-crash"
    register(platform, device, key)
    now = format_time(datetime.now(UTC))
    payloads = [json.dumps(signed(key, device, seq, now)).encode() for seq in range(total)]

    with mosquitto_broker(settings=shipped_policy()) as broker:
        env = {
            **os.environ,
            "STADSWACHT_ENV": "test",
            "STADSWACHT_DATABASE_URL": platform.settings.database_url,
            "STADSWACHT_MQTT_URL": broker.url,
            "STADSWACHT_MQTT_CLIENT_ID": f"ingest-crash-{uuid.uuid4().hex[:8]}",
        }
        ingest = IngestProcess(env, tmp_path)
        ingest.start()
        with device_connection(broker, device) as pub:
            mids: list[int] = []

            def stream() -> None:
                for payload in payloads:
                    mids.append(pub.publish(reading_topic(device), payload))

            sender = threading.Thread(target=stream)
            sender.start()
            # Kill the moment a batch is committed: its acknowledgements are on their way then,
            # the rest of the stream is in flight or queued on the broker.
            wait_until(
                lambda: platform.store.count_readings() >= 1000, 30, "1000 stored", poll=0.001
            )
            ingest.kill()
            at_kill = platform.store.count_readings()
            sender.join(60)
            acked = pub.wait_acked(mids, timeout=60)
        assert len(acked) == total and set(acked.values()) == {0}  # the broker took them all
        assert 0 < at_kill < total, at_kill

        ingest.start()
        wait_until(lambda: platform.store.count_readings() >= total, 60, f"{total} stored")
        final = wait_stable(platform.store.count_readings, quiet=1.0, timeout=30)
        assert ingest.terminate() == 0

    keys = stored_keys(platform)
    assert final == total == len(keys)
    assert Counter(keys).most_common(1)[0][1] == 1
    assert set(keys) == {(device, seq) for seq in range(total)}
    assert platform.store.list_dead_letters() == []  # no replay, no rate limit, nothing
    redelivered = [line for line in ingest.lines if "redelivered" in line]
    print(f"stored {at_kill} before kill -9; after restart: {redelivered or 'no duplicates'}")


# --- (c) the burst test --------------------------------------------------------------------
BURST_DEVICES = 25
BURST_PER_DEVICE = 2000  # 50,000 readings


@dataclass(frozen=True)
class Burst:
    keys: dict[str, Ed25519PrivateKey]
    readings: dict[str, list[dict[str, Any]]]

    def payloads(self, per_message: int) -> dict[str, list[bytes]]:
        return {
            device: [
                json.dumps(rs[i] if per_message == 1 else rs[i : i + per_message]).encode()
                for i in range(0, len(rs), per_message)
            ]
            for device, rs in self.readings.items()
        }


@pytest.fixture(scope="module")
def burst() -> Burst:
    """50,000 signed readings of 25 devices, made once for all burst tests."""
    now = format_time(datetime.now(UTC))
    keys = {f"burst-{i:02d}": generate_key() for i in range(BURST_DEVICES)}
    readings = {
        device: [signed(key, device, seq, now) for seq in range(BURST_PER_DEVICE)]
        for device, key in keys.items()
    }
    return Burst(keys, readings)


def publish_burst(broker: Broker, payloads: dict[str, list[bytes]]) -> int:
    """Every device publishes all its messages at QoS 1; the number the broker acknowledged."""

    def run(device: str) -> int:
        with device_connection(broker, device) as pub:
            mids = [pub.publish(reading_topic(device), p) for p in payloads[device]]
            return sum(rc == 0 for rc in pub.wait_acked(mids, timeout=120).values())

    with ThreadPoolExecutor(5) as pool:
        return sum(pool.map(run, payloads))


def run_burst(
    platform: Platform, broker: Broker, burst: Burst, per_message: int
) -> tuple[int, float]:
    """Publish the burst while the ingest is away, then let it drain.

    Returns the readings stored and the seconds from the ingest's start to the last of them.
    """
    for device, key in burst.keys.items():
        register(platform, device, key)
    settings = mqtt_settings(platform.settings, broker)
    with MqttIngest(settings, platform.ingestor) as ingest:  # makes the persistent session
        assert ingest.wait_subscribed(10)
    payloads = burst.payloads(per_message)
    assert publish_burst(broker, payloads) == sum(len(v) for v in payloads.values())

    total = BURST_DEVICES * BURST_PER_DEVICE
    started = time.monotonic()
    with MqttIngest(settings, platform.ingestor) as ingest:
        assert ingest.wait_subscribed(10)
        count, changed = 0, time.monotonic()
        # Done, or nothing more for a while: on a loaded 2-core machine the broker's replay of
        # a persistent session can pause for seconds (2 s was seen to be too short).
        while count < total and time.monotonic() - changed < 8.0:
            time.sleep(0.01)
            now = platform.store.count_readings()
            if now != count:
                count, changed = now, time.monotonic()
        time.sleep(0.5)  # nothing must come after the last one either
        return platform.store.count_readings(), changed - started


@pytest.mark.slow
@pytest.mark.parametrize("per_message", [1, 50])
def test_burst_of_50000_with_the_shipped_broker_settings_is_stored_whole(
    platform: Platform, burst: Burst, per_message: int, record_property: Callable[[str, Any], None]
) -> None:
    with mosquitto_broker(settings=shipped_policy()) as broker:
        stored, seconds = run_burst(platform, broker, burst, per_message)
        assert "dropped" not in broker.log()
    total = BURST_DEVICES * BURST_PER_DEVICE
    assert stored == total
    keys = stored_keys(platform)
    assert len(set(keys)) == total
    assert platform.store.list_dead_letters() == []
    rate = total / seconds
    record_property("readings_per_s", round(rate))
    print(f"{per_message} reading(s)/message: {total} stored in {seconds:.1f} s = {rate:,.0f}/s")


@pytest.mark.slow
def test_the_same_burst_with_mosquittos_default_queue_limit_loses_readings(
    platform: Platform, burst: Burst
) -> None:
    with mosquitto_broker() as broker:  # Mosquitto's defaults: max_queued_messages 1000
        if not broker.managed:
            pytest.skip("STADSWACHT_TEST_MQTT_URL is set: this test needs Mosquitto's defaults")
        stored, _ = run_burst(platform, broker, burst, 1)
        log = broker.log()
    total = BURST_DEVICES * BURST_PER_DEVICE
    # Every device got its PUBACK for all 50,000, and yet:
    assert stored < total / 10, stored
    assert "Outgoing messages are being dropped" in log
