"""The ingest service: exactly the good readings are stored, each bad one has its reason."""

from __future__ import annotations

import json
import random
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from stadswacht.config import Settings
from stadswacht.ingest.service import Ingestor, parse_body
from stadswacht.model import DeviceKind
from stadswacht.model.signing import b64url, generate_key, sign_bytes, sign_reading
from stadswacht.pipeline import Platform
from stadswacht.store.base import ReadingQuery
from tests.conftest import FakeDevice, ago


def test_thousand_readings_with_bad_ones_store_exactly_the_good(
    platform: Platform, make_device: Callable[..., FakeDevice]
) -> None:
    rng = random.Random(42)
    devices = [make_device(f"iz-wx-{i:02d}") for i in range(5)]
    retired = make_device("iz-wx-old")
    platform.registry.decommission(retired.id)
    forger = generate_key()
    batch: list[Any] = []
    expected: dict[int, str] = {}  # index -> reason for the bad ones
    good: set[tuple[str, int]] = set()
    for i in range(1000):
        dev = devices[i % 5]
        roll = rng.random()
        if roll < 0.04:  # forged: signed with another key
            r = dev.reading()
            r = sign_reading(forger, {k: v for k, v in r.items() if k != "sig"})
            expected[i] = "bad_signature"
        elif roll < 0.07:  # tampered after signing
            r = dict(dev.reading())
            r["values"] = {"temperature_c": 30.0}
            expected[i] = "bad_signature"
        elif roll < 0.10 and dev.sent:  # replay: an old sequence number, new content
            r = dev.reading(values={"temperature_c": -3.0}, seq=dev.sent[0]["seq"])
            expected[i] = "replay"
        elif roll < 0.13:  # out of range
            r = dev.reading(values={"temperature_c": 180.0})
            expected[i] = "invalid_values"
        elif roll < 0.15:  # clock far ahead
            r = dev.reading(time=ago(-3600))
            expected[i] = "clock_skew"
        elif roll < 0.17:  # malformed
            r = rng.choice([{"device": dev.id}, "not an object", 17, {"seq": 1, "sig": "x"}])
            expected[i] = "malformed"
        elif roll < 0.18:
            r = make_unknown()
            expected[i] = "unknown_device"
        elif roll < 0.19:
            r = retired.reading()
            expected[i] = "decommissioned"
        else:
            r = dev.reading(values={"temperature_c": round(rng.uniform(-10, 35), 2)})
            good.add((dev.id, r["seq"]))
        batch.append(r)
    # The replays must point at readings that are stored: the first of each device is good.
    assert all((d.id, d.sent[0]["seq"]) in good for d in devices)

    result = platform.ingestor.ingest(batch)

    assert result.accepted == len(good)
    got = {(r.index): r.reason for r in result.rejected}
    assert got == expected
    stored = platform.store.query_readings(ReadingQuery(limit=10_000))
    assert {(r.device, r.seq) for r in stored} == good
    dead = platform.store.list_dead_letters(limit=10_000)
    assert Counter(d.reason for d in dead) == Counter(expected.values())
    assert all(d.message for d in dead)


def make_unknown() -> dict[str, Any]:
    return sign_reading(
        generate_key(),
        {
            "device": "ghost",
            "seq": 1,
            "time": "2026-01-01T00:00:00.000000Z",
            "kind": "heartbeat",
            "values": {},
        },
    )


def test_identical_copy_is_a_duplicate_then_a_replay_after_the_window(
    settings: Settings, platform: Platform, make_device: Callable[..., FakeDevice]
) -> None:
    dev = make_device()
    r = dev.reading()
    assert platform.ingestor.ingest([r]).accepted == 1
    again = platform.ingestor.ingest([r])
    assert (again.accepted, again.duplicates, again.rejected) == (0, [0], [])
    late = Ingestor(
        platform.store,
        None,
        settings.model_copy(update={"duplicate_window_s": 0.0}),
        platform.registry,
    )
    replay = late.ingest([r])
    assert [x.reason for x in replay.rejected] == ["replay"]
    assert platform.store.count_readings() == 1


def test_same_reading_twice_in_one_batch_is_stored_once(
    platform: Platform, make_device: Callable[..., FakeDevice]
) -> None:
    dev = make_device()
    r = dev.reading()
    result = platform.ingestor.ingest([r, r])
    assert (result.accepted, result.duplicates) == (1, [1])


