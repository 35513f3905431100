"""The ``stadswacht`` command: run the server, manage devices and users, send readings.

Administrative commands work on the store named by ``STADSWACHT_DATABASE_URL`` directly,
like a database console; run them on the platform's host.

This package holds the Typer ``app`` (the ``stadswacht`` console script), its sub-apps and the
helpers every command shares; the commands live in submodules by topic:

- :mod:`stadswacht.cli.devices`: ``device``, ``user``, ``broker``, ``ingest``, ``deadletters``
  and ``send``, the registry of devices and users and a device's side of ingest;
- :mod:`stadswacht.cli.livinglab`: ``demo``, ``replay`` and ``evaluate``, the living lab;
- :mod:`stadswacht.cli.analytics`: ``warn``, ``acoustic`` and ``forecast crowd-backtest``,
  the detectors and forecasters run on recorded data.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from stadswacht import __version__
from stadswacht.config import Settings, get_settings
from stadswacht.errors import StadswachtError
from stadswacht.forecast.hotspots.cli import forecast_backtest, forecast_hotspots
from stadswacht.pipeline import Platform
from stadswacht.sharing.audit_cli import audit_app

# Typed explicitly: the submodules import these from the package while it is still being
# initialised, and mypy cannot infer their types across that import cycle.
app: typer.Typer = typer.Typer(
    help="Stadswacht: signed sensor ingest, detection and need-to-know sharing.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)
device_app: typer.Typer = typer.Typer(help="Register and manage devices.", no_args_is_help=True)
user_app: typer.Typer = typer.Typer(
    help="Manage users of the API and dashboard.", no_args_is_help=True
)
ingest_app: typer.Typer = typer.Typer(help="Run ingest workers.", no_args_is_help=True)
broker_app: typer.Typer = typer.Typer(
    help="Mosquitto credentials and ACL for the registered devices.", no_args_is_help=True
)
app.add_typer(device_app, name="device")
app.add_typer(user_app, name="user")
app.add_typer(ingest_app, name="ingest")
app.add_typer(broker_app, name="broker")
acoustic_app: typer.Typer = typer.Typer(
    help="The sensor-side acoustic detector and classifier, on recordings.", no_args_is_help=True
)
app.add_typer(acoustic_app, name="acoustic")
forecast_app: typer.Typer = typer.Typer(
    help="Batch forecasts and their backtests.", no_args_is_help=True
)
app.add_typer(forecast_app, name="forecast")
forecast_app.command("hotspots")(forecast_hotspots)
forecast_app.command("backtest")(forecast_backtest)
warn_app: typer.Typer = typer.Typer(
    help="Hazard warnings and their CAP alerts.", no_args_is_help=True
)
app.add_typer(warn_app, name="warn")
app.add_typer(audit_app, name="audit")

console: Console = Console()
err: Console = Console(stderr=True)

DEFAULT_SCENARIO: Path = Path("scenarios/international_zone.yaml")
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


# --- a device's key and the platform's URL (send, acoustic send) ---------------------------
KeyOption = Annotated[
    str | None, typer.Option(envvar="STADSWACHT_DEVICE_KEY", help="Private key (base64url)")
]
KeyFileOption = Annotated[Path | None, typer.Option(help="File holding the private key")]
UrlOption = Annotated[str, typer.Option(help="Platform URL (http) or broker (mqtt://)")]


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


# The commands, by topic; importing a submodule registers its sub-app commands. The top-level
# commands are added here, in the order `stadswacht --help` lists them.
from stadswacht.cli import analytics, devices, livinglab  # noqa: E402
from stadswacht.cli.devices import deadletters, send  # noqa: E402
from stadswacht.cli.livinglab import Via, demo, evaluate, replay  # noqa: E402

app.command()(demo)
app.command()(deadletters)
app.command()(send)
app.command()(replay)
app.command()(evaluate)

__all__ = [
    "DEFAULT_SCENARIO",
    "KeyFileOption",
    "KeyOption",
    "UrlOption",
    "Via",
    "acoustic_app",
    "analytics",
    "app",
    "broker_app",
    "console",
    "deadletters",
    "demo",
    "device_app",
    "devices",
    "err",
    "evaluate",
    "forecast_app",
    "ingest_app",
    "livinglab",
    "replay",
    "run",
    "send",
    "user_app",
    "version",
    "warn_app",
]
