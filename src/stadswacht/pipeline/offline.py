"""Detection on a recorded stream: the living-lab evaluator's way through the same stages.

The live worker (:mod:`stadswacht.pipeline.detectors`) feeds each reading as it arrives and
moves event time on with a timer. Here the readings come with the time they reached the
platform (simulated), and the timer is played on that clock: between two readings, event time
moves on in steps of ``tick_s`` exactly as the live timer would move it (the newest reading
time plus the time elapsed since it came). Detections are stamped with the simulated time at
which they were raised, so latency figures mean what they would mean live.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Protocol

from stadswacht.model import Detection

__all__ = ["Stage", "detect_recorded"]


class Stage(Protocol):
    """What a detector stage offers (:class:`~stadswacht.pipeline.gunshot.GunshotStage`,
    :class:`~stadswacht.pipeline.crowd.CrowdStage`)."""

    @property
    def watermark(self) -> float: ...

    def handle(self, reading: Mapping[str, Any], at_s: float | None = None) -> list[Detection]: ...

    def advance(self, now_s: float, at_s: float | None = None) -> list[Detection]: ...


def detect_recorded(
    stages: Stage | Sequence[Stage],
    received: Iterable[tuple[float, Mapping[str, Any]]],
    *,
    tick_s: float = 0.2,
    tail_s: float = 10.0,
) -> list[Detection]:
    """Feed ``(received_s, reading)`` pairs, in order of ``received_s`` [s since the Unix
    epoch], through every stage; return the last version of every detection raised, in order
    of first raising. ``tail_s`` keeps the timer running after the last reading."""
    chain = list(stages) if isinstance(stages, Sequence) else [stages]
    latest: dict[str, Detection] = {}
    # Per stage: the newest event time it has seen and when (platform clock) it was seen; the
    # timer moves each stage on from its own mark, as the live worker does.
    marks = [(float("-inf"), 0.0) for _ in chain]
    clock: float | None = None  # last timer tick

    def keep(found: list[Detection]) -> None:
        for d in found:
            latest[d.id] = d

    def ticks_until(until: float) -> None:
        nonlocal clock
        if clock is None:
            clock = until
            return
        while clock + tick_s <= until:
            clock += tick_s
            for stage, (mark, mark_at) in zip(chain, marks, strict=True):
                if mark > float("-inf"):
                    keep(stage.advance(mark + (clock - mark_at), clock))

    last = None
    for at, reading in received:
        ticks_until(at)
        for i, stage in enumerate(chain):
            keep(stage.handle(reading, at))
            if stage.watermark > marks[i][0]:
                marks[i] = (stage.watermark, at)
        last = at
    if last is not None:
        ticks_until(last + tail_s)
    return list(latest.values())
