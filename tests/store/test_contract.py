"""The store contract: the same checks on every backend (SQLite and PostgreSQL).

What is checked is what a caller of :class:`~stadswacht.store.base.Store` relies on: registry
round trips and their errors, a batch stored in one go and never twice, the filters of the
queries, and correct answers when several writers commit overlapping batches at once.
"""

from __future__ import annotations

import dataclasses
import json
import random
import threading
from collections.abc import Callable
from typing import Any

import pytest

from stadswacht.errors import AlreadyExists, NotFound, StorageError, UnknownDevice, UnknownUser
from stadswacht.model import Detection, DeviceStatus, Ellipse, Position, Role, StoredReading
from stadswacht.store import ReadingQuery, Store, StoredAlert
from stadswacht.store.base import (
    DetectionQuery,
    ExistingReading,
    FuseDecision,
    IncidentQuery,
    StoredForecastRun,
    StoredIncident,
)
from tests.store.factories import (
    KEY_B,
    T0_US,
    agency,
    area,
    dead_letter,
    device,
    reading,
    user,
)


def _keys(readings: list[StoredReading]) -> list[tuple[str, int]]:
    return [(r.device, r.seq) for r in readings]


def _all(store: Store, **filters: object) -> list[StoredReading]:
    return store.query_readings(ReadingQuery(**filters, limit=100_000))  # type: ignore[arg-type]


# --- devices ---------------------------------------------------------------------------------
def test_added_device_reads_back_unchanged(store: Store) -> None:
    d = device(gateway_for=("iz-ac-02",), broker_username="iz-ac-01")
    store.add_device(d)
    assert store.get_device("iz-ac-01") == d


def test_adding_a_taken_device_id_raises_already_exists_and_keeps_the_first(store: Store) -> None:
    store.add_device(device(agency="police"))
    with pytest.raises(AlreadyExists, match="iz-ac-01"):
        store.add_device(device(agency="municipality"))
    assert store.get_device("iz-ac-01").agency == "police"


def test_unknown_device_raises_unknown_device(store: Store) -> None:
    with pytest.raises(UnknownDevice, match="nope"):
        store.get_device("nope")
    with pytest.raises(UnknownDevice, match="nope"):
        store.update_device(device("nope"))
    assert store.list_devices() == []


def test_update_replaces_status_key_area_and_agency(store: Store) -> None:
    store.add_device(device(agency="police"))
    changed = device(
        agency="municipality", area="malieveld", status=DeviceStatus.DECOMMISSIONED,
        public_key=KEY_B, key_version=2, lat=52.08, lon=4.31,
    )  # fmt: skip
    store.update_device(changed)
    assert store.get_device("iz-ac-01") == changed
    assert store.list_devices(agency="police") == []
    assert [d.id for d in store.list_devices(agency="municipality")] == ["iz-ac-01"]


def test_list_devices_by_id_with_decommissioned_and_per_agency(store: Store) -> None:
    store.add_device(device("wx-2", agency="municipality"))
    store.add_device(device("ac-1", agency="police", status=DeviceStatus.DECOMMISSIONED))
    store.add_device(device("gauge-9", agency="waterboard", area=None))
    store.add_device(device("ac-0", agency="police"))
    assert [d.id for d in store.list_devices()] == ["ac-0", "ac-1", "gauge-9", "wx-2"]
    assert [d.id for d in store.list_devices(agency="police")] == ["ac-0", "ac-1"]
    assert store.list_devices(agency="nobody") == []
    assert store.get_device("ac-1").status is DeviceStatus.DECOMMISSIONED


# --- users -----------------------------------------------------------------------------------
def test_users_round_trip_sorted_by_name(store: Store) -> None:
    store.add_user(user("zoe", role=Role.ADMIN))
    store.add_user(user("anna", agency="municipality", role=Role.ANALYST))
    assert store.get_user("anna") == user("anna", agency="municipality", role=Role.ANALYST)
    assert [(u.name, u.role) for u in store.list_users()] == [
        ("anna", Role.ANALYST),
        ("zoe", Role.ADMIN),
    ]


