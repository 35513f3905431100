"""The alert service pushes every CAP alert to webhooks (retrying a failing one) and to the
MQTT broker (retained), and never issues the same warning version twice."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import paho.mqtt.client as paho
import pytest
from fastapi.testclient import TestClient
from lxml import etree
from paho.mqtt.enums import CallbackAPIVersion
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from stadswacht.alerting.service import issue_alert
from stadswacht.alerting.validate import schema
from stadswacht.api import create_app
from stadswacht.config import Settings
from stadswacht.detect.hazard.thresholds import threshold_from_dict
from stadswacht.model import DeviceKind, Position, format_time
from stadswacht.model.signing import load_private_key, sign_reading
from stadswacht.pipeline import Platform
from tests.support.mosquitto import mosquitto_broker
from tests.support.server import serve


def gauge_platform(settings: Settings) -> tuple[Platform, Any]:
    platform = Platform.from_settings(settings)
    reg = platform.registry.register(
        "wg-1", kind=DeviceKind.WATER_GAUGE, position=Position(lat=52.1, lon=4.27),
        agency="water-board",
    )  # fmt: skip
    platform.add_thresholds([threshold_from_dict({"id": "wg", "device": "wg-1",
                                                  "preset": "rws:HOEKVHLD"})])  # fmt: skip
    return platform, load_private_key(reg.private_key or "")


def crossing(key: Any) -> list[dict[str, Any]]:
    start = datetime.now(UTC) - timedelta(minutes=3)
    return [
        sign_reading(
            key,
            {
                "device": "wg-1",
                "seq": i + 1,
                "kind": "water_level",
                "time": format_time(start + timedelta(minutes=i)),
                "values": {"level_cm_nap": cm},
            },
        )
        for i, cm in enumerate([150.0, 232.0])
    ]


def wait_for(check: Any, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


@pytest.fixture
def receiver() -> Iterator[tuple[str, list[tuple[str, bytes]]]]:
    """A webhook endpoint: /ok takes every alert; /flaky refuses the first try with 503."""
    got: list[tuple[str, bytes]] = []
    tries = {"flaky": 0}

    async def hook(request: Request) -> Response:
        name = request.path_params["name"]
        body = await request.body()
        if name == "flaky":
            tries["flaky"] += 1
            if tries["flaky"] == 1:
                return Response(status_code=503)
        got.append((f"{name} {request.headers['content-type']}", body))
        return Response(status_code=204)

    app = Starlette(routes=[Route("/{name}", hook, methods=["POST"])])
    with serve(app) as url:  # type: ignore[arg-type]
        yield url, got


def test_alerts_are_posted_to_every_webhook_and_a_failing_one_is_retried(
    settings: Settings, receiver: tuple[str, list[tuple[str, bytes]]]
) -> None:
    url, got = receiver
    platform, key = gauge_platform(
        settings.model_copy(update={"cap_webhooks": [f"{url}/ok", f"{url}/flaky"]})
    )
    try:
        with TestClient(create_app(platform=platform)) as client:
            assert (
                client.post("/v1/readings", json={"readings": crossing(key)}).json()["accepted"]
                == 2
            )
            wait_for(lambda: len(got) == 2)
    finally:
        asyncio.run(platform.close())
    assert sorted(who for who, _ in got) == [
        "flaky application/cap+xml", "ok application/cap+xml"]  # fmt: skip
    for _, body in got:
        schema().assertValid(etree.fromstring(body))
    assert got[0][1] == got[1][1]  # the same alert, byte for byte


@pytest.mark.integration
def test_alerts_are_published_retained_on_the_mqtt_broker(settings: Settings) -> None:
    with mosquitto_broker() as broker:
        platform, key = gauge_platform(
            settings.model_copy(
                update={"mqtt_url": broker.url, "cap_mqtt_topic": "stadswacht/v1/cap"}
            )
        )
        try:
            with TestClient(create_app(platform=platform)) as client:
                assert (
                    client.post("/v1/readings", json={"readings": crossing(key)}).json()["accepted"]
                    == 2
                )
                wait_for(lambda: platform.alerts is not None and platform.alerts.issued == 1)
        finally:
            asyncio.run(platform.close())
        # A subscriber that comes afterwards still gets the alert: it is retained.
        received: list[paho.MQTTMessage] = []
        done = threading.Event()
        sub = paho.Client(CallbackAPIVersion.VERSION2, client_id="cap-reader")
        sub.on_connect = lambda c, *_: c.subscribe("stadswacht/v1/cap/#", qos=1)
        sub.on_message = lambda c, u, m: (received.append(m), done.set())
        sub.connect(broker.host, broker.port)
        sub.loop_start()
        try:
            assert done.wait(10), "no retained CAP alert on the broker"
        finally:
            sub.loop_stop()
            sub.disconnect()
    (msg,) = received
    assert msg.topic == "stadswacht/v1/cap/wg-1" and msg.retain
    schema().assertValid(etree.fromstring(msg.payload))


def test_a_warning_version_is_issued_once_and_an_older_one_never(settings: Settings) -> None:
    platform, _ = gauge_platform(settings)
    try:
        from stadswacht.pipeline.hazard import HazardStage

        stage = HazardStage(
            device=platform.registry.get, areas=platform.store.list_areas,
            thresholds=lambda: list(platform.thresholds),
        )  # fmt: skip
        t0 = datetime.now(UTC)
        found = []
        for i, cm in enumerate([230.0, 300.0]):
            found += stage.handle({
                "device": "wg-1", "kind": "water_level", "values": {"level_cm_nap": cm},
                "time": format_time(t0 + timedelta(minutes=i)),
            })  # fmt: skip
        first, second = found
        assert issue_alert(platform.store, platform.settings, first) is not None
        assert issue_alert(platform.store, platform.settings, first) is None  # redelivered
        assert issue_alert(platform.store, platform.settings, second) is not None
        assert issue_alert(platform.store, platform.settings, first) is None  # late, older
        assert [a.msg_type for a in platform.store.list_alerts()] == ["Update", "Alert"]
    finally:
        asyncio.run(platform.close())
