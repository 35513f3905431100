"""The audit log: signed checkpoints and proofs for every signed-in user, entries for auditors.

Each agency fetches checkpoints (and consistency proofs between the ones it holds) to keep its
own copy of the log's history; an auditor fetches the entries and runs
``stadswacht audit verify`` on them. Hashes and signatures are base64 (standard alphabet).
"""

from __future__ import annotations

import base64
from typing import Annotated, Any

import anyio
from fastapi import APIRouter, HTTPException, Query, status

from stadswacht.api.auth import require
from stadswacht.api.deps import CurrentUser, PlatformDep
from stadswacht.model import Role
from stadswacht.pipeline import Platform
from stadswacht.sharing.audit import AuditLog, verifier_key

router = APIRouter(tags=["audit"])

_MAX_ENTRIES = 10_000


def _log(platform: Platform) -> AuditLog:
    log = getattr(platform, "audit", None)
    if not isinstance(log, AuditLog):
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "the audit log is not set up")
    return log


def _b64(hashes: list[bytes]) -> list[str]:
    return [base64.b64encode(h).decode() for h in hashes]


def _bad(exc: ValueError) -> HTTPException:
    return HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc))


@router.get("/v1/audit/checkpoint")
async def get_checkpoint(_: CurrentUser, platform: PlatformDep) -> dict[str, Any]:
    """A checkpoint of the log as it is now, signed with the log's Ed25519 key.

    ``note`` is the C2SP signed note (keep it as it is: ``stadswacht audit verify`` reads it);
    ``verifier_key`` names the key that signed it.
    """
    log = _log(platform)
    cp = await anyio.to_thread.run_sync(log.checkpoint)
    return cp.to_json(log.public_key) | {"verifier_key": verifier_key(log.log_id, log.public_key)}


@router.get("/v1/audit/proof/inclusion")
async def get_inclusion_proof(
    _: CurrentUser,
    platform: PlatformDep,
    index: Annotated[int, Query(ge=0, le=2**63 - 1, description="The entry's index")],
    size: Annotated[
        int, Query(ge=1, le=2**63 - 1, description="The tree size of a checkpoint you hold")
    ],
) -> dict[str, Any]:
    """The audit path of entry ``index`` in the tree of ``size`` entries (RFC 9162 2.1.3)."""
    log = _log(platform)
    try:
        proof = await anyio.to_thread.run_sync(log.inclusion, index, size)
    except ValueError as exc:
        raise _bad(exc) from exc
    return {"index": index, "size": size, "proof": _b64(proof)}


@router.get("/v1/audit/proof/consistency")
async def get_consistency_proof(
    _: CurrentUser,
    platform: PlatformDep,
    first: Annotated[int, Query(ge=0, le=2**63 - 1, description="The smaller tree size")],
    second: Annotated[int, Query(ge=0, le=2**63 - 1, description="The larger tree size")],
) -> dict[str, Any]:
    """The proof that the tree of ``first`` entries is a prefix of that of ``second``
    (RFC 9162 2.1.4)."""
    log = _log(platform)
    try:
        proof = await anyio.to_thread.run_sync(log.consistency, first, second)
    except ValueError as exc:
        raise _bad(exc) from exc
    return {"first": first, "second": second, "proof": _b64(proof)}


@router.get("/v1/audit/entries")
async def get_entries(
    user: CurrentUser,
    platform: PlatformDep,
    start: Annotated[int, Query(ge=0, le=2**63 - 1)] = 0,
    end: Annotated[
        int | None, Query(ge=0, le=2**63 - 1, description="Stop before (default: +1000)")
    ] = None,
) -> list[dict[str, Any]]:
    """Entries ``start`` to ``end`` (at most 10,000), auditors and administrators only.

    Each is ``{"index", "entry"}`` with ``entry`` the exact leaf text, the same lines as
    ``stadswacht audit export``.
    """
    require(user, Role.AUDITOR)
    log = _log(platform)
    end = start + 1000 if end is None else end
    if end < start or end - start > _MAX_ENTRIES:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            f"give start <= end and at most {_MAX_ENTRIES} entries per request",
        )
    found = await anyio.to_thread.run_sync(log.entries, start, end)
    out: list[dict[str, Any]] = []
    for i, data in enumerate(found, start=start):
        try:
            out.append({"index": i, "entry": data.decode()})
        except UnicodeDecodeError:
            out.append({"index": i, "entry_b64": base64.b64encode(data).decode()})
    return out
