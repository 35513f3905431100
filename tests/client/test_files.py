"""Sending a file: CSV, JSON and NDJSON, checked whole before anything goes out."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from stadswacht.client import DeviceClient, GatewayClient, HttpTransport, read_readings, send_file
from stadswacht.errors import InvalidReading
from stadswacht.model import DeviceKind, format_time
from tests.client.conftest import Api

T0 = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)


def t(minutes: int) -> str:
    return format_time(T0 + timedelta(minutes=minutes))


def test_csv_rows_of_several_kinds_are_read_with_typed_values(tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    path.write_text(
        "time,kind,temperature_c,on,in,out,interval_s,classes\n"
        f"{t(0)},temperature,8.4,,,,,\n"
        f"{t(1)},power,,false,,,,\n"
        f"{t(2)},people_count,,,12,3,60,\n"
    )
    rows, meta = read_readings(path)
    assert meta == {"format": "csv", "count": 3, "path": str(path)}
    assert [(r.kind, r.values, r.time, r.line) for r in rows] == [
        ("temperature", {"temperature_c": 8.4}, t(0), 2),
        ("power", {"on": False}, t(1), 3),
        ("people_count", {"in": 12, "out": 3, "interval_s": 60}, t(2), 4),
    ]


def test_a_bad_row_stops_the_file_with_its_line_before_anything_is_sent(
    api: Api, tmp_path: Path
) -> None:
    path = tmp_path / "r.csv"
    path.write_text(f"time,kind,temperature_c\n{t(0)},temperature,8.4\n{t(1)},temperature,180\n")
    key = api.register("iz-wx-01")
    with DeviceClient("iz-wx-01", key, HttpTransport(api.url)) as client:
        with pytest.raises(InvalidReading, match=r"r\.csv:3: temperature: temperature_c"):
            send_file(path, client)
        assert client.pending == 0
    assert api.stored() == []


@pytest.mark.parametrize("suffix", [".json", ".ndjson"])
def test_a_json_file_is_sent_in_order_with_progress(api: Api, tmp_path: Path, suffix: str) -> None:
    docs = [
        {"kind": "water_level", "values": {"level_cm_nap": 200 + i}, "time": t(i)} for i in range(7)
    ]
    path = tmp_path / f"r{suffix}"
    if suffix == ".json":
        path.write_text(json.dumps(docs))
    else:
        path.write_text("\n".join(json.dumps(d) for d in docs) + "\n")
    key = api.register("iz-gauge-01")
    progress: list[tuple[int, int]] = []
    client = DeviceClient("iz-gauge-01", key, HttpTransport(api.url), max_batch=3)
    with client:
        report = send_file(
            path, client, progress=lambda done, total: progress.append((done, total))
        )
    assert (report.accepted, report.pending) == (7, 0)
    assert progress == [(3, 7), (6, 7), (7, 7)]
    assert [(s.time, s.values) for s in api.stored()] == [(d["time"], d["values"]) for d in docs]


def test_a_gateway_sends_a_file_with_a_device_column(api: Api, tmp_path: Path) -> None:
    api.register("cnt-01", DeviceKind.PEOPLE_COUNTER)
    key = api.register("iz-gw-01", DeviceKind.GATEWAY, gateway_for=["cnt-01"])
    path = tmp_path / "r.csv"
    path.write_text(f"time,device,kind,occupancy\n{t(0)},cnt-01,people_count,40\n")
    with GatewayClient("iz-gw-01", key, HttpTransport(api.url)) as gw:
        assert send_file(path, gw).accepted == 1
    path.write_text(f"time,kind,occupancy\n{t(0)},people_count,40\n")
    with (
        GatewayClient("iz-gw-01", key, HttpTransport(api.url)) as gw,
        pytest.raises(InvalidReading, match="needs a device"),
    ):
        send_file(path, gw)


def test_an_unknown_suffix_needs_a_format(tmp_path: Path) -> None:
    path = tmp_path / "r.txt"
    path.write_text("[]")
    with pytest.raises(InvalidReading, match="cannot tell the format"):
        read_readings(path)
    assert read_readings(path, format="json")[0] == []
