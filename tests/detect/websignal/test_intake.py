"""The intake and the stage: posts are pseudonymised before anything is kept, a bad post does
not lose its batch, a burst becomes a detection with pseudonymised examples, and the retention
job drops posts and their pseudonyms."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from stadswacht.config import Settings
from stadswacht.detect.websignal.annotate import KeywordOnly
from stadswacht.detect.websignal.connectors import read_feed, read_jsonl
from stadswacht.model import Area
from stadswacht.pipeline import Platform
from stadswacht.pipeline.detectors import publish_detections
from stadswacht.pipeline.offline import detect_recorded
from stadswacht.pipeline.websignal import PostIntake, WebsignalStage
from stadswacht.privacy.retention import RetentionJob, RetentionPolicy
from stadswacht.store.base import PostQuery

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "websignal"
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
PEACE = Area(
    id="peace-palace",
    name="Vredespaleis",
    agency="municipality",
    polygon=((4.2920, 52.0860), (4.2990, 52.0860), (4.2990, 52.0895), (4.2920, 52.0895)),
)
T = "2026-11-25T21:{:02d}:{:02d}Z"


class Words:
    """A tiny fake classifier: relevant when a text has an alarm word (not the real model)."""

    ALARM = ("brand", "rook", "fire", "smoke", "fight", "vechtpartij")

    def classify(self, texts, langs=None):  # type: ignore[no-untyped-def]
        from stadswacht.detect.websignal.classify import PostClass

        out = []
        for t in texts:
            hit = any(w in t.lower() for w in self.ALARM)
            out.append(
                PostClass(hit, 0.9 if hit else 0.1, "caution_advice" if hit else "not_related", 0.8)
            )
        return out


@pytest.fixture
def wired(platform: Platform, settings: Settings) -> Iterator[tuple[Platform, PostIntake]]:
    for area in (MALIEVELD, KOEKAMP, PEACE):
        platform.store.put_area(area)
    stage = WebsignalStage(areas=platform.store.list_areas)
    intake = PostIntake.from_settings(settings, platform.store, classifier=Words(), stage=stage)
    yield platform, intake


def _every_text(db: Path) -> list[str]:
    """Every value of every column of every table of the SQLite file, as text."""
    conn = sqlite3.connect(db)
    try:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        return [
            str(v) if not isinstance(v, bytes) else v.decode("utf-8", "replace")
            for t in tables
            for row in conn.execute(f'SELECT * FROM "{t}"')
            for v in row
            if v is not None
        ]
    finally:
        conn.close()


def test_no_raw_author_handle_is_anywhere_in_the_store(
    wired: tuple[Platform, PostIntake], settings: Settings
) -> None:
    platform, intake = wired
    handles = [f"Witness_{i:02d}" for i in range(12)]
    posts = [
        {"id": f"https://x.example/{h}/status/{i}", "author": f"@{h}",
         "text": f"Grote brand bij het Malieveld, zegt @{handles[(i + 1) % 12]}",
         "time": T.format(20 * i // 60, 20 * i % 60), "place": f"Malieveld @{h}"}
        for i, h in enumerate(handles)
    ]  # fmt: skip
    result = intake.ingest(posts, "push-test")
    assert len(result.accepted) == 12 and not result.rejected
    assert result.detections, "12 people about a fire on the Malieveld within 4 min: a burst"
    publish_detections(platform.store, platform.bus, result.detections)
    db = Path(settings.database_url.removeprefix("sqlite:///"))
    cells = "\n".join(_every_text(db)).lower()
    assert "ps:author:" in cells and "@user" in cells  # the posts are there, pseudonymised
    for h in handles:
        assert h.lower() not in cells, f"{h} found in the store"
    assert "x.example" not in cells


def test_a_real_burst_is_a_detection_with_pseudonymised_examples(
    wired: tuple[Platform, PostIntake],
) -> None:
    _, intake = wired
    posts = [
        {"author": f"@p{i}", "text": f"Rook bij het Malieveld @p{i + 1}", "time": T.format(i, 0)}
        for i in range(8)
    ]
    d = intake.ingest(posts, "push-test").detections[-1]
    assert d.kind == "websignal" and d.area == "malieveld" and d.agency == "municipality"
    assert d.classification == "TLP:AMBER" and d.time == "2026-11-25T21:00:00.000000Z"
    assert d.details["authors"] == 8 and d.details["info_type"] == "caution_advice"
    examples = d.details["examples"]
    assert [e["author"] for e in examples] == ["author-1", "author-2", "author-3"]
    assert all("@p" not in e["text"] and "@user" in e["text"] for e in examples)
    assert all(e.startswith("ps:post:") for e in d.evidence) and len(d.evidence) == 8
    assert "8 people posting" in d.summary_en()
    expected = d.details["expected_authors"]
    assert f"(normally {expected:.1f} in 15 min)" in d.summary_en()
    nl = d.details["summary_nl"]  # Dutch writes a decimal comma
    assert nl.startswith("websignalen: 8 mensen posten over")
    assert f"(normaal {expected:.1f} per 15 min)".replace(".", ",") in nl


def test_single_author_spam_gives_no_detection_on_the_simulated_clock(
    wired: tuple[Platform, PostIntake], platform: Platform
) -> None:
    _, intake = wired
    spam = [
        {"author": "@alarm", "text": f"Vechtpartij bij het Vredespaleis! ({i})",
         "time": T.format(i // 6, (i % 6) * 10)}
        for i in range(120)
    ]  # fmt: skip
    result = intake.ingest(spam, "push-test")
    assert len(result.accepted) == 120 and result.detections == []
    stage = WebsignalStage(areas=platform.store.list_areas)
    docs = [(p.time_us / 1e6 + 5, p.as_doc()) for _, p in result.accepted]
    assert detect_recorded([stage], docs, tick_s=5.0) == []


def test_one_bad_post_of_three_is_rejected_and_the_others_kept(
    wired: tuple[Platform, PostIntake], platform: Platform
) -> None:
    _, intake = wired
    batch = [
        {"author": "@a", "text": "Brand bij de Koekamp", "time": T.format(1, 0)},
        {"author": "@b", "text": "Brand", "time": "gisteren"},
        {"author": "@c", "text": "Concert", "time": T.format(1, 5), "position": [4.3, 52.0]},
    ]
    result = intake.ingest(batch, "push-test")
    assert [i for i, _ in result.accepted] == [0, 2]
    assert [(r.index, r.reason) for r in result.rejected] == [(1, "bad_time")]
    stored = platform.store.list_posts(PostQuery())
    assert [(p.area, p.relevant) for p in stored] == [("koekamp", True), (None, False)]
    again = intake.ingest(batch, "push-test")
    assert again.duplicates == 2 and len(platform.store.list_posts(PostQuery())) == 2
    # Sent again, nothing is stored again: none accepted, two duplicates, one rejected.
    answer = again.as_dict()
    assert (answer["accepted"], answer["duplicates"], len(answer["rejected"])) == (0, 2, 1)
    assert result.as_dict()["accepted"] == 2 and result.as_dict()["duplicates"] == 0


def test_rss_and_jsonl_replay_through_the_intake(wired: tuple[Platform, PostIntake]) -> None:
    _, intake = wired
    items, _ = read_feed(FIXTURES / "feed.rss")
    rss = intake.ingest(items, "omroep-test")
    assert len(rss.accepted) == 3
    areas = [(p.area, p.located_by) for _, p in rss.accepted]
    assert areas == [("malieveld", "text"), ("koekamp", "position"), (None, None)]
    assert "jan_den_haag" not in rss.accepted[0][1].model_dump_json()
    lines, _ = read_jsonl(FIXTURES / "posts.jsonl")
    replay = intake.ingest(lines, "replay")
    assert [(r.index, r.reason) for r in replay.rejected] == [(2, "bad_json"), (4, "missing_field")]
    assert [p.area for _, p in replay.accepted] == ["peace-palace", "peace-palace", None]


def test_keyword_layer_alone_when_no_classifier(platform: Platform, settings: Settings) -> None:
    platform.store.put_area(MALIEVELD)
    intake = PostIntake.from_settings(settings, platform.store, classifier=KeywordOnly())
    r = intake.ingest(
        [{"author": "a", "text": "Rookwolk boven het Malieveld", "time": T.format(0, 0)},
         {"author": "b", "text": "Mooi concert op het Malieveld", "time": T.format(0, 1)}],
        "k",
    )  # fmt: skip
    got = [(p.relevant, p.info_type, p.keywords) for _, p in r.accepted]
    assert got == [(True, "caution_advice", ("fire:rookwolk",)), (False, "not_related", ())]


def test_retention_drops_posts_and_their_pseudonyms_after_seven_days(
    wired: tuple[Platform, PostIntake], platform: Platform
) -> None:
    _, intake = wired
    intake.ingest([{"author": "@x", "text": "Brand", "time": T.format(0, 0)}], "push-test")
    t_post = platform.store.list_posts(PostQuery())[0].time_us / 1e6
    job = RetentionJob(platform.store, RetentionPolicy())
    assert job.run_once(now=t_post + 6.9 * 86_400)["posts"] == 0
    assert job.run_once(now=t_post + 7.1 * 86_400)["posts"] == 1
    assert platform.store.list_posts(PostQuery()) == []


def test_the_service_timer_ends_a_burst_when_posts_stop(
    platform: Platform, settings: Settings
) -> None:
    import asyncio
    from datetime import UTC, datetime, timedelta

    from stadswacht.pipeline.websignal import WebsignalService
    from stadswacht.store.base import DetectionQuery

    platform.store.put_area(MALIEVELD)
    service = WebsignalService(settings, platform.store, platform.bus, tick_s=0.05)
    service.intake.classifier = Words()
    old = datetime.now(UTC) - timedelta(minutes=40)
    posts = [
        {"author": f"@w{i}", "text": "Brand bij het Malieveld",
         "time": (old + timedelta(seconds=30 * i)).strftime("%Y-%m-%dT%H:%M:%SZ")}
        for i in range(8)
    ]  # fmt: skip
    service.emit(service.intake.ingest(posts, "push-test").detections)
    (d,) = platform.store.list_detections(DetectionQuery(kind="websignal"))
    assert d.details["status"] == "active"

    async def run() -> None:
        await service.start()
        await asyncio.sleep(0.3)
        await service.stop()

    asyncio.run(run())
    (d,) = platform.store.list_detections(DetectionQuery(kind="websignal"))
    assert d.details["status"] == "ended" and d.version > 1
