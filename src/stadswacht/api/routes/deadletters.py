"""Dead letters: rejected readings with their reasons, for the integrators who own the devices."""

from __future__ import annotations

from typing import Annotated

import anyio
from fastapi import APIRouter, Query
from pydantic import BaseModel

from stadswacht.api.auth import require
from stadswacht.api.deps import CurrentUser, PlatformDep
from stadswacht.model import DeadLetter, Role

router = APIRouter(tags=["dead letters"])


class DeadLetterPage(BaseModel):
    """A page of dead letters; pass ``next_after_id`` as ``after_id`` for the next one."""

    items: list[DeadLetter]
    next_after_id: int | None


@router.get("/v1/deadletters", response_model=DeadLetterPage)
async def list_dead_letters(
    user: CurrentUser,
    platform: PlatformDep,
    device: str | None = None,
    reason: str | None = None,
    after_id: Annotated[int, Query(ge=0, le=2**63 - 1)] = 0,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
) -> DeadLetterPage:
    """Rejected readings. Integrators see those naming their agency's devices; administrators
    see all, including readings from unknown devices."""
    require(user, Role.INTEGRATOR)

    def load() -> list[DeadLetter]:
        devices = None
        if not user.is_admin:
            devices = frozenset(d.id for d in platform.registry.list(user.agency))
        return platform.store.list_dead_letters(
            device=device, reason=reason, devices=devices, after_id=after_id, limit=limit
        )

    items = await anyio.to_thread.run_sync(load)
    last = items[-1].id if len(items) == limit and items else None
    return DeadLetterPage(items=items, next_after_id=last)
