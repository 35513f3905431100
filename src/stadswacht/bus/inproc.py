"""The embedded bus: in-process queues, no broker. Thread-safe publish, asyncio subscribers.

Messages live only in memory: a subscriber sees what is published while it is subscribed.
Durable consumers of the same name share the messages round-robin; a message not acknowledged
within ``ack_wait`` is delivered again.
"""

from __future__ import annotations

import asyncio
import itertools
import threading
from collections.abc import Sequence

from stadswacht.bus.base import Bus, Message, QueueSubscription, Subscription, subject_matches
from stadswacht.errors import BusError

__all__ = ["InprocBus"]


class _InprocSubscription(QueueSubscription):
    def __init__(self, bus: InprocBus, subject: str, durable: str | None, ack_wait: float) -> None:
        self.bus = bus
        self.subject = subject
        self.durable = durable
        self.ack_wait = ack_wait
        super().__init__()
        # token -> (redelivery timer, subject, data, msg_id) of each unacknowledged message
        self._pending: dict[str, tuple[asyncio.TimerHandle, str, bytes, str]] = {}

    def deliver(self, subject: str, data: bytes, msg_id: str, redelivered: bool = False) -> None:
        """Called from any thread: hand one message to this subscriber's loop."""
        if self.closed:
            return
        try:
            self.loop.call_soon_threadsafe(self._put, subject, data, msg_id, redelivered)
        except RuntimeError:  # the loop is closed: the subscriber is gone
            self.closed = True

    def _put(self, subject: str, data: bytes, msg_id: str, redelivered: bool) -> None:
        if self.closed:
            return
        token = f"{msg_id}#{next(self.bus._tokens)}"

        async def ack() -> None:
            pending = self._pending.pop(token, None)
            if pending is not None:
                pending[0].cancel()

        def expire() -> None:
            if self._pending.pop(token, None) is not None and not self.closed:
                self._put(subject, data, msg_id, True)

        handle = self.loop.call_later(self.ack_wait, expire)
        self._pending[token] = (handle, subject, data, msg_id)
        self.queue.put_nowait(Message(subject, data, msg_id, redelivered, ack))

    async def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        pending = list(self._pending.values())
        self._pending.clear()
        for handle, *_ in pending:
            handle.cancel()
        self.bus._remove(self)
        self.queue.put_nowait(None)
        if self.durable is not None:
            # What this member had not acknowledged goes to the rest of its group.
            for _, subject, data, msg_id in pending:
                self.bus._hand_over(self, subject, data, msg_id)


class InprocBus(Bus):
    """A :class:`Bus` inside one process.

    >>> import asyncio
    >>> async def demo():
    ...     bus = InprocBus()
    ...     sub = await bus.subscribe("stadswacht.readings.>")
    ...     bus.publish([("stadswacht.readings.iz.power", b"{}", "d1:1")])
    ...     msg = await sub.__anext__()
    ...     await msg.ack()
    ...     await bus.close()
    ...     return msg.msg_id
    >>> asyncio.run(demo())
    'd1:1'
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._subs: list[_InprocSubscription] = []
        self._rr: dict[str, itertools.count[int]] = {}
        self._tokens = itertools.count()
        self._closed = False

    def publish(self, items: Sequence[tuple[str, bytes, str]]) -> None:
        if self._closed:
            raise BusError("the bus is closed")
        with self._lock:
            subs = list(self._subs)
        for subject, data, msg_id in items:
            groups: dict[str, list[_InprocSubscription]] = {}
            for sub in subs:
                if not subject_matches(sub.subject, subject):
                    continue
                if sub.durable is None:
                    sub.deliver(subject, data, msg_id)
                else:
                    groups.setdefault(f"{sub.durable}\x00{sub.subject}", []).append(sub)
            for name, members in groups.items():
                counter = self._rr.setdefault(name, itertools.count())
                members[next(counter) % len(members)].deliver(subject, data, msg_id)

    def ping(self) -> None:
        if self._closed:
            raise BusError("the bus is closed")

    async def subscribe(
        self, subject: str, *, durable: str | None = None, ack_wait: float = 30.0
    ) -> Subscription:
        if self._closed:
            raise BusError("the bus is closed")
        sub = _InprocSubscription(self, subject, durable, ack_wait)
        with self._lock:
            self._subs.append(sub)
        return sub

    def _hand_over(self, sub: _InprocSubscription, subject: str, data: bytes, msg_id: str) -> None:
        """Redeliver a message a leaving durable member did not acknowledge to its group."""
        if self._closed:
            return
        with self._lock:
            members = [
                s for s in self._subs if s.durable == sub.durable and s.subject == sub.subject
            ]
        if members:
            counter = self._rr.setdefault(f"{sub.durable}\x00{sub.subject}", itertools.count())
            members[next(counter) % len(members)].deliver(subject, data, msg_id, True)

    def _remove(self, sub: _InprocSubscription) -> None:
        with self._lock:
            if sub in self._subs:
                self._subs.remove(sub)

    async def close(self) -> None:
        self._closed = True
        with self._lock:
            subs = list(self._subs)
        for sub in subs:
            await sub.close()