def test_taken_user_name_raises_already_exists_and_unknown_raises_unknown_user(
    store: Store,
) -> None:
    store.add_user(user("anna", role=Role.OPERATOR))
    with pytest.raises(AlreadyExists, match="anna"):
        store.add_user(user("anna", role=Role.ADMIN))
    assert store.get_user("anna").role is Role.OPERATOR
    with pytest.raises(UnknownUser, match="bob"):
        store.get_user("bob")


# --- agencies and areas ----------------------------------------------------------------------
def test_agencies_and_areas_round_trip_and_put_replaces(store: Store) -> None:
    store.put_agency(agency("waterboard", "Hoogheemraadschap van Delfland"))
    store.put_agency(agency("police", "Politie"))
    store.put_agency(agency("police", "Politie Haaglanden"))
    store.put_area(area("malieveld", "Malieveld"))
    store.put_area(area("international-zone", "IZ"))
    store.put_area(area("international-zone", "International Zone"))
    assert store.list_agencies() == [
        agency("police", "Politie Haaglanden"),
        agency("waterboard", "Hoogheemraadschap van Delfland"),
    ]
    assert store.list_areas() == [
        area("international-zone", "International Zone"),
        area("malieveld", "Malieveld"),
    ]


# --- commit ----------------------------------------------------------------------------------
def test_commit_stores_readings_and_dead_letters_and_returns_them_with_ids(store: Store) -> None:
    batch = [reading("iz-ac-01", 1), reading("iz-ac-01", 2), reading("iz-ac-02", 1)]
    stored = store.commit(batch, [dead_letter("bad_signature"), dead_letter("malformed")])

    assert sorted(_keys(stored)) == sorted(_keys(batch))
    ids = [r.id for r in stored]
    assert all(isinstance(i, int) for i in ids) and len(set(ids)) == 3
    assert ids == sorted(ids)  # type: ignore[type-var]
    by_key = {(r.device, r.seq): dataclasses.replace(r, id=None) for r in stored}
    assert by_key == {(r.device, r.seq): r for r in batch}
    assert store.count_readings() == 3
    assert _all(store) == stored
    letters = store.list_dead_letters()
    assert [d.reason for d in letters] == ["bad_signature", "malformed"]
    assert all(d.id is not None for d in letters)
    assert letters[0].model_copy(update={"id": None}) == dead_letter("bad_signature")


def test_empty_commit_stores_nothing(store: Store) -> None:
    assert store.commit([], []) == []
    assert store.count_readings() == 0
    assert store.list_dead_letters() == []


def test_redelivered_batch_is_stored_once(store: Store) -> None:
    batch = [reading("d1", s) for s in range(1, 6)]
    first = store.commit(batch, [])
    again = store.commit(batch, [])
    assert len(first) == 5
    assert again == []
    assert store.count_readings() == 5


def test_same_key_with_other_content_is_skipped_and_the_first_kept(store: Store) -> None:
    store.commit([reading("d1", 1, sig="first")], [])
    later = store.commit(
        [reading("d1", 1, sig="forged", values={"temperature_c": 99.0}), reading("d1", 2)], []
    )
    assert _keys(later) == [("d1", 2)]
    (kept,) = _all(store, device="d1", until_us=T0_US + 2_000_000)
    assert kept.sig == "first"
    assert kept.values == {"temperature_c": 9.5}


def test_within_one_batch_the_first_of_a_key_wins(store: Store) -> None:
    stored = store.commit([reading("d1", 1, sig="one"), reading("d1", 1, sig="two")], [])
    assert [r.sig for r in stored] == ["one"]
    assert [r.sig for r in _all(store)] == ["one"]


def test_values_round_trip_exactly(store: Store) -> None:
    impulse = {
        "arrival_time": "2026-11-25T02:13:07.123456789Z",
        "peak_db": 131.5,
        "classes": {"gunshot": 0.91, "fireworks": 0.05, "impulsive_other": 0.04},
        "duration_ms": 2.0,
    }
    counter = {"in": 12, "out": 0, "interval_s": 60, "line": "Noord\u00e9 \u2192 \x00gate"}
    store.commit(
        [
            reading("ac", 1, kind="acoustic_impulse", values=impulse),
            reading("pc", 1, kind="people_count", values=counter),
            reading("pw", 1, kind="power", values={"on": False, "voltage_v": 0}),
        ],
        [],
    )
    got = {r.device: r.values for r in _all(store)}
    assert got == {"ac": impulse, "pc": counter, "pw": {"on": False, "voltage_v": 0}}
    assert isinstance(got["pw"]["voltage_v"], int) and isinstance(got["ac"]["duration_ms"], float)


