"""What every transport implements, and what a client reports back.

A transport carries one batch to the platform and answers for it: either the platform's answer
per item (:class:`Answer`), or an exception saying the batch was not taken and may be sent
again (:class:`~stadswacht.errors.TransportError`, or :class:`RetryLater` when the platform
named a delay). A transport never retries, never buffers and never signs: the clients do.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, runtime_checkable

from stadswacht.errors import TransportError

__all__ = [
    "RETRYABLE_REASONS",
    "Answer",
    "Item",
    "Rejected",
    "RetryLater",
    "SendReport",
    "Transport",
]

Item = dict[str, Any]
"""One item of a batch: a signed reading, or a gateway envelope."""

RETRYABLE_REASONS = frozenset({"rate_limited", "unavailable"})
"""Per-item reasons that are not final: the item is kept and sent again after a back-off
(``unavailable``: the platform's store is down and it could not check the device yet).

Every other reason (``bad_signature``, ``invalid_values``, ``replay``, ...) is final: sending
the same bytes again can only be rejected again."""


class RetryLater(TransportError):
    """Raised by a transport when the platform refused a whole batch for now (HTTP 429 or 5xx);
    ``retry_after`` is the delay it asked for [s], if any."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


@dataclass(frozen=True, slots=True)
class Rejected:
    """The platform's final word on one reading: its reason code and message.

    ``reason`` is one of the platform's codes (``docs/device-protocol.md``), or
    ``payload_too_large`` when even a single reading exceeded the platform's body limit.
    """

    reading: Item
    reason: str
    message: str


@dataclass(frozen=True, slots=True)
class Answer:
    """What the other side said about a batch, indices into the batch as sent.

    Over HTTP the platform answers per item. Over MQTT only the broker acknowledges
    (``by="broker"``): everything counts as accepted, and rejections show up in the platform's
    dead-letter store instead.
    """

    accepted: int
    duplicates: tuple[int, ...] = ()
    rejected: tuple[tuple[int, str, str], ...] = ()
    """``(index, reason, message)`` per rejected item."""
    by: Literal["platform", "broker"] = "platform"

    @classmethod
    def from_json(cls, doc: Any) -> Answer:
        """Parse the platform's ``{"accepted", "duplicates", "rejected"}`` answer.

        >>> Answer.from_json({"accepted": 1, "duplicates": [], "rejected": [
        ...     {"index": 1, "reason": "replay", "message": "seq 3 was already used"}]}).rejected
        ((1, 'replay', 'seq 3 was already used'),)
        """
        if not isinstance(doc, dict) or not isinstance(doc.get("accepted"), int):
            raise ValueError(f"not an answer to a batch of readings: {str(doc)[:200]}")
        return cls(
            accepted=doc["accepted"],
            duplicates=tuple(int(i) for i in doc.get("duplicates") or ()),
            rejected=tuple(
                (int(r["index"]), str(r["reason"]), str(r.get("message", "")))
                for r in doc.get("rejected") or ()
            ),
        )


@dataclass(slots=True)
class SendReport:
    """What became of the readings a client sent: counts, and the rejected readings."""

    accepted: int = 0
    duplicates: int = 0
    rejected: list[Rejected] = field(default_factory=list)
    pending: int = 0
    """Readings still waiting to be sent (in the buffer) when the report was made."""

    def add(self, other: SendReport) -> None:
        """Fold ``other`` (a later round) into this report."""
        self.accepted += other.accepted
        self.duplicates += other.duplicates
        self.rejected.extend(other.rejected)
        self.pending = other.pending

    @property
    def answered(self) -> int:
        """Readings the platform has answered for, one way or another."""
        return self.accepted + self.duplicates + len(self.rejected)


@runtime_checkable
class Transport(Protocol):
    """Carries a batch to the platform; HTTP (:class:`~stadswacht.client.http.HttpTransport`)
    and MQTT (:class:`~stadswacht.client.mqtt.MqttTransport`) implement it."""

    def send(self, items: Sequence[Item]) -> Answer:
        """Deliver ``items`` (signed readings, or one gateway envelope) in one batch.

        Raises:
            RetryLater: the platform refused the batch for now; send it again later.
            TransportError: the platform (or broker) could not be reached or did not confirm;
                the batch may or may not have arrived, so send the same bytes again.
            PayloadTooLarge: the batch is too large; send fewer items at a time.
        """
        ...

    def close(self) -> None:
        """Release connections; ``send`` may open them again."""
        ...
