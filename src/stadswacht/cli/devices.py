"""``stadswacht device``, ``user``, ``broker``, ``ingest``, ``deadletters`` and ``send``: the
registry of devices and users, the broker's credentials, and a device's side of ingest.

``deadletters`` and ``send`` are top-level commands: :mod:`stadswacht.cli` registers them.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from stadswacht.cli import (
    KeyFileOption,
    KeyOption,
    UrlOption,
    _device_key,
    _fail,
    _platform,
    _settings,
    broker_app,
    console,
    device_app,
    err,
    ingest_app,
    user_app,
)
from stadswacht.errors import StadswachtError
from stadswacht.model import DeviceKind, Position, Role, format_time


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
