"""A quarantined sensor on the dashboard (issue #9 review, D2): its own state and colour, not
"decommissioned"; the sensor panel says which check quarantined it, why, since when and by
which detection; an integrator, supervisor or administrator clears it with a note, and sees
the server's words when it refuses."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from playwright.sync_api import expect

from stadswacht.api import create_app
from stadswacht.api.app import WEB_DIR
from stadswacht.api.auth import create_user
from stadswacht.model import Detection, DeviceStatus, Position, Role, format_time
from stadswacht.pipeline import Platform
from tests.support.server import serve
from tests.web.test_dashboard import PASSWORD, District, browser

__all__ = ["browser"]  # the fixture, shared with the dashboard's tests

PURPLE = "rgb(168, 85, 247)"  # the sensor health legend's "quarantined"


def _open(browser: Any, url: str, name: str) -> tuple[Any, list[str]]:
    page = browser.new_page(viewport={"width": 1440, "height": 900})
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(url + "/")
    page.fill("#username", name)
    page.fill("#password", PASSWORD)
    page.click("#login-form button[type=submit]")
    page.wait_for_function("window.stadswacht.map?.map.loaded()", timeout=10_000)
    return page, errors


def _pick(page: Any, device: str) -> None:
    page.fill("#search", device)
    page.click("#search-results button")
    expect(page.locator("#details-title")).to_have_text(device)


def test_a_quarantined_sensor_is_not_decommissioned_and_a_supervisor_clears_it(
    platform: Platform, browser: Any
) -> None:
    if not (WEB_DIR / "vendor" / "maplibre-gl.mjs").exists():
        pytest.fail("the map library is missing: run `make` (npm ci copies it into web/vendor/)")
    District(platform)
    since = datetime.now(UTC) - timedelta(minutes=5)
    platform.store.put_detection(
        Detection(
            id="infra-replay-iz-pc-05", kind="infra", detector="infra", agency="municipality",
            time=format_time(since), detected_at=format_time(since),
            position=Position(lat=52.0915, lon=4.2930), probability=0.95, sensors=["iz-pc-05"],
            details={"type": "cyber_attack", "check": "replayed", "device": "iz-pc-05",
                     "ended": None, "quarantine": True,
                     "summary_en": "suspected attack: readings look replayed, iz-pc-05",
                     "summary_nl": "vermoedelijke aanval: metingen lijken herhaald, iz-pc-05"},
        )
    )  # fmt: skip
    reason = "readings repeat the sequence of 04:10-04:20"
    platform.registry.quarantine(
        "iz-pc-05", check="replayed", reason=reason, detection="infra-replay-iz-pc-05", since=since
    )
    platform.registry.quarantine("iz-pc-03", check="stuck", reason="count stuck at 12")
    platform.registry.decommission("iz-wx-02")
    create_user(platform.store, "sam", PASSWORD, "municipality", Role.SUPERVISOR)
    create_user(platform.store, "olga", PASSWORD, "municipality", Role.OPERATOR)

    with serve(create_app(platform=platform)) as url:
        # An operator sees why, but has no button to clear it.
        page, errors = _open(browser, url, "olga")
        expect(page.locator("#count-quarantined")).to_have_text("2")
        expect(page.locator("#count-off")).to_have_text("1")
        _pick(page, "iz-pc-05")
        facts = page.locator("#details-quarantine")
        expect(facts.locator('dd[data-field="qReason"]')).to_have_text(reason)
        expect(page.locator('#details dd[data-field="status"]')).to_have_text("quarantined")
        expect(page.locator("#details .q-clear")).to_have_count(0)
        assert errors == []
        page.close()

        page, errors = _open(browser, url, "sam")
        expect(page.locator("#count-quarantined")).to_have_text("2")
        expect(page.locator("#count-off")).to_have_text("1")
        expect(page.locator(".stats .st.quarantined")).to_contain_text("quarantined")
        dot = page.evaluate(
            """() => getComputedStyle(document.querySelector('.stats .st.quarantined'),
                '::before').color"""
        )
        assert dot == PURPLE
        _pick(page, "iz-pc-05")
        expect(page.locator('#details dd[data-field="status"]')).to_have_text("quarantined")
        expect(page.locator("#details-state")).to_have_attribute("data-state", "quarantined")
        facts = page.locator("#details-quarantine")
        expect(facts.locator('dd[data-field="qCheck"]')).to_have_text(
            "readings look replayed (replayed)"
        )
        expect(facts.locator('dd[data-field="qReason"]')).to_have_text(reason)
        expect(facts.locator('dd[data-field="qSince"]')).to_contain_text("(5 min ago)")
        expect(facts.locator('dd[data-field="qDetection"]')).to_have_text("infra-replay-iz-pc-05")
        # The detection's id opens it in the detections panel.
        facts.locator('dd[data-field="qDetection"] button').click()
        expect(page.locator('#detection dd[data-field="detCheck"]')).to_have_text(
            "readings look replayed (replayed)"
        )
        # On the map: its own state, drawn in the legend's purple.
        st = page.evaluate(
            """() => { const s = window.stadswacht, i = s.index.get('iz-pc-05');
                return s.map.map.getFeatureState({source: 'sensors', id: i}); }"""
        )
        assert st["st"] == "quarantined"
        counts = page.evaluate("window.stadswacht.counts")
        assert (counts["quarantined"], counts["off"], counts["live"]) == (2, 1, 0)

        page.click("[data-lang=nl]")
        expect(page.locator('#details dd[data-field="status"]')).to_have_text("in quarantaine")
        expect(facts.locator("h3")).to_have_text("Quarantaine")
        expect(facts.locator(".q-clear button")).to_have_text("Quarantaine opheffen")
        expect(page.locator(".stats .st.quarantined")).to_contain_text("in quarantaine")
        page.click("[data-lang=en]")

        # Someone else cleared iz-pc-03 meanwhile: the server refuses, in its own words.
        _pick(page, "iz-pc-03")
        platform.registry.clear("iz-pc-03")
        # Typed slowly, across the panel's redraw every second: nothing typed is lost.
        note = page.locator("#details .q-clear input")
        note.click()
        note.press_sequentially("checked the counter on site", delay=60)
        expect(note).to_have_value("checked the counter on site")
        assert note.evaluate("e => document.activeElement === e")
        page.click("#details .q-clear button[type=submit]")
        expect(page.locator("#details-quarantine .inc-msg.error")).to_have_text(
            "Refused: device 'iz-pc-03' is active, not quarantined"
        )
        expect(page.locator("#count-quarantined")).to_have_text("1")  # the page caught up

        # A note is required; with it, the supervisor clears iz-pc-05.
        _pick(page, "iz-pc-05")
        page.click("#details .q-clear button[type=submit]")
        assert platform.store.get_device("iz-pc-05").status is DeviceStatus.QUARANTINED
        page.fill("#details .q-clear input", "replay came from a test harness, now removed")
        page.click("#details .q-clear button[type=submit]")
        expect(page.locator("#details-quarantine .inc-msg.ok")).to_have_text(
            "Quarantine cleared: the detectors use its new readings again."
        )
        expect(page.locator("#count-quarantined")).to_have_text("0")
        expect(page.locator('#details dd[data-field="status"]')).to_have_text("no data yet")
        expect(page.locator("#details .q-clear")).to_have_count(0)
        assert platform.store.get_device("iz-pc-05").status is DeviceStatus.ACTIVE
        legend = page.locator('#resilience .rs-health-legend [data-health="quarantined"] b')
        expect(legend).to_have_text("0")
        assert errors == []
        page.close()