def test_dead_letter_with_nul_and_broken_text_does_not_lose_the_batch(store: Store) -> None:
    # Rejected input ends up in a dead letter as it came: a NUL byte, or a lone surrogate that
    # JSON can escape ("\udc80"). Storing it must not fail the batch's good readings.
    raw = 'garbage \x00{"device": "iz-\udc80ac-01"} tail'
    letters = [
        dead_letter("malformed", payload=raw),
        dead_letter("malformed", device_id="\ud800x", seq=None, payload="{}"),
    ]
    stored = store.commit([reading("d1", 1)], letters)
    assert _keys(stored) == [("d1", 1)]
    first, second = store.list_dead_letters()
    assert first.payload.startswith("garbage ") and first.payload.endswith('ac-01"} tail')
    assert '{"device": "iz-' in first.payload
    assert second.device is not None and second.device.endswith("x")


def test_existing_returns_sig_and_received_time_of_stored_keys_only(store: Store) -> None:
    store.commit(
        [reading("d1", 1, sig="s1", received_us=111), reading("d2", 5, sig="s5", received_us=555)],
        [],
    )
    assert store.existing([("d1", 1), ("d1", 2), ("d2", 5), ("d3", 1)]) == {
        ("d1", 1): ExistingReading("s1", 111),
        ("d2", 5): ExistingReading("s5", 555),
    }
    assert store.existing([]) == {}


def test_existing_answers_large_lookups_across_devices(store: Store) -> None:
    store.commit([reading(f"d{s % 3}", s) for s in range(1200)], [])
    asked = [(f"d{s % 3}", s) for s in range(0, 2400, 2)]  # half stored, half not
    found = store.existing(asked)
    assert set(found) == {(f"d{s % 3}", s) for s in range(0, 1200, 2)}
    assert found[("d2", 2)].sig == "sig-d2-2"


# --- queries ---------------------------------------------------------------------------------
@pytest.fixture
def district(store: Store) -> Store:
    """Readings of three agencies: 5 police, 3 municipality, 2 water board (no area)."""
    police = [reading("ac", s, agency="police", area="international-zone") for s in range(1, 6)]
    crowd = [
        reading("pc", s, kind="people_count", values={"occupancy": s * 100},
                agency="municipality", area="malieveld")
        for s in range(1, 4)
    ]  # fmt: skip
    water = [
        reading("wg", s, kind="water_level", values={"level_cm_nap": 231.0},
                agency="waterboard", area=None)
        for s in range(1, 3)
    ]  # fmt: skip
    store.commit(police + crowd + water, [])
    return store


def test_query_filters_by_device_kind_and_area(district: Store) -> None:
    assert _keys(_all(district, device="ac")) == [("ac", s) for s in range(1, 6)]
    assert _keys(_all(district, kind="people_count")) == [("pc", 1), ("pc", 2), ("pc", 3)]
    assert _keys(_all(district, area="malieveld")) == [("pc", 1), ("pc", 2), ("pc", 3)]
    assert _all(district, area="nowhere") == []
    assert _all(district, device="ac", kind="water_level") == []


def test_query_time_range_includes_since_and_excludes_until(district: Store) -> None:
    got = _all(district, since_us=T0_US + 2_000_000, until_us=T0_US + 4_000_000)
    assert sorted(_keys(got)) == [("ac", 2), ("ac", 3), ("pc", 2), ("pc", 3), ("wg", 2)]
    assert _keys(_all(district, device="ac", since_us=T0_US + 5_000_000)) == [("ac", 5)]
    assert _all(district, until_us=T0_US + 1_000_000) == []


def test_query_limits_to_agencies(district: Store) -> None:
    got = _all(district, agencies=frozenset({"police", "waterboard"}))
    assert {r.agency for r in got} == {"police", "waterboard"}
    assert len(got) == 7
    assert _all(district, agencies=frozenset()) == []
    assert _all(district, agencies=frozenset({"fire-brigade"})) == []
    assert len(_all(district, agencies=None)) == 10


