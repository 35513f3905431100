"""The evaluator matches detections to ground truth within the scenario's tolerances."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from stadswacht.livinglab import read_scenario, simulate
from stadswacht.livinglab.evaluate import score_detections
from stadswacht.model import format_time, parse_time

SCENARIO = Path(__file__).resolve().parents[2] / "scenarios" / "international_zone.yaml"


def _at(t: str, seconds: float) -> str:
    return format_time(parse_time(t) + timedelta(seconds=seconds))


def test_gunshot_scoring_counts_hits_false_alarms_error_and_latency() -> None:
    sc = read_scenario(SCENARIO)
    sim = simulate(sc, datetime(2026, 11, 25, tzinfo=UTC))
    shot = next(t for t in sim.truth if t.type == "gunshot")
    fireworks = next(t for t in sim.truth if t.type == "fireworks")
    assert shot.position is not None and fireworks.position is not None
    lon, lat = shot.position
    detections = [
        # a hit, 0.0001 deg of latitude (about 11 m) off, raised 2 s later
        {
            "type": "gunshot",
            "time": _at(shot.start, 0.1),
            "position": [lon, lat + 0.0001],
            "detected_at": _at(shot.start, 2.0),
        },
        # the fireworks taken for a gunshot: a false alarm
        {
            "type": "gunshot",
            "time": fireworks.start,
            "position": list(fireworks.position),
            "detected_at": _at(fireworks.start, 1.0),
        },
        # a second detection of the same shot cannot match twice: another false alarm
        {
            "type": "gunshot",
            "time": _at(shot.start, 0.2),
            "position": [lon, lat],
            "detected_at": _at(shot.start, 2.5),
        },
    ]
    card = score_detections(
        "gunshot", detections, sim.truth, sc.section("tolerances"), sc.duration_s
    )
    others = sorted(t.id for t in sim.truth if t.type == "gunshot" and t.id != shot.id)
    assert (card["events"], card["detected"], card["detection_rate"]) == (3, 1, 0.333)
    # The three denominators: true shots found, detections that were shots, error over hits.
    assert (card["detections"], card["precision"]) == (3, 0.333)
    assert card["false_alarms"] == 2
    assert card["false_alarms_per_hour"] == round(2 / (sc.duration_s / 3600), 3)
    assert 10 < card["localisation_error_m"]["median"] < 12
    assert card["localisation_error_m"]["n"] == 1
    assert card["latency_s"]["median"] == 2.0
    assert card["decision_delay_s"] is None  # these detections do not say
    assert card["missed"] == others


def test_outside_the_tolerance_is_a_miss_and_a_false_alarm() -> None:
    sc = read_scenario(SCENARIO)
    sim = simulate(sc, datetime(2026, 11, 25, tzinfo=UTC))
    shot = next(t for t in sim.truth if t.type == "gunshot")
    assert shot.position is not None
    far = [shot.position[0] + 0.01, shot.position[1]]  # about 700 m east
    card = score_detections(
        "gunshot",
        [{"type": "gunshot", "time": shot.start, "position": far}],
        sim.truth,
        sc.section("tolerances"),
        sc.duration_s,
    )
    every = sorted(t.id for t in sim.truth if t.type == "gunshot")
    assert (card["detection_rate"], card["false_alarms"], card["missed"]) == (0.0, 1, every)
    assert card["precision"] == 0.0
    assert card["localisation_error_m"] is None


def test_decision_delay_is_summarised_where_detections_give_it() -> None:
    sc = read_scenario(SCENARIO)
    sim = simulate(sc, datetime(2026, 11, 25, tzinfo=UTC))
    shots = [t for t in sim.truth if t.type == "gunshot"]
    detections = [
        {"type": "gunshot", "time": t.start, "position": list(t.position or ()),
         "decision_delay_s": delay}
        for t, delay in zip(shots, [0.5, 1.0, 3.0], strict=True)
    ]  # fmt: skip
    card = score_detections("gunshot", detections, sim.truth, {}, sc.duration_s)
    assert card["detection_rate"] == 1.0 and card["precision"] == 1.0
    assert card["decision_delay_s"]["median"] == 1.0
    assert card["decision_delay_s"]["p95"] == 2.8  # linear interpolation between 1.0 and 3.0
