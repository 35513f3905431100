"""The operator dashboard in a real browser (Debian's Chromium driven by Playwright).

Screenshots are kept in ``artifacts/`` for a person to look at.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from stadswacht.api import create_app
from stadswacht.api.app import WEB_DIR
from stadswacht.api.auth import create_user
from stadswacht.livinglab import PlatformRegistrar, read_scenario, register_scenario
from stadswacht.model import Detection, Ellipse, Position, Role, format_time
from stadswacht.model.signing import sign_reading
from stadswacht.pipeline import Platform
from stadswacht.pipeline.detectors import publish_detections
from tests.support.server import serve

try:
    from playwright import sync_api as playwright_api
    from playwright.sync_api import expect

    NO_PLAYWRIGHT = ""
except ImportError as exc:  # the fixture below fails with what to do
    NO_PLAYWRIGHT = str(exc)

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"
PASSWORD = "correct horse battery"
ARGS = [
    "--no-sandbox",
    "--headless=new",
    "--disable-gpu",
    "--use-angle=swiftshader",
    "--enable-unsafe-swiftshader",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-default-apps",
    "--no-first-run",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


@pytest.fixture
def browser(platform: Platform) -> Iterator[Any]:
    # Depends on ``platform`` so that it stops first: sync Playwright keeps an event loop
    # running in this thread, in which the platform's teardown could not run its own.
    if NO_PLAYWRIGHT:
        pytest.fail(f"{NO_PLAYWRIGHT}: run `make test`, which installs Playwright ('.[test]')")
    if not CHROMIUM.exists():
        pytest.fail(
            f"{CHROMIUM} is missing: run `make test`, which installs Debian's chromium "
            "(scripts/install-system-deps.sh)"
        )
    with playwright_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
        yield b
        b.close()


DEFAULT_SCENARIO = Path(__file__).resolve().parents[2] / "scenarios" / "international_zone.yaml"


class District:
    """The default living-lab scenario's devices, registered; they sign and post heartbeats."""

    def __init__(self, platform: Platform) -> None:
        self.scenario = read_scenario(DEFAULT_SCENARIO)
        keys, _ = register_scenario(
            self.scenario, PlatformRegistrar(platform.store, platform.registry)
        )
        self.keys = {d: ("heartbeat", k) for d, k in keys.items()}
        self.seq = dict.fromkeys(self.keys, 0)

    def reading(self, device: str, values: dict[str, Any]) -> dict[str, Any]:
        kind, key = self.keys[device]
        self.seq[device] += 1
        body = {
            "device": device,
            "seq": self.seq[device],
            "time": format_time(datetime.now(UTC)),
            "kind": kind,
            "values": values,
        }
        return sign_reading(key, body)


def _login(page: Any, url: str, screenshot: str | None = None) -> None:
    page.goto(url + "/")
    if screenshot:
        expect(page.locator("#login-form button")).to_have_text("Log in")
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / screenshot))
    page.fill("#username", "olga")
    page.fill("#password", PASSWORD)
    page.click("#login-form button[type=submit]")


