"""Batching, sending and retrying, shared by :class:`~stadswacht.client.device.DeviceClient` and
:class:`~stadswacht.client.gateway.GatewayClient`.

Every reading is queued first (:mod:`stadswacht.client.buffer`) and leaves the queue only when
the platform has answered for it: accepted, a duplicate of one it already has, or rejected
for good. A batch goes out when ``batch_size`` readings are queued or the oldest has waited
``batch_interval`` seconds. When the platform cannot be reached (or answers 429/5xx) nothing
leaves the queue; the next attempt waits an exponential, fully jittered back-off
(:class:`~stadswacht.client.backoff.Backoff`) or the platform's ``Retry-After``, and sends
the same readings again, oldest first. A per-item rejection is final and is reported (log,
``on_rejected``, the :class:`~stadswacht.client.base.SendReport`), except ``rate_limited``,
which is kept and sent again after the back-off.
"""

from __future__ import annotations

import logging
import threading
import time
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Callable, Sequence
from pathlib import Path
from types import TracebackType
from typing import Self, TypedDict, Unpack

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from stadswacht.client.backoff import Backoff
from stadswacht.client.base import (
    RETRYABLE_REASONS,
    Answer,
    Item,
    Rejected,
    RetryLater,
    SendReport,
    Transport,
)
from stadswacht.client.buffer import Buffer, Entry, MemoryBuffer, SqliteBuffer
from stadswacht.errors import PayloadTooLarge, TransportError
from stadswacht.model.signing import load_private_key, public_key_b64

__all__ = ["Sender"]

log = logging.getLogger("stadswacht.client")


