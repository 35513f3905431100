"""Send readings from a file: CSV, JSON or NDJSON (what ``stadswacht send`` does).

CSV: a header row with ``time`` and ``kind`` (``device`` too, for a gateway), then one column
per value field; an empty cell leaves the field out, so one file can hold several kinds.
Cells holding ``true``/``false``, integers, decimals, or JSON (``{...}``, ``[...]``) become
those values; anything else stays text::

    time,kind,temperature_c,level_cm_nap
    2026-11-25T02:13:07.000000Z,temperature,8.4,
    2026-11-25T02:13:07.000000Z,water_level,,231

JSON: an array of ``{"kind", "values", "time"}`` objects (or ``{"readings": [...]}``);
NDJSON: one such object a line. ``time`` may be left out (now); ``device`` is needed for a
gateway only.

The whole file is read and checked before anything is sent: a bad row stops the send with its
line number, and nothing of the file has gone out.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from stadswacht.client.base import SendReport
from stadswacht.client.device import DeviceClient, make_reading
from stadswacht.client.gateway import GatewayClient
from stadswacht.errors import InvalidReading

__all__ = ["FileReading", "read_readings", "send_file"]

Format = Literal["csv", "json", "ndjson"]


@dataclass(frozen=True, slots=True)
class FileReading:
    """One reading read from a file, before it is numbered and signed."""

    kind: str
    values: dict[str, Any]
    time: str | None = None
    device: str | None = None
    line: int = 0
    """Where it is in the file (1-based), for error messages."""


def _cell(text: str) -> Any:
    t = text.strip()
    low = t.lower()
    if low in ("true", "false"):
        return low == "true"
    if t[:1] in "{[":
        try:
            return json.loads(t)
        except ValueError:
            return t
    try:
        return int(t)
    except ValueError:
        pass
    try:
        return float(t)
    except ValueError:
        return t


def _from_csv(path: Path) -> Iterator[FileReading]:
    with path.open(newline="", encoding="utf-8-sig") as f:
        rows = csv.reader(f)
        header = [h.strip() for h in next(rows, [])]
        if "kind" not in header:
            raise InvalidReading("malformed", f"{path}: the CSV header has no 'kind' column")
        for row in rows:
            line = rows.line_num
            if not any(c.strip() for c in row):
                continue
            if len(row) > len(header):
                raise InvalidReading(
                    "malformed", f"{path}:{line}: {len(row)} cells, the header has {len(header)}"
                )
            cells = {h: c for h, c in zip(header, row, strict=False) if c.strip() != ""}
            yield FileReading(
                kind=cells.pop("kind", "").strip(),
                time=cells.pop("time", "").strip() or None,
                device=cells.pop("device", "").strip() or None,
                values={k: _cell(v) for k, v in cells.items()},
                line=line,
            )


def _from_doc(doc: Any, where: str, line: int) -> FileReading:
    if not isinstance(doc, dict) or not isinstance(doc.get("kind"), str):
        raise InvalidReading("malformed", f"{where}: not an object with 'kind' and 'values'")
    values, time, device = doc.get("values", {}), doc.get("time"), doc.get("device")
    if not isinstance(values, dict):
        raise InvalidReading("malformed", f"{where}: 'values' is not an object")
    if time is not None and not isinstance(time, str):
        raise InvalidReading("malformed", f"{where}: 'time' is not an RFC 3339 string")
    if device is not None and not isinstance(device, str):
        raise InvalidReading("malformed", f"{where}: 'device' is not a string")
    return FileReading(doc["kind"], values, time, device, line)


def _from_json(path: Path, ndjson: bool) -> Iterator[FileReading]:
    text = path.read_text(encoding="utf-8-sig")
    if ndjson:
        for n, raw in enumerate(text.splitlines(), 1):
            if raw.strip():
                try:
                    doc = json.loads(raw)
                except ValueError as exc:
                    raise InvalidReading("malformed", f"{path}:{n}: not JSON: {exc}") from None
                yield _from_doc(doc, f"{path}:{n}", n)
        return
    try:
        doc = json.loads(text)
    except ValueError as exc:
        raise InvalidReading("malformed", f"{path}: not JSON: {exc}") from None
    items = doc.get("readings") if isinstance(doc, dict) else doc
    if not isinstance(items, list):
        raise InvalidReading("malformed", f"{path}: expected an array of readings")
    for n, item in enumerate(items, 1):
        yield _from_doc(item, f"{path}: reading {n}", n)


def _format(path: Path, fmt: Format | None) -> Format:
    if fmt is not None:
        return fmt
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return "csv"
    if suffix in (".ndjson", ".jsonl"):
        return "ndjson"
    if suffix == ".json":
        return "json"
    raise InvalidReading(
        "malformed", f"{path}: cannot tell the format from {suffix!r}; use .csv, .json or .ndjson"
    )


def read_readings(
    path: str | Path, format: Format | None = None
) -> tuple[list[FileReading], dict[str, Any]]:
    """Read and check every reading of a file; ``(readings, {"format", "count", "path"})``.

    Each reading's kind, values and time are checked as the platform checks them.

    Raises:
        InvalidReading: a row is malformed or has invalid values; the message names the line.
        OSError: the file cannot be read.
    """
    p = Path(path)
    fmt = _format(p, format)
    rows = list(_from_csv(p) if fmt == "csv" else _from_json(p, fmt == "ndjson"))
    for r in rows:
        try:
            make_reading(r.device or "x", 0, r.kind, r.values, r.time)
        except InvalidReading as exc:
            raise InvalidReading(exc.reason, f"{p}:{r.line}: {exc.message}") from None
    return rows, {"format": fmt, "count": len(rows), "path": str(p)}


def send_file(
    path: str | Path,
    client: DeviceClient | GatewayClient,
    *,
    progress: Callable[[int, int], None] | None = None,
    format: Format | None = None,
    timeout: float | None = 60.0,
) -> SendReport:
    """Send every reading of a file through ``client``, in file order; the combined report.

    Args:
        path: a ``.csv``, ``.json`` or ``.ndjson``/``.jsonl`` file (see the module).
        client: a device client (the file's ``device`` column, if any, must be its id), or a
            gateway client (each row names its ``device``).
        progress: called as ``progress(answered, total)`` after each batch is answered;
            ``total`` counts the file's readings plus any backlog already in the buffer.
        format: the format, if the suffix does not tell it.
        timeout: how long to wait for the platform in the end [s]; None: as long as it takes.

    Raises:
        InvalidReading: the file has a bad row (nothing was sent), or a row names a device
            this client cannot send for.
        TransportError: the platform could not be reached in time; what was not sent stays in
            the client's buffer.

    Example::

        with DeviceClient("iz-wx-01", key, HttpTransport(url), "iz-wx-01.db") as client:
            report = send_file("temperatures.csv", client, progress=print)
    """
    rows, meta = read_readings(path, format)
    total = meta["count"] + client.pending  # a backlog of an earlier run goes out first
    for r in rows:
        if isinstance(client, GatewayClient):
            if r.device is None:
                raise InvalidReading("malformed", f"{path}:{r.line}: a gateway needs a device")
        elif r.device not in (None, client.device_id):
            raise InvalidReading(
                "malformed",
                f"{path}:{r.line}: reading of {r.device!r}, but the client is {client.device_id!r}",
            )
    report = SendReport()

    def settle(part: SendReport | None) -> None:
        if part is not None and part.answered:
            report.add(part)
            if progress is not None:
                progress(report.answered, total)

    for r in rows:
        if isinstance(client, GatewayClient):
            client.queue(r.device or "", r.kind, r.values, r.time)
        else:
            client.queue(r.kind, r.values, r.time)
        if client.pending >= client.max_batch:
            settle(client.flush(timeout))
    settle(client.flush(timeout))
    report.pending = client.pending
    return report
