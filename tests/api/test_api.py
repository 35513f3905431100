"""The HTTP API as a user meets it: login, roles, agencies, batches, pages, stream."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator

import httpx
import pytest
from fastapi.testclient import TestClient

from stadswacht.api import create_app
from stadswacht.api.auth import create_user
from stadswacht.model import Role
from stadswacht.pipeline import Platform
from tests.conftest import FakeDevice
from tests.support.server import serve

PASSWORD = "correct horse battery"


@pytest.fixture
def client(platform: Platform) -> Iterator[TestClient]:
    for name, agency, role in [
        ("admin", "municipality", Role.ADMIN),
        ("ivo", "municipality", Role.INTEGRATOR),
        ("olga", "municipality", Role.OPERATOR),
        ("piet", "police", Role.INTEGRATOR),
    ]:
        create_user(platform.store, name, PASSWORD, agency, role)
    with TestClient(create_app(platform=platform)) as c:
        yield c


def token(client: TestClient, name: str, password: str = PASSWORD) -> dict[str, str]:
    r = client.post("/v1/auth/token", data={"username": name, "password": password})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def test_every_route_but_ingest_login_and_probes_needs_a_token(client: TestClient) -> None:
    open_routes = {
        ("/v1/readings", "post"),
        ("/v1/auth/token", "post"),
        ("/healthz", "get"),
        ("/readyz", "get"),
    }
    spec = client.get("/openapi.json").json()
    checked = 0
    for path, ops in spec["paths"].items():
        for method in ops:
            if (path, method) in open_routes:
                continue
            url = (
                path.replace("{device_id}", "x")
                .replace("{area_id}", "x")
                .replace("{agency_id}", "x")
            )
            r = client.request(method.upper(), url, json={})
            assert r.status_code == 401, (method, path, r.status_code)
            checked += 1
    assert checked >= 12


def test_wrong_password_and_unknown_user_look_the_same(client: TestClient) -> None:
    a = client.post("/v1/auth/token", data={"username": "ivo", "password": "wrong password!"})
    b = client.post("/v1/auth/token", data={"username": "nobody", "password": "wrong password!"})
    assert a.status_code == b.status_code == 401
    assert a.json() == b.json()


def test_integrator_registers_device_and_it_sends(client: TestClient) -> None:
    h = token(client, "ivo")
    r = client.post(
        "/v1/devices",
        headers=h,
        json={"id": "iz-wx-09", "kind": "weather", "lat": 52.09, "lon": 4.28},
    )
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["device"]["agency"] == "municipality" and body["private_key"]
    from stadswacht.model.signing import load_private_key

    dev = FakeDevice("iz-wx-09", load_private_key(body["private_key"]))
    batch = [dev.reading(), dev.reading(values={"temperature_c": 999}), "junk"]
    r = client.post("/v1/readings", json={"readings": batch})
    assert r.status_code == 200
    assert r.json()["accepted"] == 1
    assert [(x["index"], x["reason"]) for x in r.json()["rejected"]] == [
        (1, "invalid_values"),
        (2, "malformed"),
    ]
    # The operator of the same agency reads it; the police integrator does not see it.
    page = client.get(
        "/v1/readings", headers=token(client, "olga"), params={"device": "iz-wx-09"}
    ).json()
    assert [i["seq"] for i in page["items"]] == [1]
    assert client.get("/v1/readings", headers=token(client, "piet")).json()["items"] == []
    assert client.get("/v1/devices/iz-wx-09", headers=token(client, "piet")).status_code == 404
    # Dead letters: the owner's integrator sees them, the other agency's does not.
    dl = client.get("/v1/deadletters", headers=h).json()["items"]
    assert {d["reason"] for d in dl} == {"invalid_values"}  # 'junk' names no device
    assert client.get("/v1/deadletters", headers=token(client, "piet")).json()["items"] == []
    assert len(client.get("/v1/deadletters", headers=token(client, "admin")).json()["items"]) == 2


def test_operator_may_not_register_or_other_agency(client: TestClient) -> None:
    new = {"id": "x1", "kind": "weather", "lat": 52.0, "lon": 4.0}
    assert client.post("/v1/devices", headers=token(client, "olga"), json=new).status_code == 403
    r = client.post("/v1/devices", headers=token(client, "ivo"), json={**new, "agency": "police"})
    assert r.status_code == 403


def test_rotate_and_decommission(
    client: TestClient, platform: Platform, make_device: Callable[..., FakeDevice]
) -> None:
    dev = make_device("iz-wx-01")
    h = token(client, "ivo")
    r = client.post("/v1/devices/iz-wx-01/rotate-key", headers=h, json={})
    assert r.json()["device"]["key_version"] == 2
    res = client.post("/v1/readings", json=[dev.reading()]).json()
    assert res["rejected"][0]["reason"] == "bad_signature"
    assert client.delete("/v1/devices/iz-wx-01", headers=h).json()["status"] == "decommissioned"
    res = client.post("/v1/readings", json=[dev.reading()]).json()
    assert res["rejected"][0]["reason"] == "decommissioned"


def test_ndjson_and_limits(
    client: TestClient, platform: Platform, make_device: Callable[..., FakeDevice]
) -> None:
    dev = make_device()
    body = "\n".join(json.dumps(dev.reading()) for _ in range(50))
    r = client.post("/v1/readings", content=body, headers={"content-type": "application/x-ndjson"})
    assert r.json()["accepted"] == 50
    assert (
        client.post(
            "/v1/readings", content=b"{oops", headers={"content-type": "application/json"}
        ).status_code
        == 400
    )
    platform.settings.max_body_bytes = 1000
    r = client.post("/v1/readings", content=body, headers={"content-type": "application/x-ndjson"})
    assert r.status_code == 413 and "limit" in r.json()["detail"]


def test_readings_pagination_and_filters(
    client: TestClient, make_device: Callable[..., FakeDevice]
) -> None:
    dev = make_device()
    client.post(
        "/v1/readings",
        json=[dev.reading() for _ in range(25)] + [dev.reading("power", {"on": False})],
    )
    h = token(client, "olga")
    seen: list[int] = []
    after = 0
    while True:
        page = client.get(
            "/v1/readings",
            headers=h,
            params={"after_id": after, "limit": 10, "kind": "temperature"},
        ).json()
        seen += [i["seq"] for i in page["items"]]
        if page["next_after_id"] is None:
            break
        after = page["next_after_id"]
    assert seen == list(range(1, 26))


def test_areas_geojson_and_probes(client: TestClient) -> None:
    h = token(client, "admin")
    area = {"id": "iz", "name": "IZ", "polygon": [[4.28, 52.09], [4.30, 52.09], [4.30, 52.10]]}
    assert client.put("/v1/areas/iz", headers=h, json=area).status_code == 200
    fc = client.get("/v1/areas", headers=token(client, "olga")).json()
    assert fc["type"] == "FeatureCollection"
    ring = fc["features"][0]["geometry"]["coordinates"][0]
    assert ring[0] == ring[-1]
    assert client.put("/v1/areas/iz", headers=token(client, "ivo"), json=area).status_code == 403
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").json() == {"status": "ready"}
    m = client.get("/metrics", headers=h)
    assert m.status_code == 200 and "stadswacht_readings_accepted_total" in m.text
    assert client.get("/metrics", headers=token(client, "olga")).status_code == 403


def test_live_stream_delivers_new_readings_of_own_agency(
    platform: Platform, make_device: Callable[..., FakeDevice]
) -> None:
    create_user(platform.store, "olga", PASSWORD, "municipality", Role.OPERATOR)
    mine = make_device("m1", agency="municipality")
    theirs = make_device("p1", agency="police")
    with (
        serve(create_app(platform=platform)) as url,
        httpx.Client(base_url=url, timeout=10) as http,
    ):
        tok = http.post("/v1/auth/token", data={"username": "olga", "password": PASSWORD}).json()[
            "access_token"
        ]
        got: list[dict[str, object]] = []
        ready = threading.Event()

        def listen() -> None:
            with http.stream("GET", "/v1/stream/readings", params={"access_token": tok}) as r:
                assert r.status_code == 200
                event = None
                for line in r.iter_lines():
                    if line.startswith("event:"):
                        event = line.split(":", 1)[1].strip()
                        if event == "ready":
                            ready.set()
                    elif line.startswith("data:") and event == "reading":
                        got.append(json.loads(line.split(":", 1)[1]))
                        if len(got) == 2:
                            return

        t = threading.Thread(target=listen, daemon=True)
        t.start()
        assert ready.wait(5)
        http.post(
            "/v1/readings",
            json=[theirs.reading(), mine.reading(), theirs.reading(), mine.reading()],
        )
        t.join(5)
        assert [g["device"] for g in got] == ["m1", "m1"]
        assert http.get("/v1/stream/readings").status_code == 401
