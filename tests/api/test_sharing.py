"""Need-to-know through the API: another agency's detections only under an agreement, for its
purpose, redacted to its fields (the reader sees what was withheld), on the list, by id, as
GeoJSON and on the live stream; each such decision reaches the audit log."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from stadswacht.api import create_app
from stadswacht.api.auth import create_user
from stadswacht.model import Detection, DeviceKind, Ellipse, Position, Role, format_time
from stadswacht.pipeline import Platform
from stadswacht.pipeline.detectors import publish_detections
from stadswacht.sharing.agreements import agreement_from_dict
from stadswacht.sharing.audit import verify_log
from stadswacht.sharing.policy import PolicyDecisionPoint
from tests.support.server import serve

PASSWORD = "correct horse battery"
NOW = datetime.now(UTC)


def shot(i: int) -> Detection:
    return Detection(
        id=f"gunshot-{i}", kind="gunshot", detector="gunshot", agency="police",
        area="peace-palace", time=format_time(NOW - timedelta(minutes=i)),
        detected_at=format_time(NOW), position=Position(lat=52.0875, lon=4.2955),
        uncertainty=Ellipse(semi_major_m=5, semi_minor_m=2, orientation_deg=10),
        probability=0.9, evidence=["iz-ac-01:7"], sensors=["iz-ac-01", "iz-ac-02"],
        details={"rounds": 2},
    )  # fmt: skip


def login(client: httpx.Client, user: str) -> dict[str, str]:
    r = client.post("/v1/auth/token", data={"username": user, "password": PASSWORD})
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def test_other_agencies_see_detections_only_under_an_agreement_redacted_and_audited(
    platform: Platform,
) -> None:
    platform.policy = PolicyDecisionPoint([
        agreement_from_dict({
            "id": "pol-gem", "provider": "police", "recipient": "municipality",
            "kinds": ["detection"], "max_classification": "TLP:AMBER",
            "purpose": "public-order", "roles": ["operator"], "actions": ["read", "list", "stream"],
            "fields": {"detection": ["time", "position", "probability"]},
            "valid_from": (NOW - timedelta(days=1)).isoformat(),
            "valid_until": (NOW + timedelta(days=1)).isoformat(),
        })
    ])  # fmt: skip
    reg = platform.registry.register(
        "iz-ac-01", kind=DeviceKind.ACOUSTIC, position=Position(lat=52.0895, lon=4.283),
        agency="police",
    )  # fmt: skip
    assert reg.device.agency == "police"
    create_user(platform.store, "piet", PASSWORD, "police", Role.OPERATOR)
    create_user(platform.store, "gert", PASSWORD, "municipality", Role.OPERATOR)
    create_user(platform.store, "ans", PASSWORD, "municipality", Role.ANALYST)
    create_user(platform.store, "wim", PASSWORD, "water-board", Role.OPERATOR)
    publish_detections(platform.store, platform.bus, [shot(1)])
    purpose = {"X-Purpose": "public-order"}

    with serve(create_app(platform=platform)) as url, httpx.Client(base_url=url) as client:
        police, gert, ans, wim = (login(client, u) for u in ("piet", "gert", "ans", "wim"))
        own = client.get("/v1/detections", headers=police).json()
        assert [d["id"] for d in own] == ["gunshot-1"] and own[0]["_withheld"] == []
        assert own[0]["sensors"] == ["iz-ac-01", "iz-ac-02"]

        # No purpose stated, another role, another agency: nothing, and the id is not disclosed.
        assert client.get("/v1/detections", headers=gert).json() == []
        assert client.get("/v1/detections", headers={**ans, **purpose}).json() == []
        assert client.get("/v1/detections", headers={**wim, **purpose}).json() == []
        assert client.get("/v1/detections/gunshot-1", headers=gert).status_code == 404

        (seen,) = client.get("/v1/detections", headers={**gert, **purpose}).json()
        assert seen["position"] == {"lat": 52.0875, "lon": 4.2955}
        assert seen["sensors"] is None and seen["evidence"] is None and seen["details"] is None
        assert {"sensors", "evidence", "details", "uncertainty"} <= set(seen["_withheld"])
        by_id = client.get("/v1/detections/gunshot-1", headers={**gert, **purpose}).json()
        assert by_id["_withheld"] == seen["_withheld"]
        geo = client.get("/v1/detections.geojson", headers={**gert, **purpose}).json()
        assert geo["features"][0]["properties"]["sensors"] is None
        # Devices and readings are not in the agreement.
        assert client.get("/v1/devices", headers={**gert, **purpose}).json() == []
        assert client.get("/v1/devices/iz-ac-01", headers={**gert, **purpose}).status_code == 404

        # Export: not for an operator; an analyst of the police gets their own, and the
        # municipality's analyst nothing (the agreement allows no export).
        create_user(platform.store, "pam", PASSWORD, "police", Role.ANALYST)
        pam = login(client, "pam")
        assert client.get("/v1/export/detections", headers=police).status_code == 403
        out = client.get("/v1/export/detections", headers=pam)
        assert out.headers["content-type"] == "application/x-ndjson"
        assert [json.loads(x)["id"] for x in out.text.splitlines()] == ["gunshot-1"]
        assert client.get("/v1/export/detections", headers={**ans, **purpose}).text == ""

        # The live stream asks the policy per message.
        got: list[dict[str, Any]] = []
        ready = threading.Event()

        def listen() -> None:
            with httpx.stream(
                "GET", f"{url}/v1/stream/detections", headers={**gert, **purpose}, timeout=20
            ) as r:
                for line in r.iter_lines():
                    if line.startswith("event: ready"):
                        ready.set()
                    if line.startswith("data:") and ready.is_set() and '"gunshot-2"' in line:
                        got.append(json.loads(line[5:]))
                        return

        t = threading.Thread(target=listen, daemon=True)
        t.start()
        assert ready.wait(10)
        publish_detections(platform.store, platform.bus, [shot(2)])
        t.join(10)
        assert got and got[0]["sensors"] is None and "sensors" in got[0]["_withheld"]

    # Every decision about the police's data is on the audit log, and the log verifies.
    log = platform.audit
    entries = [json.loads(b) for b in log.entries(0, log.size)]
    reads = [e for e in entries if e["actor"] == "gert" and e["outcome"] == "allow"]
    assert {e["action"] for e in reads} == {"list", "read", "stream"}
    assert all(e["purpose"] == "public-order" for e in reads)
    assert all(e["details"]["basis"] == "pol-gem" for e in reads)
    assert all("sensors" in e["details"]["withheld"] for e in reads)
    denied = [e for e in entries if e["outcome"] == "deny"]
    assert any(e["actor"] == "gert" and e["action"] == "read" for e in denied)  # by id, no purpose
    assert not any(e["actor"] == "piet" for e in entries)  # own agency: not another's data
    checkpoint = log.checkpoint()
    report = verify_log(log.entries(0, log.size), [checkpoint], log.public_key)
    assert report.ok and report.verified_size == len(entries)
