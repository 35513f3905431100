"""The dashboard's hotspot forecast layer (issue #8): a police analyst switches on the newest run
of their agency and sees its top cells on the map, the legend (model, day, who ran it, TLP, the
note that it is about places, never persons) and a cell's shares, in English and Dutch; a user
of another agency without an agreement is told quietly that there is no forecast to see."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from stadswacht.api import create_app
from stadswacht.api.app import WEB_DIR
from stadswacht.api.auth import create_user
from stadswacht.forecast.hotspots.grid import grid_over, read_polygon
from stadswacht.forecast.hotspots.incidents import read_incidents
from stadswacht.forecast.hotspots.runs import ForecastRun, run_forecast
from stadswacht.model import Role
from stadswacht.pipeline import Platform
from tests.support.server import serve
from tests.web.test_dashboard import ARTIFACTS, PASSWORD, District, browser

__all__ = ["browser"]  # the fixture, shared with the dashboard's tests

CHICAGO = (
    Path(__file__).resolve().parents[1]
    / "fixtures" / "crime" / "chicago_aggravated_assaults_2019-10-01_03.csv"
)  # fmt: skip


def _forecast(tmp_path: Path) -> ForecastRun:
    """A run of the police's: Chicago's South Side in 500 m cells, for the day after the slice."""
    ring = [[-87.75, 41.70], [-87.55, 41.70], [-87.55, 41.90], [-87.75, 41.90], [-87.75, 41.70]]
    area = tmp_path / "area.geojson"
    geometry = {"type": "Polygon", "coordinates": [ring]}
    area.write_text(json.dumps({"type": "Feature", "properties": {}, "geometry": geometry}))
    inc, _ = read_incidents(CHICAGO)
    polygon, _ = read_polygon(area, crs=inc.crs)
    grid = grid_over(polygon, 500.0, crs=inc.crs)
    return run_forecast(inc, grid, "count_mixture", "2019-10-04", by="cli:ops", agency="police")


def _login(page: Any, url: str, user: str) -> None:
    page.goto(url + "/")
    page.fill("#username", user)
    page.fill("#password", PASSWORD)
    page.click("#login-form button[type=submit]")


def test_an_analyst_switches_on_the_hotspot_layer_and_another_agency_sees_none(
    platform: Platform, browser: Any, tmp_path: Path
) -> None:
    if not (WEB_DIR / "vendor" / "maplibre-gl.mjs").exists():
        pytest.fail("the map library is missing: run `make` (npm ci copies it into web/vendor/)")
    District(platform)
    run = _forecast(tmp_path)
    platform.store.put_forecast_run(run.to_stored())
    create_user(platform.store, "pam", PASSWORD, "police", Role.ANALYST)
    create_user(platform.store, "ans", PASSWORD, "municipality", Role.ANALYST)

    with serve(create_app(platform=platform)) as url:
        page = browser.new_page(viewport={"width": 1440, "height": 900})
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        _login(page, url, "pam")
        box = page.locator("#hotspots")
        toggle = box.locator(".hs-toggle")
        expect(box.locator(".hs-model")).to_have_text("count_mixture")
        expect(box.locator(".hs-day")).to_have_text("2019-10-04")
        expect(box.locator(".hs-by")).to_have_text("by cli:ops")
        expect(box.locator(".tlp")).to_have_text("TLP:AMBER")
        expect(box.locator(".hs-note")).to_have_text(
            "A forecast of places for patrol planning, not of persons."
        )
        expect(box.locator(".hs-toggle-label")).to_have_text(
            "Hotspot forecast (places, never persons)"
        )
        # Off by default: the layer is hidden until the analyst switches it on.
        expect(toggle).to_be_enabled()
        expect(toggle).not_to_be_checked()
        visibility = "window.stadswacht.map.map.getLayoutProperty('hotspots-fill', 'visibility')"
        assert page.evaluate(visibility) == "none"

        toggle.check()
        assert page.evaluate(visibility) == "visible"
        n = page.evaluate("window.stadswacht.hotspots.doc.geojson.features.length")
        assert n == 73  # 5 % of the area's cells
        page.wait_for_function(
            """(n) => {
                const m = window.stadswacht.map.map;
                if (!m.loaded()) return false;
                const seen = m.querySourceFeatures('hotspots');
                return new Set(seen.map(f => f.properties.cell)).size === n;
            }""",
            arg=n,
            timeout=10_000,
        )
        ranks = page.evaluate(
            """() => [...new Set(window.stadswacht.map.map.querySourceFeatures('hotspots')
                .map(f => f.properties.rank))].sort((a, b) => a - b)"""
        )
        assert ranks == list(range(1, n + 1))

        # Clicking the top cell shows its expected count and what it rests on.
        top = page.evaluate("window.stadswacht.hotspots.doc.geojson.features[0]")
        ring = top["geometry"]["coordinates"][0][:-1]
        centre = [sum(p[0] for p in ring) / len(ring), sum(p[1] for p in ring) / len(ring)]
        xy = page.evaluate(
            """(c) => {
                const m = window.stadswacht.map.map, p = m.project(c);
                const box = m.getCanvas().getBoundingClientRect();
                return [box.left + p.x, box.top + p.y];
            }""",
            centre,
        )
        page.mouse.click(*xy)
        cell = box.locator(".hs-cell")
        expect(cell.locator('dd[data-field="hsRank"]')).to_have_text("1")
        expected = top["properties"]["expected"]
        expect(cell.locator('dd[data-field="hsExpected"]')).to_have_text(f"{expected:.3f}")
        for key, field in (("long_run", "hsLongRun"), ("recent", "hsRecent"),
                           ("near_repeat", "hsNearRepeat")):  # fmt: skip
            share = f"{round(top['properties'][key] * 100)} %"
            expect(cell.locator(f'dd[data-field="{field}"]')).to_have_text(share)

        page.click("[data-lang=nl]")
        expect(box.locator(".hs-toggle-label")).to_have_text(
            "Hotspotverwachting (plaatsen, nooit personen)"
        )
        expect(box.locator(".hs-by")).to_have_text("door cli:ops")
        expect(cell.locator("dt").nth(1)).to_have_text("Verwachte incidenten")
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "dashboard-hotspots.png"))
        page.click("[data-lang=en]")

        # The refresh button loads it again; the layer stays on.
        box.locator(".hs-refresh").click()
        expect(box.locator(".hs-model")).to_have_text("count_mixture")
        assert page.evaluate(visibility) == "visible"

        # Another agency, no agreement: quietly no forecast, nothing on the map.
        page.click("#logout")
        assert page.evaluate(visibility) == "none"
        _login(page, url, "ans")
        expect(box.locator(".hs-none")).to_have_text("No hotspot forecast you may see.")
        expect(box).to_have_attribute("data-status", "none")
        expect(toggle).to_be_disabled()
        expect(page.locator("#map-message")).to_be_hidden()
        assert page.evaluate("window.stadswacht.hotspots.doc") is None
        assert page.evaluate(visibility) == "none"
        assert errors == []
        page.close()
