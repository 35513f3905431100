"""The dashboard's incidents panel (issues #7 and #5): shots and a crowd warning become
incidents on the operator's screen; the operator works one along its procedure, the server
refuses what the role may not do, a supervisor resolves it, and what each user sees depends on
agency and role, with a banner where a sharing agreement withholds fields."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from stadswacht.api import create_app
from stadswacht.api.app import WEB_DIR
from stadswacht.api.auth import create_user
from stadswacht.model import Detection, Ellipse, Position, Role, format_time
from stadswacht.pipeline import Platform
from stadswacht.pipeline.detectors import publish_detections
from stadswacht.sharing.agreements import agreement_from_dict
from stadswacht.sharing.policy import PolicyDecisionPoint
from tests.support.server import serve
from tests.web.test_dashboard import ARTIFACTS, PASSWORD, District, browser

__all__ = ["browser"]  # the fixture, shared with the dashboard's tests

PURPOSE = "public-order"
SHOT = Position(lat=52.0915, lon=4.2925)  # Johan de Wittlaan
CROWD = Position(lat=52.0908, lon=4.2830)  # World Forum, 650 m west: another event


def _detections(now: datetime) -> list[Detection]:
    def shot(n: int, after_s: float, east_m: float) -> Detection:
        t = format_time(now + timedelta(seconds=after_s))
        return Detection(
            id=f"gunshot-iz-ac-02-{n}", kind="gunshot", detector="gunshot", agency="police",
            area="johan-de-wittlaan", time=t, detected_at=t,
            position=Position(lat=SHOT.lat, lon=SHOT.lon + east_m / 68_400),
            uncertainty=Ellipse(semi_major_m=6.0, semi_minor_m=2.5, orientation_deg=30.0),
            probability=0.91, sensors=["iz-ac-02", "iz-ac-05"], details={"rounds": 2},
        )  # fmt: skip

    t = format_time(now + timedelta(seconds=5))
    crowd = Detection(
        id="crowd-world-forum-warn-1", kind="crowd", detector="crowd", agency="municipality",
        area="world-forum", time=t, detected_at=t, position=CROWD, probability=0.97,
        details={"level": "warn", "status": "raised", "basis": "observed", "density": 2.3,
                 "threshold": 2.0, "zone_name": "World Forum / Churchillplein",
                 "escalate_to": ["municipality"]},
    )  # fmt: skip
    return [shot(1, 0.0, 0.0), shot(2, 2.0, 12.0), crowd]


def _config_with_purpose() -> str:
    """The deployment's config.js with the purpose its operators state (the file is the
    deployment's to replace)."""
    text = (WEB_DIR / "config.js").read_text(encoding="utf-8")
    assert "  purpose: null," in text
    return text.replace("  purpose: null,", f'  purpose: "{PURPOSE}",')


def _open(browser: Any, url: str, name: str) -> tuple[Any, list[str]]:
    page = browser.new_page(viewport={"width": 1440, "height": 900})
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.route(
        "**/config.js",
        lambda route: route.fulfill(
            status=200, content_type="text/javascript", body=_config_with_purpose()
        ),
    )
    page.goto(url + "/")
    page.fill("#username", name)
    page.fill("#password", PASSWORD)
    page.click("#login-form button[type=submit]")
    page.wait_for_function("window.stadswacht.incidents?.stream?.readyState === 1")
    return page, errors


def _act(page: Any, to: str, why: str) -> None:
    page.click(f'#incident .inc-actions button[data-to="{to}"]')
    page.fill("#incident .inc-form input", why)
    page.click("#incident .inc-form button[type=submit]")


