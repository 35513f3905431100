"""Every rejection and every ``duplicate`` answer is published on
``stadswacht.rejections.<reason>``, for the infrastructure detectors; best effort, one bus
call per batch."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from typing import Any

from stadswacht.bus.base import REJECTIONS_PREFIX, rejection_subject
from stadswacht.config import Settings
from stadswacht.ingest.service import Ingestor
from stadswacht.model.signing import generate_key, sign_reading
from stadswacht.pipeline import Platform
from tests.conftest import FakeDevice
from tests.ingest.test_spool import FlakyBus, wait_for


def events(bus: FlakyBus) -> list[tuple[str, dict[str, Any]]]:
    return [
        (s, json.loads(d)) for s, d, _ in bus.published if s.startswith(REJECTIONS_PREFIX + ".")
    ]


def test_rejections_and_duplicates_are_published_with_their_reasons(
    platform: Platform, settings: Settings, make_device: Callable[..., FakeDevice]
) -> None:
    dev = make_device()
    now = [time.time()]
    bus = FlakyBus()
    ing = Ingestor(platform.store, bus, settings, platform.registry, clock=lambda: now[0])
    first = dev.reading()
    assert ing.ingest([first], source="10.0.0.7").accepted == 1
    assert bus.calls == 1 and events(bus) == []

    now[0] += 42.5
    forged = sign_reading(generate_key(), {k: v for k, v in dev.reading().items() if k != "sig"})
    replay = dev.reading(seq=first["seq"], values={"temperature_c": -5.0})
    good = dev.reading()
    result = ing.ingest([forged, first, replay, good], transport="mqtt", source="10.0.0.7")
    assert (result.accepted, result.duplicates) == (1, [1])
    assert bus.calls == 2  # the stored reading and the three events: one call

    got = events(bus)
    assert [s for s, _ in got] == [
        rejection_subject("bad_signature"),
        rejection_subject("replay"),
        rejection_subject("duplicate"),
    ]
    bad, rep, dup = (doc for _, doc in got)
    assert bad["device"] == dev.id and bad["seq"] == forged["seq"]
    assert "signature does not verify" in bad["message"]
    assert rep["seq"] == first["seq"] and rep["reason"] == "replay"
    assert dup == {
        "device": dev.id,
        "seq": first["seq"],
        "reason": "duplicate",
        "message": dup["message"],
        "transport": "mqtt",
        "source": dup["source"],
        "received_us": int(now[0] * 1_000_000),
        "original_age_s": 42.5,
    }
    for doc in (bad, rep, dup):
        assert doc["transport"] == "mqtt"
        assert doc["source"] and doc["source"] != "10.0.0.7"  # a pseudonym, never the address
        assert set(doc) >= {"device", "seq", "reason", "message", "transport", "source",
                            "received_us"}  # fmt: skip
    assert "original_age_s" not in bad
    msg_ids = [m for _, _, m in bus.published]
    assert len(set(msg_ids)) == len(msg_ids)


def test_a_malformed_item_has_no_device_or_seq_and_a_failing_bus_does_not_fail_ingest(
    platform: Platform, settings: Settings, make_device: Callable[..., FakeDevice]
) -> None:
    dev = make_device()
    bus = FlakyBus()
    fast = settings.model_copy(update={"spool_drain_interval_s": 0.02})
    ing = Ingestor(platform.store, bus, fast, platform.registry)
    try:
        bus.down = True
        result = ing.ingest(["not an object", dev.reading()])
        assert result.accepted == 1 and [r.reason for r in result.rejected] == ["malformed"]
        assert ing.health().unpublished == 2
        bus.down = False
        wait_for(lambda: ing.health().unpublished == 0)
    finally:
        ing.close()
    ((subject, doc),) = events(bus)
    assert subject == "stadswacht.rejections.malformed"
    assert (doc["device"], doc["seq"]) == (None, None)


def test_events_reach_a_subscriber_of_the_platform_bus(
    platform: Platform, make_device: Callable[..., FakeDevice]
) -> None:
    dev = make_device()

    async def run() -> dict[str, Any]:
        sub = await platform.bus.subscribe(f"{REJECTIONS_PREFIX}.>")
        try:
            forged = sign_reading(
                generate_key(), {k: v for k, v in dev.reading().items() if k != "sig"}
            )
            await asyncio.to_thread(platform.ingestor.ingest, [forged])
            msg = await asyncio.wait_for(sub.__anext__(), 5)
            await msg.ack()
            assert msg.subject == "stadswacht.rejections.bad_signature"
            doc: dict[str, Any] = json.loads(msg.data)
            return doc
        finally:
            await sub.close()

    assert asyncio.run(run())["reason"] == "bad_signature"