def test_too_old_reading_is_rejected(
    platform: Platform, make_device: Callable[..., FakeDevice]
) -> None:
    dev = make_device()
    res = platform.ingestor.ingest([dev.reading(time=ago(8 * 86400))])
    assert [r.reason for r in res.rejected] == ["too_old"]
    assert "old" in res.rejected[0].message


def test_buffered_reading_within_age_is_accepted(
    platform: Platform, make_device: Callable[..., FakeDevice]
) -> None:
    dev = make_device()
    assert platform.ingestor.ingest([dev.reading(time=ago(6 * 3600))]).accepted == 1


def test_rotated_key_refuses_the_old_one(
    platform: Platform, make_device: Callable[..., FakeDevice]
) -> None:
    dev = make_device()
    platform.registry.rotate_key(dev.id)
    res = platform.ingestor.ingest([dev.reading()])
    assert [r.reason for r in res.rejected] == ["bad_signature"]
    assert "key version 2" in res.rejected[0].message


def test_topic_mismatch(platform: Platform, make_device: Callable[..., FakeDevice]) -> None:
    a, b = make_device("a1"), make_device("b1")
    res = platform.ingestor.ingest([a.reading(), b.reading()], transport="mqtt", topic_device="a1")
    assert res.accepted == 1
    assert [(r.index, r.reason) for r in res.rejected] == [(1, "topic_mismatch")]


def test_rate_limit_per_device(
    settings: Settings, platform: Platform, make_device: Callable[..., FakeDevice]
) -> None:
    limited = Ingestor(
        platform.store,
        None,
        settings.model_copy(update={"device_rate_per_s": 1.0, "device_rate_burst": 3.0}),
        platform.registry,
    )
    dev, other = make_device("d1"), make_device("d2")
    res = limited.ingest([dev.reading() for _ in range(5)] + [other.reading()])
    assert res.accepted == 4
    assert [r.reason for r in res.rejected] == ["rate_limited", "rate_limited"]


def test_gateway_batch(platform: Platform, make_device: Callable[..., FakeDevice]) -> None:
    s1, s2, s3 = make_device("s1"), make_device("s2"), make_device("s3")
    gw = make_device("gw1", kind=DeviceKind.GATEWAY, gateway_for=["s1", "s2"])
    readings = []
    for i, s in enumerate((s1, s2, s3)):
        r = {k: v for k, v in s.reading(values={"temperature_c": 10.0 + i}).items() if k != "sig"}
        readings.append(r)
    payload = json.dumps({"readings": readings})
    envelope = {"gateway": gw.id, "payload": payload, "sig": sign_bytes(gw.key, payload.encode())}
    res = platform.ingestor.ingest([envelope])
    assert res.accepted == 2
    assert [r.reason for r in res.rejected] == ["not_gateway"]
    # A forged batch signature sinks the batch (one dead letter), nothing is stored.
    forged = dict(envelope, sig=b64url(b"\0" * 64))
    res2 = platform.ingestor.ingest([forged])
    assert [r.reason for r in res2.rejected] == ["bad_signature"]
    # Redelivering the same batch: stored once.
    res3 = platform.ingestor.ingest([envelope])
    assert res3.accepted == 0 and len(res3.duplicates) == 2
    assert platform.store.count_readings() == 2


def test_a_sensor_is_not_a_gateway(
    platform: Platform, make_device: Callable[..., FakeDevice]
) -> None:
    s = make_device("s1")
    payload = json.dumps({"readings": []})
    env = {"gateway": "s1", "payload": payload, "sig": sign_bytes(s.key, payload.encode())}
    assert [r.reason for r in platform.ingestor.ingest([env]).rejected] == ["not_gateway"]


def test_ndjson_bad_line_is_rejected_alone(
    platform: Platform, make_device: Callable[..., FakeDevice]
) -> None:
    dev = make_device()
    lines = [json.dumps(dev.reading()), "{not json", json.dumps(dev.reading())]
    items = parse_body("\n".join(lines).encode(), "application/x-ndjson")
    res = platform.ingestor.ingest(items)
    assert res.accepted == 2
    assert [(r.index, r.reason) for r in res.rejected] == [(1, "malformed")]
    assert platform.store.list_dead_letters()[0].payload.startswith("{not json")


