"""/v1/incidents: an operator sees the incident a gunshot and a crowd warning made, works it
along its procedure, and only a supervisor resolves it; every step is on its timeline."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient
from starlette.routing import Mount

from stadswacht.api import create_app
from stadswacht.api.auth import create_user
from stadswacht.api.routes import incidents
from stadswacht.fusion.service import FusionService
from stadswacht.model import Role
from stadswacht.pipeline import Platform
from stadswacht.pipeline.detectors import publish_detections
from tests.fusion.factories import detection

PASSWORD = "correct horse battery"


def _app(platform: Platform) -> FastAPI:
    """The API app with the incidents router, whether or not ``create_app`` includes it yet."""
    app = create_app(platform=platform)
    if not any(getattr(r, "path", None) == "/v1/incidents" for r in app.router.routes):
        app.include_router(incidents.router)
        routes = app.router.routes
        routes[:] = [r for r in routes if not isinstance(r, Mount)] + [
            r for r in routes if isinstance(r, Mount)
        ]  # the dashboard's catch-all mount stays last
    return app


def _login(client: TestClient, name: str) -> dict[str, str]:
    r = client.post("/v1/auth/token", data={"username": name, "password": PASSWORD})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def test_an_incident_is_worked_from_new_to_resolved_with_every_step_recorded(
    platform: Platform,
) -> None:
    for name, agency, role in [
        ("ops", "police", Role.OPERATOR),
        ("boss", "police", Role.SUPERVISOR),
        ("analyst", "police", Role.ANALYST),
        ("auditor", "police", Role.AUDITOR),
        ("city", "municipality", Role.OPERATOR),
    ]:
        create_user(platform.store, name, PASSWORD, agency, role)
    fusion = FusionService(platform.store, platform.bus, platform.settings)
    found = [detection("g1", "gunshot"), detection("c1", "crowd", after_s=30)]
    publish_detections(platform.store, platform.bus, found)
    for d in found:  # what the service does with each detection it receives from the bus
        fusion.handle(d)

    with TestClient(_app(platform)) as client:
        ops, boss = _login(client, "ops"), _login(client, "boss")
        assert client.get("/v1/incidents").status_code == 401
        (listed,) = client.get("/v1/incidents", headers=ops).json()
        assert listed["id"] == "inc-g1" and listed["severity"] == 4
        assert [e["detection"] for e in listed["detections"]] == ["g1", "c1"]
        assert listed["status"] == "new" and listed["classification"] == "TLP:AMBER"
        url = "/v1/incidents/inc-g1"

        # Need to know: another agency does not see it; an auditor reads no operations.
        city = _login(client, "city")
        assert client.get("/v1/incidents", headers=city).json() == []
        assert client.get(url, headers=city).status_code == 404
        assert client.get(url, headers=_login(client, "auditor")).status_code == 403
        analyst = _login(client, "analyst")
        assert client.get(url, headers=analyst).status_code == 200
        r = client.post(
            f"{url}/transition", headers=analyst, json={"to": "acknowledged", "why": "x"}
        )
        assert r.status_code == 403

        def move(headers: dict[str, str], to: str, why: str = "because") -> Any:
            return client.post(f"{url}/transition", headers=headers, json={"to": to, "why": why})

        assert move(ops, "acknowledged", "on the map").status_code == 200
        assert move(ops, "dispatched", "unit 12").status_code == 200
        r = move(ops, "resolved")
        assert r.status_code == 403 and "supervisor" in r.json()["detail"]
        r = move(boss, "resolved")
        assert r.status_code == 409 and "verify, dispatch, report" in r.json()["detail"]
        for step in ("verify", "dispatch", "report"):
            r = client.post(f"{url}/steps/{step}", headers=ops, json={"note": f"{step} ok"})
            assert r.status_code == 200, r.text
        assert client.post(f"{url}/steps/nope", headers=ops, json={}).status_code == 409
        r = move(boss, "resolved", "suspect arrested")
        assert r.status_code == 200, r.text
        assert move(ops, "dispatched").status_code == 409  # not from resolved
        r = client.post(f"{url}/steps/verify", headers=ops, json={"done": False})
        assert r.status_code == 409  # closed

        done = client.get(url, headers=ops).json()
        assert done["status"] == "resolved" and done["version"] == 8
        moves = [
            (e["by"], e["from_status"], e["to_status"], e["why"])
            for e in done["timeline"]
            if e["event"] == "transition"
        ]
        assert moves == [
            ("ops", "new", "acknowledged", "on the map"),
            ("ops", "acknowledged", "dispatched", "unit 12"),
            ("boss", "dispatched", "resolved", "suspect arrested"),
        ]
        assert all(e["at"].endswith("Z") for e in done["timeline"])
        steps = {s["id"]: (s["done"], s["by"], s["note"]) for s in done["steps"]}
        assert steps["verify"] == (True, "ops", "verify ok")

        assert client.get("/v1/incidents?status=new", headers=ops).json() == []
        assert client.get("/v1/incidents?open=true", headers=ops).json() == []
        assert len(client.get("/v1/incidents?status=resolved", headers=ops).json()) == 1
        assert client.get("/v1/incidents/nope", headers=ops).status_code == 404
        assert move(ops, "bogus").status_code == 422
