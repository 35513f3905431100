"""Exponential back-off with full jitter, for reconnecting to the platform.

The n-th retry waits a uniformly random time in ``[0, min(cap, base * 2**n))`` (Brooker,
"Exponential Backoff And Jitter", AWS Architecture Blog, 2015): many sensors that lost the
platform at the same moment (a power cut, a network outage) do not all come back at once.

>>> b = Backoff(base=1.0, cap=30.0, random=lambda: 0.5)
>>> [b.delay(n) for n in range(7)]
[0.5, 1.0, 2.0, 4.0, 8.0, 15.0, 15.0]
>>> b.delay(0, retry_after=12.0)  # the platform's Retry-After is a floor
12.0
"""

from __future__ import annotations

import random as _random
from collections.abc import Callable
from dataclasses import dataclass, field

__all__ = ["Backoff"]


@dataclass(frozen=True, slots=True)
class Backoff:
    """Delays between attempts: exponential, capped, fully jittered.

    Attributes:
        base: the ceiling of the first delay [s].
        cap: no jittered delay exceeds this [s].
        random: a source of uniform numbers in ``[0, 1)``; inject one to make delays repeatable.
    """

    base: float = 0.5
    cap: float = 60.0
    random: Callable[[], float] = field(default=_random.random, repr=False)

    def __post_init__(self) -> None:
        if self.base <= 0 or self.cap < self.base:
            raise ValueError(f"need 0 < base <= cap, got base={self.base}, cap={self.cap}")

    def ceiling(self, attempt: int) -> float:
        """The upper bound of the delay before retry number ``attempt`` (0 = first retry) [s]."""
        # Cap the exponent: 2**1100 overflows a float long before a device gives up.
        return min(self.cap, self.base * 2.0 ** min(attempt, 64))

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        """The time to wait before retry number ``attempt`` [s].

        ``retry_after`` (what the platform asked for, e.g. HTTP ``Retry-After``) is honoured as
        a lower bound, even above ``cap``.
        """
        wait = self.random() * self.ceiling(attempt)
        if retry_after is not None:
            wait = max(wait, retry_after)
        return wait
