"""The publish/subscribe interface: in-process by default, NATS JetStream when scaled out.

Subjects are dot-separated tokens; a filter may use ``*`` for one token and ``>`` for the
rest, as in NATS. Readings travel on ``stadswacht.readings.<area>.<kind>`` (area ``_`` when a
device has none), so consumers can be partitioned by area.

Delivery is at least once: a subscriber acknowledges each message with :meth:`Message.ack`;
one not acknowledged within ``ack_wait`` is delivered again, so consumers must be idempotent
(every message carries a ``msg_id``, for readings ``<device>:<seq>``).
"""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field

__all__ = [
    "DETECTIONS_PREFIX",
    "READINGS_PREFIX",
    "REJECTIONS_PREFIX",
    "Bus",
    "Message",
    "QueueSubscription",
    "Subscription",
    "detection_subject",
    "reading_subject",
    "rejection_subject",
    "subject_matches",
]

READINGS_PREFIX = "stadswacht.readings"
DETECTIONS_PREFIX = "stadswacht.detections"
REJECTIONS_PREFIX = "stadswacht.rejections"
"""Ingest's rejection and duplicate events, ``stadswacht.rejections.<reason>``."""


def detection_subject(area: str | None, kind: str) -> str:
    """The subject a detection (each new version of it) is published on.

    >>> detection_subject("peace-palace", "gunshot")
    'stadswacht.detections.peace-palace.gunshot'
    """
    return f"{DETECTIONS_PREFIX}.{area or '_'}.{kind}"


def reading_subject(area: str | None, kind: str) -> str:
    """The subject a reading is published on.

    >>> reading_subject("international-zone", "temperature")
    'stadswacht.readings.international-zone.temperature'
    >>> reading_subject(None, "power")
    'stadswacht.readings._.power'
    """
    return f"{READINGS_PREFIX}.{area or '_'}.{kind}"


def rejection_subject(reason: str) -> str:
    """The subject ingest publishes a rejection (or ``duplicate``) event on.

    >>> rejection_subject("bad_signature")
    'stadswacht.rejections.bad_signature'
    """
    return f"{REJECTIONS_PREFIX}.{reason}"


def subject_matches(pattern: str, subject: str) -> bool:
    """Whether ``subject`` matches the NATS-style filter ``pattern``.

    >>> subject_matches("stadswacht.readings.*.power", "stadswacht.readings.iz.power")
    True
    >>> subject_matches("stadswacht.>", "stadswacht.readings.iz.power")
    True
    >>> subject_matches("stadswacht.readings.*", "stadswacht.readings.iz.power")
    False
    """
    p = pattern.split(".")
    s = subject.split(".")
    for i, tok in enumerate(p):
        if tok == ">":
            return len(s) > i
        if i >= len(s) or (tok != "*" and tok != s[i]):
            return False
    return len(p) == len(s)


@dataclass(slots=True)
class Message:
    """One delivered message; call :meth:`ack` once it has been handled."""

    subject: str
    data: bytes
    msg_id: str
    redelivered: bool = False
    _ack: Callable[[], Awaitable[None]] | None = field(default=None, repr=False)

    async def ack(self) -> None:
        """Acknowledge: the bus will not deliver this message to this consumer again."""
        if self._ack is not None:
            await self._ack()


class Subscription(ABC):
    """An async iterator of messages; close it (or leave its ``async with``) to stop."""

    def __aiter__(self) -> AsyncIterator[Message]:
        return self

    @abstractmethod
    async def __anext__(self) -> Message: ...

    @abstractmethod
    async def close(self) -> None:
        """Stop receiving; unacknowledged messages of a durable consumer stay on the bus."""

    async def __aenter__(self) -> Subscription:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


class QueueSubscription(Subscription):
    """A subscription fed through an asyncio queue on the subscriber's loop; ``None`` in the
    queue ends the iteration. Both buses hand messages over this way."""

    def __init__(self) -> None:
        self.loop = asyncio.get_running_loop()
        self.queue: asyncio.Queue[Message | None] = asyncio.Queue()
        self.closed = False

    async def __anext__(self) -> Message:
        if self.closed:
            raise StopAsyncIteration
        msg = await self.queue.get()
        if msg is None:
            raise StopAsyncIteration
        return msg


class Bus(ABC):
    """A message bus. ``publish`` may be called from any thread; subscribing is async."""

    @abstractmethod
    def publish(self, items: Sequence[tuple[str, bytes, str]]) -> None:
        """Publish ``(subject, data, msg_id)`` items; returns once the bus has them.

        Thread-safe and blocking. A bus that persists (JetStream) returns after the server has
        stored them, and drops a second publish with the same ``msg_id`` within its window.
        """

    @abstractmethod
    async def subscribe(
        self, subject: str, *, durable: str | None = None, ack_wait: float = 30.0
    ) -> Subscription:
        """Receive messages on subjects matching ``subject``.

        With ``durable``, consumers of the same name share the messages (each goes to one of
        them) and a restarted consumer resumes where the name left off. Without it, the
        subscriber sees messages published from now on.
        """

    @abstractmethod
    def ping(self) -> None:
        """Raise :class:`~stadswacht.errors.BusError` if the bus cannot be reached (blocking)."""

    @abstractmethod
    async def close(self) -> None:
        """Release connections."""
