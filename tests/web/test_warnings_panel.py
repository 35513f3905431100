"""The dashboard's warnings panel: a gauge passing a level shows as a warning in force, in its
level's colour, in English and Dutch, with the link to the public CAP feed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from stadswacht.api import create_app
from stadswacht.api.app import WEB_DIR
from stadswacht.api.auth import create_user
from stadswacht.model import Role, format_time
from stadswacht.model.signing import sign_reading
from stadswacht.pipeline import Platform
from tests.support.server import serve
from tests.web.test_dashboard import ARTIFACTS, PASSWORD, District, _login, browser

__all__ = ["browser"]  # the fixture, shared with the dashboard's tests


def test_a_water_level_warning_shows_in_force_with_its_level_and_the_cap_feed(
    platform: Platform, browser: Any
) -> None:
    if not (WEB_DIR / "vendor" / "maplibre-gl.mjs").exists():
        pytest.fail("the map library is missing: run `make` (npm ci copies it into web/vendor/)")
    district = District(platform)
    platform.add_thresholds(district.scenario.thresholds())
    create_user(platform.store, "olga", PASSWORD, "water-board", Role.OPERATOR)
    key = district.keys["sch-wg-01"][1]
    start = datetime.now(UTC) - timedelta(minutes=5)

    def level(seq: int, cm: float) -> dict[str, Any]:
        body = {
            "device": "sch-wg-01", "seq": seq, "kind": "water_level",
            "time": format_time(start + timedelta(minutes=seq)),
            "values": {"level_cm_nap": cm},
        }  # fmt: skip
        return sign_reading(key, body)

    with serve(create_app(platform=platform)) as url:
        page = browser.new_page(viewport={"width": 1440, "height": 900})
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        _login(page, url)
        expect(page.locator("#warnings li").first).to_have_text("No warnings in force")
        page.wait_for_function("window.stadswacht.detections?.stream?.readyState === 1")
        r = httpx.post(f"{url}/v1/readings", json={"readings": [level(1, 150), level(2, 231)]})
        assert r.json()["accepted"] == 2
        first = page.locator("#warnings li").first
        expect(first).to_contain_text("code yellow")
        expect(first).to_contain_text("High water · Scheveningen haven")
        expect(first).to_have_attribute("data-level", "yellow")
        colour = first.locator("button").evaluate("b => getComputedStyle(b).borderLeftColor")
        assert colour == "rgb(241, 196, 15)"  # yellow
        first.locator("button").click()
        expect(page.locator('#detection dd[data-field="detValue"]')).to_have_text(
            "231 cm NAP (measured)"
        )
        assert page.locator("#cap-feed").get_attribute("href") == "/cap/feed.atom"
        page.click("[data-lang=nl]")
        expect(first).to_contain_text("code geel")
        expect(first).to_contain_text("Hoogwater · Scheveningen haven")
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "dashboard-warning.png"))
        # Back below the levels: the warning is no longer in force.
        assert httpx.post(f"{url}/v1/readings", json={"readings": [level(3, 120)]}).json()[
            "accepted"
        ]
        expect(page.locator("#warnings li").first).to_have_text("Geen waarschuwingen van kracht")
        assert errors == []
        page.close()
