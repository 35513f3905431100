"""The dashboard's zone panel: the forecast to 3 h as a line in its band, and its basis."""

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


def test_zone_panel_draws_the_forecast_band_and_says_it_rests_on_the_trend_alone(
    platform: Platform, browser: Any
) -> None:
    if not (WEB_DIR / "vendor" / "maplibre-gl.mjs").exists():
        pytest.fail("the map library is missing: run `make` (npm ci copies it into web/vendor/)")
    district = District(platform)
    create_user(platform.store, "olga", PASSWORD, "municipality", Role.OPERATOR)
    _, key = district.keys["iz-occ-01"]
    now = datetime.now(UTC).replace(microsecond=0)
    # The World Forum (25,000 m²) filling from 1.0 to 2.0 persons/m² over ten minutes.
    readings = [
        sign_reading(
            key,
            {
                "device": "iz-occ-01",
                "seq": k + 1,
                "time": format_time(now - timedelta(minutes=10 - k)),
                "kind": "people_count",
                "values": {"occupancy": 25_000 + 2_500 * k},
            },
        )
        for k in range(11)
    ]
    with serve(create_app(platform=platform)) as url, httpx.Client(base_url=url) as http:
        page = browser.new_page(viewport={"width": 1440, "height": 900})
        _login(page, url)
        page.wait_for_function("window.stadswacht.map?.map.loaded()", timeout=10_000)
        assert http.post("/v1/readings", json={"readings": readings}).json()["accepted"] == 11
        page.wait_for_function(
            """() => (window.stadswacht.zoneStates || []).some(
                (z) => z.zone === "world-forum" && z.forecast.length)""",
            timeout=15_000,
        )
        xy = page.evaluate(
            """() => {
                const m = window.stadswacht.map.map;
                const p = m.project([4.2800, 52.0925]);
                const box = m.getCanvas().getBoundingClientRect();
                return [box.left + p.x, box.top + p.y];
            }"""
        )
        page.mouse.click(*xy)
        expect(page.locator("#zone h2 span")).to_have_text("World Forum / Churchillplein")
        chart = page.locator("#zone .forecast-chart svg")
        expect(chart.locator("polygon.band")).to_have_count(1)
        expect(chart.locator("polyline.line")).to_have_count(1)
        note = page.locator("#zone .forecast-basis")
        expect(note).to_have_attribute("data-basis", "trend")
        expect(note).to_contain_text("no forecast past 30 min")
        # Listed: 15 and 30 min ahead, nothing further (no history: no 3-h line).
        items = page.locator("#zone .forecast li")
        expect(items).to_have_count(2)
        expect(items.last).to_contain_text("+30 min")
        page.click("[data-lang=nl]")
        expect(note).to_contain_text("niet verder dan 30 min")
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "dashboard-zone-forecast.png"))
        page.close()
