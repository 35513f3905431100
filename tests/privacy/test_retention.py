"""Retention: after the job runs with a moved clock, nothing past its retention remains and
everything younger does."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from stadswacht.errors import ConfigurationError
from stadswacht.model import Detection, Ellipse, Position
from stadswacht.model.reading import format_epoch
from stadswacht.pipeline import Platform
from stadswacht.privacy.retention import (
    RetentionJob,
    RetentionPolicy,
    policy_from_dict,
    read_retention,
)
from stadswacht.store import SQLiteStore, Store, StoredAlert
from stadswacht.store.base import DetectionQuery, ReadingQuery
from tests.conftest import FakeDevice
from tests.store.factories import dead_letter, reading

DAY = 86_400
NOW = 1_800_000_000.0  # 2027-01-15 [s since the epoch]


def _us(days_ago: float) -> int:
    return int((NOW - days_ago * DAY) * 1_000_000)


def _detection(name: str, days_ago: float) -> Detection:
    return Detection(
        id=name, kind="gunshot", detector="gunshot", agency="police", area="iz",
        time=format_epoch(NOW - days_ago * DAY), detected_at=format_epoch(NOW - days_ago * DAY),
        position=Position(lat=52.09, lon=4.29), probability=0.9,
        uncertainty=Ellipse(semi_major_m=4, semi_minor_m=2, orientation_deg=0),
        evidence=["iz-ac-01:1"], sensors=["iz-ac-01"],
    )  # fmt: skip


def _alert(name: str, days_ago: float) -> StoredAlert:
    return StoredAlert(name, _us(days_ago), "w-1", 1, "Alert", "iz", b"<alert/>")


# (data kind, retention [days]): one record just inside it and one just past it
KEPT_DAYS = {
    "acoustic_impulse": 30,
    "people_count": 90,
    "temperature": 730,
    "heartbeat": 30,
}


@pytest.fixture
def store(tmp_path: Path) -> Store:
    s = SQLiteStore(tmp_path / "retention.db")
    seq = 0
    for kind, days in KEPT_DAYS.items():
        for age in (days - 1, days + 1):
            seq += 1
            s.commit([reading(f"dev-{kind}", seq, kind=kind, time_us=_us(age))], [])
    s.commit([], [dead_letter(received_us=_us(13)), dead_letter(received_us=_us(15))])
    for name, age in (("young", 364), ("old", 366)):
        s.put_detection(_detection(name, age))
        s.put_alert(_alert(f"{name}-alert", age * 5))  # 1820 (kept) and 1830 (past 1826)
    return s


def test_nothing_past_its_retention_remains_and_everything_younger_does(store: Store) -> None:
    deleted = RetentionJob(store, RetentionPolicy(), clock=lambda: NOW).run_once()

    for kind in KEPT_DAYS:
        assert deleted[f"readings.{kind}"] == 1
        ages = [
            (NOW * 1e6 - r.time_us) / 1e6 / DAY
            for r in store.query_readings(ReadingQuery(kind=kind))
        ]
        assert len(ages) == 1 and ages[0] < KEPT_DAYS[kind], kind
    assert deleted["dead_letters"] == 1
    assert [d.received_us for d in store.list_dead_letters()] == [_us(13)]
    assert deleted["detections"] == 1
    assert [d.id for d in store.list_detections(DetectionQuery())] == ["young"]
    assert deleted["alerts"] == 1
    assert [a.identifier for a in store.list_alerts()] == ["young-alert"]

    # A second run finds nothing more; moving the clock on by 2 days takes the next ones.
    assert not any(RetentionJob(store, clock=lambda: NOW).run_once().values())
    later = RetentionJob(store).run_once(now=NOW + 2 * DAY)
    assert later["readings.acoustic_impulse"] == 1 and later["dead_letters"] == 1
    assert later["detections"] == 1 and later["alerts"] == 0


def test_readings_ingested_now_go_when_the_clock_passes_their_retention(
    platform: Platform, make_device: Callable[..., FakeDevice]
) -> None:
    dev = make_device()
    result = platform.ingestor.ingest([dev.reading(), dev.reading(), ["not", "a", "reading"]])
    assert result.accepted == 2 and len(result.rejected) == 1
    job = RetentionJob(platform.store, RetentionPolicy())
    assert not any(job.run_once().values())

    deleted = job.run_once(now=time.time() + 15 * DAY)  # dead letters: 14 days
    assert deleted["dead_letters"] == 1 and platform.store.list_dead_letters() == []
    assert platform.store.count_readings() == 2  # temperature: 730 days

    deleted = job.run_once(now=time.time() + 731 * DAY)
    assert deleted["readings.temperature"] == 2
    assert platform.store.count_readings() == 0


def test_purges_run_in_batches(tmp_path: Path) -> None:
    s = SQLiteStore(tmp_path / "batches.db")
    s.purge_batch = 3
    s.commit([reading("d", i, time_us=_us(40)) for i in range(1, 11)], [])
    s.commit([reading("d", 11, time_us=_us(1))], [])
    assert s.purge_readings(None, _us(30)) == 10
    assert s.count_readings() == 1


def test_a_yaml_file_overrides_the_defaults(tmp_path: Path) -> None:
    path = tmp_path / "retention.yaml"
    path.write_text("readings:\n  people_count: 120\ndead_letters: 7\n")
    policy, meta = read_retention(path)
    assert meta == {"source": str(path)}
    assert policy.reading_days("people_count") == 120
    assert policy.reading_days("acoustic_impulse") == 30  # not named: the default stays
    assert policy.dead_letters == 7 and policy.alerts == 1826


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ({"readings": {"smell": 3}}, "unknown reading kind"),
        ({"websignal_posts": 30}, "unknown data kind"),
        ({"dead_letters": 0}, "positive number of days"),
        ({"detections": "a year"}, "number of days"),
        ([1, 2], "mapping"),
    ],
)
def test_a_bad_policy_says_what_is_wrong(doc: object, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        policy_from_dict(doc)


def test_readings_must_outlive_the_maximum_reading_age() -> None:
    RetentionPolicy().check(max_reading_age_s=7 * DAY)
    with pytest.raises(ConfigurationError, match="replayed reading"):
        policy_from_dict({"readings": {"heartbeat": 5}}).check(max_reading_age_s=7 * DAY)


def test_run_forever_runs_until_cancelled(store: Store) -> None:
    runs: list[dict[str, int]] = []

    class Counting(RetentionJob):
        def run_once(self, now: float | None = None) -> dict[str, int]:
            runs.append(super().run_once(now))
            return runs[-1]

    async def main() -> None:
        task = asyncio.create_task(Counting(store, clock=lambda: NOW).run_forever(0.01))
        while len(runs) < 2:
            await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())
    assert runs[0]["dead_letters"] == 1 and runs[1]["dead_letters"] == 0
