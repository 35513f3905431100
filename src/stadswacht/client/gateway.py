"""The gateway client: one signature per batch for the devices a gateway is registered for.

A gateway (registered with kind ``gateway`` and ``gateway_for``) collects readings of the
simple sensors behind it, which hold no keys, and sends them as one envelope::

    {"gateway": "<gateway id>", "payload": "<JSON text of {\\"readings\\": [...]}>",
     "sig": "<Ed25519 over the UTF-8 bytes of payload, base64url>"}

The readings inside carry no ``sig``. The platform stores each with the envelope's signature
as its tag, so an envelope that must be sent again is sent byte for byte as it was first made
(an identical copy is a ``duplicate``; the same reading in another envelope would be a
``replay``). The envelope is therefore kept with its readings in the buffer until answered.

>>> from stadswacht.errors import TransportError
>>> from stadswacht.model.signing import generate_key
>>> class Nowhere:
...     def send(self, items): raise TransportError("offline")
...     def close(self): pass
>>> gw = GatewayClient("gw-01", generate_key(), Nowhere(), devices=["cnt-01"], batch_size=5)
>>> gw.reading("cnt-01", "people_count", {"occupancy": 12})["device"]
'cnt-01'
>>> gw.reading("cnt-02", "people_count", {"occupancy": 3})
Traceback (most recent call last):
...
stadswacht.errors.InvalidReading: not_gateway: gateway 'gw-01' is not configured for 'cnt-02'
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, Unpack

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from stadswacht.client.base import Item, SendReport, Transport
from stadswacht.client.buffer import Entry
from stadswacht.client.device import check_device_id, make_reading
from stadswacht.client.sender import SenderOptions, SigningSender
from stadswacht.errors import InvalidReading
from stadswacht.model.signing import sign_bytes

__all__ = ["GatewayClient", "seal"]


def seal(key: Ed25519PrivateKey, gateway_id: str, readings: Sequence[Item]) -> Item:
    """The envelope that carries ``readings`` (without their own ``sig``) for a gateway.

    >>> from stadswacht.model.signing import generate_key
    >>> env = seal(generate_key(), "gw-01", [{"device": "cnt-01", "seq": 1}])
    >>> env["gateway"], env["payload"]
    ('gw-01', '{"readings":[{"device":"cnt-01","seq":1}]}')
    """
    doc = {"readings": [{k: v for k, v in r.items() if k != "sig"} for r in readings]}
    payload = json.dumps(doc, separators=(",", ":"), ensure_ascii=False)
    return {"gateway": gateway_id, "payload": payload, "sig": sign_bytes(key, payload.encode())}


class GatewayClient(SigningSender):
    """A gateway's client: queues readings of its devices and sends them in signed envelopes.

    Takes the arguments of :class:`~stadswacht.client.device.DeviceClient` (``gateway_id``
    and the gateway's key in place of the device's), plus:

    Args:
        devices: the devices the gateway is registered for (``gateway_for``); if given, a
            reading of another device is refused at once (``not_gateway``) instead of by the
            platform.

    Each device behind the gateway gets its own sequence counter, kept in the buffer file.
    Over MQTT an envelope goes on the gateway topic, ``stadswacht/v1/gateways/{gateway}``.
    """

    def __init__(
        self,
        gateway_id: str,
        private_key: Ed25519PrivateKey | str,
        transport: Transport,
        buffer_path: str | Path | None = None,
        *,
        devices: Iterable[str] | None = None,
        **options: Unpack[SenderOptions],
    ) -> None:
        self.gateway_id = check_device_id(gateway_id)
        self.devices = None if devices is None else frozenset(check_device_id(d) for d in devices)
        super().__init__(private_key, transport, buffer_path, **options)

    def __repr__(self) -> str:
        return f"GatewayClient({self.gateway_id!r}, {self.transport!r}, pending={self.pending})"

    def reading(
        self,
        device: str,
        kind: str,
        values: Mapping[str, Any],
        time: datetime | str | None = None,
    ) -> Item:
        """Make a reading of ``device`` (now, unless ``time`` is given), queue it, and send what
        is due; return the (unsigned) reading.

        Raises:
            InvalidReading: ``not_gateway`` for a device the gateway is not configured for, or
                the platform's ``malformed`` / ``invalid_values`` (nothing is queued).
            TransportError: without a buffer file only, as for ``DeviceClient.reading``.
        """
        with self._lock:
            body = self.queue(device, kind, values, time)
            if self._thread is None or len(self.buffer) >= self.batch_size:
                self.poll()
        return body

    def queue(
        self,
        device: str,
        kind: str,
        values: Mapping[str, Any],
        time: datetime | str | None = None,
    ) -> Item:
        """Like :meth:`reading`, but only queue the reading; :meth:`flush` or :meth:`poll`
        sends it."""
        device = check_device_id(device)
        if self.devices is not None and device not in self.devices:
            raise InvalidReading(
                "not_gateway", f"gateway {self.gateway_id!r} is not configured for {device!r}"
            )
        with self._lock:
            body = make_reading(device, 0, kind, values, time, clock=self._clock)
            body["seq"] = self.buffer.next_seq(device)
            self._queue([body])
        return body

    def _batch(self, limit: int) -> tuple[list[Entry], Item]:
        """The envelope at the head of the queue: the one already sealed, or a new one."""
        head = self.buffer.head(max(limit, self.max_batch))
        first = head[0].batch
        if first is not None:
            members = []
            for e in head:
                if e.batch != first:
                    break
                members.append(e)
            return members, self.buffer.envelope(first)
        members = []
        for e in head[:limit]:
            if e.batch is not None:
                break
            members.append(e)
        envelope = seal(self._key, self.gateway_id, [e.item for e in members])
        self.buffer.seal([e.id for e in members], envelope)
        return members, envelope

    def _round(self, limit: int) -> tuple[SendReport, int]:
        members, envelope = self._batch(limit)
        answer = self.transport.send([envelope])
        whole = [(reason, msg) for i, reason, msg in answer.rejected if i == 0]
        if whole:
            # The envelope itself was refused (unknown gateway, bad signature, ...): every
            # reading in it shares the verdict.
            reason, message = whole[0]
            answer = type(answer)(
                0, rejected=tuple((k + 1, reason, message) for k in range(len(members)))
            )
        # The platform numbers an envelope's readings after the batch's items: 1, 2, ...
        report, held = self._settle(members, answer, offset=1)
        if held:
            # Refused for now and not stored: they travel again in a fresh envelope.
            self.buffer.unseal([e.id for e in held])
        return report, len(held)

    def _shrink(self) -> None:
        head = self.buffer.head(1)
        if head and head[0].batch is not None:
            # The platform refused the whole envelope, so nothing in it was stored: reseal smaller.
            batch = head[0].batch
            self.buffer.unseal([e.id for e in self.buffer.head(self.max_batch) if e.batch == batch])
