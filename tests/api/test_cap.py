"""A gauge crossing a level becomes a CAP alert at /cap/alerts/{id}.xml and in /cap/feed.atom,
valid by the OASIS schema and readable by an independent parser; then an update and an all
clear that reference it."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

from capparselib.parsers import CAPParser  # type: ignore[import-untyped]
from fastapi.testclient import TestClient
from lxml import etree

from stadswacht.alerting.validate import schema
from stadswacht.api import create_app
from stadswacht.api.auth import create_user
from stadswacht.detect.hazard.thresholds import threshold_from_dict
from stadswacht.model import DeviceKind, Position, Role, format_time
from stadswacht.model.signing import load_private_key, sign_reading
from stadswacht.pipeline import Platform

PASSWORD = "correct horse battery"
ATOM = "{http://www.w3.org/2005/Atom}"
CAP = "{urn:oasis:names:tc:emergency:cap:1.2}"


def _feed(client: TestClient, headers: dict[str, str], n: int) -> list[Any]:
    deadline = time.monotonic() + 10
    while True:
        r = client.get("/cap/feed.atom", headers=headers)
        assert r.status_code == 200, r.text
        entries = etree.fromstring(r.content).findall(f"{ATOM}entry")
        if len(entries) >= n or time.monotonic() > deadline:
            return entries
        time.sleep(0.05)


def test_a_crossed_level_is_published_as_valid_cap_with_update_and_all_clear(
    platform: Platform,
) -> None:
    reg = platform.registry.register(
        "sch-wg-01", kind=DeviceKind.WATER_GAUGE, position=Position(lat=52.101, lon=4.266),
        agency="water-board",
    )  # fmt: skip
    key = load_private_key(reg.private_key or "")
    platform.add_thresholds(
        [threshold_from_dict({"id": "sch", "device": "sch-wg-01", "preset": "rws:HOEKVHLD",
                              "name": "Scheveningen haven", "update_interval_s": 0})]
    )  # fmt: skip
    create_user(platform.store, "ops", PASSWORD, "water-board", Role.OPERATOR)
    start = datetime.now(UTC) - timedelta(minutes=10)

    def level(seq: int, cm: float) -> dict[str, Any]:
        body = {
            "device": "sch-wg-01", "seq": seq, "kind": "water_level",
            "time": format_time(start + timedelta(minutes=seq)),
            "values": {"level_cm_nap": cm},
        }  # fmt: skip
        return sign_reading(key, body)

    with TestClient(create_app(platform=platform)) as client:
        assert client.get("/cap/feed.atom").status_code == 401  # not public by default
        token = client.post("/v1/auth/token", data={"username": "ops", "password": PASSWORD})
        headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
        assert _feed(client, headers, 0) == []  # an empty feed is still a valid feed

        readings = [level(1, 180.0), level(2, 226.0)]
        assert client.post("/v1/readings", json={"readings": readings}).json()["accepted"] == 2
        (entry,) = _feed(client, headers, 1)
        href = entry.find(f"{ATOM}link").get("href")
        r = client.get(href.replace("http://testserver", ""), headers=headers)
        assert r.status_code == 200 and r.headers["content-type"] == "application/cap+xml"
        doc = etree.fromstring(r.content)
        schema().assertValid(doc)  # the OASIS XSD, independently of the issuing code
        (parsed,) = CAPParser(r.content.decode()).as_dict()
        assert str(parsed["cap_message_type"]) == "Alert"
        assert str(parsed["cap_status"]) == "Actual"
        infos = {str(i["cap_language"]): i for i in parsed["cap_info"]}
        assert set(infos) == {"nl-NL", "en-GB"}
        assert str(infos["nl-NL"]["cap_headline"]) == "Code geel: hoogwater bij Scheveningen haven"
        assert str(infos["en-GB"]["cap_severity"]) == "Moderate"

        # Escalation to orange, then back below every level: two Updates in the chain.
        more = [level(3, 290.0), level(4, 150.0)]
        assert client.post("/v1/readings", json={"readings": more}).json()["accepted"] == 2
        entries = _feed(client, headers, 3)
        assert len(entries) == 3
        newest = client.get(
            entries[0].find(f"{ATOM}link").get("href").replace("http://testserver", ""),
            headers=headers,
        )
        (clear,) = CAPParser(newest.content.decode()).as_dict()
        assert str(clear["cap_message_type"]) == "Update"
        assert str(clear["cap_info"][0]["cap_response_type"]) == "AllClear"
        refs = etree.fromstring(newest.content).findtext(f"{CAP}references").split()
        assert (
            [r.split(",")[1] for r in refs]
            == [  # the alert and the escalation
                e.find(f"{ATOM}link").get("href").rsplit("/", 1)[1].removesuffix(".xml")
                for e in reversed(entries[1:])
            ]
        )
        assert client.get("/cap/alerts/nope.xml", headers=headers).status_code == 404
