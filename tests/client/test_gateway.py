"""The gateway client against the real API: one signature per batch, for its own devices only."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from stadswacht.client import Answer, GatewayClient, HttpTransport, Transport
from stadswacht.client.base import Item
from stadswacht.errors import TransportError
from stadswacht.model import DeviceKind
from stadswacht.model.signing import generate_key, private_key_b64
from tests.client.conftest import FAST, Api


class LosesFirstAnswer:
    """Delivers every batch, but the answer to the first is lost on the way back."""

    def __init__(self, inner: Transport) -> None:
        self.inner = inner
        self.sent: list[list[Item]] = []

    def send(self, items: Sequence[Item]) -> Answer:
        self.sent.append(list(items))
        answer = self.inner.send(items)
        if len(self.sent) == 1:
            raise TransportError("read timed out")
        return answer

    def close(self) -> None:
        self.inner.close()


@pytest.fixture
def gateway(api: Api) -> str:
    """A gateway for cnt-01 and cnt-02; cnt-03 is registered but not behind it."""
    for device in ("cnt-01", "cnt-02", "cnt-03"):
        api.register(device, DeviceKind.PEOPLE_COUNTER)
    return api.register("iz-gw-01", DeviceKind.GATEWAY, gateway_for=["cnt-01", "cnt-02"])


def test_a_gateway_batch_is_accepted_and_a_foreign_device_is_not_gateway(
    api: Api, gateway: str
) -> None:
    transport = LosesFirstAnswer(HttpTransport(api.url))
    transport.sent.append([])  # no lost answer in this test
    with GatewayClient("iz-gw-01", gateway, transport, batch_size=10) as gw:
        a = gw.reading("cnt-01", "people_count", {"in": 12, "out": 3, "interval_s": 60})
        b = gw.reading("cnt-02", "people_count", {"occupancy": 140})
        c = gw.reading("cnt-03", "people_count", {"occupancy": 5})
        report = gw.flush()
    assert report.accepted == 2
    assert [(r.reading, r.reason) for r in report.rejected] == [(c, "not_gateway")]
    assert "may not sign for 'cnt-03'" in report.rejected[0].message
    assert len(transport.sent) == 2  # one envelope for all three
    (envelope,) = transport.sent[1]
    assert set(envelope) == {"gateway", "payload", "sig"}
    stored = {s.device: s for s in api.stored()}
    assert set(stored) == {"cnt-01", "cnt-02"}
    assert stored["cnt-01"].seq == a["seq"] and stored["cnt-02"].values == b["values"]
    assert stored["cnt-01"].sig == f"gw:iz-gw-01:{envelope['sig']}"


def test_an_envelope_whose_answer_was_lost_is_resent_as_it_was_and_stored_once(
    api: Api, gateway: str
) -> None:
    transport = LosesFirstAnswer(HttpTransport(api.url))
    with GatewayClient("iz-gw-01", gateway, transport, batch_size=2, backoff=FAST) as gw:
        gw.reading("cnt-01", "people_count", {"occupancy": 1})
        with pytest.raises(TransportError, match="kept in memory"):
            gw.reading("cnt-02", "people_count", {"occupancy": 2})  # fills the batch: sent, lost
        assert gw.pending == 2
        gw.reading("cnt-01", "people_count", {"occupancy": 3})  # queued behind the envelope
        report = gw.flush()
    first, again, _ = transport.sent
    assert again == first  # byte for byte: the same envelope, the same signature
    assert (report.duplicates, report.accepted, report.rejected) == (2, 1, [])
    assert sorted(s.values["occupancy"] for s in api.stored()) == [1, 2, 3]


def test_an_envelope_refused_as_a_whole_rejects_each_reading(api: Api, gateway: str) -> None:
    impostor = private_key_b64(generate_key())
    with GatewayClient("iz-gw-01", impostor, HttpTransport(api.url), batch_size=10) as gw:
        gw.reading("cnt-01", "people_count", {"occupancy": 1})
        gw.reading("cnt-02", "people_count", {"occupancy": 2})
        report = gw.flush()
    assert [(r.reading["device"], r.reason) for r in report.rejected] == [
        ("cnt-01", "bad_signature"),
        ("cnt-02", "bad_signature"),
    ]
    assert api.stored() == []


def test_an_offline_gateway_keeps_its_envelopes_and_counters_across_a_restart(
    api: Api, gateway: str, tmp_path: Path
) -> None:
    api.stop()
    made: list[dict[str, Any]] = []
    for _run in range(2):
        gw = GatewayClient(
            "iz-gw-01", gateway, HttpTransport(api.url), tmp_path / "gw.db", batch_size=2
        )
        made += [
            gw.reading(d, "people_count", {"occupancy": len(made) + i})
            for i, d in enumerate(["cnt-01", "cnt-02", "cnt-01"])
        ]
        gw.close(flush_timeout=0)
    api.start()
    with GatewayClient("iz-gw-01", gateway, HttpTransport(api.url), tmp_path / "gw.db") as gw:
        report = gw.flush()
    assert (report.accepted, report.rejected) == (6, [])
    stored = api.stored()
    assert [(s.device, s.seq, s.time) for s in stored] == [
        (r["device"], r["seq"], r["time"]) for r in made
    ]
    for device in ("cnt-01", "cnt-02"):
        seqs = [r["seq"] for r in made if r["device"] == device]
        assert seqs == sorted(set(seqs))