def test_operator_logs_in_sees_the_district_and_a_new_reading_live(
    platform: Platform, browser: Any
) -> None:
    if not (WEB_DIR / "vendor" / "maplibre-gl.mjs").exists():
        pytest.fail("the map library is missing: run `make` (npm ci copies it into web/vendor/)")
    district = District(platform)
    create_user(platform.store, "olga", PASSWORD, "municipality", Role.ADMIN)
    with serve(create_app(platform=platform)) as url, httpx.Client(base_url=url) as http:
        # Every sensor but the last has spoken before the operator opens the page.
        ids = sorted(district.keys)
        n = len(ids)
        old = [district.reading(d, {"battery_pct": 90.0 - i}) for i, d in enumerate(ids[:-1])]
        assert http.post("/v1/readings", json={"readings": old}).json()["accepted"] == n - 1

        page = browser.new_page(viewport={"width": 1440, "height": 900})
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        _login(page, url, screenshot="login.png")

        expect(page.locator("#sensor-count")).to_have_text(str(n))
        expect(page.locator("#count-live")).to_have_text(str(n - 1))
        expect(page.locator("#count-never")).to_have_text("1")
        # All of them are drawn on the map (WebGL), not only listed.
        page.wait_for_function(
            """(n) => {
                const m = window.stadswacht.map?.map;
                if (!m || !m.loaded()) return false;
                const seen = m.queryRenderedFeatures({layers: ['sensors']});
                return new Set(seen.map(f => f.properties.device)).size === n;
            }""",
            arg=n,
            timeout=10_000,
        )
        names = {z.area.name for z in district.scenario.zones} | {district.scenario.area.name}
        labels = set(page.locator(".zone-label").all_text_contents())
        assert labels and labels <= names

        # Pick the sensor that has not spoken yet; then it speaks, and the page follows.
        quiet = ids[-1]
        page.fill("#search", quiet)
        page.click("#search-results button")
        expect(page.locator("#details-title")).to_have_text(quiet)
        last_value = page.locator('#details dd[data-field="lastValue"]')
        expect(last_value).to_have_text("—")
        page.evaluate("window.notReloaded = true")

        new = district.reading(quiet, {"battery_pct": 77.25})
        assert http.post("/v1/readings", json={"readings": [new]}).json()["accepted"] == 1

        expect(page.locator("#feed li").first).to_contain_text(quiet)
        expect(page.locator("#feed li").first).to_contain_text("battery 77.25 %")
        expect(last_value).to_have_text("battery 77.25 %")
        expect(page.locator("#count-live")).to_have_text(str(n))
        state = page.evaluate(
            """(id) => window.stadswacht.map.map.getFeatureState(
                {source: 'sensors', id: window.stadswacht.index.get(id)})""",
            quiet,
        )
        assert state == {"st": "live", "sel": True}
        assert page.evaluate("window.notReloaded") is True

        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "dashboard.png"))

        # Clicking a sensor on the map shows its details.
        xy = page.evaluate(
            """(id) => {
                const s = window.stadswacht, d = s.devices[s.index.get(id)];
                const p = s.map.map.project([d.position.lon, d.position.lat]);
                const box = s.map.map.getCanvas().getBoundingClientRect();
                return [box.left + p.x, box.top + p.y];
            }""",
            ids[0],
        )
        page.mouse.click(*xy)
        expect(page.locator("#details-title")).to_have_text(ids[0])
        expect(last_value).to_have_text("battery 90 %")
        assert errors == []
        page.close()


def test_without_the_map_library_the_page_says_how_to_install_it(
    platform: Platform, browser: Any
) -> None:
    n = len(District(platform).keys)
    create_user(platform.store, "olga", PASSWORD, "municipality", Role.ADMIN)
    with serve(create_app(platform=platform)) as url:
        # A laptop or phone held upright: the panel goes under the map.
        page = browser.new_page(viewport={"width": 420, "height": 860})
        page.route("**/vendor/**", lambda route: route.fulfill(status=404, body="not found"))
        _login(page, url)
        expect(page.locator("#map-message")).to_contain_text("run make to install the map library")
        expect(page.locator("#sensor-count")).to_have_text(str(n))
        map_box = page.locator(".map-wrap").bounding_box()
        panel_box = page.locator("aside").bounding_box()
        assert map_box is not None and panel_box is not None
        assert panel_box["y"] >= map_box["y"] + map_box["height"] - 1
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "dashboard-narrow-no-map.png"), full_page=True)
        page.close()


