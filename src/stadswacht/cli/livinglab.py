"""``stadswacht demo``, ``replay`` and ``evaluate``: the living lab, a scenario's devices
streaming signed readings into the platform, and its score card against the ground truth.

The three are top-level commands: :mod:`stadswacht.cli` registers them.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import threading
import time
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from stadswacht import __version__
from stadswacht.cli import DEFAULT_SCENARIO, _fail, _platform, _settings, console, err
from stadswacht.errors import StadswachtError
from stadswacht.model import DeviceKind, Role
from stadswacht.pipeline import Platform

if TYPE_CHECKING:
    from rich.progress import Progress, TaskID

    from stadswacht.livinglab import ReplayReport, Scenario


def demo(
    host: Annotated[str, typer.Option(help="Address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on")] = 8000,
    scenario: Annotated[Path, typer.Option(help="Living-lab scenario to stream")] = (
        DEFAULT_SCENARIO
    ),
    speed: Annotated[float, typer.Option(help="Simulated seconds per wall-clock second")] = 30.0,
) -> None:
    """Run the platform on embedded defaults with a living-lab scenario streaming in a loop
    through the real HTTP ingest path. Prints the dashboard URL and a login."""
    import uvicorn

    from stadswacht.api import create_app
    from stadswacht.api.auth import create_user
    from stadswacht.errors import AlreadyExists, ScenarioError
    from stadswacht.livinglab import read_scenario

    settings = _settings()
    if settings.env == "production":
        raise _fail(StadswachtError("the demo runs in development mode only"))
    try:
        sc = read_scenario(scenario)
    except ScenarioError as exc:
        raise _fail(exc) from exc
    logging.basicConfig(level=logging.WARNING)
    # The scenario's warnings are an exercise (CAP status Exercise), readable without sign-in
    # so a feed reader can be pointed at them; its gauges' tide is known, as a tide table.
    # The scenario's infrastructure graph (``<scenario>.infra.yaml``), if it has one, for the
    # dashboard's "what if this fails" and blind-spot views.
    infra_file = scenario.with_name(scenario.stem + ".infra.yaml")
    platform = _platform(
        settings.model_copy(
            update={
                "cap_status": "Exercise",
                "cap_public": True,
                "infra_graph_file": settings.infra_graph_file
                or (infra_file if infra_file.exists() else None),
            }
        )
    )
    platform.add_thresholds(sc.thresholds())
    platform.level_forecaster = _scenario_forecaster(sc)
    password_file = Path("var/demo-admin-password")
    try:
        password = secrets.token_urlsafe(12)
        create_user(platform.store, "admin", password, "municipality", Role.ADMIN)
        password_file.parent.mkdir(parents=True, exist_ok=True)
        password_file.write_text(password + "\n")
        password_file.chmod(0o600)
    except AlreadyExists:
        password = password_file.read_text().strip() if password_file.exists() else "(set earlier)"
    api = create_app(platform=platform)
    url = f"http://{host}:{port}"
    stop = threading.Event()
    threading.Thread(
        target=_stream_scenario,
        args=(platform, sc, url, speed, stop),
        daemon=True,
        name="living-lab",
    ).start()
    console.print(f"[bold]Stadswacht {__version__}[/bold] on {url}")
    console.print(f"  dashboard {url}/")
    console.print(f"  API docs  {url}/docs")
    console.print(f"  login     admin / {password}")
    console.print(f"  store     {settings.database_url}")
    console.print(
        f"  scenario  {sc.name}: {len(sc.sensors)} sensors stream over HTTP at {speed:g}x, "
        "in a loop"
    )
    try:
        uvicorn.run(api, host=host, port=port, log_level="warning")
    finally:
        stop.set()
        asyncio.run(platform.close())


def _scenario_forecaster(sc: Scenario) -> Any:
    """The water-level forecaster of a scenario's gauges: their astronomical tide (for the
    start the replay will use now) plus the surge forecast."""
    from stadswacht.forecast.level import TideSurgeForecaster
    from stadswacht.livinglab.simulator import astronomical_tides

    return TideSurgeForecaster(astronomical_tides(sc, sc.start_time(datetime.now(UTC))))


def _stream_scenario(
    platform: Platform, sc: Scenario, url: str, speed: float, stop: threading.Event
) -> None:
    """Replay ``sc`` over HTTP against ``url`` until ``stop`` is set (the demo's devices)."""
    import httpx

    from stadswacht.client import HttpTransport
    from stadswacht.livinglab import PlatformRegistrar
    from stadswacht.livinglab import replay as run_replay

    log = logging.getLogger("stadswacht.livinglab")
    while not stop.is_set():  # wait for the server
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            stop.wait(0.2)

    def pause(seconds: float) -> None:
        stop.wait(seconds)

    seq_base = 0
    transport = HttpTransport(url)
    while not stop.is_set():
        seq_base = max(int(time.time()) * 1_000_000, seq_base + 1_000_000)
        try:
            run_replay(
                sc,
                transport,
                PlatformRegistrar(platform.store, platform.registry),
                speed=speed,
                seq_base=seq_base,
                sleep=pause,
            )
        except StadswachtError as exc:
            log.warning("living-lab replay stopped: %s; starting again", exc)
            stop.wait(2.0)
    transport.close()


class Via(StrEnum):
    """How ``stadswacht replay`` delivers readings."""

    http = "http"
    mqtt = "mqtt"
    inproc = "inproc"


def replay(
    scenario: Annotated[Path, typer.Argument(help="Scenario YAML (docs/scenarios.md)")] = (
        DEFAULT_SCENARIO
    ),
    speed: Annotated[
        float, typer.Option(help="Simulated seconds per wall-clock second; 0: as fast as possible")
    ] = 1.0,
    via: Annotated[Via, typer.Option(help="Ingest path: HTTP API, MQTT broker, or in-process")] = (
        Via.http
    ),
    url: Annotated[
        str | None,
        typer.Option(
            help="Platform URL (--via http, default http://127.0.0.1:8000) or broker URL "
            "(--via mqtt, default STADSWACHT_MQTT_URL; mqtt://user:password@host:1883)"
        ),
    ] = None,
    truth: Annotated[
        Path | None, typer.Option(help="Write the scenario's ground truth here (JSON)")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON")] = False,
    loop: Annotated[bool, typer.Option(help="Start the scenario again when it ends")] = False,
) -> None:
    """Replay a living-lab scenario: register its devices, stream their signed readings."""
    import functools

    from rich.progress import Progress

    from stadswacht.client import Transport, open_transport
    from stadswacht.errors import ScenarioError
    from stadswacht.livinglab import InprocTransport, PlatformRegistrar, read_scenario
    from stadswacht.livinglab import replay as run_replay

    try:
        sc = read_scenario(scenario)
    except ScenarioError as exc:
        raise _fail(exc) from exc
    settings = _settings()
    # Devices are registered through a platform on the same database as the server, like the
    # other administrative commands; the server sees them on its next registry lookup.
    platform = _platform(settings)
    transport: Transport
    try:
        if via is Via.inproc:
            transport = InprocTransport(
                functools.partial(platform.ingestor.ingest, transport="inproc")
            )
        elif via is Via.mqtt:
            broker = url or settings.mqtt_url
            if not broker:
                raise _fail(
                    StadswachtError("give --url mqtt://host:1883 or set STADSWACHT_MQTT_URL")
                )
            transport = open_transport(broker)
        else:
            transport = open_transport(url or "http://127.0.0.1:8000")
        seq_base = 0
        while True:
            # Sequence numbers of a new run start above every earlier run's (see replay()).
            seq_base = max(int(time.time()) * 1_000_000, seq_base + 1_000_000)
            with Progress(console=err) as progress:
                task = progress.add_task(f"replaying {sc.name} via {via.value}", total=None)
                report = run_replay(
                    sc,
                    transport,
                    PlatformRegistrar(platform.store, platform.registry),
                    speed=speed,
                    seq_base=seq_base,
                    # another process may hold a re-keyed device's old key this long
                    settle_s=0.0 if via is Via.inproc else platform.registry.ttl,
                    progress=functools.partial(_advance, progress, task),
                )
            _print_replay(report, as_json)
            if truth is not None:
                truth.write_text(
                    json.dumps([t.as_dict() for t in report.simulation.truth], indent=2) + "\n"
                )
            if not loop:
                break
        transport.close()
    except (StadswachtError, ValueError, OSError) as exc:
        raise _fail(exc) from exc
    finally:
        asyncio.run(platform.close())
    if report.unexpected:
        raise typer.Exit(1)


def evaluate(
    scenario: Annotated[Path, typer.Argument(help="Scenario YAML (docs/scenarios.md)")] = (
        DEFAULT_SCENARIO
    ),
    as_json: Annotated[bool, typer.Option("--json", help="Print the score card as JSON")] = False,
    out: Annotated[
        Path, typer.Option(help="Folder for the score card (Markdown, JSON, PNG)")
    ] = Path("var/scorecards"),
) -> None:
    """Replay a scenario as fast as possible into a throw-away embedded platform and score
    each detector kind against the ground truth ("not built" where no detector exists yet)."""
    import functools
    import tempfile

    from stadswacht.errors import ScenarioError
    from stadswacht.livinglab import (
        InprocTransport,
        PlatformRegistrar,
        read_scenario,
        score,
        write_scorecard,
    )
    from stadswacht.livinglab import replay as run_replay

    try:
        sc = read_scenario(scenario)
    except ScenarioError as exc:
        raise _fail(exc) from exc
    with tempfile.TemporaryDirectory(prefix="stadswacht-eval-") as tmp:
        settings = _settings().model_copy(
            update={
                "database_url": f"sqlite:///{tmp}/evaluate.db",
                "bus_url": "inproc://",
                "mqtt_url": None,
            }
        )
        platform = _platform(settings)
        try:
            started = time.monotonic()
            report = run_replay(
                sc,
                InprocTransport(functools.partial(platform.ingestor.ingest, transport="inproc")),
                PlatformRegistrar(platform.store, platform.registry),
                speed=0.0,
            )
            elapsed = time.monotonic() - started
            detections = _detect_replayed(platform, report)
        finally:
            asyncio.run(platform.close())
    card = score(report, detections, elapsed_s=elapsed)
    paths = write_scorecard(card, report, out / scenario.stem)
    if as_json:
        print(json.dumps(card))
        return
    ing = card["ingest"]
    console.print(f"[bold]{card['scenario']}[/bold] ({card['source']})")
    console.print(
        f"  ingest: {ing['genuine_stored']}/{ing['genuine_sent']} genuine readings stored, "
        f"{ing['genuine_refused']} refused"
    )
    for mode, a in ing["attacks"].items():
        console.print(
            f"  attack {mode}: {a['refused_as_expected']}/{a['sent']} refused as "
            f"{a['expected']}, {a['stored']} stored"
        )
    for kind in ("gunshot", "crowd", "hazard", "infra", "websignal"):
        d = card[kind]
        if d["status"] != "scored":
            console.print(f"  {kind}: {d['status']}")
            continue
        if kind == "hazard":
            leads = "; ".join(
                f"{rise}: "
                + ", ".join(
                    f"{level} {'missed' if v is None else f'{v / 60:.0f}'}"
                    for level, v in by_level.items()
                )
                for rise, by_level in d["lead_time_by_rise_s"].items()
            )
            console.print(
                f"  hazard: {d['warnings']} warnings for {d['rises']} water rises; lead time "
                f"before each level was reached \\[min]: {leads or '-'}; "
                f"{d['false_warnings_per_day']} false warnings/day"
            )
            continue
        if kind == "infra":
            console.print(
                f"  infra: {d['detected']}/{d['events']} detected ("
                + ", ".join(f"{t} {v['detected']}/{v['events']}" for t, v in d["by_type"].items())
                + "); silent sensors caught after \\[intervals]: "
                + (", ".join(f"{e} {v}" for e, v in d["silent_detection_intervals"].items()) or "-")
                + f"; {d['false_alarms_per_device_per_day']} false alarms/device/day; detections "
                "per outage: "
                + (", ".join(f"{e} {n}" for e, n in d["detections_per_outage"].items()) or "-")
            )
            continue
        if kind == "crowd":
            leads = ", ".join(
                f"{s} {v / 60:.1f}" for s, v in d["lead_time_to_4_by_surge_s"].items()
            )
            console.print(
                f"  crowd: {d['surges_warned']}/{d['surges']} surges warned; lead time to 4 p/m² "
                f"\\[min]: {leads or '-'}; missed {len(d['missed_crossings'])}; "
                f"{d['false_warnings_per_zone_per_day']} false warnings/zone/day"
            )
            continue
        err, delay = d["localisation_error_m"], d["decision_delay_s"]
        console.print(
            f"  {kind}: {d['detected']}/{d['events']} detected, precision {d['precision']}, "
            f"{d['false_alarms_per_hour']} false alarms/h"
            + (f", error median {err['median']} m" if err else "")
            + (f", decision p95 {delay['p95']} s after the last arrival" if delay else "")
        )
    console.print(f"  score card: {', '.join(str(p) for p in paths)}")


def _detect_replayed(platform: Platform, report: ReplayReport) -> dict[str, list[dict[str, Any]]]:
    """Run the detectors over what a replay stored, on the simulated clock: each stored reading
    reaches them at the simulated time it was sent (see :mod:`stadswacht.pipeline.offline`)."""
    from stadswacht.forecast.level import TideSurgeForecaster
    from stadswacht.livinglab.simulator import astronomical_tides
    from stadswacht.pipeline import gunshot as gunshot_stage
    from stadswacht.pipeline import websignal as websignal_stage
    from stadswacht.pipeline.crowd import CrowdStage
    from stadswacht.pipeline.hazard import HazardStage
    from stadswacht.pipeline.offline import detect_recorded
    from stadswacht.store import ReadingQuery

    kinds = (*gunshot_stage.KINDS, "people_count", "water_level", "rain", "temperature")
    sim = report.simulation
    start_s = sim.start.timestamp()
    sent = {
        (e.reading["device"], e.reading["seq"]): start_s + e.send_s
        for e in sim.genuine()
        if e.reading["kind"] in kinds
    }
    received: list[tuple[float, dict[str, Any]]] = []
    for kind in kinds:
        after = 0
        while page := platform.store.query_readings(
            ReadingQuery(kind=kind, after_id=after, limit=10_000)
        ):
            after = int(page[-1].id or 0)
            received += [
                (sent[(r.device, r.seq)], r.as_dict()) for r in page if (r.device, r.seq) in sent
            ]
    received.sort(key=lambda pair: pair[0])
    gunshot = gunshot_stage.GunshotStage(
        device=platform.registry.get,
        acoustic_devices=lambda: [
            d for d in platform.registry.list() if d.kind is DeviceKind.ACOUSTIC
        ],
    )
    crowd = CrowdStage(device=platform.registry.get, areas=platform.store.list_areas)
    thresholds = sim.scenario.thresholds()
    hazard = HazardStage(
        device=platform.registry.get,
        areas=platform.store.list_areas,
        thresholds=lambda: thresholds,
        forecaster=TideSurgeForecaster(astronomical_tides(sim.scenario, sim.start)),
    )
    found = detect_recorded([gunshot, crowd, hazard], received)
    return {
        "gunshot": [
            {
                "type": d.kind,
                "time": d.time,
                "position": [d.position.lon, d.position.lat] if d.position else None,
                "detected_at": d.detected_at,
                "decision_delay_s": d.details.get("raised_after_last_arrival_s"),
                "rounds": d.details.get("rounds"),
            }
            for d in found
            if d.kind == "gunshot"
        ],
        "crowd": [
            {
                "type": "crowd_warning",
                "zone": d.area,
                "time": d.time,
                "detected_at": d.detected_at,
                "level": d.details.get("level"),
                "basis": d.details.get("basis"),
            }
            for d in found
            if d.kind == "crowd"
        ],
        "hazard": [
            {
                "type": f"{d.details['hazard']}_warning",
                "threshold": d.details["threshold"],
                "device": d.sensors[0] if d.sensors else None,
                "time": d.time,
                "detected_at": d.detected_at,
                "first_warned": d.details.get("first_warned", {}),
                "levels": d.details.get("levels", {}),
                "peak": d.details.get("peak"),
            }
            for d in found
            if d.kind == "hazard"
        ],
        "infra": _infra_replayed(platform, report),
        "websignal": websignal_stage.evaluate_replayed(platform, sim),
    }


def _infra_replayed(platform: Platform, report: ReplayReport) -> list[dict[str, Any]]:
    """Run the infrastructure stage over every stored reading (all kinds) and every rejection
    of a replay, each at the simulated time it reached the platform. Dead letters are timed by
    the emission they came from; a replayed copy that left no dead letter was answered
    ``duplicate`` and reaches the stage as the duplicate rejection ingest publishes live."""
    from stadswacht.model.reading import READING_KINDS
    from stadswacht.pipeline.infra import InfraStage, recorded_stream
    from stadswacht.pipeline.offline import detect_recorded
    from stadswacht.store import ReadingQuery

    sim = report.simulation
    start_s = sim.start.timestamp()
    sent = {(e.reading["device"], e.reading["seq"]): start_s + e.send_s for e in sim.genuine()}
    readings: list[tuple[float, dict[str, Any]]] = []
    for kind in READING_KINDS:
        after = 0
        while page := platform.store.query_readings(
            ReadingQuery(kind=kind, after_id=after, limit=10_000)
        ):
            after = int(page[-1].id or 0)
            readings += [
                (sent[(r.device, r.seq)], r.as_dict()) for r in page if (r.device, r.seq) in sent
            ]
    attacks = {(e.reading["device"], e.reading["seq"]): e for e in sim.attacks()}
    rejections: list[tuple[float, dict[str, Any]]] = []
    lettered: set[tuple[str, int]] = set()
    after = 0
    while letters := platform.store.list_dead_letters(after_id=after, limit=1000):
        after = int(letters[-1].id or 0)
        for dl in letters:
            key = (dl.device or "", -1 if dl.seq is None else dl.seq)
            lettered.add(key)
            attack = attacks.get(key)
            at = start_s + attack.send_s if attack is not None else sent.get(key)
            if at is None:
                continue
            rejections.append(
                (at, {"device": dl.device, "seq": dl.seq, "reason": dl.reason,
                      "message": dl.message, "transport": dl.transport, "source": dl.source,
                      "received_us": round(at * 1e6)})
            )  # fmt: skip
    for key, e in attacks.items():
        if e.attack == "replayed" and key not in lettered and key in sent:
            at = start_s + e.send_s
            rejections.append(
                (at, {"device": key[0], "seq": key[1], "reason": "duplicate",
                      "message": "identical copy within the duplicate window",
                      "transport": "inproc", "source": None, "received_us": round(at * 1e6),
                      "original_age_s": round(at - sent[key], 3)})
            )  # fmt: skip
    stage = InfraStage(
        device=platform.registry.get,
        devices=platform.registry.list,
        areas=platform.store.list_areas,
    )
    readings.sort(key=lambda pair: pair[0])
    found = detect_recorded([stage], recorded_stream(readings, rejections))
    return [
        {
            "id": d.id,
            "type": d.details["type"],
            "check": d.details["check"],
            "devices": list(d.sensors),
            "time": d.time,
            "detected_at": d.detected_at,
            "quarantine": d.details["quarantine"],
            "superseded_by": d.details.get("superseded_by"),
            "version": d.version,
        }
        for d in found
    ]


def _advance(progress: Progress, task: TaskID, done: int, total: int) -> None:
    progress.update(task, completed=done, total=total)


def _print_replay(report: ReplayReport, as_json: bool) -> None:
    if as_json:
        print(json.dumps(report.as_dict()))
        return
    console.print(
        f"sent {report.sent}: accepted {report.accepted}, duplicates {report.duplicates}, "
        f"rejected {sum(report.rejected.values())} "
        f"({', '.join(f'{r} {n}' for r, n in sorted(report.rejected.items())) or 'none'})"
        + (
            " (only the broker answered: see `stadswacht deadletters` for rejections)"
            if report.by == "broker"
            else ""
        )
    )
    for (mode, outcome), n in sorted(report.attacks.items()):
        console.print(f"  attack {mode}: {n} {outcome}")
    for device, seq, reason, message in report.unexpected[:20]:
        console.print(f"  [red]{device} seq {seq}: {reason}[/red] {message}")
