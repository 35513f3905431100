"""/v1/resilience: the infrastructure graph, "what if this fails" and coverage, for the roles
that need them, through the sharing policy (nodes of other agencies only under an agreement,
audited)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from stadswacht.api import create_app
from stadswacht.api.auth import issue_token
from stadswacht.config import Settings
from stadswacht.livinglab import PlatformRegistrar, read_scenario, register_scenario
from stadswacht.model import Role, User
from stadswacht.pipeline import Platform
from stadswacht.resilience import read_infra
from stadswacht.resilience.geo import LocalProjection
from stadswacht.sharing.agreements import agreement_from_dict
from stadswacht.sharing.policy import PolicyDecisionPoint
from tests.resilience.test_whatif_international_zone import FLOOD, check_area_feature

ROOT = Path(__file__).resolve().parents[2] / "scenarios"
NOW = datetime.now(UTC)
_metres = LocalProjection.around(
    read_infra(ROOT / "international_zone.infra.yaml")[0].study_area()
).forward
"""WGS84 to the metres the what-if measures its areas in."""
USERS = {
    "adm": ("municipality", Role.ADMIN),
    "cop": ("police", Role.OPERATOR),
    "ops": ("municipality", Role.OPERATOR),
    "aud": ("municipality", Role.AUDITOR),
}


@pytest.fixture
def client(settings: Settings) -> Iterator[tuple[TestClient, Platform, dict[str, dict[str, str]]]]:
    s = settings.model_copy(update={"infra_graph_file": ROOT / "international_zone.infra.yaml"})
    platform = Platform.from_settings(s)
    register_scenario(
        read_scenario(ROOT / "international_zone.yaml"),
        PlatformRegistrar(platform.store, platform.registry),
    )
    headers = {}
    for name, (agency, role) in USERS.items():
        # Tokens issued directly: the password hashing of a login is tested elsewhere.
        user = User(name=name, agency=agency, role=role, password_hash="-", created=NOW)
        platform.store.add_user(user)
        token = issue_token(user, s.secret_key, 600)
        headers[name] = {"Authorization": f"Bearer {token}"}
    with TestClient(create_app(platform=platform)) as c:
        yield c, platform, headers


def test_every_route_needs_a_user_with_a_role_that_needs_the_layout(
    client: tuple[TestClient, Platform, dict[str, dict[str, str]]],
) -> None:
    c, _, h = client
    routes = [("GET", "/v1/resilience/graph", None), ("GET", "/v1/resilience/coverage?k=1", None),
              ("POST", "/v1/resilience/whatif", {"fail": ["ss-bosjes"]})]  # fmt: skip
    for method, url, body in routes:
        assert c.request(method, url, json=body).status_code == 401
        denied = c.request(method, url, json=body, headers=h["aud"])
        assert denied.status_code == 403 and "auditor" in denied.json()["detail"]


def test_admin_sees_the_whole_graph_and_the_dark_district(
    client: tuple[TestClient, Platform, dict[str, dict[str, str]]],
) -> None:
    c, _, h = client
    g = c.get("/v1/resilience/graph", headers=h["adm"]).json()
    ids = {f["id"] for f in g["features"]}
    assert {"ss-bosjes", "gw-police-west", "iz-ac-07", "ps-worldforum"} <= ids
    ac7 = next(f for f in g["features"] if f["id"] == "iz-ac-07")
    # Position, owner and zone come from the device registry.
    assert ac7["geometry"] == {"type": "Point", "coordinates": [4.284, 52.0985]}
    assert ac7["properties"]["agency"] == "police"
    assert ac7["properties"]["classification"] == "TLP:AMBER"
    assert {"source": "iz-ac-07", "target": "ss-bosjes", "group": 0, "any_of": False} in g["edges"]
    assert g["warnings"] == [] and g["area"]["type"] == "Polygon"

    r = c.post("/v1/resilience/whatif", json={"fail": ["ss-bosjes"]}, headers=h["adm"])
    assert r.status_code == 200, r.text
    out = r.json()
    failed = {f["id"]: f["cause"] for f in out["failed"]}
    assert failed == {"ss-bosjes": "initial", "iz-ac-07": "ss-bosjes", "iz-ac-08": "ss-bosjes",
                      "iz-pc-06": "ss-bosjes", "iz-wx-02": "ss-bosjes"}  # fmt: skip
    shot = out["capabilities"]["gunshot"]
    assert shot["failed"] == ["iz-ac-07", "iz-ac-08"] and shot["lost_share"] > 0
    assert shot["lost"]["geometry"]["type"] in ("Polygon", "MultiPolygon")
    assert shot["covered_after"] < shot["covered_before"]
    crowd = out["capabilities"]["crowd"]
    assert crowd["lost"] == ["scheveningse-bosjes"]
    assert [f["id"] for f in crowd["zones_geojson"]["features"]] == ["scheveningse-bosjes"]
    assert out["capabilities"]["hazard"]["failed"] == []

    flood = {"type": "Polygon", "coordinates": [[[4.2790, 52.0885], [4.2850, 52.0885],
             [4.2850, 52.0905], [4.2790, 52.0905], [4.2790, 52.0885]]]}  # fmt: skip
    out = c.post("/v1/resilience/whatif", json={"flood": flood}, headers=h["adm"]).json()
    causes = {f["id"]: f["cause"] for f in out["failed"]}
    assert causes["iz-ac-01"] == "flood" and causes["ps-worldforum"] == "flood"
    assert causes["gen-ps-wf"] == "flood"

    bad = c.post("/v1/resilience/whatif", json={"flood": {"type": "Point"}}, headers=h["adm"])
    assert bad.status_code == 422 and "Polygon" in bad.json()["detail"]
    assert c.post("/v1/resilience/whatif", json={}, headers=h["adm"]).status_code == 422

    cov = c.get("/v1/resilience/coverage?k=1", headers=h["adm"]).json()
    shot = cov["capabilities"]["gunshot"]
    assert shot["failures"] == ["ss-zorgvliet"] and shot["after"] < shot["before"]
    assert shot["add_backup"]["gain"] > 0 and shot["basis"] == "all sensors"
    # Nothing added alone saves a zone from the cell site: no recommendation, not a gain of 0.
    crowd = cov["capabilities"]["crowd"]
    assert crowd["failures"] == ["link-lte-1"]
    assert crowd["add_sensor"] is None and crowd["add_backup"] is None
    assert cov["zones"]["scheveningse-bosjes"] == "Scheveningse Bosjes"


def test_a_police_operator_sees_police_infrastructure_only(
    client: tuple[TestClient, Platform, dict[str, dict[str, str]]],
) -> None:
    c, platform, h = client
    ids = {f["id"] for f in c.get("/v1/resilience/graph", headers=h["cop"]).json()["features"]}
    assert ids == {"gw-police-west", "gw-police-east", "ups-gw-police-east"} | {
        f"iz-ac-0{i}" for i in range(1, 9)
    }
    # A municipal substation is not theirs to name (the same answer as for a missing one).
    r = c.post("/v1/resilience/whatif", json={"fail": ["ss-bosjes"]}, headers=h["cop"])
    assert r.status_code == 422 and "ss-bosjes" in r.json()["detail"]
    out = c.post(
        "/v1/resilience/whatif", json={"fail": ["gw-police-west"]}, headers=h["cop"]
    ).json()
    assert {f["id"] for f in out["failed"]} == {"gw-police-west", "iz-ac-01"}
    assert out["capabilities"]["gunshot"]["failed"] == ["iz-ac-01"]
    assert out["capabilities"]["gunshot"]["basis"] == "all sensors"
    # No counter of theirs: no zone judged, the 7 counters of others left out (not used).
    crowd = out["capabilities"]["crowd"]
    assert crowd["basis"] == "own and shared sensors only" and crowd["sensors_left_out"] == 7
    assert (crowd["zones"], crowd["lost"], crowd["zones_geojson"]["features"]) == (0, [], [])
    # The worst failure for the gunshot capability is the municipality's: named for no one.
    cov = c.get("/v1/resilience/coverage?k=1&recommend=false", headers=h["cop"]).json()
    assert cov["capabilities"]["gunshot"]["failures"] == [None]
    hazard = cov["capabilities"]["hazard"]
    assert (hazard["sensors"], hazard["sensors_left_out"]) == (0, 2)
    assert hazard["basis"] == "own and shared sensors only"

    # Under an agreement the municipality's operator sees the police's nodes; audited.
    platform.policy = PolicyDecisionPoint([
        agreement_from_dict({
            "id": "pol-gem-infra", "provider": "police", "recipient": "municipality",
            "kinds": ["device"], "max_classification": "TLP:AMBER", "purpose": "resilience",
            "roles": ["operator"], "actions": ["list", "read"],
            "fields": {"device": ["*"]},
            "valid_from": (NOW - timedelta(days=1)).isoformat(),
            "valid_until": (NOW + timedelta(days=1)).isoformat(),
        })
    ])  # fmt: skip
    plain = c.get("/v1/resilience/graph", headers=h["ops"]).json()
    assert "gw-police-west" not in {f["id"] for f in plain["features"]}
    shared = c.get("/v1/resilience/graph", headers={**h["ops"], "X-Purpose": "resilience"}).json()
    assert "gw-police-west" in {f["id"] for f in shared["features"]}
    log = platform.audit
    entries = [json.loads(b) for b in log.entries(0, log.size)]
    reads = {e["object_id"] for e in entries if e["actor"] == "ops" and e["outcome"] == "allow"}
    assert {"gw-police-west", "iz-ac-01"} <= reads


def test_a_municipal_operator_gets_figures_over_the_sensors_they_may_see(
    client: tuple[TestClient, Platform, dict[str, dict[str, str]]],
) -> None:
    # The municipality sees its own 5 counters, not the 2 of the international organisation,
    # nor the police's acoustic sensors or the water board's gauges (no agreement).
    c, platform, h = client
    out = c.post("/v1/resilience/whatif", json={"fail": ["ss-bosjes"]}, headers=h["ops"]).json()
    # The police sensors that fail with it are not shown; the municipality's are.
    assert {f["id"] for f in out["failed"]} == {"ss-bosjes", "iz-pc-06", "iz-wx-02"}
    crowd = out["capabilities"]["crowd"]
    assert crowd["basis"] == "own and shared sensors only" and crowd["sensors_left_out"] == 2
    # Zone ids and names are shown; the Peace Palace (the organisation's counters only) is
    # not judged, so 3 zones and not 4.
    assert (crowd["zones"], crowd["lost"]) == (3, ["scheveningse-bosjes"])
    (zone,) = crowd["zones_geojson"]["features"]
    assert zone["properties"]["name"] == "Scheveningse Bosjes"
    assert zone["properties"]["failed"] == ["iz-pc-06"]
    shot = out["capabilities"]["gunshot"]
    assert (shot["sensors"], shot["sensors_left_out"], shot["blind"]) == (0, 8, None)
    assert shot["basis"] == "own and shared sensors only"

    cov = c.get("/v1/resilience/coverage?k=1", headers=h["ops"]).json()
    crowd = cov["capabilities"]["crowd"]
    assert (crowd["sensors"], crowd["sensors_left_out"]) == (5, 2)
    assert crowd["before"] == 1.0 and crowd["after"] < 1.0 and "withheld" not in crowd
    assert cov["zones"]["peace-palace"] == "Vredespaleis / Carnegieplein"
    # The organisation's counters are read by no one here: nothing of theirs is audited.
    log = platform.audit
    entries = [json.loads(b) for b in log.entries(0, log.size)]
    assert not {e["object_id"] for e in entries if e["actor"] == "ops"} & {"iz-pc-01", "iz-pc-02"}


def test_what_if_answers_every_node_and_the_flood_with_valid_geojson(
    client: tuple[TestClient, Platform, dict[str, dict[str, str]]],
) -> None:
    c, _, h = client
    ids = [f["id"] for f in c.get("/v1/resilience/graph", headers=h["adm"]).json()["features"]]
    assert len(ids) == 49
    bodies = [{"fail": [i]} for i in ids] + [{"flood": FLOOD}]
    for body in bodies:
        r = c.post("/v1/resilience/whatif", json=body, headers=h["adm"])
        assert r.status_code == 200, (body, r.text[:300])
        for cap in ("gunshot", "hazard"):
            for which in ("blind", "lost"):
                check_area_feature(r.json()["capabilities"][cap][which], _metres)


def test_without_a_graph_file_the_routes_say_how_to_configure_one(platform: Platform) -> None:
    user = User(name="adm", agency="city", role=Role.ADMIN, password_hash="-", created=NOW)
    h = {"Authorization": f"Bearer {issue_token(user, platform.settings.secret_key, 600)}"}
    with TestClient(create_app(platform=platform)) as c:
        r = c.get("/v1/resilience/graph", headers=h)
        assert r.status_code == 404 and "STADSWACHT_INFRA_GRAPH_FILE" in r.json()["detail"]
