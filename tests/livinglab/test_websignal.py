"""Post events in the living lab: chatter, a burst and one author's spam are simulated with
ground truth; the web-signal detector finds the burst and not the spam; the score card says so."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

import pytest

from stadswacht.config import Settings
from stadswacht.errors import ScenarioError
from stadswacht.livinglab.evaluate import TARGETS, TRUTH_FOR, score_websignal
from stadswacht.livinglab.scenario import parse_scenario
from stadswacht.livinglab.simulator import TruthEvent, simulate
from stadswacht.pipeline.websignal import evaluate_replayed
from stadswacht.store.base import PostQuery
from stadswacht.store.sqlite import SQLiteStore

POST_EVENTS = """\
  - {type: post_chatter, id: chatter, at: 0s, rate_per_h: 60, authors: 200}
  - {type: post_spam, id: spam, at: 5m, duration: 20m, zone: plaza, topic: fire, posts: 60,
     author: "@one_account"}
  - {type: post_burst, id: burst, at: 35m, duration: 15m, zone: plaza, topic: fight,
     posts: 30, authors: 20, place: Plaza}
"""
START = datetime(2026, 11, 25, 0, 0, tzinfo=UTC)


@pytest.fixture
def scenario(short_text: str):  # type: ignore[no-untyped-def]
    return parse_scenario(short_text + POST_EVENTS, "short+posts")


def test_posts_are_simulated_with_ground_truth_deterministically(scenario) -> None:  # type: ignore[no-untyped-def]
    sim = simulate(scenario, START)
    truth = {t.id: t for t in sim.truth if t.type.startswith("post_")}
    assert {t.type for t in truth.values()} == {"post_burst", "post_spam"}
    assert truth["burst"].zone == "plaza" and truth["burst"].details["authors"] == 20
    assert truth["spam"].details["authors"] == 1
    by = {e: [p for p in sim.posts if p.event == e] for e in ("chatter", "spam", "burst")}
    assert len(by["spam"]) == 60 and len(by["burst"]) == 30 and 30 <= len(by["chatter"]) <= 100
    assert {p.post["author"] for p in by["spam"]} == {"@one_account"}
    assert [p.send_s for p in sim.posts] == sorted(p.send_s for p in sim.posts)
    assert simulate(scenario, START).posts == sim.posts


def test_a_post_event_without_its_topic_is_refused_with_its_line(short_text: str) -> None:
    bad = short_text + "  - {type: post_burst, id: b, at: 5m, zone: plaza}\n"
    with pytest.raises(ScenarioError, match=r"line \d+, field events\[6\]: 'topic' is a required"):
        parse_scenario(bad, "bad")
    unknown = short_text + "  - {type: post_chatter, id: c, at: 0s, zones: [nowhere]}\n"
    with pytest.raises(ScenarioError, match=r"zone 'nowhere' is not in area.zones"):
        parse_scenario(unknown, "bad")


def test_the_replay_finds_the_burst_and_not_the_spam(scenario, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    sim = simulate(scenario, START)
    store = SQLiteStore(tmp_path / "s.db")
    for zone in scenario.zones:
        store.put_area(zone.area)
    gazetteer = tmp_path / "gazetteer.yaml"  # the operator names the test area's zone
    gazetteer.write_text("areas:\n  plaza: [Plaza]\n")
    settings = Settings(env="test", websignal_gazetteer_file=gazetteer)
    platform = SimpleNamespace(settings=settings, store=store)
    try:
        found = evaluate_replayed(platform, sim)
        card = score_websignal(found, sim.truth, scenario.duration_s)
        assert card["detected"] == 1 and card["false_alarms"] == 0, found
        assert card["detections_during_spam"] == 0
        assert 0 < card["time_to_detection_by_burst_s"]["burst"] < 900
        stored = store.list_posts(PostQuery(limit=10_000))
        assert len(stored) == len(sim.posts)
        assert not any("one_account" in p.doc or "witness" in p.doc for p in stored)
    finally:
        store.close()


def test_score_counts_detections_during_spam_and_false_alarms() -> None:
    burst = TruthEvent("b", "post_burst", "2026-11-25T00:35:00Z", "2026-11-25T00:50:00Z",
                       zone="plaza")  # fmt: skip
    spam = TruthEvent("s", "post_spam", "2026-11-25T00:05:00Z", "2026-11-25T00:25:00Z",
                      zone="plaza")  # fmt: skip
    dets = [
        {"zone": "plaza", "time": "2026-11-25T00:34:00Z", "detected_at": "2026-11-25T00:37:00Z"},
        {"zone": "plaza", "time": "2026-11-25T00:10:00Z", "detected_at": "2026-11-25T00:12:00Z"},
        {"zone": "elsewhere", "time": "2026-11-25T00:36:00Z",
         "detected_at": "2026-11-25T00:40:00Z"},
    ]  # fmt: skip
    card = score_websignal(dets, [burst, spam], 3600)
    assert (card["detected"], card["false_alarms"], card["detections_during_spam"]) == (1, 2, 1)
    assert card["time_to_detection_by_burst_s"] == {"b": 120.0}
    assert TARGETS["websignal"] == ("post_burst",) and "post_spam" in TRUTH_FOR["websignal"]