def test_ten_thousand_sensors_and_a_flood_of_readings_stay_fluid(
    platform: Platform, browser: Any
) -> None:
    if not (WEB_DIR / "vendor" / "maplibre-gl.mjs").exists():
        pytest.fail("the map library is missing: run `make` (npm ci copies it into web/vendor/)")
    District(platform)
    create_user(platform.store, "olga", PASSWORD, "municipality", Role.ADMIN)
    rng = random.Random(1)
    devices = [
        {
            "id": f"s{i:05d}",
            "kind": "weather",
            "agency": "municipality",
            "area": "international-zone",
            "status": "active",
            "position": {"lat": 52.088 + rng.random() * 0.017, "lon": 4.279 + rng.random() * 0.027},
            "public_key": "x",
        }
        for i in range(10_000)
    ]
    with serve(create_app(platform=platform)) as url:
        page = browser.new_page(viewport={"width": 1440, "height": 900})
        # Registering 10,000 devices would take the test's time; the page only reads the list.
        page.route(
            "**/v1/devices",
            lambda route: route.fulfill(
                status=200, content_type="application/json", body=json.dumps(devices)
            ),
        )
        _login(page, url)
        expect(page.locator("#sensor-count")).to_have_text("10000")
        page.wait_for_function("window.stadswacht.map?.map.loaded()", timeout=10_000)
        # 80,000 readings in 2 s, as if they came from the stream: all counted, few drawn.
        got = page.evaluate(
            """async () => {
                const s = window.stadswacht;
                let frames = 0, run = true;
                const f = () => { frames++; if (run) requestAnimationFrame(f); };
                requestAnimationFrame(f);
                const now = Date.now() * 1000;
                for (let k = 0; k < 8; k++) {
                    const batch = s.devices.map((d, i) => ({
                        id: k * 10000 + i, device: d.id, time: new Date().toISOString(),
                        kind: 'temperature', values: {temperature_c: k}, agency: 'municipality',
                        received_us: now + k * 250000}));
                    s.pending.push(...batch);
                    await new Promise(r => setTimeout(r, 250));
                }
                await new Promise(r => setTimeout(r, 1000));
                run = false;
                return {frames, total: s.feed.total, live: s.counts.live,
                        rows: document.querySelectorAll('#feed li').length};
            }"""
        )
        assert got["total"] == 80_000
        assert got["live"] == 10_000
        assert got["rows"] <= 200
        # About 60 frames a second here; a frozen page would draw a handful in 3 s.
        assert got["frames"] >= 30, got
        expect(page.locator("#feed .more").first).to_contain_text("more readings")
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "dashboard-10k.png"))
        page.close()


def test_the_api_serves_the_dashboard_at_its_root_and_keeps_its_own_routes(
    platform: Platform,
) -> None:
    from fastapi.testclient import TestClient

    with TestClient(create_app(platform=platform)) as client:
        page = client.get("/")
        assert page.status_code == 200 and 'id="login-form"' in page.text
        assert client.get("/app.js").headers["content-type"].startswith("text/javascript")
        assert client.get("/docs").status_code == 200
        assert client.get("/v1/devices").status_code == 401
        assert client.get("/v1/no-such-route").json() == {"detail": "Not Found"}


