"""Warnings a station would have had: run the monitors over a recorded series and make every
CAP alert they would have issued (``stadswacht warn replay``).

The series comes from any reader in :mod:`stadswacht.detect.hazard.iotools` (RWS ``.dia``,
NOOS, Delft-FEWS PI-XML, KNMI); the station's levels from Rijkswaterstaat's table or a
thresholds file. Each alert is sent at the moment the warning changed, so the feed reads as
the history it replays. Alerts have status ``Exercise`` unless told otherwise: a replay is
never a live warning.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from stadswacht.alerting.cap import Alert, Status, to_xml
from stadswacht.alerting.feed import atom_feed
from stadswacht.alerting.warning import alert_from_warning
from stadswacht.detect.hazard.iotools import (
    read_dia,
    read_knmi_daily,
    read_knmi_hourly,
    read_noos,
    read_pi_xml,
)
from stadswacht.detect.hazard.series import TimeSeries
from stadswacht.detect.hazard.thresholds import Threshold
from stadswacht.errors import SeriesError
from stadswacht.model import Device, DeviceKind, Position
from stadswacht.model.reading import format_epoch
from stadswacht.pipeline.hazard import HazardStage, LevelForecaster

__all__ = ["STATIONS", "ReplayResult", "read_series", "replay_warnings", "write_alerts"]

STATIONS: dict[str, tuple[float, float]] = {
    "HOEKVHLD": (51.9775, 4.1200),
    "VLISSGN": (51.4422, 3.5961),
    "SCHEVNGN": (52.1033, 4.2625),
}
"""Positions (lat, lon) of Rijkswaterstaat stations a replay knows by code."""

_PLACEHOLDER_KEY = "A" * 43  # a replay's station signs nothing; the model needs a key shape


@dataclass(frozen=True)
class ReplayResult:
    """What a replay issued: the alerts in order, and the warnings' detections."""

    alerts: list[Alert]
    warnings: int


def read_series(path: str | Path, station: str | None = None) -> TimeSeries:
    """Read a water-level or weather series in any supported format, sniffed from its content.

    Raises:
        SeriesError: the file is none of the formats, or holds several series and ``station``
            (``CODE`` or ``CODE:PARAMETER``) does not pick one.
    """
    p = Path(path)
    try:
        head = p.read_bytes()[:16384].decode("utf-8", "replace")
    except OSError as exc:
        raise SeriesError(f"cannot read {p}: {exc}") from exc
    data: Any
    if "[W3H]" in head or "[IDT;" in head:
        data, _ = read_dia(p)
    elif "TimeSeries" in head and "<" in head:
        data, _ = read_pi_xml(p)
    elif "STN,YYYYMMDD,HH" in head.replace(" ", ""):
        data, _ = read_knmi_hourly(p)
    elif "STN,YYYYMMDD" in head.replace(" ", ""):
        data, _ = read_knmi_daily(p)
    elif head.lstrip().startswith("#"):
        data, _ = read_noos(p)
    else:
        raise SeriesError(f"{p}: not a .dia, NOOS, PI-XML or KNMI file (looked at its first lines)")
    if isinstance(data, TimeSeries):
        return _in_cm(data)
    series: list[TimeSeries] = list(data.values())
    if station:
        code, _, parameter = station.partition(":")
        series = [
            s for s in series if s.station == code and (not parameter or s.parameter == parameter)
        ] or [s for s in series if s.parameter == code]
    if len(series) != 1:
        names = sorted(f"{s.station}:{s.parameter}" for s in data.values())
        raise SeriesError(f"{p} holds {len(data)} series; pick one with --station: {names}")
    return _in_cm(series[0])


def _in_cm(series: TimeSeries) -> TimeSeries:
    """Levels in metres (NOOS) as centimetres, the unit of the warning levels."""
    if series.unit == "m":
        return replace(series, values=series.values * 100.0, unit="cm")
    return series


def replay_warnings(
    series: TimeSeries,
    thresholds: Sequence[Threshold],
    *,
    position: Position,
    sender: str,
    sender_name: str = "Stadswacht",
    status: Status = Status.EXERCISE,
    forecaster: LevelForecaster | None = None,
    agency: str = "water-board",
) -> ReplayResult:
    """Run ``thresholds`` over ``series`` and make every CAP alert they would have issued.

    Values are fed as readings of a device named after the thresholds' device, in time order;
    missing values are skipped.
    """
    devices = {
        t.device: Device(
            id=t.device,
            kind=DeviceKind.WATER_GAUGE,
            position=position,
            agency=agency,
            public_key=_PLACEHOLDER_KEY,
        )
        for t in thresholds
    }
    stage = HazardStage(
        device=lambda i: devices[i],
        areas=list,
        thresholds=lambda: list(thresholds),
        forecaster=forecaster,
        clock=lambda: 0.0,
    )
    kinds = {t.device: (t.reading_kind, t.value_key) for t in thresholds}
    valid = series.valid()
    chains: dict[str, list[Alert]] = {}
    alerts: list[Alert] = []
    warnings: set[str] = set()
    for t, v in zip(valid.times.tolist(), valid.values.tolist(), strict=True):
        for device, (kind, key) in kinds.items():
            reading = {"device": device, "kind": kind, "time": format_epoch(t), "values": {key: v}}
            for d in stage.handle(reading, at_s=t):
                chain = chains.setdefault(d.id, [])
                sent = datetime.fromtimestamp(round(t), UTC)
                alert = alert_from_warning(
                    d, chain, sent=sent, sender=sender, sender_name=sender_name, status=status
                )
                chain.append(alert)
                alerts.append(alert)
                warnings.add(d.id)
    return ReplayResult(alerts, len(warnings))


def write_alerts(alerts: Sequence[Alert], out: Path, *, base_url: str, title: str) -> list[Path]:
    """Write each alert as ``<identifier>.xml`` (checked by the schema and the rules) and the
    Atom feed ``feed.atom`` linking to them under ``base_url``; return the files written."""
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for alert in alerts:
        path = out / f"{alert.identifier}.xml"
        path.write_bytes(to_xml(alert))
        written.append(path)
    base = base_url.rstrip("/")
    url: Callable[[Alert], str] = lambda a: f"{base}/{a.identifier}.xml"  # noqa: E731
    feed = atom_feed(
        alerts,
        feed_url=f"{base}/feed.atom",
        alert_url=url,
        title=title,
        updated=None if alerts else datetime.now(UTC).replace(microsecond=0),
    )
    (out / "feed.atom").write_bytes(feed)
    written.append(out / "feed.atom")
    return written
