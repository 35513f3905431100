"""The algorithm register: an entry for every detector and model, after the Dutch government's
Algorithm Register (see :mod:`stadswacht.privacy.register`).

``?lang=nl`` gives the register's Dutch field names and labels (the texts stay English).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query

from stadswacht.api.deps import CurrentUser, PlatformDep
from stadswacht.config import Settings
from stadswacht.errors import NotFound
from stadswacht.privacy.register import AlgorithmEntry, algorithm_register, entry_as_dict

router = APIRouter(tags=["algorithms"])

Lang = Annotated[Literal["en", "nl"], Query(description="Field names and labels: English or Dutch")]


def _register(settings: Settings) -> list[AlgorithmEntry]:
    kw = {
        name: value
        for name, setting in (
            ("organisation", "register_organisation"),
            ("contact", "register_contact"),
            ("source_base", "register_source_base"),
        )
        if isinstance(value := getattr(settings, setting, None), str) and value
    }
    return algorithm_register(**kw)


@router.get("/v1/algorithms")
async def list_algorithms(
    user: CurrentUser, platform: PlatformDep, lang: Lang = "en"
) -> list[dict[str, Any]]:
    """Every algorithm-register entry: what each detector and model does, who decides, the
    legal basis, impact assessments, data, method and its measured performance."""
    return [entry_as_dict(e, lang) for e in _register(platform.settings)]


@router.get("/v1/algorithms/{algorithm_id}")
async def get_algorithm(
    algorithm_id: str, user: CurrentUser, platform: PlatformDep, lang: Lang = "en"
) -> dict[str, Any]:
    """One algorithm-register entry; 404 for an unknown id."""
    entries = _register(platform.settings)
    for e in entries:
        if e.id == algorithm_id:
            return entry_as_dict(e, lang)
    known = ", ".join(e.id for e in entries)
    raise NotFound(f"no algorithm {algorithm_id!r} in the register; the entries are {known}")
