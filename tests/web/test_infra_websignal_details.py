"""Infra and web-signal detections on the dashboard (issue #9/#10 review, D3): named in words
in the detections and incidents lists (not "kind_infra", not "1×"), and their details in their
own terms (no rounds, no impulse reports), in English and Dutch; a kind the dashboard has no
template for falls back to what every detection has."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from playwright.sync_api import expect

from stadswacht.api import create_app
from stadswacht.api.app import WEB_DIR
from stadswacht.api.auth import create_user
from stadswacht.model import Detection, Position, Role, format_time
from stadswacht.pipeline import Platform
from stadswacht.pipeline.detectors import publish_detections
from tests.support.server import serve
from tests.web.test_dashboard import ARTIFACTS, PASSWORD, District, browser

__all__ = ["browser"]  # the fixture, shared with the dashboard's tests

BOSJES = Position(lat=52.0985, lon=4.2870)


def _detections(now: datetime) -> list[Detection]:
    began = now - timedelta(minutes=12)
    infra = Detection(
        id="infra-outage-bosjes-1", kind="infra", detector="infra", agency="municipality",
        area="scheveningse-bosjes", time=format_time(began), detected_at=format_time(now),
        updated_at=format_time(now), position=BOSJES, probability=0.8,
        sensors=["iz-pc-06", "iz-wx-02"], evidence=["iz-pc-06:7", "iz-wx-02:9", "iz-pc-06:8"],
        details={"type": "power_cut", "check": "outage", "devices": ["iz-pc-06", "iz-wx-02"],
                 "ended": None, "quarantine": False,
                 "summary_en": "power cut: outage, 2 devices",
                 "summary_nl": "stroomstoring: uitval, 2 apparaten"},
    )  # fmt: skip
    posts = [
        {"id": f"post-{i}", "time": format_time(began + timedelta(minutes=i)),
         "text": text, "info_type": "caution_advice", "author": author}
        for i, (author, text) in enumerate([
            ("A", "Rook bij de Scheveningse Bosjes, blijf weg"),
            ("B", "Smoke near the Bosjes, fire brigade on the way"),
        ])
    ]  # fmt: skip
    web = Detection(
        id="websignal-scheveningse-bosjes-1", kind="websignal", detector="websignal",
        agency="municipality", area="scheveningse-bosjes",
        time=format_time(began + timedelta(minutes=1)), detected_at=format_time(now),
        position=BOSJES, probability=0.9999, evidence=[p["id"] for p in posts],
        details={"status": "active", "info_type": "caution_advice",
                 "info_type_name": {"en": "Caution and advice", "nl": "Waarschuwing en advies"},
                 "authors": 7, "posts": 13, "expected_authors": 0.42, "p_value": 1e-6,
                 "window_s": 900.0, "examples": posts,
                 "summary_en": "web signals: 7 people posting about caution and advice in "
                               "Scheveningse Bosjes (normally 0.4 in 15 min)",
                 "summary_nl": "websignalen: 7 mensen posten over waarschuwing en advies in "
                               "Scheveningse Bosjes (normaal 0.4 per 15 min)"},
    )  # fmt: skip
    odd = Detection(
        id="vibration-1", kind="vibration", detector="vibration", agency="municipality",
        time=format_time(began - timedelta(minutes=30)), detected_at=format_time(now),
        probability=0.6, sensors=["iz-wx-01"],
        details={"summary_en": "bridge deck vibrating", "rounds": 4},
    )  # fmt: skip
    return [infra, web, odd]


def _fields(page: Any) -> dict[str, str]:
    keys = page.locator("#detection dd").evaluate_all("els => els.map(e => e.dataset.field)")
    values = page.locator("#detection dd").all_inner_texts()
    return dict(zip(keys, values, strict=True))


def test_infra_and_web_signals_read_in_their_own_terms(platform: Platform, browser: Any) -> None:
    if not (WEB_DIR / "vendor" / "maplibre-gl.mjs").exists():
        pytest.fail("the map library is missing: run `make` (npm ci copies it into web/vendor/)")
    District(platform)
    create_user(platform.store, "olga", PASSWORD, "municipality", Role.OPERATOR)
    with serve(create_app(platform=platform)) as url:
        page = browser.new_page(viewport={"width": 1440, "height": 900})
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(url + "/")
        page.fill("#username", "olga")
        page.fill("#password", PASSWORD)
        page.click("#login-form button[type=submit]")
        page.wait_for_function("window.stadswacht.detections?.stream?.readyState === 1")
        page.wait_for_function("window.stadswacht.incidents?.stream?.readyState === 1")
        publish_detections(platform.store, platform.bus, _detections(datetime.now(UTC)))

        rows = page.locator("#detections li")
        infra = page.locator('#detections button[data-kind="infra"]')
        web = page.locator('#detections button[data-kind="websignal"]')
        expect(infra).to_contain_text("Sensor / infrastructure")
        expect(infra).to_contain_text("power cut: outage, 2 devices")
        expect(web).to_contain_text("Web signal")
        expect(web).to_contain_text("7 people posting about caution and advice")
        odd = page.locator('#detections button[data-kind="vibration"]')
        expect(odd.locator("b")).to_have_text("vibration")
        expect(odd.locator(".what")).to_have_text("bridge deck vibrating")
        for text in rows.all_inner_texts():
            assert "kind_" not in text and "×" not in text, text
        # Incidents name the kinds in words too.
        incidents = page.locator("#incidents")
        expect(incidents).to_contain_text("Sensor / infrastructure", timeout=10_000)
        expect(incidents).to_contain_text("Web signal", timeout=10_000)
        assert "infra " not in incidents.inner_text()

        infra.click()
        expect(page.locator("#detection h2 span")).to_have_text(
            "Sensor / infrastructure · infra-outage-bosjes-1"
        )
        got = _fields(page)
        assert got["detSummary"] == "power cut: outage, 2 devices"
        assert got["detType"] == "power cut"
        assert got["detCheck"] == "outage (outage)"
        assert got["detDevices"] == "iz-pc-06, iz-wx-02"
        assert got["detEnded"] == "ongoing"
        assert got["detQuarantine"] == "no"
        assert not {"detRounds", "detEvidence", "detUncertainty"} & set(got)

        web.click()
        got = _fields(page)
        assert got["detInfoType"] == "Caution and advice"
        assert got["detAuthors"] == "7 (normally 0.4 in 15 min)"
        assert got["detPosts"] == "13"
        assert got["detArea"] == "Scheveningse Bosjes"
        assert got["detStatus"] == "ongoing"
        assert not {"detRounds", "detEvidence", "detUncertainty"} & set(got)
        examples = page.locator("#detection .ws-examples li")
        expect(examples).to_have_count(2)
        expect(examples.first.locator(".ws-author")).to_have_text("A")
        expect(examples.first.locator(".ws-text")).to_have_text(
            "Rook bij de Scheveningse Bosjes, blijf weg"
        )

        page.click("[data-lang=nl]")
        expect(page.locator('#detection dd[data-field="detAuthors"]')).to_have_text(
            "7 (normaal 0,4 per 15 min)"
        )
        expect(page.locator('#detection dd[data-field="detInfoType"]')).to_have_text(
            "Waarschuwing en advies"
        )
        expect(page.locator("#detection h2 span")).to_contain_text("Websignaal")
        expect(infra).to_contain_text("Sensor / infrastructuur")
        expect(infra).to_contain_text("stroomstoring: uitval, 2 apparaten")
        expect(incidents).to_contain_text("Websignaal")
        infra.click()
        expect(page.locator('#detection dd[data-field="detEnded"]')).to_have_text("loopt nog")
        expect(page.locator('#detection dd[data-field="detType"]')).to_have_text("stroomstoring")
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "dashboard-infra-websignal-nl.png"))
        page.click("[data-lang=en]")

        # A kind without a template: what every detection has, no rounds.
        odd.click()
        got = _fields(page)
        assert got["detKind"] == "vibration"
        assert got["detSummary"] == "bridge deck vibrating"
        assert got["detSensors"] == "iz-wx-01"
        assert "detRounds" not in got
        assert errors == []
        page.close()
