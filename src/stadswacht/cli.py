"""The ``stadswacht`` command: run the server, manage devices and users, send readings.

Administrative commands work on the store named by ``STADSWACHT_DATABASE_URL`` directly,
like a database console; run them on the platform's host.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import secrets
import sys
import threading
import time
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from stadswacht import __version__
from stadswacht.config import Settings, get_settings
from stadswacht.errors import StadswachtError
from stadswacht.forecast.hotspots.cli import forecast_backtest, forecast_hotspots
from stadswacht.model import DeviceKind, Position, Role, format_time
from stadswacht.pipeline import Platform
from stadswacht.sharing.audit_cli import audit_app

if TYPE_CHECKING:
    from rich.progress import Progress, TaskID

    from stadswacht.livinglab import ReplayReport, Scenario

app = typer.Typer(
    help="Stadswacht: signed sensor ingest, detection and need-to-know sharing.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)
device_app = typer.Typer(help="Register and manage devices.", no_args_is_help=True)
user_app = typer.Typer(help="Manage users of the API and dashboard.", no_args_is_help=True)
ingest_app = typer.Typer(help="Run ingest workers.", no_args_is_help=True)
broker_app = typer.Typer(
    help="Mosquitto credentials and ACL for the registered devices.", no_args_is_help=True
)
app.add_typer(device_app, name="device")
app.add_typer(user_app, name="user")
app.add_typer(ingest_app, name="ingest")
app.add_typer(broker_app, name="broker")
acoustic_app = typer.Typer(
    help="The sensor-side acoustic detector and classifier, on recordings.", no_args_is_help=True
)
app.add_typer(acoustic_app, name="acoustic")
forecast_app = typer.Typer(help="Batch forecasts and their backtests.", no_args_is_help=True)
app.add_typer(forecast_app, name="forecast")
forecast_app.command("hotspots")(forecast_hotspots)
forecast_app.command("backtest")(forecast_backtest)
warn_app = typer.Typer(help="Hazard warnings and their CAP alerts.", no_args_is_help=True)
app.add_typer(warn_app, name="warn")
app.add_typer(audit_app, name="audit")

console = Console()
err = Console(stderr=True)

DEFAULT_SCENARIO = Path("scenarios/international_zone.yaml")
"""The living lab's default scenario: The Hague's International Zone."""


def _settings() -> Settings:
    try:
        return get_settings()
    except StadswachtError as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from exc


def _platform(settings: Settings | None = None) -> Platform:
    try:
        return Platform.from_settings(settings or _settings())
    except StadswachtError as exc:
        raise _fail(exc) from exc


def _device_key(key: str | None, key_file: Path | None) -> str:
    """The device's private key from ``--key`` (or its environment variable) or ``--key-file``."""
    secret = key or (key_file.read_text().strip() if key_file else None)
    if not secret:
        raise _fail(
            StadswachtError(
                "give the device's private key: --key, --key-file or STADSWACHT_DEVICE_KEY"
            )
        )
    return secret


def _fail(exc: Exception) -> typer.Exit:
    err.print(f"[red]error:[/red] {exc}")
    return typer.Exit(1)


@app.command()
def version() -> None:
    """Print the version."""
    console.print(__version__)


