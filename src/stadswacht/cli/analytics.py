"""``stadswacht warn``, ``acoustic`` and ``forecast crowd-backtest``: the detectors and
forecasters run on recorded data (water-level series, sound recordings, pedestrian counts)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from stadswacht.cli import (
    KeyFileOption,
    KeyOption,
    UrlOption,
    _device_key,
    _fail,
    _settings,
    acoustic_app,
    console,
    err,
    forecast_app,
    warn_app,
)
from stadswacht.errors import StadswachtError
from stadswacht.model import Position


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
