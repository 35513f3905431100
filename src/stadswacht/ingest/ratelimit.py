"""Token buckets per key (device id, client address), thread-safe.

>>> b = TokenBuckets(rate=1.0, burst=2.0, clock=lambda: 0.0)
>>> [b.take("d1") for _ in range(3)]
[True, True, False]
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

__all__ = ["TokenBuckets"]


class TokenBuckets:
    """One token bucket per key: ``rate`` tokens per second, at most ``burst`` saved up."""

    def __init__(
        self, rate: float, burst: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.rate = rate
        self.burst = burst
        self._clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def take(self, key: str, n: float = 1.0) -> bool:
        """Take ``n`` tokens for ``key``; False (and nothing taken) if there are not enough."""
        now = self._clock()
        with self._lock:
            tokens, last = self._buckets.get(key, (self.burst, now))
            tokens = min(self.burst, tokens + (now - last) * self.rate)
            if tokens < n:
                self._buckets[key] = (tokens, now)
                return False
            self._buckets[key] = (tokens - n, now)
            return True

    def retry_after(self, key: str, n: float = 1.0) -> float:
        """Seconds until ``n`` tokens will be there for ``key``."""
        with self._lock:
            tokens, _ = self._buckets.get(key, (self.burst, 0.0))
        return max(0.0, (n - tokens) / self.rate)
