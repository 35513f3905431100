"""The CLI as an integrator uses it: register, list, rotate, remove, dead letters."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from stadswacht.cli import app
from stadswacht.config import get_settings
from stadswacht.model.signing import load_private_key, sign_reading
from stadswacht.pipeline import Platform

runner = CliRunner()


@pytest.fixture(autouse=True)
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    db = tmp_path / "cli.db"
    monkeypatch.setenv("STADSWACHT_DATABASE_URL", f"sqlite:///{db}")
    monkeypatch.setenv("STADSWACHT_ENV", "test")
    get_settings.cache_clear()
    yield db
    get_settings.cache_clear()


def test_device_life_cycle_and_dead_letters() -> None:
    r = runner.invoke(
        app,
        [
            "device",
            "add",
            "iz-ac-01",
            "--kind",
            "acoustic",
            "--lat",
            "52.09",
            "--lon",
            "4.28",
            "--agency",
            "police",
            "--area",
            "international-zone",
        ],
    )
    assert r.exit_code == 0, r.output
    private = re.search(r"private key\s+(\S+)", r.output)
    assert private is not None
    key = load_private_key(private.group(1))

    r = runner.invoke(app, ["device", "list", "--json"])
    devices = json.loads(r.output)
    assert [(d["id"], d["status"], d["key_version"]) for d in devices] == [
        ("iz-ac-01", "active", 1)
    ]

    # A duplicate registration is a clear error, not a traceback.
    r = runner.invoke(
        app,
        [
            "device",
            "add",
            "iz-ac-01",
            "--kind",
            "acoustic",
            "--lat",
            "52",
            "--lon",
            "4",
            "--agency",
            "police",
        ],
    )
    assert r.exit_code == 1 and "already registered" in r.output

    assert runner.invoke(app, ["device", "rotate-key", "iz-ac-01"]).exit_code == 0
    platform = Platform.from_settings(get_settings())
    try:
        old = sign_reading(
            key,
            {
                "device": "iz-ac-01",
                "seq": 1,
                "time": "2026-11-25T02:13:07.000001Z",
                "kind": "heartbeat",
                "values": {},
            },
        )
        platform.ingestor.ingest([old])
    finally:
        platform.store.close()
    r = runner.invoke(app, ["deadletters", "--json"])
    dead = [json.loads(line) for line in r.output.splitlines()]
    assert [d["reason"] for d in dead] == ["bad_signature"]

    assert runner.invoke(app, ["device", "remove", "iz-ac-01"]).exit_code == 0
    r = runner.invoke(app, ["device", "list", "--json"])
    assert json.loads(r.output)[0]["status"] == "decommissioned"
    assert runner.invoke(app, ["device", "remove", "nope"]).exit_code == 1


def test_user_add_refuses_short_password() -> None:
    r = runner.invoke(
        app,
        ["user", "add", "ivo", "--agency", "police", "--role", "integrator", "--password", "short"],
    )
    assert r.exit_code == 1 and "12 characters" in r.output
    r = runner.invoke(
        app,
        [
            "user",
            "add",
            "ivo",
            "--agency",
            "police",
            "--role",
            "integrator",
            "--password",
            "long enough password",
        ],
    )
    assert r.exit_code == 0, r.output


def test_send_a_csv_file_as_a_device(tmp_path: Path) -> None:
    from datetime import UTC, datetime

    from stadswacht.api import create_app
    from stadswacht.model import Position, format_time
    from tests.support.server import serve

    platform = Platform.from_settings(get_settings())
    reg = platform.registry.register(
        "iz-wx-02", kind="weather", position=Position(lat=52.09, lon=4.28), agency="municipality"
    )
    now = format_time(datetime.now(UTC))
    csv_file = tmp_path / "readings.csv"
    csv_file.write_text(
        "time,kind,temperature_c,level_cm_nap\n"
        f"{now},temperature,8.4,\n"
        f"{now},temperature,9.1,\n"
        f"{now},temperature,400,\n"
    )
    args = ["send", str(csv_file), "--device", "iz-wx-02", "--key", reg.private_key or ""]
    with serve(create_app(platform=platform)) as url:
        # A bad row stops the send before anything goes out, naming its line.
        r = runner.invoke(app, [*args, "--url", url])
        assert r.exit_code == 1 and "readings.csv:4" in r.output and "temperature_c" in r.output
        assert platform.store.count_readings() == 0
        csv_file.write_text("\n".join(csv_file.read_text().splitlines()[:3]) + "\n")
        r = runner.invoke(app, [*args, "--url", url])
    assert r.exit_code == 0, r.output
    assert "accepted 2" in r.output and "rejected 0" in r.output
    assert platform.store.count_readings() == 2
    platform.store.close()


def _recording(path: Path, rate: int, channels: int = 1) -> Path:
    """A recording with two synthetic gunshots (0.7 s and 2.4 s) in ambient noise."""
    import numpy as np
    import soundfile as sf

    from stadswacht.detect.acoustic import synthesise_gunshot

    rng = np.random.default_rng(7)
    x = synthesise_gunshot(rng, rate, duration_s=4.0, onset_s=0.7, snr_db=40)
    x = x + synthesise_gunshot(rng, rate, duration_s=4.0, onset_s=2.4, snr_db=40)
    data = np.stack([x, 0.5 * x], axis=1) if channels == 2 else x
    sf.write(path, data, rate)
    return path


def test_acoustic_classify_prints_impulses_per_file_and_names_a_bad_one(tmp_path: Path) -> None:
    mono = _recording(tmp_path / "shots.wav", 22_050)
    stereo = _recording(tmp_path / "stereo.flac", 48_000, channels=2)
    broken = tmp_path / "notes.wav"
    broken.write_text("this is not audio")
    r = runner.invoke(app, ["acoustic", "classify", str(mono), str(stereo), "--json"])
    assert r.exit_code == 0, r.output
    files = json.loads(r.output)["files"]
    for f in files:
        times = [round(i["time_s"], 2) for i in f["impulses"]]
        assert times == [0.7, 2.4], f
        for imp in f["impulses"]:
            assert sum(imp["classes"].values()) == pytest.approx(1.0, abs=1e-6)
            assert set(imp["classes"]) == {"gunshot", "fireworks", "impulsive_other", "background"}
    r = runner.invoke(app, ["acoustic", "classify", str(mono), str(broken)])
    text = " ".join(r.output.split())  # Rich wraps at the terminal's width
    assert r.exit_code == 1
    assert "notes.wav" in text and "not recognised" in text and "shots.wav: 2 impulses" in text


def test_acoustic_send_reports_impulses_never_audio(tmp_path: Path) -> None:
    from datetime import UTC, datetime, timedelta

    from stadswacht.api import create_app
    from stadswacht.model import DeviceKind, Position, parse_time
    from stadswacht.store import ReadingQuery
    from tests.support.server import serve

    platform = Platform.from_settings(get_settings())
    reg = platform.registry.register(
        "iz-ac-99", kind=DeviceKind.ACOUSTIC, position=Position(lat=52.09, lon=4.28),
        agency="police",
    )  # fmt: skip
    wav = _recording(tmp_path / "night.wav", 16_000)
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=30)
    args = ["acoustic", "send", str(wav), "--device", "iz-ac-99", "--key", reg.private_key or ""]
    with serve(create_app(platform=platform)) as url:
        r = runner.invoke(app, [*args, "--url", url, "--start", start.isoformat()])
    assert r.exit_code == 0, r.output
    assert "2 impulse reports" in r.output and "accepted 2" in r.output
    stored = platform.store.query_readings(ReadingQuery(device="iz-ac-99"))
    assert [s.kind for s in stored] == ["acoustic_impulse"] * 2
    offsets = [(parse_time(s.values["arrival_time"]) - start).total_seconds() for s in stored]
    assert offsets == [pytest.approx(0.7, abs=0.002), pytest.approx(2.4, abs=0.002)]
    # Only the report: arrival time, level, classes, duration; no samples.
    assert set(stored[0].values) == {"arrival_time", "peak_db", "classes", "duration_ms"}
    platform.store.close()


def test_broker_credentials_follow_the_registry(tmp_path: Path) -> None:
    from stadswacht.ingest.broker import check_password, read_password_file

    pw, acl = tmp_path / "password_file", tmp_path / "acl_file"
    for dev in ("iz-ac-01", "iz-ac-02"):
        r = runner.invoke(
            app,
            [
                "device",
                "add",
                dev,
                "--kind",
                "acoustic",
                "--lat",
                "52.09",
                "--lon",
                "4.28",
                "--agency",
                "police",
            ],
        )
        assert r.exit_code == 0, r.output
    r = runner.invoke(app, ["broker", "password", "iz-ac-01", "--password-file", str(pw)])
    assert r.exit_code == 0, r.output
    match = re.search(r"broker password\s+(\S+)", r.output)
    assert match is not None
    assert check_password(read_password_file(pw)["iz-ac-01"], match.group(1))
    assert runner.invoke(app, ["device", "remove", "iz-ac-01"]).exit_code == 0
    r = runner.invoke(app, ["broker", "sync", "--password-file", str(pw), "--acl-file", str(acl)])
    assert r.exit_code == 0, r.output
    assert "iz-ac-01" not in read_password_file(pw)
    text = acl.read_text()
    assert "topic write stadswacht/v1/readings/iz-ac-02" in text and "iz-ac-01" not in text


def test_replay_default_scenario_in_process_and_write_truth(tmp_path: Path) -> None:
    scenario = Path(__file__).resolve().parents[1] / "scenarios" / "international_zone.yaml"
    truth = tmp_path / "truth.json"
    r = runner.invoke(
        app,
        [
            "replay",
            str(scenario),
            "--via",
            "inproc",
            "--speed",
            "0",
            "--json",
            "--truth",
            str(truth),
        ],
    )
    assert r.exit_code == 0, r.output
    report = json.loads(r.output.strip().splitlines()[-1])
    assert report["accepted"] > 1000
    assert report["rejected"].get("bad_signature", 0) >= 1
    events = json.loads(truth.read_text())
    assert any(e["type"] == "gunshot" for e in events)
    r = runner.invoke(app, ["replay", str(tmp_path / "missing.yaml"), "--via", "inproc"])
    assert r.exit_code == 1 and "missing.yaml" in r.output


def test_evaluate_scores_every_detector_kind(tmp_path: Path) -> None:
    scenario = Path(__file__).resolve().parents[1] / "scenarios" / "international_zone.yaml"
    r = runner.invoke(app, ["evaluate", str(scenario), "--json", "--out", str(tmp_path)])
    assert r.exit_code == 0, r.output
    card = json.loads(r.output.strip().splitlines()[-1])
    # Every injected failure, power cut and attack is found, with one detection per outage
    # and no false alarm; the burst of posts is found, the one-author spam is not a burst.
    infra = card["infra"]
    assert infra["status"] == "scored" and infra["missed"] == []
    assert infra["detected"] == infra["events"] == 6
    assert infra["detections_per_outage"] == {"dark-bosjes": 1}
    assert infra["false_alarms_per_device_per_day"] <= 0.01
    websignal = card["websignal"]
    assert websignal["detected"] == websignal["events"] == 1
    assert websignal["false_alarms"] == 0 and websignal["detections_during_spam"] == 0
    # The storm surge is warned of before the gauge reaches each level; nothing else warns.
    hazard = card["hazard"]
    assert hazard["status"] == "scored" and hazard["rises"] == 1
    assert hazard["missed_crossings"] == [] and hazard["false_warnings"] == 0
    assert set(hazard["lead_time_by_rise_s"]["surge-1"]) == {"pre-warning", "yellow"}
    assert all(lead >= 0 for lead in hazard["lead_time_by_rise_s"]["surge-1"].values())
    # No crowd surge in this night's scenario: the crowd detector must stay quiet.
    assert card["crowd"]["status"] == "scored"
    assert (card["crowd"]["surges"], card["crowd"]["warnings"]) == (0, 0)
    gunshot = card["gunshot"]
    assert gunshot["status"] == "scored"
    assert gunshot["truth_events"] == {"gunshot": 3, "fireworks": 1, "impulsive_noise": 42}
    # The detector finds every shot, near where it was, in time; fireworks are not shots.
    assert gunshot["detected"] == gunshot["events"] == 3
    assert gunshot["false_alarms"] == 0
    assert gunshot["localisation_error_m"]["p90"] < 15
    assert gunshot["decision_delay_s"]["p95"] <= 2.0
    ingest = card["ingest"]
    assert ingest["genuine_stored"] == ingest["genuine_sent"] > 1000
    assert ingest["genuine_refused"] == 0
    assert ingest["attacks"]["forged"]["refused_as_expected"] == ingest["attacks"]["forged"]["sent"]
    assert all(a["stored"] == 0 for a in ingest["attacks"].values())
    out = tmp_path / "international_zone"
    assert json.loads((out / "scorecard.json").read_text()) == card
    assert "not built" not in (out / "scorecard.md").read_text()
    assert "| gunshot | 3/3 |" in (out / "scorecard.md").read_text()
    assert (out / "timeline.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_run_with_an_unreachable_store_or_bus_says_so_without_a_traceback(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from tests.support.server import free_port

    monkeypatch.setenv("STADSWACHT_DATABASE_URL", f"postgresql://nobody@127.0.0.1:{free_port()}/x")
    get_settings.cache_clear()
    r = runner.invoke(app, ["run"])
    assert r.exit_code == 1 and "cannot open the PostgreSQL store" in r.output
    assert "Traceback" not in r.output


def test_evaluate_the_event_warns_of_the_koekamp_crush_ahead_of_time(tmp_path: Path) -> None:
    scenario = Path(__file__).resolve().parents[1] / "scenarios" / "malieveld_event.yaml"
    r = runner.invoke(app, ["evaluate", str(scenario), "--json", "--out", str(tmp_path)])
    assert r.exit_code == 0, r.output
    card = json.loads(r.output.strip().splitlines()[-1])
    crowd = card["crowd"]
    assert crowd["surges_warned"] == crowd["surges"] == 4
    assert crowd["missed_crossings"] == [] and crowd["false_warnings"] == 0
    assert crowd["lead_time_to_4_s"]["median"] >= 600  # at least 10 min before 4 persons/m²
    assert card["gunshot"]["detected"] == card["gunshot"]["events"] == 1
    assert card["gunshot"]["false_alarms"] == 0  # the fireworks finale is not a shooting


def test_forecast_crowd_backtest_prints_the_three_figures(tmp_path: Path) -> None:
    """On a synthetic counts file in the Melbourne long format (weekly rhythm and noise)."""
    import math
    import random
    from datetime import date, timedelta

    rng = random.Random(3)
    rows = ["Date,Day_of_week,Hour,SensorID,SensorName,PedestrianCount"]
    day0 = date(2013, 1, 7)
    for d in range(7 * 40):
        day = day0 + timedelta(days=d)
        for hour in range(24):
            for sensor in (1, 2, 3):
                base = 200 * sensor * (1.6 if day.weekday() < 5 else 0.8)
                rhythm = 0.2 + math.exp(-((hour - 13) ** 2) / 18)
                count = max(0, round(rng.gauss(base * rhythm, 10 + 0.1 * base * rhythm)))
                rows.append(f"{day:%d-%b-%Y},{day:%A},{hour},{sensor},Sensor {sensor},{count}")
    counts = tmp_path / "counts.csv"
    counts.write_text("\n".join(rows) + "\n")
    args = ["forecast", "crowd-backtest", str(counts), "--train-until", "2013-09-01"]
    r = runner.invoke(app, [*args, "--json"])
    assert r.exit_code == 0, r.output
    figures = json.loads(r.output.strip().splitlines()[-1])
    assert 0 < figures["mae_ratio_1h"] < 1.0  # beats "same hour last week" on a steady rhythm
    assert 0 < figures["mae_ratio_3h"] < 1.0
    assert 0.6 < figures["coverage_80"] < 0.95
    bad = tmp_path / "bad.csv"
    bad.write_text("Date,Hour,SensorID,PedestrianCount\n01-Jan-2013,25,1,10\n")
    r = runner.invoke(app, [*args[:2], str(bad), *args[3:]])
    assert r.exit_code == 1 and "bad.csv" in r.output


def test_warn_replay_writes_every_cap_alert_of_a_real_storm_and_its_feed(tmp_path: Path) -> None:
    """January 1976 at Hoek van Holland (the storm of 3 January, 294 cm NAP): every alert the
    monitors would have issued, each valid CAP, and an Atom feed linking to all of them."""
    from capparselib.parsers import CAPParser  # type: ignore[import-untyped]
    from lxml import etree

    from stadswacht.alerting.validate import schema

    dia = Path(__file__).resolve().parent / "fixtures" / "hydro" / "HOEKVHLD_197601_slice.dia"
    out = tmp_path / "cap"
    r = runner.invoke(
        app, ["warn", "replay", str(dia), "--station", "HOEKVHLD", "--out", str(out), "--json"]
    )
    assert r.exit_code == 0, r.output
    summary = json.loads(r.output.strip().splitlines()[-1])
    alerts = sorted(out.glob("*.xml"))
    assert summary["alerts"] == len(alerts) >= 2 and summary["warnings"] >= 1
    levels = set()
    for path in alerts:
        doc = etree.parse(str(path))
        schema().assertValid(doc)
        (parsed,) = CAPParser(path.read_text()).as_dict()
        assert str(parsed["cap_status"]) == "Exercise"  # a replay is never a live warning
        levels |= {str(i["cap_severity"]) for i in parsed["cap_info"]}
    assert "Severe" in levels  # 294 cm passed orange (280)
    feed = etree.parse(str(out / "feed.atom")).getroot()
    links = {
        e.get("href").rsplit("/", 1)[1] for e in feed.iter("{*}link") if e.get("rel") == "alternate"
    }
    assert links == {p.name for p in alerts}
    r = runner.invoke(
        app, ["warn", "replay", str(dia), "--station", "AMSTERDAM", "--out", str(out)]
    )
    assert r.exit_code == 1 and "no levels known for 'AMSTERDAM'" in r.output


def test_device_clear_lifts_a_quarantine_and_says_why_not_otherwise() -> None:
    r = runner.invoke(
        app,
        ["device", "add", "iz-pc-01", "--kind", "people_counter", "--lat", "52.09", "--lon",
         "4.28", "--agency", "municipality"],
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    r = runner.invoke(app, ["device", "clear", "iz-pc-01", "--note", "checked on site"])
    assert r.exit_code == 1 and "not quarantined" in r.output
    platform = Platform.from_settings(get_settings())
    try:
        platform.registry.quarantine("iz-pc-01", check="stuck", reason="frozen at 12 people")
    finally:
        asyncio.run(platform.close())
    r = runner.invoke(app, ["device", "list", "--json"])
    assert json.loads(r.output)[0]["status"] == "quarantined"
    r = runner.invoke(app, ["device", "clear", "iz-pc-01", "--note", "ok"])
    assert r.exit_code == 1 and "at least 3 characters" in r.output
    r = runner.invoke(app, ["device", "clear", "iz-pc-01", "--note", "counter replaced"])
    assert r.exit_code == 0, r.output
    r = runner.invoke(app, ["device", "list", "--json"])
    assert json.loads(r.output)[0]["status"] == "active"