def test_query_pages_in_id_order_with_after_id(district: Store) -> None:
    seen: list[StoredReading] = []
    after = 0
    while page := district.query_readings(ReadingQuery(after_id=after, limit=3)):
        assert len(page) <= 3
        seen.extend(page)
        after = page[-1].id or 0
    ids = [r.id for r in seen]
    assert len(seen) == 10 == district.count_readings()
    assert ids == sorted(ids) and len(set(ids)) == 10  # type: ignore[type-var]
    assert seen == _all(district)


def test_count_readings(district: Store) -> None:
    assert district.count_readings() == 10
    district.commit([reading("ac", 6)], [])
    assert district.count_readings() == 11


# --- dead letters ----------------------------------------------------------------------------
def test_list_dead_letters_filters_and_pages(store: Store) -> None:
    store.commit(
        [],
        [
            dead_letter("bad_signature", device_id="d1"),
            dead_letter("replay", device_id="d2"),
            dead_letter("malformed", device_id=None, seq=None, payload="{not json"),
            dead_letter("replay", device_id="d1"),
            dead_letter("unknown_device", device_id="d3"),
        ],
    )
    every = store.list_dead_letters()
    assert [d.reason for d in every] == [
        "bad_signature", "replay", "malformed", "replay", "unknown_device",
    ]  # fmt: skip
    assert [d.reason for d in store.list_dead_letters(device="d1")] == ["bad_signature", "replay"]
    assert [d.device for d in store.list_dead_letters(reason="replay")] == ["d2", "d1"]
    assert [d.reason for d in store.list_dead_letters(device="d1", reason="replay")] == ["replay"]
    assert [d.device for d in store.list_dead_letters(devices=frozenset({"d2", "d3"}))] == [
        "d2",
        "d3",
    ]
    assert store.list_dead_letters(devices=frozenset()) == []
    page = store.list_dead_letters(after_id=every[1].id or 0, limit=2)
    assert page == every[2:4]
    assert every[2].payload == "{not json" and every[2].device is None


# --- failures --------------------------------------------------------------------------------
def test_closed_store_raises_storage_error(store: Store) -> None:
    store.commit([reading("d1", 1)], [])
    store.close()
    store.close()  # closing twice is harmless
    with pytest.raises(StorageError, match="closed"):
        store.commit([reading("d1", 2)], [dead_letter()])
    with pytest.raises(StorageError):
        store.query_readings(ReadingQuery())
    with pytest.raises(StorageError):
        store.ping()


def test_closed_store_loses_nothing_already_committed(
    store: Store, reopen: Callable[[], Store]
) -> None:
    store.commit([reading("d1", 1), reading("d1", 2)], [dead_letter()])
    store.close()
    other = reopen()
    other.ping()
    assert other.count_readings() == 2
    assert len(other.list_dead_letters()) == 1


