"""The device client: a sensor makes, signs, queues and sends its own readings.

>>> from stadswacht.errors import TransportError
>>> from stadswacht.model.signing import generate_key
>>> class Nowhere:  # a transport that cannot reach the platform
...     def send(self, items): raise TransportError("offline")
...     def close(self): pass
>>> client = DeviceClient("iz-wx-01", generate_key(), Nowhere(), batch_size=10)
>>> r = client.reading("temperature", {"temperature_c": 8.4}, time="2026-11-25T02:13:07Z")
>>> r["seq"] > 0, r["time"], client.pending
(True, '2026-11-25T02:13:07.000000Z', 1)
"""

from __future__ import annotations

import json
import time as _time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Unpack

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pydantic import TypeAdapter, ValidationError

from stadswacht.client.base import Item, SendReport, Transport
from stadswacht.client.sender import SenderOptions, SigningSender
from stadswacht.errors import InvalidReading
from stadswacht.model.device import DeviceId
from stadswacht.model.reading import READING_KINDS, format_time, parse_time_ns
from stadswacht.model.signing import sign_reading

__all__ = ["DeviceClient", "check_device_id", "make_reading"]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

_DEVICE_ID: TypeAdapter[str] = TypeAdapter(DeviceId)


def check_device_id(device_id: str) -> str:
    """``device_id`` if it is a valid device id, else raise ``ValueError`` saying why."""
    try:
        return _DEVICE_ID.validate_python(device_id)
    except ValidationError:
        raise ValueError(
            f"{device_id!r} is not a device id: 1 to 64 letters, digits and _ . : -, "
            "starting with a letter or digit"
        ) from None


def _time_text(value: datetime | str | None, clock: Callable[[], float]) -> str:
    if value is None:
        return format_time(datetime.fromtimestamp(clock(), UTC))
    if isinstance(value, datetime):
        try:
            return format_time(value)
        except ValueError as exc:
            raise InvalidReading("malformed", str(exc)) from None
    try:
        ns = parse_time_ns(value)
    except ValueError as exc:
        raise InvalidReading("malformed", str(exc)) from None
    if len(value) >= 27 and value[19] == "." and value.endswith("Z"):
        return value  # already UTC with 6 to 9 fractional digits: keep its precision
    return format_time(_EPOCH + timedelta(microseconds=ns // 1000))


def make_reading(
    device: str,
    seq: int,
    kind: str,
    values: Mapping[str, Any],
    time: datetime | str | None = None,
    *,
    clock: Callable[[], float] | None = None,
) -> Item:
    """An unsigned reading, checked as the platform checks it.

    ``values`` are copied through JSON, so what is signed is exactly what the platform will
    parse (tuples become lists, and so on). A naive ``datetime`` is refused.

    Raises:
        InvalidReading: ``malformed`` (unknown kind, bad time) or ``invalid_values`` (the
            kind's fields, units or ranges), with the platform's message.

    >>> make_reading("d1", 7, "water_level", {"level_cm_nap": 231}, "2026-11-25T02:13:07.5Z")
    {'device': 'd1', 'seq': 7, 'time': '2026-11-25T02:13:07.500000Z', 'kind': 'water_level', \
'values': {'level_cm_nap': 231}}
    """
    if kind not in READING_KINDS:
        raise InvalidReading(
            "malformed", f"kind {kind!r} is not one of {', '.join(sorted(READING_KINDS))}"
        )
    try:
        plain = json.loads(json.dumps(dict(values), allow_nan=False))
    except (TypeError, ValueError) as exc:
        raise InvalidReading(
            "invalid_values", f"{kind}: values are not plain JSON: {exc}"
        ) from None
    try:
        READING_KINDS[kind].model_validate(plain)
    except ValidationError as exc:
        errs = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'values'}: {e['msg']}"
            for e in exc.errors(include_url=False)
        )
        raise InvalidReading("invalid_values", f"{kind}: {errs}") from None
    return {
        "device": device,
        "seq": seq,
        "time": _time_text(time, clock or _time.time),
        "kind": kind,
        "values": plain,
    }


class DeviceClient(SigningSender):
    """A sensor's client: makes readings, signs them with the device's key, and sends them.

    Args:
        device_id: the device's registered id.
        private_key: its Ed25519 private key (a key object, or the base64url text the platform
            showed at registration).
        transport: :class:`~stadswacht.client.http.HttpTransport` or
            :class:`~stadswacht.client.mqtt.MqttTransport`.
        buffer_path: a file (SQLite) for unsent readings and the sequence counter; they survive
            an unreachable platform, a crash and a reboot. Without it, both live in memory.
        batch_size: send once this many readings are queued.
        batch_interval: ... or once the oldest has waited this long [s].
        max_batch: at most this many readings in one request.
        backoff: delays between attempts (``Backoff(base=0.5, cap=60)`` by default).
        on_rejected: called with each reading the platform rejected for good.
        background: send from a thread every ``min(1, batch_interval / 2)`` s, so readings go
            out on time even if :meth:`reading` is called rarely; errors are logged there.
        clock: wall clock for reading times and fresh sequence counters [s since the epoch].
        monotonic, sleep: for scheduling retries (inject them in tests).
        buffer: a :class:`~stadswacht.client.buffer.Buffer` to use instead of ``buffer_path``.

    Raises:
        StorageError: the buffer file cannot be opened or is in use by another process.

    Example::

        with DeviceClient("iz-wx-01", key, HttpTransport(url), "iz-wx-01.db") as client:
            client.reading("temperature", {"temperature_c": 8.4})
    """

    def __init__(
        self,
        device_id: str,
        private_key: Ed25519PrivateKey | str,
        transport: Transport,
        buffer_path: str | Path | None = None,
        **options: Unpack[SenderOptions],
    ) -> None:
        self.device_id = check_device_id(device_id)
        super().__init__(private_key, transport, buffer_path, **options)

    def __repr__(self) -> str:
        return f"DeviceClient({self.device_id!r}, {self.transport!r}, pending={self.pending})"

    def reading(
        self, kind: str, values: Mapping[str, Any], time: datetime | str | None = None
    ) -> Item:
        """Make a reading (now, unless ``time`` is given), sign it, queue it, and send what is
        due; return the signed reading.

        Raises:
            InvalidReading: the kind or values break the platform's rules (nothing is queued).
            TransportError: without a buffer file only: the platform could not be reached; the
                reading stays in memory and goes with the next attempt.
        """
        with self._lock:
            signed = self.queue(kind, values, time)
            if self._thread is None or len(self.buffer) >= self.batch_size:
                self.poll()
        return signed

    def queue(
        self, kind: str, values: Mapping[str, Any], time: datetime | str | None = None
    ) -> Item:
        """Like :meth:`reading`, but only queue the signed reading; :meth:`flush` or
        :meth:`poll` sends it."""
        with self._lock:
            body = make_reading(self.device_id, 0, kind, values, time, clock=self._clock)
            body["seq"] = self.buffer.next_seq(self.device_id)  # only for a valid reading
            signed = sign_reading(self._key, body)
            self._queue([signed])
        return signed

    def _round(self, limit: int) -> tuple[SendReport, int]:
        entries = self.buffer.head(limit)
        answer = self.transport.send([e.item for e in entries])
        report, held = self._settle(entries, answer)
        return report, len(held)
