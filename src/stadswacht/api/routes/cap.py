"""Public warnings as CAP 1.2: each alert at ``/cap/alerts/{identifier}.xml`` and all of them
in the Atom feed ``/cap/feed.atom`` (the OASIS CAP-feed practice).

An alert is served exactly as it was issued (and checked against the OASIS schema). Sign-in
is required unless ``cap_public`` is set: publishing warnings to everyone is a decision the
deployment makes, not a default.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import anyio
from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response, status
from fastapi.security.utils import get_authorization_scheme_param

from stadswacht.alerting import parse_cap
from stadswacht.alerting.feed import atom_feed
from stadswacht.alerting.service import CAP_CONTENT_TYPE
from stadswacht.api.deps import PlatformDep, get_principal

router = APIRouter(tags=["cap"])


def cap_reader(request: Request, platform: PlatformDep) -> None:
    """Anyone when ``cap_public``; otherwise a signed-in user (401 without a token)."""
    if platform.settings.cap_public:
        return
    scheme, token = get_authorization_scheme_param(request.headers.get("Authorization"))
    get_principal(platform, token if scheme.lower() == "bearer" else None)


CapReader = Annotated[None, Depends(cap_reader)]


@router.get("/cap/alerts/{identifier}.xml", response_class=Response)
async def cap_alert(_: CapReader, platform: PlatformDep, identifier: str) -> Response:
    """One CAP alert, exactly as issued (``application/cap+xml``)."""
    stored = await anyio.to_thread.run_sync(platform.store.get_alert, identifier)
    return Response(stored.xml, media_type=CAP_CONTENT_TYPE)


@router.get("/cap/feed.atom", response_class=Response)
async def cap_feed(
    _: CapReader,
    request: Request,
    platform: PlatformDep,
    lang: Annotated[str | None, Query(pattern="^(nl|en)$", description="nl or en")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> Response:
    """The newest alerts as an Atom feed, each entry linking to its CAP document."""
    stored = await anyio.to_thread.run_sync(lambda: platform.store.list_alerts(limit=limit))
    alerts = [parse_cap(a.xml) for a in stored]
    base = str(request.base_url).rstrip("/")
    feed_url = f"{base}/cap/feed.atom" + (f"?lang={lang}" if lang else "")
    updated = None if alerts else datetime.now(UTC).replace(microsecond=0)
    try:
        body = atom_feed(
            alerts,
            feed_url=feed_url,
            alert_url=lambda a: f"{base}/cap/alerts/{a.identifier}.xml",
            title={"nl": "Stadswacht waarschuwingen"}.get(lang or "", "Stadswacht warnings"),
            updated=updated,
            language=lang,
        )
    except ValueError as exc:  # pragma: no cover - alerts were validated when issued
        raise HTTPException(status.HTTP_500_INTERNAL_SERVER_ERROR, str(exc)) from exc
    return Response(body, media_type="application/atom+xml")
