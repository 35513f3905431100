"""The scaled-out bus: NATS JetStream, shared by N ingest and detector processes.

Every message is stored in one JetStream stream (``STADSWACHT`` over ``stadswacht.>``, file
storage), created or updated on first use. ``publish`` returns once the server has stored the
batch; the ``Nats-Msg-Id`` header carries the ``msg_id``, so a republish within the stream's
duplicate window is dropped by the server and retrying a failed batch is safe.

Subscribers get push consumers with explicit acknowledgement. A durable subscription is a
durable consumer named ``<durable>_<hash of the filter>`` with a deliver group of that name:
every process subscribing with the same ``durable`` and filter takes its share of the messages,
and the consumer keeps its place while none of them is there. Without ``durable`` the
subscriber gets an ephemeral consumer that starts at the next message.

The nats client runs on an event loop in a thread the bus owns, so ``publish`` can be called
from any thread, and subscriptions can be consumed on any event loop: messages are handed to
the subscriber's loop, acknowledgements go back to the bus thread.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import hashlib
import logging
import re
import threading
from collections.abc import Coroutine, Sequence
from typing import Any, TypeVar

import nats.errors
import nats.js.errors
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription as NatsSubscription
from nats.js import JetStreamContext, api

from stadswacht.bus.base import Bus, Message, QueueSubscription, Subscription
from stadswacht.errors import BusError

__all__ = ["DEFAULT_STREAM", "NatsBus"]

log = logging.getLogger(__name__)

DEFAULT_STREAM = "STADSWACHT"
"""Name of the JetStream stream that holds every ``stadswacht.>`` message."""

STREAM_SUBJECTS = ["stadswacht.>"]
MSG_ID_HEADER = "Nats-Msg-Id"
EPHEMERAL_INACTIVE_S = 60.0

_NATS_ERRORS = (nats.errors.Error, OSError)  # OSError covers TimeoutError and refused sockets
_DURABLE_RE = re.compile(r"[A-Za-z0-9_-]{1,200}")

T = TypeVar("T")


def consumer_name(durable: str, subject: str) -> str:
    """The JetStream consumer behind a durable subscription: one per (durable, filter).

    >>> consumer_name("crowd", "stadswacht.readings.*.count")
    'crowd_00cc187c47'
    """
    digest = hashlib.blake2b(subject.encode(), digest_size=5).hexdigest()
    return f"{durable}_{digest}"


class _NatsSubscription(QueueSubscription):
    """Messages arrive on the bus thread and are queued on the subscriber's loop."""

    def __init__(self, bus: NatsBus, subject: str) -> None:
        self.bus = bus
        self.subject = subject
        super().__init__()
        self.sub: NatsSubscription | None = None  # set and used on the bus thread
        self.ephemeral: str | None = None  # consumer to delete on close

    async def on_msg(self, msg: Msg) -> None:
        """Called on the bus thread for every delivered message."""
        if self.closed:
            return  # not acknowledged: JetStream delivers it again after ack_wait
        headers = msg.headers or {}
        try:
            redelivered = msg.metadata.num_delivered > 1
        except (ValueError, IndexError, nats.errors.Error):
            redelivered = False
        bus = self.bus

        async def ack() -> None:
            bus._ack_soon(msg)

        message = Message(msg.subject, msg.data, headers.get(MSG_ID_HEADER, ""), redelivered, ack)
        try:
            self.loop.call_soon_threadsafe(self._put, message)
        except RuntimeError:  # the subscriber's loop is closed: it is gone
            if not self.closed:
                self.closed = True
                self.bus._forget(self)
                self.bus._spawn(self.bus._unbind(self))  # stop taking a share of the group

    def _put(self, message: Message) -> None:
        if not self.closed:
            self.queue.put_nowait(message)

    def stop(self) -> None:
        """Mark closed and wake the iterator; callable from any thread."""
        self.closed = True
        with contextlib.suppress(RuntimeError):  # the subscriber's loop is already closed
            self.loop.call_soon_threadsafe(self.queue.put_nowait, None)

    async def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        self.queue.put_nowait(None)
        self.bus._forget(self)
        if not self.bus.closed:  # else the bus's close unbinds it
            await self.bus._run(self.bus._unbind(self))


