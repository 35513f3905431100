"""The infrastructure stage: readings and rejections in, ``infra`` detections out."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from stadswacht.errors import NotFound
from stadswacht.model import Area, Detection, Device, DeviceKind, Position
from stadswacht.model.reading import format_epoch
from stadswacht.pipeline.infra import InfraStage, recorded_stream
from stadswacht.pipeline.offline import detect_recorded

KEY = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"
T0 = 1_764_000_000.0


def device(i: str, kind: DeviceKind, lon: float, area: str | None = "bosjes") -> Device:
    return Device(
        id=i, kind=kind, position=Position(lat=52.1, lon=lon), agency="municipality",
        area=area, public_key=KEY,
    )  # fmt: skip


DEVICES = {
    d.id: d
    for d in [
        *(device(f"pc-{k}", DeviceKind.PEOPLE_COUNTER, 4.28 + k * 0.001) for k in range(4)),
        device("pm-1", DeviceKind.POWER_MONITOR, 4.2825),
        device("gw-1", DeviceKind.GATEWAY, 4.29, area=None).model_copy(
            update={"gateway_for": ("pc-0",)}
        ),
    ]
}


def lookup(device_id: str) -> Device:
    try:
        return DEVICES[device_id]
    except KeyError:
        raise NotFound(f"no device {device_id}") from None


def reading(d: str, seq: int, t: float, kind: str, values: dict[str, Any]) -> dict[str, Any]:
    return {"device": d, "seq": seq, "time": format_epoch(t), "kind": kind, "values": values}


def night(cut_from: float = 3600.0, cut_to: float = 5400.0) -> list[tuple[float, dict[str, Any]]]:
    """Two hours of counts and power readings each minute; a power cut in between."""
    rng = np.random.default_rng(1)
    out = []
    for k in range(1, 120):
        t = T0 + 60.0 * k
        cut = T0 + cut_from <= t < T0 + cut_to
        for i in range(4):
            if not cut:
                n_in, n_out = (int(v) for v in rng.poisson(3.0, 2))
                values = {"in": n_in, "out": n_out, "interval_s": 60.0}
                out.append((t, reading(f"pc-{i}", k, t, "people_count", values)))
        power = {"on": not cut, "voltage_v": 0.0 if cut else round(230 + rng.normal(), 1)}
        out.append((t, reading("pm-1", k, t, "power", power)))
    return out


def test_a_power_cut_is_one_detection_with_its_evidence() -> None:
    stage = InfraStage(device=lookup, devices=lambda: list(DEVICES.values()))
    found = detect_recorded([stage], night(), tick_s=1.0)
    assert [d.details["type"] for d in found] == ["power_cut"]
    (d,) = found
    assert (d.kind, d.detector, d.agency, d.area) == ("infra", "infra", "municipality", "bosjes")
    assert d.details["check"] == "outage" and d.details["quarantine"] is False
    assert d.details["devices"] == ["pc-0", "pc-1", "pc-2", "pc-3", "pm-1"]
    assert d.details["power_off"] == [] and d.details["ended"] is not None  # over by the end
    assert d.time == format_epoch(T0 + 3600.0)
    # The place by its name when the stage can list the areas, else by its id.
    assert d.summary_en() == "power cut in bosjes: over (5 devices)"
    assert d.details["summary_nl"] == "stroomstoring in bosjes: voorbij (5 apparaten)"
    assert d.id == f"{d.details['outage']}:municipality" == f"{d.details['group']}:municipality"
    assert (d.details["agency_devices"], d.details["total_devices"]) == (5, 5)
    assert d.version > 1 and d.position is not None


def test_rejections_in_a_recorded_stream_become_an_attack_that_quarantines() -> None:
    stage = InfraStage(device=lookup)
    forged = [
        (T0 + 4000.0 + k, {"device": "pc-2", "seq": 9000 + k, "reason": "bad_signature",
                           "message": "signature does not verify", "transport": "http",
                           "source": "src-1", "received_us": 0})
        for k in range(3)
    ]  # fmt: skip
    found = detect_recorded([stage], recorded_stream(night(99999, 99999), forged), tick_s=1.0)
    (d,) = found
    assert (d.details["type"], d.details["check"], d.details["device"]) == (
        "cyber_attack", "signature_failures", "pc-2",
    )  # fmt: skip
    assert d.details["quarantine"] is True and d.details["rejections"] == 3
    assert d.detected_at.startswith(format_epoch(T0 + 4001.0)[:19])
    assert stage.quarantined() == {"pc-2"}
    (cleared,) = stage.clear("pc-2", T0 + 5000.0)
    assert cleared.details["cleared"] is True and stage.quarantined() == set()
    assert cleared.details["quarantine"] is False  # over: asks for no quarantine again


def test_devices_behind_one_gateway_going_dark_is_a_network_outage() -> None:
    stage = InfraStage(device=lookup, devices=lambda: list(DEVICES.values()))
    found = []
    for k in range(1, 60):
        t = T0 + 60.0 * k
        for i in range(4):
            if i == 0 or k < 30:
                found += stage.handle(reading(f"pc-{i}", k, t, "heartbeat", {}), t)
    found += stage.advance(T0 + 3600.0, T0 + 3600.0)
    types = {d.details["type"] for d in found if d.details["check"] == "outage"}
    assert types == {"network_outage"}  # pc-1..3 have no gateway in common: cause unknown
    assert found[-1].details["gateway"] is None


def test_an_unknown_device_or_a_reading_without_time_is_ignored() -> None:
    stage = InfraStage(device=lookup)
    assert stage.handle(reading("nobody", 1, T0, "heartbeat", {}), T0) == []
    assert stage.handle({"device": "pc-0", "kind": "heartbeat"}, T0) == []


@pytest.mark.parametrize("at_s", [None, T0 + 5.0])
def test_the_platform_clock_comes_from_at_s_or_received_us(at_s: float | None) -> None:
    stage = InfraStage(device=lookup)
    r = reading("pc-0", 1, T0, "heartbeat", {}) | {"received_us": int((T0 + 5.0) * 1e6)}
    stage.handle(r, at_s)
    assert stage.detector._devs["pc-0"].rhythm.last_s == T0 + 5.0


def test_an_outage_summary_names_the_place_and_what_is_out() -> None:
    bosjes = Area(id="bosjes", name="Scheveningse Bosjes",
                  polygon=((4.27, 52.09), (4.29, 52.09), (4.29, 52.11)))  # fmt: skip
    stage = InfraStage(
        device=lookup, devices=lambda: list(DEVICES.values()), areas=lambda: [bosjes]
    )
    seen: list[Detection] = []
    for t, r in night():
        seen += stage.handle(r, t)
        seen += stage.advance(t, t)
    lines = [(d.details["summary_en"], d.details["summary_nl"]) for d in seen]
    assert lines[0] == (
        "power cut in Scheveningse Bosjes: 1 reporting no power",
        "stroomstoring in Scheveningse Bosjes: 1 meldt geen stroom",
    )
    assert (
        "power cut in Scheveningse Bosjes: 4 silent, 1 reporting no power",
        "stroomstoring in Scheveningse Bosjes: 4 stil, 1 meldt geen stroom",
    ) in lines
    assert lines[-1][0] == "power cut in Scheveningse Bosjes: over (5 devices)"


def test_a_stuck_counter_that_ended_says_it_is_still_quarantined() -> None:
    stage = InfraStage(device=lookup)
    found: list[Detection] = []
    rng = np.random.default_rng(2)
    for k in range(1, 400):
        t = T0 + 60.0 * k
        stuck = 250 <= k < 330
        n_in = 7 if stuck else int(rng.poisson(3.0))
        values = {"in": n_in, "out": 7 if stuck else int(rng.poisson(3.0)), "interval_s": 60.0}
        found += stage.handle(reading("pc-1", k, t, "people_count", values), t)
    ended = [d for d in found if d.details["check"] == "stuck" and d.details["ended"]]
    assert ended, [d.details["summary_en"] for d in found]
    (d,) = ended
    assert d.details["quarantine"] is False  # asks for no new quarantine; the old one stays
    assert d.summary_en() == (
        "sensor failure: values stuck, pc-1; values normal again; "
        "still quarantined until a person clears it"
    )
    assert d.details["summary_nl"] == (
        "sensorstoring: waarden bevroren, pc-1; waarden weer normaal; "
        "blijft in quarantaine tot iemand het vrijgeeft"
    )
    assert stage.quarantined() == set()  # the check is over; the registry keeps the device
