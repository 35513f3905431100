"""Web signals through the API: a source pushes posts (one bad post does not lose the batch),
counts come out only for cells of at least 5 authors, individual posts only for the roles that
need them, every read of a post on the audit log."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from stadswacht.api import create_app
from stadswacht.api.auth import create_user
from stadswacht.config import Settings
from stadswacht.detect.websignal.classify import PostClass
from stadswacht.model import Area, Role
from stadswacht.pipeline import Platform
from stadswacht.pipeline.websignal import PostIntake, WebsignalStage
from stadswacht.sharing.agreements import agreement_from_dict
from stadswacht.sharing.policy import PolicyDecisionPoint
from stadswacht.store.base import PostQuery
from tests.support.server import serve

PASSWORD = "correct horse battery"
NOW = datetime.now(UTC)
MALIEVELD = Area(
    id="malieveld",
    name="Malieveld",
    agency="municipality",
    polygon=((4.310, 52.083), (4.318, 52.083), (4.318, 52.088), (4.310, 52.088)),
)
KOEKAMP = Area(
    id="koekamp",
    name="Koekamp",
    agency="municipality",
    polygon=((4.315, 52.079), (4.322, 52.079), (4.322, 52.083), (4.315, 52.083)),
)


class Alarm:
    """A fake classifier for the test: every post is relevant caution and advice."""

    def classify(self, texts, langs=None):  # type: ignore[no-untyped-def]
        return [PostClass(True, 0.9, "caution_advice", 0.9) for _ in texts]


def _t(minutes_ago: float) -> str:
    return (NOW - timedelta(minutes=minutes_ago)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _login(client: httpx.Client, user: str) -> dict[str, str]:
    r = client.post("/v1/auth/token", data={"username": user, "password": PASSWORD})
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


@pytest.fixture
def app_platform(platform: Platform, settings: Settings):  # type: ignore[no-untyped-def]
    for area in (MALIEVELD, KOEKAMP):
        platform.store.put_area(area)
    for name, agency, role in [
        ("ian", "municipality", Role.INTEGRATOR), ("ops", "municipality", Role.OPERATOR),
        ("ana", "municipality", Role.ANALYST), ("pol", "police", Role.ANALYST),
    ]:  # fmt: skip
        create_user(platform.store, name, PASSWORD, agency, role)
    app = create_app(platform=platform)
    stage = WebsignalStage(areas=platform.store.list_areas)
    app.state.websignal_intake = PostIntake.from_settings(
        settings, platform.store, classifier=Alarm(), stage=stage
    )
    return app, platform


def test_push_counts_and_posts_under_the_policy(app_platform) -> None:  # type: ignore[no-untyped-def]
    app, platform = app_platform
    malieveld = [
        {"id": f"m{i}", "author": f"@mv_person_{i}", "text": f"Rook bij het Malieveld @mv_{i}",
         "time": _t(30 - i)}
        for i in range(5)
    ]  # fmt: skip
    koekamp = [
        {"id": f"k{i}", "author": f"@kk_person_{i % 4}", "text": "Gedrang in de Koekamp",
         "time": _t(20 - i)}
        for i in range(8)
    ]  # fmt: skip
    with serve(app) as url, httpx.Client(base_url=url) as client:
        ian, ops, ana, pol = (_login(client, u) for u in ("ian", "ops", "ana", "pol"))

        # One bad post of three: the other two are taken in.
        three = [malieveld[0], {"author": "@x", "text": "t", "time": "nope"}, malieveld[1]]
        r = client.post("/v1/websignal/posts?source=push-1", json={"posts": three}, headers=ian)
        assert r.status_code == 200, r.text
        assert r.json()["accepted"] == 2
        assert r.json()["rejected"] == [
            {"index": 1, "reason": "bad_time", "message": r.json()["rejected"][0]["message"]}
        ]
        rest = {"posts": malieveld[2:] + koekamp}
        assert (
            client.post("/v1/websignal/posts?source=push-1", json=rest, headers=ian).json()[
                "accepted"
            ]
            == 11
        )
        # Only integrators (and admins) push; a source id is required and checked.
        assert (
            client.post("/v1/websignal/posts?source=push-1", json=rest, headers=ops).status_code
            == 403
        )
        assert (
            client.post("/v1/websignal/posts?source=Bad Id", json=rest, headers=ian).status_code
            == 422
        )

        # Counts: Malieveld has 5 authors and publishes; Koekamp's 4 authors publish no count.
        counts = client.get("/v1/websignal/counts", headers=ops)
        assert counts.status_code == 200, counts.text
        cells = {c["area"]: c for c in counts.json()["cells"]}
        assert cells["malieveld"]["authors"] == 5 and cells["malieveld"]["posts"] == 5
        assert cells["koekamp"]["authors"] is None and cells["koekamp"]["posts"] is None
        assert cells["koekamp"]["count_coarse"] == "<5"
        # Another agency without an agreement sees no counts.
        assert client.get("/v1/websignal/counts", headers=pol).json()["cells"] == []

        # Individual posts: the analyst of the owning agency, pseudonymised; not an operator.
        posts = client.get("/v1/websignal/posts", headers=ana)
        assert posts.status_code == 200, posts.text
        got = posts.json()
        assert len(got) == 13 and {p["kind"] for p in got} == {"post"}
        text = json.dumps(got)
        assert "person_" not in text and "@mv_" not in text and "ps:author:" in text
        assert client.get("/v1/websignal/posts", headers=ops).status_code == 403
        assert client.get("/v1/websignal/posts", headers=pol).json() == []

        # With an agreement for kind post, the police analyst sees them for its purpose.
        platform.policy = PolicyDecisionPoint([
            agreement_from_dict({
                "id": "gem-pol-posts", "provider": "municipality", "recipient": "police",
                "kinds": ["post"], "max_classification": "TLP:AMBER", "purpose": "verify-burst",
                "roles": ["analyst"], "actions": ["list"],
                "fields": {"post": ["text", "time", "area"]},
                "valid_from": (NOW - timedelta(days=1)).isoformat(),
                "valid_until": (NOW + timedelta(days=1)).isoformat(),
            })
        ])  # fmt: skip
        shared = client.get(
            "/v1/websignal/posts?limit=3", headers={**pol, "X-Purpose": "verify-burst"}
        )
        assert shared.status_code == 200 and len(shared.json()) == 3
        assert shared.json()[0]["author"] is None and "author" in shared.json()[0]["_withheld"]

    entries = [json.loads(b) for b in platform.audit.entries(0, platform.audit.size)]
    reads = [e for e in entries if e["object_kind"] == "post" and e["action"] == "list"]
    assert sum(1 for e in reads if e["actor"] == "ana" and e["outcome"] == "allow") == 13
    assert sum(1 for e in reads if e["actor"] == "pol" and e["outcome"] == "allow") == 3
    assert [e["reason"] for e in reads if e["actor"] == "ops"] == ["role-not-allowed"]
    assert sum(1 for e in entries if e["action"] == "ingest") == 2  # the two accepted pushes


def test_a_burst_pushed_in_is_stored_as_a_detection(app_platform) -> None:  # type: ignore[no-untyped-def]
    app, _ = app_platform
    burst = [
        {"author": f"@w{i}", "text": "Brand bij het Malieveld", "time": _t(10 - i)}
        for i in range(9)
    ]
    with serve(app) as url, httpx.Client(base_url=url) as client:
        ian, ana = _login(client, "ian"), _login(client, "ana")
        r = client.post("/v1/websignal/posts?source=push-1", json={"posts": burst}, headers=ian)
        assert len(r.json()["detections"]) == 1
        found = client.get("/v1/detections?kind=websignal", headers=ana).json()
        assert len(found) == 1 and found[0]["details"]["authors"] == 9
        assert found[0]["classification"] == "TLP:AMBER"


def test_a_repush_accepts_nothing_again_and_a_bad_body_is_not_echoed(app_platform) -> None:  # type: ignore[no-untyped-def]
    app, platform = app_platform
    two = [
        {"id": f"r{i}", "author": f"@repush_person_{i}", "text": "Rook bij het Malieveld",
         "time": _t(5 - i)}
        for i in range(2)
    ]  # fmt: skip
    url_path = "/v1/websignal/posts?source=push-2"
    with serve(app) as url, httpx.Client(base_url=url) as client:
        ian = _login(client, "ian")
        first = client.post(url_path, json={"posts": two}, headers=ian).json()
        assert (first["accepted"], first["duplicates"]) == (2, 0)
        again = client.post(url_path, json={"posts": two}, headers=ian).json()
        assert (again["accepted"], again["duplicates"], again["rejected"]) == (0, 2, [])

        handle = "@secret_handle_42"
        too_many = {"posts": [{"author": handle, "text": f"hoi {handle}", "time": _t(1)}] * 5001}
        wrong_type = {"posts": {"author": handle, "text": handle}}
        not_a_batch = [{"author": handle}]
        for body in (too_many, wrong_type, not_a_batch):
            r = client.post(url_path, json=body, headers=ian)
            assert r.status_code == 422, r.text
            assert "secret_handle" not in r.text and len(r.content) < 1000
            (error,) = r.json()["detail"]
            assert set(error) == {"loc", "msg", "type"} and error["loc"][0] == "body"
        r = client.post(url_path, content=f'{{"posts": ["{handle}"', headers=ian)
        assert r.status_code == 422 and "secret_handle" not in r.text
        assert r.json()["detail"][0]["type"] == "json_invalid"
    assert len(platform.store.list_posts(PostQuery())) == 2
