from __future__ import annotations

import pytest

from stadswacht.detect.crowd import ZoneOccupancy


def test_occupancy_is_in_minus_out() -> None:
    z = ZoneOccupancy()
    for k, (cin, cout) in enumerate([(30, 5), (20, 10), (5, 15)], start=1):
        assert z.add_line(+1, cin, cout, end_s=60.0 * k, interval_s=60.0, gate="g")
    assert z.occupancy == 25
    assert z.dropped_s == 0


def test_reversed_counter_and_duplicate_interval() -> None:
    z = ZoneOccupancy()
    z.add_line(-1, 2, 12, end_s=60.0, interval_s=60.0, gate="g")  # its "out" is into the zone
    assert z.occupancy == 10
    assert not z.add_line(-1, 2, 12, end_s=60.0, interval_s=60.0, gate="g")  # repeated
    assert z.occupancy == 10


def test_dropped_interval_is_filled_in_and_never_goes_negative() -> None:
    z = ZoneOccupancy()
    z.add_line(+1, 40, 0, end_s=60.0, interval_s=60.0, gate="g")
    sd_before = z.sd
    # The interval 60-120 s is lost; it is filled with the gate's recent net flow (+40).
    z.add_line(+1, 0, 60, end_s=180.0, interval_s=60.0, gate="g")
    assert z.occupancy == pytest.approx(20.0)
    assert z.dropped_s == 60.0
    assert z.sd > sd_before + 10  # the lost interval is owned up to
    # More leave than the estimate holds: the estimate stops at zero.
    z.add_line(+1, 0, 35, end_s=240.0, interval_s=60.0, gate="g")
    assert z.occupancy == 0.0
    # A zone count corrects the drift, and being the better estimate it dominates.
    z.add_occupancy(10, time_s=250.0)
    assert z.occupancy == pytest.approx(10, abs=0.5)
    assert z.sd < 3


def test_a_silent_exit_counter_does_not_fill_the_zone_on_paper() -> None:
    z = ZoneOccupancy()
    z.add_occupancy(200, time_s=0.0)
    for k in range(1, 11):  # a steady through-flow: 30/min in at "a", 30/min out at "b"
        z.add_line(+1, 30, 0, end_s=60.0 * k, interval_s=60.0, gate="a")
        z.add_line(+1, 0, 30, end_s=60.0 * k, interval_s=60.0, gate="b")
    for k in range(11, 21):  # "b" drops out for 10 minutes
        z.add_line(+1, 30, 0, end_s=60.0 * k, interval_s=60.0, gate="a")
    assert z.silent_gates(1200.0) == ("b",)
    occ, sd = z.estimate(1200.0)
    assert occ == pytest.approx(200, abs=1)  # not 500
    assert sd > 100  # but much less certain
    assert z.occupancy == pytest.approx(500)  # the stored sum waits for "b"
    z.add_line(+1, 0, 30, end_s=1260.0, interval_s=60.0, gate="b")  # back, gap filled
    assert z.occupancy == pytest.approx(500 - 300 - 30) and z.silent_gates(1260.0) == ()


def test_zone_counts_alone_are_taken_as_they_are() -> None:
    z = ZoneOccupancy()
    for t, n in [(0.0, 100), (60.0, 150), (120.0, 90)]:
        z.add_occupancy(n, time_s=t)
        assert z.occupancy == n


def test_zone_count_corrects_line_drift() -> None:
    z = ZoneOccupancy()
    z.add_occupancy(100, time_s=0.0)
    for k in range(1, 31):  # the counter misses 10 % of the exits: +1 person per minute drift
        z.add_line(+1, 10, 9, end_s=60.0 * k, interval_s=60.0, gate="g")
    assert z.occupancy == 130
    z.add_occupancy(100, time_s=1800.0)
    assert abs(z.occupancy - 100) < abs(130 - 100) / 2