def test_a_gunshot_detection_shows_with_its_ellipse_and_the_sensors_that_heard_it(
    platform: Platform, browser: Any
) -> None:
    if not (WEB_DIR / "vendor" / "maplibre-gl.mjs").exists():
        pytest.fail("the map library is missing: run `make` (npm ci copies it into web/vendor/)")
    district = District(platform)
    create_user(platform.store, "olga", PASSWORD, "police", Role.OPERATOR)
    heard = sorted(s.id for s in district.scenario.sensors if s.group == "acoustic")[:5]
    now = datetime.now(UTC)
    detection = Detection(
        id="gunshot-iz-ac-02-7",
        kind="gunshot",
        detector="gunshot",
        agency="police",
        area="johan-de-wittlaan",
        time=format_time(now),
        detected_at=format_time(now),
        version=3,
        position=Position(lat=52.0915, lon=4.2925),
        uncertainty=Ellipse(semi_major_m=6.0, semi_minor_m=2.5, orientation_deg=30.0),
        probability=0.91,
        evidence=[f"{s}:7" for s in heard],
        sensors=heard,
        details={"rounds": 3, "poor_geometry": False},
    )
    with serve(create_app(platform=platform)) as url:
        page = browser.new_page(viewport={"width": 1440, "height": 900})
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        _login(page, url)
        expect(page.locator("#detections li").first).to_have_text(
            "No detections in the last 48 hours"
        )
        page.wait_for_function("window.stadswacht.detections?.stream?.readyState === 1")
        # What the detector worker does with a detection: store it, publish it.
        publish_detections(platform.store, platform.bus, [detection])
        expect(page.locator("#detections li").first).to_contain_text("Gunshot")
        expect(page.locator("#detections li").first).to_contain_text("3×")
        expect(page.locator('#detection dd[data-field="detRounds"]')).to_have_text("3")
        expect(page.locator('#detection dd[data-field="detUncertainty"]')).to_have_text(
            "6.0 × 2.5 m"
        )
        drawn = page.wait_for_function(
            """() => {
                const m = window.stadswacht.map?.map;
                if (!m || !m.loaded()) return null;
                const ellipse = m.querySourceFeatures('detections')
                    .filter(f => f.geometry.type === 'Polygon');
                const lines = m.querySourceFeatures('evidence');
                const sensors = new Set(lines.map(f => f.properties.sensor));
                if (!ellipse.length || !sensors.size) return null;
                return {ellipse: ellipse.length, sensors: [...sensors]};
            }""",
            timeout=10_000,
        ).json_value()
        assert sorted(drawn["sensors"]) == heard
        page.click("[data-lang=nl]")
        expect(page.locator("#detections li").first).to_contain_text("Schot")
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "dashboard-gunshot.png"))
        assert errors == []
        page.close()


def test_zones_are_coloured_by_level_of_service_from_live_counts(
    platform: Platform, browser: Any
) -> None:
    if not (WEB_DIR / "vendor" / "maplibre-gl.mjs").exists():
        pytest.fail("the map library is missing: run `make` (npm ci copies it into web/vendor/)")
    district = District(platform)
    create_user(platform.store, "olga", PASSWORD, "municipality", Role.OPERATOR)
    with serve(create_app(platform=platform)) as url, httpx.Client(base_url=url) as http:
        page = browser.new_page(viewport={"width": 1440, "height": 900})
        _login(page, url)
        page.wait_for_function("window.stadswacht.map?.map.loaded()", timeout=10_000)
        # The World Forum's occupancy counter: 37,500 people on 25,000 m² = 1.5 persons/m².
        _, key = district.keys["iz-occ-01"]
        body = {
            "device": "iz-occ-01",
            "seq": 1,
            "time": format_time(datetime.now(UTC)),
            "kind": "people_count",
            "values": {"occupancy": 37_500},
        }
        signed = sign_reading(key, body)
        assert http.post("/v1/readings", json={"readings": [signed]}).json()["accepted"] == 1
        label = page.locator('.zone-label[data-zone="world-forum"]')
        expect(label).to_contain_text("1.50 p/m²", timeout=15_000)
        los = label.get_attribute("data-los")
        assert los == "E"  # Fruin walkway: 0.67 m² a person is E (0.46-0.93 m²)
        state = page.evaluate(
            "window.stadswacht.map.map.getFeatureState({source: 'zones', id: 'world-forum'})"
        )
        assert state == {"los": los}
        # Clicking the zone (away from its sensors) opens its crowd state and forecast.
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
        density = page.locator('#zone dd[data-field="zoneDensityNow"]')
        expect(density).to_have_text("1.50 p/m² (E)")
        expect(page.locator("#zone .forecast li")).to_have_text(
            "Not enough history for a forecast yet"
        )
        zones = {z["zone"]: z for z in page.evaluate("window.stadswacht.zoneStates")}
        assert zones["world-forum"]["occupancy"] == pytest.approx(37_500, rel=0.01)
        assert zones["peace-palace"]["updated"] is None  # not measured: plain colour
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "dashboard-zones.png"))
        page.close()


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