class Sender(ABC):
    """Queues readings and sends them in batches, in order, retrying until answered.

    Thread-safe: one batch is in flight at a time. Subclasses say how a batch is made from
    the head of the queue (:meth:`_round`).
    """

    def __init__(
        self,
        transport: Transport,
        buffer_path: str | Path | None = None,
        *,
        batch_size: int = 50,
        batch_interval: float = 5.0,
        max_batch: int = 1000,
        backoff: Backoff | None = None,
        on_rejected: Callable[[Rejected], None] | None = None,
        background: bool = False,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        buffer: Buffer | None = None,
    ) -> None:
        if batch_size < 1 or max_batch < 1 or batch_interval < 0:
            raise ValueError("need batch_size >= 1, max_batch >= 1 and batch_interval >= 0")
        self.transport = transport
        if buffer is None:
            buffer = (
                SqliteBuffer(buffer_path, clock=clock) if buffer_path else MemoryBuffer(clock=clock)
            )
        self.buffer = buffer
        self.durable = not isinstance(buffer, MemoryBuffer)
        self.batch_size = batch_size
        self.batch_interval = batch_interval
        self.max_batch = max_batch
        self.backoff = backoff or Backoff()
        self.on_rejected = on_rejected
        self.rejected: deque[Rejected] = deque(maxlen=1000)
        """The latest readings the platform rejected for good (at most 1000), oldest first."""
        self.last_error: TransportError | None = None
        self._clock = clock
        self._monotonic = monotonic
        self._sleep = sleep
        self._lock = threading.RLock()
        self._limit = max_batch  # shrinks if the platform says a batch is too large
        self._failures = 0
        self._retry_at = 0.0
        # A backlog left by an earlier run is due at once.
        self._oldest_at: float | None = float("-inf") if len(self.buffer) else None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        if background:
            self._thread = threading.Thread(
                target=self._run, name=f"stadswacht-client-{id(self):x}", daemon=True
            )
            self._thread.start()

    # --- what a caller uses ------------------------------------------------------------
    @property
    def pending(self) -> int:
        """Readings queued and not yet answered for."""
        with self._lock:
            return len(self.buffer)

    @property
    def failures(self) -> int:
        """Failed attempts in a row (0 after a batch got through)."""
        return self._failures

    @property
    def retry_at(self) -> float:
        """When the next attempt may be made, on the ``monotonic`` clock [s]."""
        return self._retry_at

    def due(self) -> bool:
        """Whether a batch should go out now."""
        with self._lock:
            n = len(self.buffer)
            if n == 0:
                return False
            now = self._monotonic()
            if now < self._retry_at:
                return False
            if self._failures or n >= self.batch_size:
                return True
            oldest = now if self._oldest_at is None else self._oldest_at
            return now - oldest >= self.batch_interval

    def poll(self) -> SendReport | None:
        """Send what is due, if anything; never waits for a back-off to pass.

        Returns None if nothing was due. A client with a buffer file never raises for an
        unreachable platform (the readings wait on disk); one without raises.

        Raises:
            TransportError: the platform could not be reached and there is no buffer file;
                the readings stay in memory for the next attempt.
        """
        with self._lock:
            if not self.due():
                return None
            return self._drain(raise_errors=not self.durable)

    def flush(self, timeout: float | None = 30.0) -> SendReport:
        """Send everything queued now, waiting out back-offs, until the queue is empty.

        Args:
            timeout: give up after this long [s]; None waits as long as it takes.

        Raises:
            TransportError: the queue could not be emptied in time; what is left stays queued.
        """
        deadline = None if timeout is None else self._monotonic() + timeout
        report = SendReport()
        first = True
        while True:
            with self._lock:
                if not len(self.buffer):
                    break
                wait = 0.0 if first else self._retry_at - self._monotonic()
            if wait > 0:
                if deadline is not None and self._monotonic() + wait > deadline:
                    raise TransportError(self._gave_up(timeout))
                self._sleep(wait)
            first = False
            with self._lock:
                report.add(self._drain(raise_errors=False))
        report.pending = self.pending
        return report

    def close(self, flush_timeout: float = 5.0) -> None:
        """Try to send what is queued (for at most ``flush_timeout`` seconds), then close the
        transport and the buffer. Readings left in a buffer file are sent by the next run."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        try:
            if self.pending:
                self.flush(flush_timeout)
        except TransportError as exc:
            where = "kept in the buffer file" if self.durable else "LOST (no buffer file)"
            log.warning("closing with %d readings unsent, %s: %s", self.pending, where, exc)
        finally:
            self.transport.close()
            self.buffer.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # --- queueing and sending ------------------------------------------------------------
    def _queue(self, items: Sequence[Item]) -> None:
        with self._lock:
            if self._oldest_at is None:
                self._oldest_at = self._monotonic()
            self.buffer.append(items)

    def _run(self) -> None:
        period = max(0.05, min(1.0, self.batch_interval / 2))
        while not self._stop.wait(period):
            try:
                self.poll()
            except TransportError:
                pass  # logged by _fail and kept in last_error; the readings stay queued
            except Exception:  # keep the loop alive
                log.exception("background send failed")

    def _drain(self, *, raise_errors: bool) -> SendReport:
        """Send batches from the head until the queue is empty or an attempt fails."""
        report = SendReport()
        while len(self.buffer):
            try:
                part, held = self._round(self._limit)
            except PayloadTooLarge as exc:
                if self._limit > 1:
                    self._limit = max(1, self._limit // 2)
                    log.info("a batch was refused as too large; sending %d at a time", self._limit)
                    self._shrink()
                else:
                    report.add(self._drop_head(f"too large for the platform: {exc}"))
                continue
            except TransportError as exc:
                self._fail(exc)
                if raise_errors:
                    raise TransportError(
                        f"{exc}; {len(self.buffer)} readings kept in memory for the next attempt"
                    ) from exc
                break
            report.add(part)
            if held:
                self._fail(None, f"platform rate-limited {held} readings")
                break
            self._recovered()
        if not len(self.buffer):
            self._oldest_at = None
        report.pending = len(self.buffer)
        return report

    def _fail(self, exc: TransportError | None, why: str | None = None) -> None:
        hint = exc.retry_after if isinstance(exc, RetryLater) else None
        delay = self.backoff.delay(self._failures, hint)
        self._failures += 1
        self._retry_at = self._monotonic() + delay
        if exc is not None:
            self.last_error = exc
        # One warning per outage, not one per attempt: a sensor may be offline for days.
        log.log(
            logging.WARNING if self._failures == 1 else logging.DEBUG,
            "%s; %d readings queued, attempt %d, next in %.1f s",
            why or exc,
            len(self.buffer),
            self._failures,
            delay,
        )

    def _recovered(self) -> None:
        if self._failures:
            log.info("platform reachable again after %d failed attempts", self._failures)
        self._failures = 0
        self.last_error = None

    def _gave_up(self, timeout: float | None) -> str:
        where = "in the buffer file" if self.durable else "in memory"
        return (
            f"could not send {self.pending} readings within {timeout} s (they stay {where}); "
            f"last error: {self.last_error or 'rate-limited by the platform'}"
        )

    def _settle(
        self, entries: Sequence[Entry], answer: Answer, offset: int = 0
    ) -> tuple[SendReport, list[Entry]]:
        """Apply the platform's answer to the entries sent: drop what is answered for, report
        final rejections, and return the entries to send again (``rate_limited``).

        ``offset`` is the index of the first entry in the answer (a gateway's readings are
        numbered after the envelope).
        """
        report = SendReport()
        reasons = {i - offset: (reason, msg) for i, reason, msg in answer.rejected}
        dups = {i - offset for i in answer.duplicates}
        done: list[int] = []
        held: list[Entry] = []
        for k, entry in enumerate(entries):
            if k in reasons:
                reason, message = reasons[k]
                if reason in RETRYABLE_REASONS:
                    held.append(entry)
                    continue
                self._rejected(report, Rejected(entry.item, reason, message))
            elif k in dups:
                report.duplicates += 1
            else:
                report.accepted += 1
            done.append(entry.id)
        self.buffer.remove(done)
        return report, held

    def _rejected(self, report: SendReport, rejection: Rejected) -> None:
        r = rejection.reading
        log.warning(
            "reading %s #%s rejected (%s): %s",
            r.get("device"),
            r.get("seq"),
            rejection.reason,
            rejection.message,
        )
        report.rejected.append(rejection)
        self.rejected.append(rejection)
        if self.on_rejected is not None:
            try:
                self.on_rejected(rejection)
            except Exception:
                log.exception("on_rejected callback failed")

    def _drop_head(self, message: str) -> SendReport:
        report = SendReport()
        head = self.buffer.head(1)
        if head:
            self._rejected(report, Rejected(head[0].item, "payload_too_large", message))
            self.buffer.remove([head[0].id])
        return report

    # --- what a client variant says ----------------------------------------------------------
    @abstractmethod
    def _round(self, limit: int) -> tuple[SendReport, int]:
        """Send one batch of at most ``limit`` readings from the head of the queue.

        Returns the report and how many readings were held back to send again.
        Raises what :meth:`Transport.send` raises, with the queue unchanged.
        """

    def _shrink(self) -> None:  # noqa: B027 - a hook; readings signed one by one need nothing
        """Called after the platform refused a batch as too large, before a smaller one."""


class SenderOptions(TypedDict, total=False):
    """The batching, retry and buffering options every client takes (see :class:`Sender`)."""

    batch_size: int
    batch_interval: float
    max_batch: int
    backoff: Backoff | None
    on_rejected: Callable[[Rejected], None] | None
    background: bool
    clock: Callable[[], float]
    monotonic: Callable[[], float]
    sleep: Callable[[float], None]
    buffer: Buffer | None


class SigningSender(Sender):
    """A :class:`Sender` that holds an Ed25519 private key: the device and gateway clients."""

    def __init__(
        self,
        private_key: Ed25519PrivateKey | str,
        transport: Transport,
        buffer_path: str | Path | None = None,
        **options: Unpack[SenderOptions],
    ) -> None:
        self._key = load_private_key(private_key) if isinstance(private_key, str) else private_key
        super().__init__(transport, buffer_path, **options)

    @property
    def public_key(self) -> str:
        """The public key (base64url): what the platform registers."""
        return public_key_b64(self._key)
