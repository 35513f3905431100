"""GET /v1/detections?open=true: what is still going on, however long ago it began.

The sensor health view asked for the infra detections of the last 24 h by their start, so an
outage that began earlier vanished while it still lasted (issue #9 review, D7)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from stadswacht.api import create_app
from stadswacht.api.auth import create_user
from stadswacht.api.routes import detections as detections_route
from stadswacht.model import Detection, Role, format_time
from stadswacht.pipeline import Platform
from tests.api.test_api import PASSWORD, token

NOW = datetime.now(UTC)


def _det(
    det_id: str,
    kind: str,
    began: datetime,
    details: dict[str, Any],
    agency: str = "municipality",
) -> Detection:
    return Detection(
        id=det_id, kind=kind, detector=kind, agency=agency, time=format_time(began),
        detected_at=format_time(began), probability=0.9, details=details,
    )  # fmt: skip


def _infra(det_id: str, began: datetime, ended: datetime | None, **kw: Any) -> Detection:
    details = {"type": "power_cut", "check": "outage", "devices": ["a", "b"],
               "ended": format_time(ended) if ended else None, "quarantine": False}  # fmt: skip
    return _det(det_id, "infra", began, details, **kw)


@pytest.fixture
def client(platform: Platform) -> Iterator[TestClient]:
    create_user(platform.store, "olga", PASSWORD, "municipality", Role.OPERATOR)
    with TestClient(create_app(platform=platform)) as c:
        yield c


def _ids(client: TestClient, **params: Any) -> list[str]:
    r = client.get("/v1/detections", params=params, headers=token(client, "olga"))
    assert r.status_code == 200, r.text
    return [d["id"] for d in r.json()]


def test_an_outage_that_began_yesterday_is_open_until_it_ends(
    platform: Platform, client: TestClient
) -> None:
    put = platform.store.put_detection
    put(_infra("outage-30h", NOW - timedelta(hours=30), None))
    put(_infra("outage-over", NOW - timedelta(hours=2), NOW - timedelta(hours=1)))
    put(_infra("silent-1h", NOW - timedelta(hours=1), None))
    put(_infra("police-open", NOW - timedelta(hours=3), None, agency="police"))
    put(_det("flood", "hazard", NOW - timedelta(hours=5), {"change": "allclear", "level": "none"}))
    put(_det("crowd-over", "crowd", NOW - timedelta(hours=4), {"status": "cleared"}))
    put(_det("crowd-on", "crowd", NOW - timedelta(hours=4), {"status": "raised"}))
    put(_det("burst-over", "websignal", NOW - timedelta(hours=4), {"status": "ended"}))

    day = format_time(NOW - timedelta(hours=24))
    # What the health view asked before: the outage of 30 h ago is not there.
    assert _ids(client, kind="infra", since=day) == ["outage-over", "silent-1h"]
    assert _ids(client, kind="infra", open="true") == ["outage-30h", "silent-1h"]
    assert _ids(client, kind="infra", open="true", newest_first="true") == [
        "silent-1h",
        "outage-30h",
    ]
    assert _ids(client, kind="infra", open="false") == ["outage-over"]
    # since still bounds the start, as for every other query.
    assert _ids(client, kind="infra", open="true", since=day) == ["silent-1h"]
    # Across kinds: a cleared crowd warning, an all clear and an ended burst are over.
    assert _ids(client, open="true") == ["outage-30h", "crowd-on", "silent-1h"]
    assert set(_ids(client, open="false")) == {"outage-over", "flood", "crowd-over", "burst-over"}
    assert client.get(
        "/v1/detections", params={"open": "maybe"}, headers=token(client, "olga")
    ).status_code == 422  # fmt: skip


def test_open_ones_behind_more_than_a_page_of_ended_ones_are_found(
    platform: Platform, client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The route reads the store a page at a time (1,000 rows; 10 here to keep the test fast).
    # 41 ended findings, three to a microsecond, newer than two open ones: one at the very
    # start, one sharing its microsecond with ended ones where the first page ends. The limit
    # counts open ones, not the rows read.
    monkeypatch.setattr(detections_route, "_SCAN_PAGE", 10)
    base = NOW - timedelta(hours=50)
    for i in range(41):
        began = base + timedelta(seconds=i // 3)
        platform.store.put_detection(_infra(f"over-{i:04d}", began, began + timedelta(minutes=1)))
    edge = base + timedelta(seconds=(41 - 10) // 3)
    platform.store.put_detection(_infra("open-edge", edge, None))
    platform.store.put_detection(_infra("open-first", base - timedelta(seconds=1), None))

    got = _ids(client, kind="infra", open="true", newest_first="true", limit=10)
    assert got == ["open-edge", "open-first"]
    assert _ids(client, kind="infra", open="true", limit=1) == ["open-first"]
    assert _ids(client, kind="infra", open="true", newest_first="true", limit=1) == ["open-edge"]
    over = _ids(client, kind="infra", open="false", limit=35)
    assert len(over) == 35 and len(set(over)) == 35
    assert over == sorted(over)  # oldest first, paged without a gap or a repeat