@app.command()
def run(
    host: Annotated[str | None, typer.Option(help="Address to listen on")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on")] = None,
) -> None:
    """Run the platform: HTTP API (and MQTT ingest when STADSWACHT_MQTT_URL is set)."""
    import uvicorn

    from stadswacht.api import create_app

    settings = _settings()
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    platform = _platform(settings)
    try:
        uvicorn.run(
            create_app(platform=platform),
            host=host or settings.host,
            port=port or settings.port,
            log_level="info",
        )
    finally:
        asyncio.run(platform.close())


@app.command()
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


# --- devices -------------------------------------------------------------------------------
@device_app.command("add")
def device_add(
    device_id: Annotated[str, typer.Argument(help="Device id, e.g. iz-ac-01")],
    kind: Annotated[DeviceKind, typer.Option(help="What the device is")],
    lat: Annotated[float, typer.Option(help="Latitude, WGS84 [deg]")],
    lon: Annotated[float, typer.Option(help="Longitude, WGS84 [deg]")],
    agency: Annotated[str, typer.Option(help="Owner agency id")],
    area: Annotated[str | None, typer.Option(help="Area id")] = None,
    public_key: Annotated[
        str | None, typer.Option(help="Ed25519 public key (base64url) made on the device")
    ] = None,
    gateway_for: Annotated[
        list[str] | None, typer.Option(help="For a gateway: a device it may batch-sign for")
    ] = None,
) -> None:
    """Register a device. Without --public-key a key pair is made and the private key is shown
    once: store it on the device."""
    platform = _platform()
    try:
        reg = platform.registry.register(
            device_id,
            kind=kind,
            position=Position(lat=lat, lon=lon),
            agency=agency,
            area=area,
            public_key=public_key,
            gateway_for=gateway_for or (),
        )
    except (StadswachtError, ValueError) as exc:
        raise _fail(exc) from exc
    finally:
        asyncio.run(platform.close())
    console.print(f"registered [bold]{reg.device.id}[/bold] ({reg.device.kind.value}, {agency})")
    console.print(f"public key   {reg.device.public_key}")
    if reg.private_key:
        console.print(f"private key  [bold yellow]{reg.private_key}[/bold yellow]")
        console.print("  shown once: put it on the device; the platform does not keep it")


@device_app.command("list")
def device_list(
    agency: Annotated[str | None, typer.Option(help="Only this agency's devices")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
) -> None:
    """List registered devices."""
    platform = _platform()
    try:
        devices = platform.registry.list(agency)
    finally:
        asyncio.run(platform.close())
    if as_json:
        print(json.dumps([json.loads(d.model_dump_json()) for d in devices], indent=2))
        return
    table = Table("id", "kind", "agency", "area", "status", "key", "lat", "lon")
    for d in devices:
        table.add_row(
            d.id,
            d.kind.value,
            d.agency,
            d.area or "",
            d.status.value,
            f"v{d.key_version}",
            f"{d.position.lat:.6f}",
            f"{d.position.lon:.6f}",
        )
    console.print(table)


@device_app.command("rotate-key")
def device_rotate(
    device_id: str,
    public_key: Annotated[
        str | None, typer.Option(help="New public key made on the device")
    ] = None,
) -> None:
    """Give a device a new key; the old key stops working at once."""
    platform = _platform()
    try:
        reg = platform.registry.rotate_key(device_id, public_key)
    except (StadswachtError, ValueError) as exc:
        raise _fail(exc) from exc
    finally:
        asyncio.run(platform.close())
    console.print(f"{device_id}: key version {reg.device.key_version}")
    if reg.private_key:
        console.print(f"private key  [bold yellow]{reg.private_key}[/bold yellow] (shown once)")


@device_app.command("remove")
def device_remove(device_id: str) -> None:
    """Decommission a device: it stays on record, its readings are refused."""
    platform = _platform()
    try:
        platform.registry.decommission(device_id)
    except StadswachtError as exc:
        raise _fail(exc) from exc
    finally:
        asyncio.run(platform.close())
    console.print(f"{device_id}: decommissioned")


@device_app.command("clear")
def device_clear(
    device_id: str,
    note: Annotated[str, typer.Option(help="Why the device can be trusted again (audited)")],
) -> None:
    """Lift a device's quarantine: the detectors use its readings again. The decision is
    kept on the audit log with your operating-system user name."""
    from stadswacht.forecast.hotspots.runs import cli_user

    if len(note.strip()) < 3:
        raise _fail(StadswachtError("give a --note of at least 3 characters: it is audited"))
    platform = _platform()
    try:
        device = platform.registry.clear(device_id)
        platform.record_access(
            [{"actor": cli_user(), "actor_agency": device.agency, "action": "decision",
              "object_kind": "device", "object_id": device_id, "owner": device.agency,
              "purpose": None, "outcome": "allow", "reason": "clear_quarantine",
              "note": note}]
        )  # fmt: skip
    except StadswachtError as exc:
        raise _fail(exc) from exc
    finally:
        asyncio.run(platform.close())
    console.print(f"{device_id}: quarantine lifted; its readings reach the detectors again")


# --- users ---------------------------------------------------------------------------------
@user_app.command("add")
def user_add(
    name: str,
    agency: Annotated[str, typer.Option(help="The user's agency")],
    role: Annotated[Role, typer.Option(help="The user's role")],
    password: Annotated[
        str | None, typer.Option(help="Password (12+ characters); asked when omitted")
    ] = None,
) -> None:
    """Create a user."""
    from stadswacht.api.auth import create_user

    if password is None:
        password = typer.prompt("password", hide_input=True, confirmation_prompt=True)
    platform = _platform()
    try:
        create_user(platform.store, name, password, agency, role)
    except (StadswachtError, ValueError) as exc:
        raise _fail(exc) from exc
    finally:
        asyncio.run(platform.close())
    console.print(f"user {name} ({role.value}, {agency}) created")


# --- dead letters --------------------------------------------------------------------------
@app.command()
def deadletters(
    device: Annotated[str | None, typer.Option(help="Only this device")] = None,
    reason: Annotated[str | None, typer.Option(help="Only this reason code")] = None,
    limit: Annotated[int, typer.Option(help="At most this many")] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON lines")] = False,
) -> None:
    """List rejected readings with their reasons, newest last."""
    platform = _platform()
    try:
        items = platform.store.list_dead_letters(device=device, reason=reason, limit=1_000_000)
    finally:
        asyncio.run(platform.close())
    items = items[-limit:]
    if as_json:
        for d in items:
            print(d.model_dump_json())
        return
    table = Table()
    for name in ("id", "received (UTC)", "device", "seq", "reason", "via"):
        table.add_column(name, no_wrap=True)
    table.add_column("message", ratio=1)
    for d in items:
        received = format_time(datetime.fromtimestamp(d.received_us / 1e6, UTC))[:19]
        table.add_row(
            str(d.id),
            received.replace("T", " "),
            d.device or "?",
            "" if d.seq is None else str(d.seq),
            d.reason,
            d.transport,
            d.message,
        )
    console.print(table)


# --- ingest workers ------------------------------------------------------------------------
@ingest_app.command("mqtt")
def ingest_mqtt() -> None:
    """Run a standalone MQTT ingest worker (STADSWACHT_MQTT_URL must be set)."""
    from stadswacht.ingest import mqtt

    settings = _settings()
    if not settings.mqtt_url:
        raise _fail(StadswachtError("set STADSWACHT_MQTT_URL, e.g. mqtt://127.0.0.1:1883"))
    sys.exit(mqtt.main())


# --- broker ------------------------------------------------------------------------------
_PASSWORD_FILE = typer.Option(help="Mosquitto password file (see deploy/mosquitto/)")
_ACL_FILE = typer.Option(help="Mosquitto ACL file (see deploy/mosquitto/)")


@broker_app.command("password")
def broker_password(
    device_id: str,
    password_file: Annotated[Path, _PASSWORD_FILE] = Path("deploy/mosquitto/password_file"),
) -> None:
    """Give a device a new broker password (shown once; the file keeps only its hash)."""
    from stadswacht.ingest import broker

    platform = _platform()
    try:
        device = platform.registry.get(device_id)
        password = broker.create_device_password(password_file, device)
    except (StadswachtError, OSError) as exc:
        raise _fail(exc) from exc
    finally:
        asyncio.run(platform.close())
    console.print(f"broker user      {broker.broker_username(device)}")
    console.print(f"broker password  [bold yellow]{password}[/bold yellow] (shown once)")
    console.print("reload the broker to apply: kill -HUP <mosquitto pid>")


@broker_app.command("sync")
def broker_sync(
    password_file: Annotated[Path, _PASSWORD_FILE] = Path("deploy/mosquitto/password_file"),
    acl_file: Annotated[Path, _ACL_FILE] = Path("deploy/mosquitto/acl_file"),
) -> None:
    """Write the ACL from the registry and drop passwords of decommissioned devices."""
    from stadswacht.ingest import broker

    platform = _platform()
    try:
        devices = platform.registry.list()
        removed = broker.sync_password_file(password_file, devices)
        broker.write_acl_file(acl_file, devices)
    except (StadswachtError, OSError) as exc:
        raise _fail(exc) from exc
    finally:
        asyncio.run(platform.close())
    active = sum(d.status.value == "active" for d in devices)
    console.print(f"ACL for {active} active devices written to {acl_file}")
    if removed:
        console.print(f"removed broker users: {', '.join(removed)}")
    console.print("reload the broker to apply: kill -HUP <mosquitto pid>")


# --- sending -------------------------------------------------------------------------------
KeyOption = Annotated[
    str | None, typer.Option(envvar="STADSWACHT_DEVICE_KEY", help="Private key (base64url)")
]
KeyFileOption = Annotated[Path | None, typer.Option(help="File holding the private key")]
UrlOption = Annotated[str, typer.Option(help="Platform URL (http) or broker (mqtt://)")]


@app.command()
def send(
    path: Annotated[Path, typer.Argument(help="CSV, JSON or NDJSON file of readings")],
    device: Annotated[str, typer.Option(help="Send as this device")],
    key: KeyOption = None,
    key_file: KeyFileOption = None,
    url: UrlOption = "http://127.0.0.1:8000",
    batch: Annotated[int, typer.Option(help="Readings per request")] = 500,
    buffer: Annotated[
        Path | None,
        typer.Option(help="Buffer file: keeps unsent readings and the sequence counter"),
    ] = None,
) -> None:
    """Send readings from a file as a device, signed, with a progress bar."""
    from rich.progress import Progress

    from stadswacht.client import DeviceClient, open_transport, send_file

    secret = _device_key(key, key_file)
    started = time.monotonic()
    with Progress(console=err) as progress:
        task = progress.add_task(f"sending as {device}", total=None)

        def advance(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        try:
            with DeviceClient(
                device, secret, open_transport(url), buffer_path=buffer, max_batch=batch
            ) as client:
                report = send_file(path, client, progress=advance)
        except (StadswachtError, ValueError, OSError) as exc:
            raise _fail(exc) from exc
    console.print(
        f"accepted {report.accepted}, duplicates {report.duplicates}, "
        f"rejected {len(report.rejected)}, still buffered {report.pending} "
        f"in {time.monotonic() - started:.1f} s"
    )
    for rej in report.rejected[:20]:
        console.print(
            f"  seq {rej.reading.get('seq')} at {rej.reading.get('time')}: "
            f"[red]{rej.reason}[/red] {rej.message}"
        )
    if report.rejected or report.pending:
        raise typer.Exit(1)


# --- living lab ----------------------------------------------------------------------------


class Via(StrEnum):
    """How ``stadswacht replay`` delivers readings."""

    http = "http"
    mqtt = "mqtt"
    inproc = "inproc"


@app.command()
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


@app.command()
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


@warn_app.command("replay")
def warn_replay(
    series: Annotated[Path, typer.Argument(help="RWS .dia, NOOS, Delft-FEWS PI-XML or KNMI file")],
    station: Annotated[
        str, typer.Option(help="Station code (HOEKVHLD, VLISSGN) or CODE:PARAMETER")
    ],
    out: Annotated[Path, typer.Option(help="Folder for the CAP alerts and feed.atom")],
    thresholds: Annotated[
        Path | None,
        typer.Option(help="Thresholds YAML; default Rijkswaterstaat's levels for the station"),
    ] = None,
    lat: Annotated[float | None, typer.Option(help="Station latitude, if not a known code")] = None,
    lon: Annotated[float | None, typer.Option(help="Station longitude")] = None,
    status: Annotated[str, typer.Option(help="CAP status of the alerts")] = "Exercise",
    base_url: Annotated[
        str, typer.Option(help="Where DIR will be served (links in the feed)")
    ] = "http://localhost:8000/cap/alerts",
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON summary")] = False,
) -> None:
    """Run the warning monitors over a recorded series with the station's levels and write
    every CAP alert they would have issued (one .xml each) and the Atom feed into OUT."""
    from stadswacht.alerting.cap import Status
    from stadswacht.alerting.replay import STATIONS, read_series, replay_warnings, write_alerts
    from stadswacht.detect.hazard.thresholds import (
        RWS_LEVELS_CM_NAP,
        read_thresholds,
        threshold_from_dict,
    )
    from stadswacht.errors import CapError, ConfigurationError, SeriesError

    code = station.partition(":")[0]
    try:
        data = read_series(series, station)
        if thresholds is not None:
            chosen = read_thresholds(thresholds)
        elif code in RWS_LEVELS_CM_NAP:
            chosen = [
                threshold_from_dict(
                    {"id": f"{code.lower()}-level", "device": code, "name": code,
                     "preset": f"rws:{code}", "update_interval_s": 0}
                )
            ]  # fmt: skip
        else:
            raise ConfigurationError(
                f"no levels known for {code!r}: give --thresholds (known: "
                f"{', '.join(RWS_LEVELS_CM_NAP)})"
            )
        if lat is not None and lon is not None:
            where = Position(lat=lat, lon=lon)
        elif code in STATIONS:
            where = Position(lat=STATIONS[code][0], lon=STATIONS[code][1])
        else:
            raise ConfigurationError(f"position of {code!r} unknown: give --lat and --lon")
        result = replay_warnings(
            data,
            chosen,
            position=where,
            sender=_settings().cap_sender,
            sender_name=_settings().cap_sender_name,
            status=Status(status),
        )
        files = write_alerts(
            result.alerts, out, base_url=base_url, title=f"Stadswacht replay: {code}"
        )
    except (SeriesError, ConfigurationError, CapError, ValueError) as exc:
        raise _fail(exc) from exc
    summary = {
        "series": str(series),
        "values": len(data),
        "warnings": result.warnings,
        "alerts": len(result.alerts),
        "out": str(out),
        "files": len(files),
    }
    if as_json:
        print(json.dumps(summary))
        return
    console.print(
        f"{summary['values']} values: {result.warnings} warnings, {len(result.alerts)} CAP "
        f"alerts written to {out} (and feed.atom)"
    )


@acoustic_app.command("classify")
def acoustic_classify(
    files: Annotated[list[Path], typer.Argument(help="Recordings (WAV, FLAC, OGG; any rate)")],
    as_json: Annotated[bool, typer.Option("--json", help="One JSON document on stdout")] = False,
) -> None:
    """Find impulses in recordings and classify each (gunshot, fireworks, other impulsive
    sound, background), as an acoustic sensor does before it sends an impulse report.

    A file that cannot be read is reported with the reason; the others are still classified,
    and the exit status is 1.
    """
    from stadswacht.detect.acoustic import Classifier, classify_file
    from stadswacht.errors import AudioError

    classifier = Classifier.load()
    results: list[dict[str, Any]] = []
    for path in files:
        try:
            results.append(
                {"file": str(path), "impulses": classify_file(path, classifier=classifier)}
            )
        except AudioError as exc:
            results.append({"file": str(path), "error": str(exc)})
    failed = any("error" in r for r in results)
    if as_json:
        print(json.dumps({"files": results}, indent=2))
        if failed:
            raise typer.Exit(1)
        return
    for r in results:
        if "error" in r:
            err.print(f"[red]{r['file']}: {r['error']}[/red]")
            continue
        n = len(r["impulses"])
        console.print(f"[bold]{r['file']}[/bold]: {n} impulse{'s' * (n != 1)}")
        for imp in r["impulses"]:
            classes = imp["classes"]
            best = max(classes, key=lambda k: classes[k])
            ranked = ", ".join(
                f"{k} {v:.2f}" for k, v in sorted(classes.items(), key=lambda kv: -kv[1])
            )
            console.print(
                f"  {imp['time_s']:9.4f} s  {imp['peak_dbfs']:6.1f} dBFS  "
                f"[bold]{best}[/bold]  ({ranked})"
            )
    if failed:
        raise typer.Exit(1)


@acoustic_app.command("send")
def acoustic_send(
    path: Annotated[Path, typer.Argument(help="Recording (WAV, FLAC, OGG; any rate)")],
    device: Annotated[str, typer.Option(help="Send as this acoustic sensor")],
    key: KeyOption = None,
    key_file: KeyFileOption = None,
    url: UrlOption = "http://127.0.0.1:8000",
    start: Annotated[
        datetime | None,
        typer.Option(help="Time of the recording's first sample (default: it ends now)"),
    ] = None,
    calibration_db: Annotated[
        float, typer.Option(help="Level of a full-scale signal [dB SPL] (the microphone's)")
    ] = 120.0,
    block_s: Annotated[float, typer.Option(help="Audio block size, as from a sound card [s]")] = (
        0.1
    ),
) -> None:
    """Run the sensor side on a recording as if it came from the microphone: detect impulses
    block by block, classify each, and send one signed impulse report per impulse. The audio
    itself is never sent."""
    from datetime import timedelta

    from stadswacht.client import DeviceClient, SendReport, open_transport
    from stadswacht.detect.acoustic import Classifier, OnsetDetector, impulse_values, read_audio
    from stadswacht.errors import AudioError

    secret = _device_key(key, key_file)
    try:
        samples, rate = read_audio(path)
    except AudioError as exc:
        raise _fail(exc) from exc
    if start is None:
        first = datetime.now(UTC) - timedelta(seconds=len(samples) / rate)
    elif start.tzinfo is None:
        raise _fail(StadswachtError("give --start with a UTC offset, e.g. 2026-11-25T02:13:00Z"))
    else:
        first = start
    classifier = Classifier.load()
    onset = OnsetDetector(rate, calibration_db=calibration_db)
    step = max(1, round(block_s * rate))
    sent = 0
    report = SendReport()
    try:
        with DeviceClient(device, secret, open_transport(url)) as client:
            for i in range(0, len(samples) + step, step):
                block = samples[i : i + step]
                found = onset.feed(block) if len(block) else onset.flush()
                for imp in found:
                    classes = classifier.probabilities(imp.snippet, imp.sample_rate)
                    values = impulse_values(imp, classes, first, calibration_db)
                    # Sent at once: a shot is located from several sensors' reports.
                    client.queue("acoustic_impulse", values, time=values["arrival_time"])
                    report.add(client.flush())
                    best = max(classes, key=lambda k: classes[k])
                    console.print(
                        f"{values['arrival_time']}  {values['peak_db']:6.1f} dB SPL  "
                        f"[bold]{best}[/bold] {classes[best]:.2f}"
                    )
                    sent += 1
    except (StadswachtError, ValueError, OSError) as exc:
        raise _fail(exc) from exc
    console.print(
        f"{sent} impulse reports from {len(samples) / rate:.1f} s of audio: "
        f"accepted {report.accepted}, rejected {len(report.rejected)}"
    )
    if report.rejected or report.pending:
        raise typer.Exit(1)


@forecast_app.command("crowd-backtest")
def forecast_crowd_backtest(
    counts: Annotated[
        Path,
        typer.Argument(
            help="Hourly counts in the Melbourne long format (Date, Hour, SensorID, "
            "PedestrianCount), CSV or zipped CSV"
        ),
    ],
    train_until: Annotated[
        datetime, typer.Option(formats=["%Y-%m-%d"], help="Last day of training (YYYY-MM-DD)")
    ],
    as_json: Annotated[bool, typer.Option("--json", help="Print the figures as JSON")] = False,
) -> None:
    """Train the crowd forecaster on the counts up to a day and test it on the rest: mean
    absolute error against "same hour last week" at 1 h and 3 h ahead, and the coverage of
    the 80 % prediction interval."""
    from stadswacht.forecast.crowd import backtest_file

    try:
        figures = backtest_file(counts, train_until.date())
    except (StadswachtError, ValueError, OSError) as exc:
        raise _fail(exc) from exc
    if as_json:
        print(json.dumps(figures))
        return
    console.print(
        f"MAE / same hour last week: {figures['mae_ratio_1h']:.3f} at 1 h, "
        f"{figures['mae_ratio_3h']:.3f} at 3 h; 80 % interval coverage "
        f"{figures['coverage_80']:.3f}"
    )


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
    stage = InfraStage(device=platform.registry.get, devices=platform.registry.list)
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


if __name__ == "__main__":  # pragma: no cover
    os.environ.setdefault("STADSWACHT_ENV", "development")
    app()