def test_every_kind_validates_its_values(
    platform: Platform, make_device: Callable[..., FakeDevice]
) -> None:
    dev = make_device()
    cases: list[tuple[str, dict[str, Any], bool]] = [
        (
            "acoustic_impulse",
            {
                "arrival_time": "2026-11-25T02:13:07.123456789Z",
                "peak_db": 120.5,
                "classes": {"gunshot": 0.9, "fireworks": 0.1},
            },
            True,
        ),
        (
            "acoustic_impulse",
            {
                "arrival_time": "2026-11-25T02:13:07.12Z",
                "peak_db": 120.5,
                "classes": {"gunshot": 1.0},
            },
            False,
        ),
        (
            "acoustic_impulse",
            {
                "arrival_time": "2026-11-25T02:13:07.123456Z",
                "peak_db": 90,
                "classes": {"gunshot": 0.5},
            },
            False,
        ),
        ("people_count", {"in": 3, "out": 1, "interval_s": 60}, True),
        ("people_count", {"occupancy": 1200}, True),
        ("people_count", {"in": 3}, False),
        ("people_count", {"in": -1, "out": 0, "interval_s": 60}, False),
        ("water_level", {"level_cm_nap": 231.4}, True),
        ("water_level", {"level_cm": 231.4}, False),
        ("rain", {"rain_mm": 1.2, "interval_s": 600}, True),
        ("rain", {"rain_mm": -1, "interval_s": 600}, False),
        ("temperature", {"temperature_c": -12.5}, True),
        ("power", {"on": False}, True),
        ("power", {"on": "maybe"}, False),
        ("heartbeat", {}, True),
        ("heartbeat", {"battery_pct": 140}, False),
    ]
    res = platform.ingestor.ingest([dev.reading(kind, values) for kind, values, _ in cases])
    bad = {r.index for r in res.rejected}
    assert bad == {i for i, (_, _, ok) in enumerate(cases) if not ok}
    assert all(r.reason == "invalid_values" for r in res.rejected)


def test_too_large_reading_is_rejected(
    settings: Settings, platform: Platform, make_device: Callable[..., FakeDevice]
) -> None:
    small = Ingestor(
        platform.store,
        None,
        settings.model_copy(update={"max_reading_bytes": 300}),
        platform.registry,
    )
    dev = make_device()
    big = dev.reading(
        "acoustic_impulse",
        {
            "arrival_time": "2026-11-25T02:13:07.123456Z",
            "peak_db": 120.0,
            "classes": {f"c{i:03d}": 0.01 for i in range(100)},
        },
    )
    res = small.ingest([big, dev.reading()])
    assert res.accepted == 1
    assert [r.reason for r in res.rejected] == ["too_large"]


def test_mqtt_is_not_rate_limited_and_duplicates_do_not_use_the_allowance(
    settings: Settings, platform: Platform, make_device: Callable[..., FakeDevice]
) -> None:
    limited = Ingestor(
        platform.store,
        None,
        settings.model_copy(update={"device_rate_per_s": 0.001, "device_rate_burst": 3.0}),
        platform.registry,
    )
    dev = make_device("d1")
    first = [dev.reading() for _ in range(3)]
    assert limited.ingest(first).accepted == 3
    again = limited.ingest(first)  # an HTTP retry after a lost answer
    assert (again.duplicates, again.rejected) == ([0, 1, 2], [])
    res = limited.ingest([dev.reading()])
    assert [r.reason for r in res.rejected] == ["rate_limited"]
    backlog = limited.ingest(
        [dev.reading() for _ in range(10)], transport="mqtt", topic_device="d1"
    )
    assert backlog.accepted == 10


def test_ingest_many_equals_ingest_per_message(
    tmp_path: Path, make_device: Callable[..., FakeDevice], platform: Platform
) -> None:
    a, b = make_device("a1"), make_device("b1")
    r1, r2, r3 = a.reading(), a.reading(), b.reading()
    messages = [("a1", [r1, r2]), ("a1", [r2, r3]), ("b1", [r3, "junk"])]
    results = platform.ingestor.ingest_many(messages)
    summary = [
        (x.accepted, x.duplicates, [(r.index, r.reason) for r in x.rejected]) for x in results
    ]
    assert summary == [
        (2, [], []),
        (0, [0], [(1, "topic_mismatch")]),
        (1, [], [(1, "malformed")]),
    ]


def test_lone_surrogates_in_a_bad_reading_do_not_sink_the_batch(
    platform: Platform, make_device: Callable[..., FakeDevice]
) -> None:
    dev = make_device()
    res = platform.ingestor.ingest([{"device": "\udc80", "seq": 1}, dev.reading()])
    assert res.accepted == 1 and [r.reason for r in res.rejected] == ["malformed"]
    assert platform.store.list_dead_letters()[0].reason == "malformed"