# --- concurrency -----------------------------------------------------------------------------
def test_concurrent_overlapping_commits_store_each_key_once(
    store: Store, reopen: Callable[[], Store]
) -> None:
    """Four writers (two stores, as two processes, two threads each) commit overlapping batches
    in shuffled order: every key is stored once, and exactly one writer reports it."""
    other = reopen()
    rng = random.Random(7)
    results: list[list[StoredReading]] = []
    errors: list[BaseException] = []
    lock = threading.Lock()
    barrier = threading.Barrier(4)

    def write(target: Store, first: int) -> None:
        try:
            mine: list[StoredReading] = []
            for rnd in range(4):
                base = rnd * 3000
                batch = [reading(f"d{s % 7}", base + s) for s in range(first, first + 1500)]
                rng_local = random.Random(first * 31 + rnd)
                rng_local.shuffle(batch)
                barrier.wait(timeout=30)
                mine.extend(target.commit(batch, [dead_letter(seq=first)]))
            with lock:
                results.append(mine)
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)
            barrier.abort()  # the others stop waiting for this writer

    starts = [0, 500, 1000, 1500]
    rng.shuffle(starts)
    threads = [
        threading.Thread(target=write, args=(target, first))
        for target, first in zip([store, other, store, other], starts, strict=True)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == []
    expected = {(f"d{s % 7}", rnd * 3000 + s) for rnd in range(4) for s in range(3000)}
    returned = [k for mine in results for k in _keys(mine)]
    assert len(returned) == len(set(returned)), "a key was reported as inserted twice"
    assert set(returned) == expected
    stored = _all(store)
    assert set(_keys(stored)) == expected and len(stored) == len(expected)
    by_id = {r.id: (r.device, r.seq) for mine in results for r in mine}
    assert by_id == {r.id: (r.device, r.seq) for r in stored}
    assert len(store.list_dead_letters(limit=100)) == 16


def _detection(id: str, *, version: int = 1, **kw: Any) -> Detection:
    base: dict[str, Any] = {
        "id": id,
        "kind": "gunshot",
        "detector": "gunshot",
        "agency": "police",
        "area": "iz",
        "time": "2026-11-25T02:13:07.120000Z",
        "detected_at": "2026-11-25T02:13:08.010000Z",
        "version": version,
        "position": Position(lat=52.0915, lon=4.2925),
        "uncertainty": Ellipse(semi_major_m=3.9, semi_minor_m=2.1, orientation_deg=35.0),
        "probability": 0.93,
        "evidence": ["iz-ac-01:17", "iz-ac-02:9"],
        "sensors": ["iz-ac-01", "iz-ac-02"],
        "details": {"rounds": version},
    }
    return Detection(**{**base, **kw})


def test_detection_round_trips_and_a_newer_version_replaces_it(store: Store) -> None:
    store.put_detection(_detection("g1"))
    assert store.get_detection("g1") == _detection("g1")
    store.put_detection(_detection("g1", version=3))
    assert store.get_detection("g1").details == {"rounds": 3}


def test_an_older_detection_version_never_overwrites_a_newer_one(store: Store) -> None:
    store.put_detection(_detection("g1", version=2))
    store.put_detection(_detection("g1", version=1))  # a redelivered, older message
    assert store.get_detection("g1").version == 2


def test_unknown_detection_raises_not_found(store: Store) -> None:
    with pytest.raises(NotFound):
        store.get_detection("nope")


def test_list_detections_filters_by_kind_area_time_and_agency(store: Store) -> None:
    store.put_detection(_detection("a", time="2026-11-25T02:00:00.000000Z"))
    store.put_detection(_detection("b", time="2026-11-25T03:00:00.000000Z", agency="municipality"))
    store.put_detection(_detection("c", time="2026-11-25T04:00:00.000000Z", kind="fireworks"))
    store.put_detection(_detection("d", time="2026-11-25T05:00:00.000000Z", area=None))

    def ids(**kw: Any) -> list[str]:
        return [d.id for d in store.list_detections(DetectionQuery(**kw))]

    assert ids() == ["a", "b", "c", "d"]
    assert ids(kind="gunshot") == ["a", "b", "d"]
    assert ids(area="iz") == ["a", "b", "c"]
    assert ids(agencies=frozenset({"municipality"})) == ["b"]
    assert ids(agencies=frozenset()) == []
    since = _detection("x", time="2026-11-25T03:00:00.000000Z").time_us
    assert ids(since_us=since, until_us=since + 3600 * 1_000_000) == ["b"]
    assert ids(limit=2) == ["a", "b"]


def _alert(identifier: str, sent_us: int, detection: str = "w-1", version: int = 1) -> StoredAlert:
    xml = f"<alert><identifier>{identifier}</identifier></alert>".encode()
    return StoredAlert(identifier, sent_us, detection, version, "Alert", "zone-a", xml)


def test_cap_alerts_are_kept_once_and_listed_newest_first(store: Store) -> None:
    assert store.put_alert(_alert("sw-w-1-1", 1_000))
    assert not store.put_alert(_alert("sw-w-1-1", 9_999))  # redelivered: not issued twice
    assert store.put_alert(_alert("sw-w-1-2", 2_000, version=2))
    assert store.put_alert(_alert("sw-w-2-1", 3_000, detection="w-2"))
    assert store.get_alert("sw-w-1-1").sent_us == 1_000
    assert store.get_alert("sw-w-1-1").xml.startswith(b"<alert>")
    assert [a.identifier for a in store.list_alerts()] == ["sw-w-2-1", "sw-w-1-2", "sw-w-1-1"]
    assert [a.version for a in store.list_alerts(detection="w-1")] == [2, 1]
    assert [a.identifier for a in store.list_alerts(since_us=1_500, limit=1)] == ["sw-w-2-1"]
    with pytest.raises(NotFound):
        store.get_alert("nope")


# --- incidents (fusion, #7) --------------------------------------------------------------------
@pytest.fixture
def istore(backend: Any, store: Store) -> Store:
    """The store with no incidents (the PostgreSQL contract database is shared by the tests)."""
    if backend.name == "postgresql":
        import psycopg

        with psycopg.connect(backend.url, autocommit=True) as conn:
            conn.execute("TRUNCATE incident_evidence, incidents")
    return store


def _incident(
    id: str, *, version: int = 1, status: str = "new", last_us: int = 1_000, **kw: Any
) -> StoredIncident:
    base: dict[str, Any] = {
        "id": id, "kind": "gunshot", "status": status,
        "open": status in ("new", "acknowledged", "dispatched"), "agency": "police",
        "area": "iz", "first_us": last_us, "last_us": last_us, "version": version,
        "doc": json.dumps({"id": id, "version": version, "detections": []}),
    }  # fmt: skip
    return StoredIncident(**{**base, **kw})


def _join_first(detection: str) -> FuseDecision:
    """A decision that adds ``detection`` to the first candidate, or opens an incident."""

    def decide(
        attached: StoredIncident | None, candidates: list[StoredIncident]
    ) -> StoredIncident | None:
        if attached is not None:
            return None
        if not candidates:
            doc = {"id": f"inc-{detection}", "version": 1, "detections": [detection]}
            return _incident(f"inc-{detection}", doc=json.dumps(doc))
        c = candidates[0]
        doc = json.loads(c.doc)
        doc["detections"].append(detection)
        doc["version"] = c.version + 1
        return dataclasses.replace(c, version=c.version + 1, doc=json.dumps(doc))

    return decide


def test_fuse_incident_opens_then_joins_and_never_takes_a_detection_twice(istore: Store) -> None:
    first = istore.fuse_incident("d1", 0, _join_first("d1"))
    assert first is not None and first.id == "inc-d1" and first.version == 1
    joined = istore.fuse_incident("d2", 0, _join_first("d2"))
    assert joined is not None and joined.id == "inc-d1" and joined.version == 2
    assert istore.fuse_incident("d2", 0, _join_first("d2")) is None  # redelivered
    assert istore.get_incident("inc-d1") == joined
    assert json.loads(istore.get_incident("inc-d1").doc)["detections"] == ["d1", "d2"]
    assert istore.incident_of("d2") == "inc-d1"
    assert istore.incident_of("nope") is None


def test_fuse_incident_offers_what_is_attached_and_only_open_recent_candidates(
    istore: Store,
) -> None:
    istore.fuse_incident("a", 0, lambda _a, _c: _incident("inc-a", last_us=5_000))
    istore.fuse_incident("b", 0, lambda _a, _c: _incident("inc-b", last_us=1_000))
    istore.fuse_incident("c", 0, lambda _a, _c: _incident("inc-c", status="resolved"))
    seen: list[tuple[str | None, list[str]]] = []

    def look(attached: StoredIncident | None, candidates: list[StoredIncident]) -> None:
        seen.append((attached.id if attached else None, [c.id for c in candidates]))

    istore.fuse_incident("a", 0, look)
    istore.fuse_incident("x", 2_000, look)
    assert seen == [("inc-a", ["inc-a", "inc-b"]), (None, ["inc-a"])]


def test_update_incident_is_applied_left_or_rolled_back(istore: Store) -> None:
    istore.fuse_incident("a", 0, lambda _a, _c: _incident("inc-a"))
    acked = istore.update_incident(
        "inc-a", lambda c: dataclasses.replace(c, status="acknowledged", version=c.version + 1)
    )
    assert acked.status == "acknowledged" and istore.get_incident("inc-a") == acked
    assert istore.update_incident("inc-a", lambda c: None) == acked

    def refuse(c: StoredIncident) -> StoredIncident:
        raise ValueError("not allowed")

    with pytest.raises(ValueError, match="not allowed"):
        istore.update_incident("inc-a", refuse)
    assert istore.get_incident("inc-a") == acked
    with pytest.raises(StorageError, match="version"):  # a stale write never lands
        istore.update_incident("inc-a", lambda c: dataclasses.replace(c, version=9))
    with pytest.raises(NotFound):
        istore.update_incident("nope", lambda c: None)
    with pytest.raises(NotFound):
        istore.get_incident("nope")


def test_list_incidents_filters_by_status_area_agency_and_time(istore: Store) -> None:
    for id, status, place, owner, last in [
        ("i1", "new", "iz", "police", 1_000),
        ("i2", "resolved", "iz", "police", 2_000),
        ("i3", "dispatched", "malieveld", "municipality", 3_000),
        ("i4", "new", None, "police", 4_000),
    ]:
        incident = _incident(id, status=status, area=place, agency=owner, last_us=last)
        istore.fuse_incident(id, 0, lambda _a, _c, i=incident: i)  # type: ignore[misc]

    def ids(**kw: Any) -> list[str]:
        return [i.id for i in istore.list_incidents(IncidentQuery(**kw))]

    assert ids() == ["i4", "i3", "i2", "i1"]
    assert ids(open_only=True) == ["i4", "i3", "i1"]
    assert ids(statuses=frozenset({"new"})) == ["i4", "i1"]
    assert ids(area="iz") == ["i2", "i1"]
    assert ids(agencies=frozenset({"municipality"})) == ["i3"]
    assert ids(agencies=frozenset()) == []
    assert ids(since_us=2_000, limit=2) == ["i4", "i3"]


def test_concurrent_fusion_from_two_stores_makes_exactly_one_incident(
    istore: Store, reopen: Callable[[], Store]
) -> None:
    other = reopen()  # a second worker process
    errors: list[BaseException] = []
    barrier = threading.Barrier(4)

    def work(target: Store, names: list[str]) -> None:
        try:
            barrier.wait()
            for name in names:
                target.fuse_incident(name, 0, _join_first(name))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    names = [f"det-{i}" for i in range(40)]
    threads = [
        threading.Thread(target=work, args=(target, names[i::4]))
        for i, target in enumerate([istore, other, istore, other])
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == []
    (only,) = istore.list_incidents(IncidentQuery())
    assert sorted(json.loads(only.doc)["detections"]) == sorted(names)
    assert only.version == len(names)


# --- retention (privacy, #7): purges delete exactly what is older, on every backend ----------
def test_purge_readings_deletes_older_ones_of_one_kind_or_of_all(store: Store) -> None:
    store.commit(
        [
            reading("a", 1, kind="rain", time_us=T0_US - 10, values={"rain_mm": 0.2}),
            reading("a", 2, kind="rain", time_us=T0_US, values={"rain_mm": 0.2}),
            reading("b", 1, time_us=T0_US - 10),
            reading("b", 2, time_us=T0_US + 10),
        ],
        [],
    )
    assert store.purge_readings("rain", T0_US) == 1  # before, not at: T0_US itself stays
    assert _keys(_all(store)) == [("a", 2), ("b", 1), ("b", 2)]
    assert store.purge_readings(None, T0_US + 1) == 2
    assert _keys(_all(store)) == [("b", 2)]
    assert store.purge_readings("rain", T0_US + 1) == 0


def test_purge_readings_in_several_batches(store: Store) -> None:
    store.purge_batch = 4
    store.commit([reading("a", i, time_us=T0_US + i) for i in range(1, 12)], [])
    assert store.purge_readings("temperature", T0_US + 10) == 9
    assert _keys(_all(store)) == [("a", 10), ("a", 11)]


def test_purge_dead_letters_detections_and_alerts_before_a_time(store: Store) -> None:
    store.commit(
        [], [dead_letter(received_us=T0_US - 1, seq=1), dead_letter(received_us=T0_US, seq=2)]
    )
    assert store.purge_dead_letters(T0_US) == 1
    assert [d.seq for d in store.list_dead_letters()] == [2]

    store.put_detection(_detection("old", time="2026-11-25T02:00:00.000000Z"))
    store.put_detection(_detection("new", time="2026-11-25T04:00:00.000000Z"))
    cut = _detection("x", time="2026-11-25T03:00:00.000000Z").time_us
    assert store.purge_detections(cut) == 1
    assert [d.id for d in store.list_detections(DetectionQuery())] == ["new"]

    # Other tests' alerts may share this database (PostgreSQL): count what is before the cut.
    store.put_alert(_alert("purge-old", T0_US - 1))
    store.put_alert(_alert("purge-new", T0_US))
    before = {a.identifier for a in store.list_alerts(limit=100_000) if a.sent_us < T0_US}
    assert "purge-old" in before
    assert store.purge_alerts(T0_US) == len(before)
    left = {a.identifier for a in store.list_alerts(limit=100_000)}
    assert "purge-new" in left and not left & before


def test_purge_incidents_takes_only_closed_ones_past_the_cutoff(istore: Store) -> None:
    istore.fuse_incident("old-open", 0, lambda _a, _c: _incident("inc-oo", last_us=1_000))
    istore.fuse_incident(
        "old-closed", 0, lambda _a, _c: _incident("inc-oc", last_us=1_000, status="resolved")
    )
    istore.fuse_incident(
        "new-closed", 0, lambda _a, _c: _incident("inc-nc", last_us=9_000, status="false_alarm")
    )
    assert istore.purge_incidents(5_000) == 1
    assert istore.incident_of("old-closed") is None  # its evidence link went with it
    with pytest.raises(NotFound):
        istore.get_incident("inc-oc")
    assert istore.get_incident("inc-oo").open and istore.get_incident("inc-nc").id == "inc-nc"
    assert istore.purge_incidents(5_000) == 0


# --- forecast runs (hotspots, #8) --------------------------------------------------------------
@pytest.fixture
def fstore(backend: Any, store: Store) -> Store:
    """The store with no forecast runs (the PostgreSQL contract database is shared)."""
    if backend.name == "postgresql":
        import psycopg

        with psycopg.connect(backend.url, autocommit=True) as conn:
            conn.execute("TRUNCATE forecast_runs")
    return store


def _run(
    id: str, *, agency: str = "police", model: str = "naive_count", day: str = "2026-11-20",
    created_us: int = 1_000,
) -> StoredForecastRun:  # fmt: skip
    doc = json.dumps({"id": id, "agency": agency, "model": model, "cells": [{"cell": 3}]})
    return StoredForecastRun(id, model, agency, day, created_us, doc)


def test_forecast_runs_round_trip_and_are_never_replaced(fstore: Store) -> None:
    run = _run("r1")
    fstore.put_forecast_run(run)
    assert fstore.get_forecast_run("r1") == run
    with pytest.raises(AlreadyExists, match="r1"):
        fstore.put_forecast_run(_run("r1", agency="municipality"))
    assert fstore.get_forecast_run("r1").agency == "police"
    with pytest.raises(NotFound, match="nope"):
        fstore.get_forecast_run("nope")


def test_forecast_runs_list_newest_first_by_day_then_made_and_filter(fstore: Store) -> None:
    fstore.put_forecast_run(_run("old-day", day="2026-11-19", created_us=9_000))
    fstore.put_forecast_run(_run("early", created_us=1_000))
    fstore.put_forecast_run(_run("late", created_us=2_000))
    fstore.put_forecast_run(_run("kde", model="retrospective_kde", created_us=3_000))
    fstore.put_forecast_run(_run("gem", agency="municipality", day="2026-11-21"))
    ids = [r.id for r in fstore.list_forecast_runs()]
    assert ids == ["gem", "kde", "late", "early", "old-day"]
    police = frozenset({"police"})
    assert [r.id for r in fstore.list_forecast_runs(agencies=police, model="naive_count")] == [
        "late", "early", "old-day",
    ]  # fmt: skip
    assert [r.id for r in fstore.list_forecast_runs(agencies=police, limit=1)] == ["kde"]
    assert fstore.list_forecast_runs(agencies=frozenset()) == []
    latest = fstore.latest_forecast_run(agency="police", model="naive_count")
    assert latest is not None and latest.id == "late"
    assert fstore.latest_forecast_run(agency="water-board") is None
    assert fstore.latest_forecast_run().id == "gem"  # type: ignore[union-attr]


def test_list_detections_newest_first_keeps_the_newest_under_a_limit(store: Store) -> None:
    for i in range(5):
        store.put_detection(_detection(f"d{i}", time=f"2026-11-25T02:1{i}:00.000000Z"))
    oldest = store.list_detections(DetectionQuery(limit=2))
    newest = store.list_detections(DetectionQuery(limit=2, newest_first=True))
    assert [d.id for d in oldest] == ["d0", "d1"]
    assert [d.id for d in newest] == ["d4", "d3"]
