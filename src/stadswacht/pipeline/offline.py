"""Detection on a recorded stream: the living-lab evaluator's way through the same stages.

The live worker (:mod:`stadswacht.pipeline.detectors`) feeds each reading as it arrives and
moves event time on with a timer. Here the readings come with the time they reached the
platform (simulated), and the timer is played on that clock: between two readings, event time
moves on in steps of ``tick_s`` exactly as the live timer would move it (the newest reading
time plus the time elapsed since it came). Detections are stamped with the simulated time at
which they were raised, so latency figures mean what they would mean live.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from stadswacht.model import Detection
from stadswacht.pipeline.gunshot import GunshotStage

__all__ = ["detect_recorded"]


def detect_recorded(
    stage: GunshotStage,
    received: Iterable[tuple[float, Mapping[str, Any]]],
    *,
    tick_s: float = 0.2,
    tail_s: float = 10.0,
) -> list[Detection]:
    """Feed ``(received_s, reading)`` pairs, in order of ``received_s`` [s since the Unix
    epoch], through ``stage``; return the last version of every detection raised, in order of
    first raising. ``tail_s`` keeps the timer running after the last reading."""
    latest: dict[str, Detection] = {}
    mark = float("-inf")  # newest event time the stage has seen
    mark_at = 0.0  # when (on the platform's clock) it was seen
    clock = None  # last timer tick

    def keep(found: list[Detection]) -> None:
        for d in found:
            latest[d.id] = d

    def ticks_until(until: float) -> None:
        nonlocal clock
        if clock is None or mark == float("-inf"):
            clock = until
            return
        while clock + tick_s <= until:
            clock += tick_s
            keep(stage.advance(mark + (clock - mark_at), clock))

    last = None
    for at, reading in received:
        ticks_until(at)
        keep(stage.handle(reading, at))
        if stage.watermark > mark:
            mark, mark_at = stage.watermark, at
        last = at
    if last is not None:
        ticks_until(last + tail_s)
    return list(latest.values())