class NatsBus(Bus):
    """A :class:`Bus` on NATS JetStream.

    Parameters
    ----------
    url
        ``nats://host:port`` of a server started with JetStream (``nats-server -js``).
    stream
        Name of the stream; it holds the subjects ``stadswacht.>``.
    max_age
        How long the stream keeps a message [s]; the store, not the bus, is the record.
    duplicate_window
        How long a ``msg_id`` is remembered to drop a republish [s].
    max_ack_pending
        Messages a consumer may have delivered but not acknowledged at once.
    timeout
        How long to wait for the server: a batch's acknowledgements, an API call [s].
    connect_timeout
        How long to keep trying to reach the server on first use [s].
    """

    def __init__(
        self,
        url: str,
        *,
        stream: str = DEFAULT_STREAM,
        max_age: float = 24 * 3600.0,
        duplicate_window: float = 120.0,
        max_ack_pending: int = 1000,
        timeout: float = 10.0,
        connect_timeout: float = 5.0,
    ) -> None:
        self.url = url
        self.stream = stream
        self.max_age = max_age
        self.duplicate_window = duplicate_window
        self.max_ack_pending = max_ack_pending
        self.timeout = timeout
        self.connect_timeout = connect_timeout
        self.closed = False
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._subs: set[_NatsSubscription] = set()
        # The following live on the bus thread only.
        self._nc: Client | None = None
        self._js: JetStreamContext | None = None
        self._connecting: asyncio.Lock | None = None
        self._shutting_down = False
        self._publishing: set[asyncio.Task[Any]] = set()
        self._background: set[asyncio.Task[Any]] = set()

    def __repr__(self) -> str:
        return f"NatsBus({self.url!r}, stream={self.stream!r})"

    # -- the bus thread ------------------------------------------------------------------

    @staticmethod
    def _serve(loop: asyncio.AbstractEventLoop) -> None:
        asyncio.set_event_loop(loop)
        try:
            loop.run_forever()
            # Whatever still runs (a publish caught by close) is cancelled, so its caller
            # gets a BusError instead of waiting forever.
            tasks = asyncio.all_tasks(loop)
            for task in tasks:
                task.cancel()
            if tasks:
                loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))
            loop.run_until_complete(loop.shutdown_asyncgens())
        finally:
            loop.close()

    def _submit(
        self, coro: Coroutine[Any, Any, T], *, closing: bool = False
    ) -> concurrent.futures.Future[T]:
        """Schedule ``coro`` on the bus thread, starting that thread on first use."""
        try:
            # Under the lock, so that nothing is scheduled after close() has begun: what was
            # scheduled before is finished or cancelled by close(), never left waiting.
            with self._lock:
                if self.closed and not closing:
                    raise BusError("the bus is closed")
                if self._loop is None:
                    loop = asyncio.new_event_loop()
                    thread = threading.Thread(
                        target=self._serve, args=(loop,), name="stadswacht-nats-bus", daemon=True
                    )
                    thread.start()
                    self._loop, self._thread = loop, thread
                if threading.current_thread() is self._thread:
                    raise BusError("NatsBus must not be called from its own event-loop thread")
                try:
                    return asyncio.run_coroutine_threadsafe(coro, self._loop)
                except RuntimeError as exc:  # the bus thread's loop is closed
                    raise BusError("the bus is closed") from exc
        except BaseException:
            coro.close()  # never scheduled: don't leave an un-awaited coroutine behind
            raise

    def _call(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run ``coro`` on the bus thread and block until it is done."""
        future = self._submit(coro)
        try:
            return future.result()
        except concurrent.futures.CancelledError as exc:
            raise BusError("the bus was closed before the operation finished") from exc

    async def _run(self, coro: Coroutine[Any, Any, T], *, closing: bool = False) -> T:
        """Run ``coro`` on the bus thread and await it from the caller's loop."""
        future = self._submit(coro, closing=closing)
        try:
            return await asyncio.wrap_future(future)
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if future.cancelled() and (task is None or task.cancelling() == 0):
                raise BusError("the bus was closed before the operation finished") from None
            future.cancel()
            raise

    async def _connection(self) -> JetStreamContext:
        if self._connecting is None:
            self._connecting = asyncio.Lock()
        async with self._connecting:
            if self._js is not None:
                return self._js
            if self._shutting_down:  # a subscribe that raced close(): don't connect again
                raise BusError("the bus is closed")
            nc = Client()
            try:
                await asyncio.wait_for(
                    nc.connect(
                        self.url,
                        name="stadswacht",
                        connect_timeout=max(1, round(self.connect_timeout)),
                        reconnect_time_wait=1,
                        max_reconnect_attempts=-1,  # once up, keep reconnecting
                        error_cb=self._on_error,
                        disconnected_cb=self._on_disconnected,
                        reconnected_cb=self._on_reconnected,
                    ),
                    self.connect_timeout,
                )
            except _NATS_ERRORS as exc:  # TimeoutError is an OSError
                await self._close_quietly(nc)
                raise BusError(
                    f"cannot reach NATS at {self.url} within {self.connect_timeout:g} s: "
                    f"{exc!r}; is nats-server running there with JetStream (-js)?"
                ) from exc
            js = nc.jetstream(timeout=self.timeout)
            try:
                await self._ensure_stream(js)
            except BaseException:
                await self._close_quietly(nc)
                raise
            self._nc, self._js = nc, js
            return js

    async def _ensure_stream(self, js: JetStreamContext) -> None:
        config = api.StreamConfig(
            name=self.stream,
            description="Stadswacht messages (readings, detections, incidents)",
            subjects=STREAM_SUBJECTS,
            retention=api.RetentionPolicy.LIMITS,
            storage=api.StorageType.FILE,
            discard=api.DiscardPolicy.OLD,
            max_age=self.max_age,
            duplicate_window=self.duplicate_window,
        )
        try:
            try:
                info = await js.stream_info(self.stream)
            except nats.js.errors.NotFoundError:
                await js.add_stream(config)
                return
            have = info.config
            if (
                have.subjects != config.subjects
                or have.max_age != config.max_age
                or have.duplicate_window != config.duplicate_window
            ):
                await js.update_stream(config)
        except _NATS_ERRORS as exc:
            raise BusError(
                f"cannot create or update JetStream stream {self.stream!r} over "
                f"{STREAM_SUBJECTS} at {self.url}: {exc}"
            ) from exc

    async def _on_error(self, exc: Exception) -> None:
        log.warning("NATS at %s: %r", self.url, exc)

    async def _on_disconnected(self) -> None:
        if not self._shutting_down:  # nats-py reports its own close as a disconnect too
            log.warning("disconnected from NATS at %s; reconnecting", self.url)

    async def _on_reconnected(self) -> None:
        log.info("reconnected to NATS at %s", self.url)

    def ping(self) -> None:
        """Connect (and set up the stream) now; ``BusError`` if NATS cannot be reached."""
        if self.closed:
            raise BusError("the bus is closed")
        self._call(self._connection())

    # -- publish -------------------------------------------------------------------------

    def publish(self, items: Sequence[tuple[str, bytes, str]]) -> None:
        if self.closed:
            raise BusError("the bus is closed")
        if items:
            self._call(self._publish(list(items)))

    async def _publish(self, items: list[tuple[str, bytes, str]]) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._publishing.add(task)
        try:
            js = await self._connection()
            acks: list[asyncio.Future[api.PubAck]] = []
            try:
                for subject, data, msg_id in items:
                    headers = {MSG_ID_HEADER: msg_id} if msg_id else None
                    acks.append(
                        await js.publish_async(subject, data, stream=self.stream, headers=headers)
                    )
                results = await asyncio.wait_for(
                    asyncio.gather(*acks, return_exceptions=True), self.timeout
                )
            except TimeoutError as exc:
                raise BusError(
                    f"JetStream did not acknowledge a batch of {len(items)} messages within "
                    f"{self.timeout:g} s ({self.url})"
                ) from exc
            except _NATS_ERRORS as exc:
                for ack in acks:
                    ack.cancel()
                raise BusError(f"cannot publish on NATS at {self.url}: {exc!r}") from exc
            failed = [
                (item, r)
                for item, r in zip(items, results, strict=True)
                if not isinstance(r, api.PubAck)
            ]
            if failed:
                (subject, _, msg_id), first = failed[0]
                if isinstance(first, nats.js.errors.NoStreamResponseError):
                    why = f"no stream takes it; subjects must match {STREAM_SUBJECTS}"
                else:
                    why = repr(first)
                err = BusError(
                    f"{len(failed)} of {len(items)} messages were not stored by JetStream "
                    f"(first: {msg_id!r} on {subject!r}: {why}); publishing the batch again is "
                    "safe, stored ones are dropped as duplicates"
                )
                raise err from first if isinstance(first, BaseException) else None
        finally:
            if task is not None:
                self._publishing.discard(task)

    # -- subscribe -----------------------------------------------------------------------

    async def subscribe(
        self, subject: str, *, durable: str | None = None, ack_wait: float = 30.0
    ) -> Subscription:
        if self.closed:
            raise BusError("the bus is closed")
        if durable is not None and not _DURABLE_RE.fullmatch(durable):
            raise BusError(
                f"durable name {durable!r} is not allowed: use letters, digits, '_' and '-'"
            )
        sub = _NatsSubscription(self, subject)
        with self._lock:
            self._subs.add(sub)
        try:
            await self._run(self._bind(sub, durable, ack_wait))
        except BaseException:
            self._forget(sub)
            raise
        return sub

    async def _bind(self, sub: _NatsSubscription, durable: str | None, ack_wait: float) -> None:
        js = await self._connection()
        nc = self._nc
        assert nc is not None
        config = api.ConsumerConfig(
            deliver_policy=api.DeliverPolicy.NEW,
            ack_policy=api.AckPolicy.EXPLICIT,
            ack_wait=ack_wait,
            max_ack_pending=self.max_ack_pending,
            filter_subject=sub.subject,
            deliver_subject=nc.new_inbox(),
        )
        try:
            if durable is None:
                # Outlives a short disconnect; the server drops it this long after we left.
                config.inactive_threshold = EPHEMERAL_INACTIVE_S
                info = await js.add_consumer(self.stream, config)
                sub.ephemeral = info.name
            else:
                name = consumer_name(durable, sub.subject)
                config.name = config.durable_name = config.deliver_group = name
                config.description = f"stadswacht durable {durable!r} on {sub.subject!r}"
                info = await self._durable_consumer(js, name, config)
            sub.sub = await js.subscribe_bind(
                stream=self.stream,
                config=info.config,
                consumer=info.name,
                cb=sub.on_msg,
                manual_ack=True,
            )
            await nc.flush(timeout=max(1, round(self.timeout)))
        except _NATS_ERRORS as exc:
            await self._unbind(sub)
            raise BusError(
                f"cannot subscribe to {sub.subject!r}"
                + (f" as durable {durable!r}" if durable else "")
                + f" on NATS at {self.url}: {exc}"
            ) from exc

    async def _durable_consumer(
        self, js: JetStreamContext, name: str, config: api.ConsumerConfig
    ) -> api.ConsumerInfo:
        info: api.ConsumerInfo
        try:
            info = await js.consumer_info(self.stream, name)
        except nats.js.errors.NotFoundError:
            try:
                info = await js.add_consumer(self.stream, config)
            except nats.js.errors.APIError:
                # Another process created it at the same moment: join that one.
                info = await js.consumer_info(self.stream, name)
            return info
        have = info.config
        if have.ack_wait != config.ack_wait:
            config.deliver_subject = have.deliver_subject
            info = await js.add_consumer(self.stream, config)  # updates ack_wait
        return info

    async def _unbind(self, sub: _NatsSubscription) -> None:
        nats_sub, sub.sub = sub.sub, None
        try:
            if nats_sub is not None:
                await nats_sub.unsubscribe()
            if sub.ephemeral is not None and self._js is not None:
                await self._js.delete_consumer(self.stream, sub.ephemeral)
        except _NATS_ERRORS as exc:
            # The server drops an ephemeral consumer by itself once nobody listens.
            log.debug("unsubscribing from %r: %r", sub.subject, exc)

    def _ack_soon(self, msg: Msg) -> None:
        """Acknowledge without waiting for the bus thread (waiting cut throughput six-fold).

        Acks are sent in order, before close() drains the connection. One that still fails
        only means the message is delivered again, which consumers handle anyway.
        """
        with self._lock:
            if self.closed or self._loop is None:
                raise BusError(
                    f"cannot acknowledge a message on {msg.subject!r}: the bus is closed; "
                    "it will be delivered again"
                )
            self._loop.call_soon_threadsafe(self._start_ack, msg)

    def _start_ack(self, msg: Msg) -> None:
        self._spawn(self._ack(msg))

    async def _ack(self, msg: Msg) -> None:
        try:
            await msg.ack()
        except nats.errors.MsgAlreadyAckdError:
            pass
        except _NATS_ERRORS as exc:
            log.warning("acknowledging a message on %r failed: %r", msg.subject, exc)

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        """Run ``coro`` on the bus loop without waiting; called on the bus thread."""
        task = asyncio.get_running_loop().create_task(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    def _forget(self, sub: _NatsSubscription) -> None:
        with self._lock:
            self._subs.discard(sub)

    # -- close ---------------------------------------------------------------------------

    async def close(self) -> None:
        """Finish in-flight publishes, stop every subscription, drain the connection."""
        with self._lock:
            if self.closed:
                return
            self.closed = True
            loop, thread, subs = self._loop, self._thread, list(self._subs)
            self._subs.clear()
        for sub in subs:
            sub.stop()
        if loop is None or thread is None:
            return
        try:
            await self._run(self._shutdown(subs), closing=True)
        finally:
            loop.call_soon_threadsafe(loop.stop)
            await asyncio.to_thread(thread.join, self.timeout)

    async def _shutdown(self, subs: list[_NatsSubscription]) -> None:
        if self._publishing:
            await asyncio.wait(set(self._publishing), timeout=self.timeout)
        self._shutting_down = True
        for sub in subs:
            await self._unbind(sub)
        nc, self._nc, self._js = self._nc, None, None
        if nc is not None and not nc.is_closed:
            try:
                await nc.drain()
            except _NATS_ERRORS as exc:
                log.warning("draining the NATS connection to %s: %r", self.url, exc)
                await self._close_quietly(nc)

    async def _close_quietly(self, nc: Client) -> None:
        try:
            await nc.close()
        except _NATS_ERRORS as exc:  # the connection is already lost: nothing left to flush
            log.debug("closing the NATS connection to %s: %r", self.url, exc)
