"""``/v1/algorithms``: the algorithm register for signed-in users, in English or with the
register's Dutch field names."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from stadswacht.api import create_app
from stadswacht.api.auth import create_user
from stadswacht.model import Role
from stadswacht.pipeline import Platform
from stadswacht.privacy.register import REQUIRED_FIELDS

PASSWORD = "correct horse battery"


@pytest.fixture
def client(platform: Platform) -> Iterator[TestClient]:
    create_user(platform.store, "olga", PASSWORD, "municipality", Role.OPERATOR)
    with TestClient(create_app(platform=platform)) as c:
        yield c


def _login(client: TestClient) -> dict[str, str]:
    r = client.post("/v1/auth/token", data={"username": "olga", "password": PASSWORD})
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def test_the_register_needs_a_signed_in_user(client: TestClient) -> None:
    assert client.get("/v1/algorithms").status_code == 401
    assert client.get("/v1/algorithms/gunshot-locator").status_code == 401


def test_every_entry_has_every_field_in_english_and_in_dutch(client: TestClient) -> None:
    h = _login(client)
    en = client.get("/v1/algorithms", headers=h).json()
    nl = client.get("/v1/algorithms", params={"lang": "nl"}, headers=h).json()
    assert len(en) == len(nl) >= 8
    for entry in en:
        for field in REQUIRED_FIELDS:
            assert field in entry
            if field != "performance":
                assert entry[field], (entry["id"], field)
    assert {"naam", "doel_en_impact", "menselijke_tussenkomst", "wettelijke_basis"} <= set(nl[0])
    assert nl[0]["labels"]["menselijke_tussenkomst"] == "Menselijke tussenkomst"


def test_one_entry_and_an_unknown_one(client: TestClient) -> None:
    h = _login(client)
    r = client.get("/v1/algorithms/gunshot-locator", headers=h)
    assert r.status_code == 200
    assert r.json()["performance"][0]["command"] == ".venv/bin/python bench/gunshot.py"
    missing = client.get("/v1/algorithms/astrology", headers=h)
    assert missing.status_code == 404 and "gunshot-locator" in missing.json()["detail"]
