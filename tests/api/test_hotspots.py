"""Hotspot forecasts through the API: the owning agency's roles read its runs; another agency
sees them only under an agreement for kind ``forecast`` (redacted, audited), else "not found"."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import httpx
import numpy as np
import shapely
from fastapi import FastAPI
from starlette.routing import Mount

from stadswacht.api import create_app
from stadswacht.api.auth import create_user
from stadswacht.api.routes import hotspots
from stadswacht.forecast.hotspots import Incidents, grid_over
from stadswacht.forecast.hotspots.runs import ForecastRun, run_forecast
from stadswacht.model import Role
from stadswacht.pipeline import Platform
from stadswacht.sharing.agreements import agreement_from_dict
from stadswacht.sharing.policy import PolicyDecisionPoint
from tests.support.server import serve

PASSWORD = "correct horse battery"
NOW = datetime.now(UTC)
PURPOSE = {"X-Purpose": "patrol-planning"}


def _app(platform: Platform) -> FastAPI:
    """The app, with the hotspot routes (if the app does not include them yet) before the
    dashboard's mount at ``/``, which would take every path."""
    app = create_app(platform=platform)
    if not any(getattr(r, "path", "") == "/v1/forecasts/hotspots/latest" for r in app.routes):
        app.include_router(hotspots.router)
        app.router.routes.sort(key=lambda r: isinstance(r, Mount))
    return app


def _run(model: str, day: str, agency: str = "police") -> ForecastRun:
    rng = np.random.default_rng(5)
    t = 18322 - rng.uniform(0, 300, 200)
    inc = Incidents(t, rng.uniform(0, 1500, 200), rng.uniform(0, 1500, 200), "burglary", 28992)
    grid = grid_over(shapely.box(0, 0, 1500, 1500), 150.0, crs=28992)
    return run_forecast(inc, grid, model, day, by="cli:ops", agency=agency)


def _login(client: httpx.Client, user: str) -> dict[str, str]:
    r = client.post("/v1/auth/token", data={"username": user, "password": PASSWORD})
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def test_own_agency_reads_others_only_under_an_agreement_redacted(platform: Platform) -> None:
    older = _run("naive_count", "2020-02-29")
    latest = _run("near_repeat_smoothed", "2020-03-01")
    for run in (older, latest):
        platform.store.put_forecast_run(run.to_stored())
    create_user(platform.store, "pam", PASSWORD, "police", Role.ANALYST)
    create_user(platform.store, "piet", PASSWORD, "police", Role.OPERATOR)
    create_user(platform.store, "ian", PASSWORD, "police", Role.INTEGRATOR)
    create_user(platform.store, "ans", PASSWORD, "municipality", Role.ANALYST)

    with serve(_app(platform)) as url, httpx.Client(base_url=url) as client:
        pam, piet, ian, ans = (_login(client, u) for u in ("pam", "piet", "ian", "ans"))
        own = client.get("/v1/forecasts/hotspots/latest", headers=pam)
        assert own.status_code == 200, own.text
        doc = own.json()
        assert doc["id"] == latest.id and doc["_withheld"] == []
        assert doc["classification"] == "TLP:AMBER" and doc["created_by"] == "cli:ops"
        assert doc["inputs_hash"] == latest.inputs_hash
        fc = doc["geojson"]
        assert fc["type"] == "FeatureCollection" and len(fc["features"]) == 5  # 5 % of 100
        assert fc["features"][0]["properties"]["rank"] == 1
        ten = client.get("/v1/forecasts/hotspots/latest?top=0.1", headers=pam).json()
        assert len(ten["geojson"]["features"]) == 10
        by_model = client.get("/v1/forecasts/hotspots/latest?model=naive_count", headers=pam)
        assert by_model.json()["id"] == older.id
        by_id = client.get(f"/v1/forecasts/hotspots/{older.id}", headers=piet)
        assert by_id.status_code == 200 and by_id.json()["model"] == "naive_count"
        # Roles that may not read forecasts, and a model with no runs: not found.
        assert client.get(f"/v1/forecasts/hotspots/{older.id}", headers=ian).status_code == 404
        sepp = client.get("/v1/forecasts/hotspots/latest?model=sepp", headers=pam)
        assert sepp.status_code == 404
        assert client.get("/v1/forecasts/hotspots/nope", headers=pam).status_code == 404
        assert client.get("/v1/forecasts/hotspots/latest").status_code == 401

        # Another agency without an agreement: not found, by id and as the latest.
        assert client.get(f"/v1/forecasts/hotspots/{latest.id}", headers=ans).status_code == 404
        assert client.get("/v1/forecasts/hotspots/latest", headers=ans).status_code == 404

        # With one, for its purpose: the fields it covers, the rest withheld.
        platform.policy = PolicyDecisionPoint([
            agreement_from_dict({
                "id": "pol-gem-hotspots", "provider": "police", "recipient": "municipality",
                "kinds": ["forecast"], "max_classification": "TLP:AMBER",
                "purpose": "patrol-planning", "roles": ["analyst"], "actions": ["read"],
                "fields": {"forecast": ["model", "day", "geojson"]},
                "valid_from": (NOW - timedelta(days=1)).isoformat(),
                "valid_until": (NOW + timedelta(days=1)).isoformat(),
            })
        ])  # fmt: skip
        assert client.get("/v1/forecasts/hotspots/latest", headers=ans).status_code == 404
        shared = client.get("/v1/forecasts/hotspots/latest", headers={**ans, **PURPOSE})
        assert shared.status_code == 200, shared.text
        seen = shared.json()
        assert seen["id"] == latest.id and seen["day"] == "2020-03-01"
        assert seen["geojson"]["features"] == fc["features"]
        assert seen["created_by"] is None and seen["inputs_hash"] is None
        assert {"created_by", "inputs_hash", "parameters"} <= set(seen["_withheld"])
        one = client.get(f"/v1/forecasts/hotspots/{older.id}", headers={**ans, **PURPOSE})
        assert one.status_code == 200 and one.json()["created_by"] is None

    # The municipality's reads of the police's forecasts are on the audit log.
    log = platform.audit
    entries = [json.loads(b) for b in log.entries(0, log.size)]
    reads = [e for e in entries if e["actor"] == "ans" and e["object_kind"] == "forecast"]
    assert {(e["outcome"], e["object_id"]) for e in reads} >= {
        ("allow", latest.id), ("allow", older.id), ("deny", latest.id),
    }  # fmt: skip
    assert not any(e["actor"] == "pam" for e in entries)
