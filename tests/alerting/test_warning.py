"""Hazard warnings as CAP: severity, urgency and certainty from the level and its basis; the
warning area's polygon or a circle; an Update chain ending in an all clear."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

import pytest

from stadswacht.alerting import MsgType, Severity, Urgency, to_xml
from stadswacht.alerting.cap import Certainty, ResponseType
from stadswacht.alerting.warning import alert_from_warning
from stadswacht.detect.hazard.thresholds import threshold_from_dict
from stadswacht.model import Area, Detection, Device, DeviceKind, Position, format_time
from stadswacht.pipeline.hazard import HazardStage

KEY = base64.urlsafe_b64encode(bytes(32)).decode().rstrip("=")
T0 = datetime(2026, 11, 26, 1, 0, tzinfo=UTC)
DUNE = Area(
    id="dunes", name="Scheveningen duinen",
    polygon=((4.26, 52.10), (4.28, 52.10), (4.28, 52.11), (4.26, 52.11)),
)  # fmt: skip


def warnings(levels: list[float], *, area: str | None = None, rise: float = 0.0) -> list[Detection]:
    dev = Device(
        id="wg", kind=DeviceKind.WATER_GAUGE, position=Position(lat=52.1, lon=4.27),
        agency="water-board", public_key=KEY,
    )  # fmt: skip
    th = threshold_from_dict(
        {"id": "wg-level", "device": "wg", "preset": "rws:HOEKVHLD", "area": area,
         "forecast": True, "update_interval_s": 0}
    )  # fmt: skip

    def forecast(dev: str, t: list[float], v: list[float], now: float, lead: float) -> list:  # type: ignore[type-arg]
        return [(now + 3600 * k, v[-1] + rise * k, v[-1] + rise * k - 5, v[-1] + rise * k + 5)
                for k in range(1, 7)]  # fmt: skip

    stage = HazardStage(
        device=lambda _: dev, areas=lambda: [DUNE], thresholds=lambda: [th], forecaster=forecast
    )
    out = []
    for i, cm in enumerate(levels):
        reading = {
            "device": "wg", "kind": "water_level", "values": {"level_cm_nap": cm},
            "time": format_time(T0 + timedelta(hours=i)),
        }  # fmt: skip
        out += stage.handle(reading)
    return out


def test_forecast_warning_is_expected_and_likely_with_its_onset() -> None:
    (d,) = warnings([150.0], rise=20.0)  # 150 + 20/h: 230 at 4 h, within the lead time
    a = alert_from_warning(d, [], sent=T0, sender="sw@example.nl", sender_name="Stadswacht")
    to_xml(a)  # valid by the schema and the rules
    nl, en = a.infos
    assert (nl.language, en.language) == ("nl-NL", "en-GB")
    assert en.severity is Severity.MODERATE and en.urgency is Urgency.EXPECTED
    assert en.certainty is Certainty.LIKELY
    assert en.onset == T0 + timedelta(hours=4)
    assert "reached at about 06:00" in (en.description or "")  # local time, CET
    assert en.areas[0].circles[0].radius_km == 2.0


def test_observed_escalation_update_chain_and_all_clear() -> None:
    ds = warnings([226.0, 290.0, 150.0], area="dunes")
    assert [d.details["change"] for d in ds] == ["issue", "escalate", "allclear"]
    assert {d.area for d in ds} == {"dunes"}
    chain = []
    for i, d in enumerate(ds):
        sent = T0 + timedelta(hours=i, minutes=1)
        chain.append(
            alert_from_warning(
                d, chain, sent=sent, sender="sw@example.nl", sender_name="SW", area=DUNE
            )
        )
        to_xml(chain[-1])
    first, orange, clear = chain
    assert first.msg_type is MsgType.ALERT and orange.msg_type is MsgType.UPDATE
    assert orange.infos[0].severity is Severity.SEVERE
    assert orange.infos[0].urgency is Urgency.IMMEDIATE
    assert [r.identifier for r in clear.references] == [first.identifier, orange.identifier]
    assert clear.infos[0].response_type == (ResponseType.ALL_CLEAR,)
    assert clear.infos[0].urgency is Urgency.PAST and clear.infos[0].instruction is None
    ring = first.infos[0].areas[0].polygons[0]
    assert ring[0] == ring[-1] == (52.10, 4.26)  # (lat, lon), closed
    assert first.infos[0].areas[0].area_desc == "Scheveningen duinen"


def test_only_hazard_warnings_become_alerts() -> None:
    (d,) = warnings([230.0])
    gunshot = d.model_copy(update={"kind": "gunshot"})
    with pytest.raises(ValueError, match="not a hazard warning"):
        alert_from_warning(gunshot, [], sent=T0, sender="s", sender_name="s")