def test_operators_work_incidents_from_shots_and_a_crowd_warning_as_their_role_and_agency_allow(
    platform: Platform, browser: Any
) -> None:
    if not (WEB_DIR / "vendor" / "maplibre-gl.mjs").exists():
        pytest.fail("the map library is missing: run `make` (npm ci copies it into web/vendor/)")
    District(platform)
    now = datetime.now(UTC)
    # The municipality shares its incidents with the police for public order, without the
    # evidence and the exact place.
    platform.policy = PolicyDecisionPoint([
        agreement_from_dict({
            "id": "gem-pol", "provider": "municipality", "recipient": "police",
            "kinds": ["incident"], "max_classification": "TLP:AMBER", "purpose": PURPOSE,
            "roles": ["operator", "supervisor"], "actions": ["read", "list", "stream"],
            "fields": {"incident": ["title", "status", "severity", "area", "first_time",
                                    "last_time", "opened_at", "timeline", "steps", "respond_by",
                                    "escalated", "version"]},
            "valid_from": (now - timedelta(days=1)).isoformat(),
            "valid_until": (now + timedelta(days=1)).isoformat(),
        })
    ])  # fmt: skip
    create_user(platform.store, "olga", PASSWORD, "police", Role.OPERATOR)
    create_user(platform.store, "sam", PASSWORD, "police", Role.SUPERVISOR)
    create_user(platform.store, "wim", PASSWORD, "water-board", Role.OPERATOR)

    with serve(create_app(platform=platform)) as url, httpx.Client(base_url=url) as http:
        page, errors = _open(browser, url, "olga")
        expect(page.locator("#incidents li").first).to_have_text("No open incidents")

        # What the detector worker does: store and publish; fusion (in the app) makes incidents.
        publish_detections(platform.store, platform.bus, _detections(now))
        shot = page.locator('#incidents li[data-id="inc-gunshot-iz-ac-02-1"]')
        crowd = page.locator('#incidents li[data-id="inc-crowd-world-forum-warn-1"]')
        expect(shot).to_contain_text("Gunshot", timeout=10_000)
        expect(shot).to_contain_text("Johan de Wittlaan")
        expect(shot).to_contain_text("new")
        expect(shot.locator(".sev")).to_have_text("3")
        colour = shot.locator(".sev").evaluate("b => getComputedStyle(b).backgroundColor")
        assert colour == "rgb(249, 115, 22)"  # serious: orange
        # Issue #5: the crowd warning is an incident of its own (another place, another kind).
        expect(crowd).to_contain_text("Crowd warning", timeout=10_000)
        expect(crowd).to_contain_text("World Forum / Churchillplein")
        expect(crowd).to_contain_text("shared")
        expect(page.locator("#incidents li")).to_have_count(2)
        # The worst first.
        assert page.locator("#incidents li").first.get_attribute("data-id") == (
            "inc-gunshot-iz-ac-02-1"
        )

        # The detail: both shots as evidence, the procedure, the timeline.
        shot.locator("button").click()
        box = page.locator("#incident")
        expect(box).to_be_visible()
        expect(box.locator('dd[data-field="incStatus"]')).to_have_text("new")
        expect(box.locator('dd[data-field="incSeverity"]')).to_have_text("3 · serious")
        expect(box.locator('dd[data-field="incClassification"]')).to_have_text("TLP:AMBER")
        tlp = box.locator(".tlp").evaluate("b => getComputedStyle(b).color")
        assert tlp == "rgb(255, 192, 0)"  # TLP 2.0 amber
        expect(box.locator('dd[data-field="incOwner"]')).to_have_text("police")
        expect(box.locator(".inc-evidence li")).to_have_count(2)
        expect(box.locator(".inc-timeline li").last).to_contain_text("stadswacht (system)")
        steps = box.locator(".inc-steps li")
        expect(steps).to_have_count(4)
        assert [s.get_attribute("data-step") for s in steps.all()] == [
            "verify", "dispatch", "inform", "report",
        ]  # fmt: skip
        expect(box.locator('.inc-steps li[data-mandatory="true"] .mandatory')).to_have_count(3)
        expect(box.locator(".withheld")).to_have_count(0)
        # Lifecycle: from new, not "reopen".
        buttons = box.locator(".inc-actions button")
        expect(buttons).to_have_text(["Acknowledge", "Dispatch", "Resolve", "False alarm"])

        # Evidence opens the detection in the detections panel.
        box.locator('.inc-evidence button[data-detection="gunshot-iz-ac-02-2"]').click()
        expect(page.locator("#detection h2 span")).to_contain_text("gunshot-iz-ac-02-2")

        # A mandatory step, ticked.
        verify = box.locator('.inc-steps li[data-step="verify"]')
        verify.locator("input").check()
        expect(verify).to_have_class("done")
        expect(verify).to_contain_text("done by olga")

        # Acknowledge with a reason (required: the form does not go without one).
        box.locator('.inc-actions button[data-to="acknowledged"]').click()
        box.locator(".inc-form button[type=submit]").click()
        assert box.locator(".inc-form input").evaluate("i => i.validity.valueMissing")
        box.locator(".inc-form input").fill("seen on camera 4")
        box.locator(".inc-form button[type=submit]").click()
        expect(box.locator('dd[data-field="incStatus"]')).to_have_text("acknowledged")
        first = box.locator(".inc-timeline li").first
        expect(first).to_contain_text("olga (operator)")
        expect(first).to_contain_text("new → acknowledged")
        expect(first).to_contain_text("seen on camera 4")

        # A supervisor dispatches elsewhere: the operator's screen follows, from the stream.
        token = http.post("/v1/auth/token", data={"username": "sam", "password": PASSWORD})
        sam = {"Authorization": f"Bearer {token.json()['access_token']}"}
        r = http.post(
            "/v1/incidents/inc-gunshot-iz-ac-02-1/transition",
            headers=sam,
            json={"to": "dispatched", "why": "unit 12 on its way"},
        )
        assert r.status_code == 200, r.text
        expect(first).to_contain_text("acknowledged → dispatched")
        expect(first).to_contain_text("sam (supervisor)")
        expect(shot).to_contain_text("dispatched")

        # An operator may not resolve: the server says so, in the panel.
        _act(page, "resolved", "all quiet")
        refusal = box.locator(".inc-msg.error")
        expect(refusal).to_contain_text("Refused: an operator may not move incident")
        expect(refusal).to_contain_text("ask a supervisor")
        expect(box.locator('dd[data-field="incStatus"]')).to_have_text("dispatched")
        page.wait_for_timeout(600)  # the map's ease to the incident
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "dashboard-incidents.png"))

        # Another agency's incident, under the agreement: a banner names what is withheld, and
        # the panel offers no actions on it.
        crowd.locator("button").click()
        banner = box.locator(".withheld")
        expect(banner).to_contain_text("Some information is withheld under the sharing agreement: ")
        expect(banner).to_contain_text("detections")
        expect(banner).to_contain_text("position")
        expect(box.locator('dd[data-field="incOwner"]')).to_have_text("municipality")
        expect(box.locator(".inc-actions")).to_have_count(0)
        expect(box.locator(".inc-readonly")).to_contain_text("Owned by municipality")
        expect(box.locator(".inc-steps li")).to_have_count(4)

        page.click("[data-lang=nl]")
        expect(banner).to_contain_text("Sommige informatie wordt onder de deelovereenkomst")
        expect(page.locator(".incidents-box h2")).to_have_text("Incidenten")
        expect(box.locator("h3").first).to_have_text("Procedure")
        expect(box.locator("h3").nth(1)).to_have_text("Tijdlijn")
        expect(crowd).to_contain_text("Drukte-waarschuwing")
        expect(shot).to_contain_text("Schot")
        expect(shot).to_contain_text("uitgegeven")
        page.screenshot(path=str(ARTIFACTS / "dashboard-incidents-nl.png"))
        assert errors == []
        page.close()

        # The supervisor finishes the procedure and resolves; then may reopen.
        page, errors = _open(browser, url, "sam")
        page.locator('#incidents li[data-id="inc-gunshot-iz-ac-02-1"] button').click()
        box = page.locator("#incident")
        _act(page, "resolved", "suspect arrested")
        expect(box.locator(".inc-msg.error")).to_contain_text("mandatory procedure steps")
        for step in ("dispatch", "report"):
            item = box.locator(f'.inc-steps li[data-step="{step}"]')
            item.locator("input").check()
            expect(item).to_have_class("done")
        _act(page, "resolved", "suspect arrested")
        expect(box.locator('dd[data-field="incStatus"]')).to_have_text("resolved")
        expect(box.locator(".inc-actions button")).to_have_text(["Reopen"])
        expect(box.locator(".inc-steps input").first).to_be_disabled()
        assert errors == []
        page.close()

        # Another agency without an agreement sees no incidents at all.
        page, errors = _open(browser, url, "wim")
        expect(page.locator("#incidents li")).to_have_count(1)
        expect(page.locator("#incidents li").first).to_have_text("No open incidents")
        assert page.evaluate("window.stadswacht.incidents.byId.size") == 0
        assert errors == []
        page.close()
