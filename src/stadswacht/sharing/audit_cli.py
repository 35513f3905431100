"""``stadswacht audit``: verify an audit log against kept checkpoints, export it, sign a
checkpoint, make a signing key.

``verify`` needs no database: an agency runs it on an export and the checkpoints it kept.
The other commands open the log in the database named by ``--database-url`` (default: the
platform's ``STADSWACHT_DATABASE_URL``).
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from stadswacht.errors import StadswachtError
from stadswacht.sharing.audit import (
    AuditLog,
    generate_signing_key,
    load_public_key,
    load_signing_key,
    read_checkpoints,
    read_export,
    verifier_key,
    verify_log,
    write_export,
)
from stadswacht.sharing.audit_storage import open_storage

__all__ = ["audit_app"]

audit_app = typer.Typer(
    help="The tamper-evident audit log: verify, export, checkpoint.", no_args_is_help=True
)

console = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)

DatabaseUrl = Annotated[
    str | None,
    typer.Option(help="Database holding the audit log (default: STADSWACHT_DATABASE_URL)"),
]
KeyFile = Annotated[
    Path,
    typer.Option(envvar="STADSWACHT_AUDIT_KEY_FILE", help="The log's Ed25519 signing key (PEM)"),
]
LogId = Annotated[
    str,
    typer.Option(envvar="STADSWACHT_AUDIT_LOG_ID", help="The log id (checkpoint origin)"),
]


def _fail(message: object, code: int = 1) -> typer.Exit:
    err.print(f"[red]error:[/red] {message}")
    return typer.Exit(code)


def _url(database_url: str | None) -> str:
    if database_url:
        return database_url
    from stadswacht.config import get_settings

    try:
        return get_settings().database_url
    except StadswachtError as exc:
        raise _fail(exc, 2) from exc


@audit_app.command()
def verify(
    log: Annotated[Path, typer.Option("--log", help="The export (JSONL) to check")],
    checkpoints: Annotated[
        Path, typer.Option(help="The kept checkpoints: a file of notes or a directory of files")
    ],
    public_key: Annotated[
        str, typer.Option(help="The log's public key: PEM file or verifier key name+id+base64")
    ],
    origin: Annotated[
        str | None, typer.Option(help="The log id every checkpoint must carry")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON")] = False,
) -> None:
    """Check an export against kept checkpoints; exit 1 on any problem."""
    try:
        entries, indices = read_export(log)
        kept = read_checkpoints(checkpoints)
        key = load_public_key(public_key)
    except (OSError, ValueError) as exc:
        raise _fail(exc, 2) from exc
    report = verify_log(entries, kept, key, indices=indices, origin=origin)
    if as_json:
        print(
            json.dumps(
                {
                    "ok": report.ok,
                    "entries": report.entries,
                    "checkpoints": report.checkpoints,
                    "verified_size": report.verified_size,
                    "problems": [
                        {
                            "kind": p.kind,
                            "index": p.index,
                            "checkpoint": p.checkpoint,
                            "message": p.message,
                        }
                        for p in report.problems
                    ],
                }
            )
        )
    elif report.ok:
        console.print(
            f"OK: {report.entries} entries, {report.checkpoints} checkpoints;"
            f" verified up to size {report.verified_size}"
        )
    else:
        for p in report.problems:
            err.print(f"[red]{p.kind}[/red]: {p.message}")
    if not report.ok:
        raise typer.Exit(1)


@audit_app.command()
def export(
    out: Annotated[Path | None, typer.Option(help="Write here (default: standard output)")] = None,
    database_url: DatabaseUrl = None,
    start: Annotated[int, typer.Option(help="First index")] = 0,
    end: Annotated[int | None, typer.Option(help="Stop before this index")] = None,
) -> None:
    """Write the log's entries as JSONL, one ``{"index", "entry"}`` per line."""
    try:
        storage = open_storage(_url(database_url))
    except StadswachtError as exc:
        raise _fail(exc) from exc
    try:
        if out is None:
            n = write_export(storage, sys.stdout, start, end)
        else:
            with out.open("w", encoding="utf-8") as f:
                n = write_export(storage, f, start, end)
    except StadswachtError as exc:
        raise _fail(exc) from exc
    finally:
        storage.close()
    err.print(f"{n} entries exported")


@audit_app.command()
def checkpoint(
    key_file: KeyFile,
    log_id: LogId,
    database_url: DatabaseUrl = None,
    out: Annotated[
        Path | None, typer.Option(help="Save the note to this file, or into this directory")
    ] = None,
) -> None:
    """Sign and print (or save) a checkpoint of the log as it is now."""
    try:
        key = load_signing_key(key_file)
        log = AuditLog(open_storage(_url(database_url)), key, log_id)
    except StadswachtError as exc:
        raise _fail(exc) from exc
    try:
        note = log.checkpoint().to_note(log.public_key)
    finally:
        log.close()
    if out is None:
        print(note, end="")
        return
    path = out
    if out.is_dir():
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        path = out / f"checkpoint-{stamp}.txt"
    path.write_text(note, encoding="utf-8")
    err.print(f"checkpoint saved to {path}")


@audit_app.command()
def keygen(
    out: Annotated[Path, typer.Option(help="Write the private key (PEM, mode 0600) here")],
    log_id: LogId,
) -> None:
    """Make the log's signing key and print its verifier key for agencies to keep."""
    try:
        key = generate_signing_key(out)
    except FileExistsError as exc:
        raise _fail(f"{out} exists; not overwriting a signing key") from exc
    print(verifier_key(log_id, key.public_key()))
