"""Bursts count distinct authors against the area's normal rate: one author posting many times
never makes a burst, many people within minutes do, a busy area's normal traffic does not."""

from __future__ import annotations

import numpy as np

from stadswacht.detect.websignal.burst import BurstDetector, BurstParams, ObservedPost

T0 = 1_800_000_000.0


def _post(i: int, t: float, author: str, area: str = "malieveld", kind: str = "caution_advice"):  # type: ignore[no-untyped-def]
    return ObservedPost(f"p{i}", t, area, author, kind, f"text {i}")


def test_one_author_posting_two_hundred_times_is_no_burst() -> None:
    det = BurstDetector()
    out = [b for i in range(200) for b in det.add(_post(i, T0 + 6 * i, "ps:author:spam"))]
    assert out == [] and det.active == []


def test_four_people_are_never_a_burst_however_quiet_the_area() -> None:
    det = BurstDetector(BurstParams(prior_rate_per_h=0.01, min_authors=5))
    out = [b for i in range(4) for b in det.add(_post(i, T0 + i, f"a{i}"))]
    assert out == []
    assert det.add(_post(4, T0 + 4, "a4"))  # the fifth person is


def test_many_people_within_minutes_make_one_burst_that_grows_and_ends() -> None:
    det = BurstDetector(BurstParams(max_examples=3))
    found = [b for i in range(30) for b in det.add(_post(i, T0 + 20 * i, f"a{i % 20}"))]
    assert found, "30 posts by 20 people in 10 min is a burst"
    assert len({b.id for b in found}) == 1 and [b.version for b in found] == list(
        range(1, len(found) + 1)
    )
    first, last = found[0], found[-1]
    assert first.start_s == T0 and first.authors >= 5 and last.authors == 20
    assert last.p_value < 1e-4 and last.status == "active"
    assert [e["author"] for e in last.examples] == ["author-1", "author-2", "author-3"]
    assert not any(e["author"].startswith("a") and e["author"][1:].isdigit() for e in last.examples)
    ended = det.advance(T0 + 20 * 29 + 900)
    assert [b.status for b in ended] == ["ended"] and det.active == []


def test_types_spread_over_the_area_still_make_a_burst() -> None:
    kinds = ["caution_advice", "affected_people", "infrastructure"]
    det = BurstDetector(BurstParams(prior_rate_per_h=2.0))
    found = [
        b for i in range(12) for b in det.add(_post(i, T0 + 30 * i, f"a{i}", kind=kinds[i % 3]))
    ]
    assert found and sum(found[-1].types.values()) == 12


def test_a_busy_areas_normal_traffic_is_learnt_and_not_a_burst() -> None:
    """120 relevant posts an hour by different people for 12 h: the baseline learns it and no
    window stands out, while the same traffic in a new area is a burst at once."""
    rng = np.random.default_rng(1)
    det = BurstDetector(BurstParams(prior_rate_per_h=2.0))
    times = np.cumsum(rng.exponential(30.0, 12 * 120))
    raised = [
        b for i, t in enumerate(times) for b in det.add(_post(i, T0 + t, f"a{i}", area="station"))
    ]
    late = [b for b in raised if b.start_s > T0 + 6 * 3600]
    assert raised and not late  # learnt within the first hours, quiet afterwards