def test_a_click_on_a_substation_does_not_open_the_crowd_zone_under_it(
    platform: Platform, browser: Any
) -> None:
    if not (WEB_DIR / "vendor" / "maplibre-gl.mjs").exists():
        pytest.fail("the map library is missing: run `make` (npm ci copies it into web/vendor/)")
    infra = Path(__file__).resolve().parents[2] / "scenarios" / "international_zone.infra.yaml"
    platform.settings = platform.settings.model_copy(update={"infra_graph_file": infra})
    District(platform)
    create_user(platform.store, "olga", PASSWORD, "municipality", Role.ADMIN)
    substation = (4.2880, 52.0962)  # ss-bosjes, inside the Scheveningse Bosjes crowd zone
    with serve(create_app(platform=platform)) as url:
        page = browser.new_page(viewport={"width": 1440, "height": 900})
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        _login(page, url)
        page.wait_for_function("window.stadswacht.map?.map.loaded()", timeout=10_000)
        page.evaluate("window.stadswacht.map.map.jumpTo({center: [4.2880, 52.0962], zoom: 16})")
        zone = "window.stadswacht.selectedZone"
        # Without the infrastructure shown, a click there selects the zone (its panel opens
        # once the zone has a crowd state; here nothing was counted yet).
        _click_lonlat(page, *substation)
        page.wait_for_function(f"{zone} === 'scheveningse-bosjes'")
        page.evaluate(f"{zone} = null")
        # With it shown, the substation takes the click: "what if it fails", and no zone.
        box = page.locator("#resilience")
        expect(box.locator(".rs-infra-toggle")).to_be_enabled()
        box.locator(".rs-infra-toggle").check()
        page.wait_for_function(
            """() => window.stadswacht.map.map.queryRenderedFeatures({layers: ['infra-nodes']})
                .some(f => f.properties.nid === 'ss-bosjes')"""
        )
        _click_lonlat(page, *substation)
        page.wait_for_function("window.stadswacht.resilience.target === 'ss-bosjes'")
        expect(box.locator(".rs-summary")).to_be_visible()
        # A supply area away from the substation takes the click too.
        page.evaluate("window.stadswacht.resilience.target = null")
        _click_lonlat(page, 4.2905, 52.0975)
        page.wait_for_function("window.stadswacht.resilience.target !== null")
        page.wait_for_timeout(300)
        assert page.evaluate(zone) is None
        expect(page.locator("#zone")).to_be_hidden()
        assert errors == []
        page.close()


def test_the_escalated_flag_of_an_incident_is_never_cut_off(
    platform: Platform, browser: Any
) -> None:
    District(platform)
    create_user(platform.store, "olga", PASSWORD, "police", Role.OPERATOR)
    now = datetime.now(UTC)
    incident = {
        "id": "inc-1", "kind": "gunshot", "status": "new", "severity": 3, "version": 1,
        "agency": "police", "area": "johan-de-wittlaan-and-the-long-name-of-its-side-street",
        "opened_at": format_time(now), "first_time": format_time(now), "escalated": True,
        "respond_by": format_time(now), "escalate_to": "supervisor", "timeline": [], "steps": [],
        "detections": [{"detection": "d-1", "kind": "gunshot", "time": format_time(now),
                        "probability": 0.9, "agency": "police"}],
    }  # fmt: skip
    body = json.dumps([incident])
    with serve(create_app(platform=platform)) as url:
        page = browser.new_page(viewport={"width": 1440, "height": 900})
        page.route(
            "**/v1/incidents?*",
            lambda route: route.fulfill(status=200, content_type="application/json", body=body),
        )
        _login(page, url)
        flag = page.locator("#incidents .inc-flag.escalated")
        expect(flag).to_have_text("escalated")
        fits = page.evaluate(
            """() => {
                const f = document.querySelector('#incidents .inc-flag.escalated');
                const line = f.closest('.inc-line').getBoundingClientRect();
                const r = f.getBoundingClientRect();
                return {inside: r.left >= line.left && r.right <= line.right + 0.5,
                        whole: f.scrollWidth <= f.clientWidth + 1, width: r.width};
            }"""
        )
        assert fits["inside"] and fits["whole"] and fits["width"] > 40, fits
        area = page.locator("#incidents .inc-area")
        assert area.evaluate("e => e.scrollWidth > e.clientWidth")  # the name gives way
        page.close()
