"""Zone forecast in the living lab: error and 80 % coverage of each zone's forecast.

Run from the repository root::

    .venv/bin/python bench/zone_forecast_livinglab.py                     # Malieveld, ~10 s
    .venv/bin/python bench/zone_forecast_livinglab.py scenarios/international_zone.yaml

SIMULATED data. The scenario is replayed into a throw-away embedded platform exactly as
``stadswacht evaluate`` does, and the stored people counts go through the crowd stage on the
simulated clock. Every minute of event time the forecast of every measured zone
(:meth:`~stadswacht.pipeline.crowd.CrowdStage.outlook`) is recorded; each forecast point is
later compared with the density the platform measured at that time (its one-minute sample
in the same minute). Per horizon: the number of forecasts, their mean absolute error, that of
persistence (the density at the origin), and the share of measured densities inside the 80 %
band. A scenario has no days of history, so its forecasts rest on the trend alone and stop at
30 min: the longer horizons are reported with ``n = 0``, not invented.
"""

from __future__ import annotations

import argparse
import functools
import json
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from stadswacht.config import get_settings
from stadswacht.livinglab import InprocTransport, PlatformRegistrar, read_scenario
from stadswacht.livinglab import replay as run_replay
from stadswacht.model import Detection
from stadswacht.pipeline import Platform
from stadswacht.pipeline.crowd import SAMPLE_S, CrowdStage
from stadswacht.pipeline.offline import detect_recorded
from stadswacht.store import ReadingQuery

HORIZONS_MIN = (5, 15, 30, 60, 180)
DEFAULT = Path(__file__).resolve().parents[1] / "scenarios" / "malieveld_event.yaml"


class Recorder:
    """The crowd stage, with every zone's forecast and density kept once a sampling step."""

    def __init__(self, stage: CrowdStage) -> None:
        self.stage = stage
        self.density: dict[str, dict[int, float]] = {}
        self.forecasts: list[tuple[str, float, list[tuple[float, float, float, float]]]] = []
        self._last = float("-inf")

    @property
    def watermark(self) -> float:
        return self.stage.watermark

    def handle(self, reading: Mapping[str, Any], at_s: float | None = None) -> list[Detection]:
        found = self.stage.handle(reading, at_s)
        self._sample()
        return found

    def advance(self, now_s: float, at_s: float | None = None) -> list[Detection]:
        found = self.stage.advance(now_s, at_s)
        self._sample()
        return found

    def _sample(self) -> None:
        now = self.stage.watermark
        if now - self._last < SAMPLE_S:
            return
        self._last = now
        for zone, state in self.stage.states(now).items():
            if state.updated_s is None:
                continue
            self.density.setdefault(zone, {})[round(now / SAMPLE_S)] = state.density
            self.forecasts.append((zone, now, self.stage.outlook(zone, now).points))

    def figures(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for h in HORIZONS_MIN:
            errors, naive, inside = [], [], 0
            for zone, origin, points in self.forecasts:
                series = self.density[zone]
                at = next((p for p in points if abs(p[0] - origin - 60 * h) < 1), None)
                actual = series.get(round((origin + 60 * h) / SAMPLE_S))
                if at is None or actual is None:
                    continue
                now = series[round(origin / SAMPLE_S)]
                errors.append(abs(at[1] - actual))
                naive.append(abs(now - actual))
                inside += at[2] <= actual <= at[3]
            n = len(errors)
            out[f"{h}min"] = {
                "n": n,
                "mae": round(sum(errors) / n, 4) if n else None,
                "mae_persistence": round(sum(naive) / n, 4) if n else None,
                "coverage_80": round(inside / n, 3) if n else None,
            }
        return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scenario", nargs="?", type=Path, default=DEFAULT)
    args = parser.parse_args()
    sc = read_scenario(args.scenario)
    with tempfile.TemporaryDirectory(prefix="stadswacht-zf-") as tmp:
        settings = get_settings().model_copy(
            update={
                "database_url": f"sqlite:///{tmp}/bench.db",
                "bus_url": "inproc://",
                "mqtt_url": None,
            }
        )
        platform = Platform.from_settings(settings)
        try:
            report = run_replay(
                sc,
                InprocTransport(functools.partial(platform.ingestor.ingest, transport="inproc")),
                PlatformRegistrar(platform.store, platform.registry),
                speed=0.0,
            )
            start_s = report.simulation.start.timestamp()
            sent = {
                (e.reading["device"], e.reading["seq"]): start_s + e.send_s
                for e in report.simulation.genuine()
                if e.reading["kind"] == "people_count"
            }
            received: list[tuple[float, dict[str, Any]]] = []
            after = 0
            while page := platform.store.query_readings(
                ReadingQuery(kind="people_count", after_id=after, limit=10_000)
            ):
                after = int(page[-1].id or 0)
                received += [
                    (sent[(r.device, r.seq)], r.as_dict())
                    for r in page
                    if (r.device, r.seq) in sent
                ]
            received.sort(key=lambda pair: pair[0])
            recorder = Recorder(
                CrowdStage(device=platform.registry.get, areas=platform.store.list_areas)
            )
            detect_recorded([recorder], received)
        finally:
            import asyncio

            asyncio.run(platform.close())
    result = {"scenario": sc.name, "source": "simulated (living lab)", **recorder.figures()}
    print("  horizon      n    MAE  persistence MAE  80% coverage", file=sys.stderr)
    for h in HORIZONS_MIN:
        f = result[f"{h}min"]
        if f["n"]:
            print(
                f"  {h:4d} min {f['n']:6d} {f['mae']:6.3f} {f['mae_persistence']:16.3f} "
                f"{f['coverage_80']:13.3f}",
                file=sys.stderr,
            )
        else:
            print(f"  {h:4d} min      0  (no forecast: no history)", file=sys.stderr)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
