"""The dashboard's resilience panel (issue #9): the sensor health layer colours each device by
its health (quarantined, silent, suspect, ok) from /v1/devices and the open infra detections;
"what if this fails" from the map: a click on a substation highlights what goes down with it,
draws the blind spots and sums them up, in English and Dutch."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from stadswacht.api import create_app
from stadswacht.api.app import WEB_DIR
from stadswacht.api.auth import create_user
from stadswacht.model import Detection, Position, Role, format_time
from stadswacht.pipeline import Platform
from tests.support.server import serve
from tests.web.test_dashboard import ARTIFACTS, PASSWORD, District, browser

__all__ = ["browser"]  # the fixture, shared with the dashboard's tests

INFRA = Path(__file__).resolve().parents[2] / "scenarios" / "international_zone.infra.yaml"


def _infra(det_id: str, check: str, device: str, *, ended: bool = False) -> Detection:
    now = datetime.now(UTC)
    return Detection(
        id=det_id, kind="infra", detector="infra", agency="police",
        time=format_time(now - timedelta(minutes=10)), detected_at=format_time(now),
        position=Position(lat=52.0985, lon=4.284), probability=0.9, sensors=[device],
        details={"type": "sensor_failure", "check": check, "device": device,
                 "ended": format_time(now) if ended else None, "quarantine": False},
    )  # fmt: skip


def _click_lonlat(page: Any, lon: float, lat: float) -> None:
    xy = page.evaluate(
        """(c) => {
            const m = window.stadswacht.map.map, p = m.project(c);
            const box = m.getCanvas().getBoundingClientRect();
            return [box.left + p.x, box.top + p.y];
        }""",
        [lon, lat],
    )
    page.mouse.click(*xy)


def test_health_layer_and_what_if_a_substation_fails(platform: Platform, browser: Any) -> None:
    if not (WEB_DIR / "vendor" / "maplibre-gl.mjs").exists():
        pytest.fail("the map library is missing: run `make` (npm ci copies it into web/vendor/)")
    platform.settings = platform.settings.model_copy(update={"infra_graph_file": INFRA})
    district = District(platform)
    platform.registry.quarantine("iz-pc-03", check="replayed", reason="replayed readings")
    platform.store.put_detection(_infra("inf-1", "silent", "iz-ac-07"))
    platform.store.put_detection(_infra("inf-2", "stuck", "iz-pc-05"))
    platform.store.put_detection(_infra("inf-3", "silent", "iz-ac-01", ended=True))
    create_user(platform.store, "adm", PASSWORD, "municipality", Role.ADMIN)

    with serve(create_app(platform=platform)) as url:
        page = browser.new_page(viewport={"width": 1440, "height": 900})
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(url + "/")
        page.fill("#username", "adm")
        page.fill("#password", PASSWORD)
        page.click("#login-form button[type=submit]")
        box = page.locator("#resilience")
        expect(box.locator("h2")).to_have_text("Resilience")

        # Sensor health: one quarantined, one silent, one suspect; the ended finding is over.
        legend = box.locator(".rs-health-legend")
        expect(legend.locator('[data-health="quarantined"] b')).to_have_text("1")
        expect(legend.locator('[data-health="silent"] b')).to_have_text("1")
        expect(legend.locator('[data-health="suspect"] b')).to_have_text("1")
        ok = len(district.scenario.sensors) - 3
        expect(legend.locator('[data-health="ok"] b')).to_have_text(str(ok))
        health = "window.stadswacht.map.map.getLayoutProperty('health', 'visibility')"
        assert page.evaluate(health) == "none"
        box.locator(".rs-health-toggle").check()
        assert page.evaluate(health) == "visible"
        page.wait_for_function(
            "() => window.stadswacht.map.map.querySourceFeatures('health').length > 0"
        )
        by_device = page.evaluate(
            """() => Object.fromEntries(window.stadswacht.map.map.querySourceFeatures('health')
                .map(f => [f.properties.device, f.properties.health]))"""
        )
        assert by_device["iz-ac-07"] == "silent" and by_device["iz-pc-03"] == "quarantined"
        assert by_device["iz-pc-05"] == "suspect" and by_device["iz-ac-01"] == "ok"

        # What if the Scheveningse Bosjes substation fails: click it on the map.
        toggle = box.locator(".rs-infra-toggle")
        expect(toggle).to_be_enabled()
        expect(box.locator(".rs-status")).to_have_text(
            "49 nodes. Click a node or a supply area to see what fails with it."
        )
        toggle.check()
        nodes = "window.stadswacht.map.map.getLayoutProperty('infra-nodes', 'visibility')"
        assert page.evaluate(nodes) == "visible"
        page.evaluate("window.stadswacht.map.map.jumpTo({center: [4.2880, 52.0962], zoom: 16})")
        page.wait_for_function(
            """() => window.stadswacht.map.map.queryRenderedFeatures({layers: ['infra-nodes']})
                .some(f => f.properties.nid === 'ss-bosjes')"""
        )
        # With the layer on, the coverage after the worst single failure, per capability.
        cov = box.locator(".rs-coverage")
        expect(cov.locator('[data-cap="gunshot"] .rs-cov-figures')).to_have_text(
            "62.7 % → 2.4 % if MS-station Zorgvliet (Vredespaleis, Johan de Wittlaan) fails"
        )
        expect(cov.locator('[data-cap="gunshot"] .rs-add').first).to_contain_text("(→ ")
        # Nothing added alone saves a zone from the cell site: said so, no "gain 0" advice.
        expect(cov.locator('[data-cap="crowd"] .rs-add')).to_have_text("no single addition helps")
        _click_lonlat(page, 4.2880, 52.0962)
        summary = box.locator(".rs-summary")
        expect(summary.locator("h3")).to_have_text("If MS-station Scheveningse Bosjes fails")
        expect(summary.locator('dd[data-field="rsFailed"]')).to_have_text("5")
        expect(summary.locator('dd[data-field="rsGunshot"]')).to_have_text("2 of 8 down")
        expect(summary.locator('dd[data-field="rsLocated"]')).to_have_text(
            re.compile(r"^62\.7 % → \d+\.\d %$")
        )
        expect(summary.locator('dd[data-field="rsCrowd"]')).to_have_text("Scheveningse Bosjes")
        expect(summary.locator('dd[data-field="rsHazard"]')).to_have_text("0 of 2 down")
        failed = {"ss-bosjes", "iz-ac-07", "iz-ac-08", "iz-pc-06", "iz-wx-02"}
        assert set(summary.locator(".rs-failed li").evaluate_all(
            "els => els.map(e => e.dataset.id)")) == failed  # fmt: skip
        # Names and translated kinds, not ids and raw kinds.
        expect(summary.locator('.rs-failed li[data-id="ss-bosjes"]')).to_have_text(
            "MS-station Scheveningse Bosjes substation"
        )
        expect(summary.locator('.rs-failed li[data-id="iz-ac-07"]')).to_have_text(
            "iz-ac-07 acoustic sensor ← MS-station Scheveningse Bosjes"
        )
        # What would fail is magenta, not the red of a silent sensor in the health layer.
        stroke = page.evaluate(
            "JSON.stringify(window.stadswacht.map.map.getPaintProperty('infra-nodes', "
            "'circle-stroke-color'))"
        )
        assert "#ff00ff" in stroke and "#ef4444" not in stroke
        expect(summary.locator(".rs-legend")).to_contain_text("would fail")
        states = page.evaluate(
            """(ids) => ids.map(id => window.stadswacht.map.map
                .getFeatureState({source: 'infra', id}).failed === true)""",
            sorted(failed | {"iz-ac-06"}),
        )
        assert states == [i != "iz-ac-06" for i in sorted(failed | {"iz-ac-06"})]
        layers = page.evaluate(
            "() => window.stadswacht.resilience.blind.features.map(f => f.properties.layer).sort()"
        )
        assert layers == ["crowd", "gunshot-blind", "gunshot-lost"]

        page.click("[data-lang=nl]")
        expect(box.locator("h2")).to_have_text("Weerbaarheid")
        expect(summary.locator("h3")).to_have_text("Als MS-station Scheveningse Bosjes uitvalt")
        expect(summary.locator('dd[data-field="rsGunshot"]')).to_have_text("2 van 8 uitgevallen")
        # Dutch number format: a decimal comma.
        expect(summary.locator('dd[data-field="rsLocated"]')).to_have_text(
            re.compile(r"^62,7 % → \d+,\d %$")
        )
        expect(summary.locator('.rs-failed li[data-id="iz-ac-07"]')).to_contain_text(
            "akoestische sensor"
        )
        expect(cov.locator('[data-cap="crowd"] .rs-add')).to_have_text(
            "geen enkele toevoeging helpt"
        )
        expect(legend.locator('[data-health="silent"]')).to_contain_text("stil")
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "dashboard-resilience.png"))
        page.click("[data-lang=en]")

        box.locator(".rs-clear").click()
        expect(summary).to_be_hidden()
        page.click("#logout")
        assert page.evaluate(nodes) == "none" and page.evaluate(health) == "none"
        assert errors == []
        page.close()


def test_a_municipal_operator_sees_figures_over_their_own_sensors(
    platform: Platform, browser: Any
) -> None:
    if not (WEB_DIR / "vendor" / "maplibre-gl.mjs").exists():
        pytest.fail("the map library is missing: run `make` (npm ci copies it into web/vendor/)")
    platform.settings = platform.settings.model_copy(update={"infra_graph_file": INFRA})
    District(platform)
    create_user(platform.store, "ops", PASSWORD, "municipality", Role.OPERATOR)

    with serve(create_app(platform=platform)) as url:
        page = browser.new_page(viewport={"width": 1440, "height": 900})
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(url + "/")
        page.fill("#username", "ops")
        page.fill("#password", PASSWORD)
        page.click("#login-form button[type=submit]")
        box = page.locator("#resilience")
        toggle = box.locator(".rs-infra-toggle")
        expect(toggle).to_be_enabled()
        toggle.check()
        # Coverage over the municipality's own counters, labelled as such; not "withheld".
        cov = box.locator(".rs-coverage")
        expect(cov.locator('[data-cap="crowd"] .rs-basis')).to_have_text(
            "own and shared sensors only; 2 of other agencies left out"
        )
        expect(cov.locator('[data-cap="gunshot"]')).to_contain_text(
            "none of yours; 8 of other agencies left out"
        )
        page.evaluate("window.stadswacht.map.map.jumpTo({center: [4.2880, 52.0962], zoom: 16})")
        page.wait_for_function(
            """() => window.stadswacht.map.map.queryRenderedFeatures({layers: ['infra-nodes']})
                .some(f => f.properties.nid === 'ss-bosjes')"""
        )
        _click_lonlat(page, 4.2880, 52.0962)
        summary = box.locator(".rs-summary")
        expect(summary.locator("h3")).to_have_text("If MS-station Scheveningse Bosjes fails")
        expect(summary.locator('dd[data-field="rsGunshot"]')).to_have_text(
            "none of yours; 8 of other agencies left out"
        )
        expect(summary.locator('dd[data-field="rsCrowd"]')).to_have_text(
            "Scheveningse Bosjes · own and shared sensors only; 2 of other agencies left out"
        )
        assert "withheld" not in box.inner_text()
        ARTIFACTS.mkdir(exist_ok=True)
        box.screenshot(path=str(ARTIFACTS / "resilience-panel-operator.png"))
        assert errors == []
        page.close()
