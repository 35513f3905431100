"""The HTTP API: FastAPI with OpenAPI docs at ``/docs``.

Every route needs a user's bearer token, except ``POST /v1/readings`` (each reading is signed
by its device, which is its authentication), the login itself, the liveness probes, and the
API's own description (``/docs``, ``/openapi.json``: public, as the source is) and the
dashboard's static files at ``/`` (its data comes from the API, after login).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request, status
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles

from stadswacht import __version__
from stadswacht.api.routes import (
    algorithms,
    areas,
    audit,
    auth,
    cap,
    deadletters,
    detections,
    devices,
    health,
    hotspots,
    incidents,
    readings,
    resilience,
    stream,
    websignal,
    zones,
)
from stadswacht.config import Settings
from stadswacht.errors import (
    AuthenticationError,
    NotFound,
    PayloadTooLarge,
    PermissionDenied,
    RateLimited,
    StorageError,
)
from stadswacht.ingest.ratelimit import TokenBuckets
from stadswacht.pipeline import Platform

__all__ = ["create_app"]

log = logging.getLogger(__name__)

WEB_DIR = Path(__file__).resolve().parent.parent / "web" / "static"
"""The dashboard's static files (``stadswacht/web/static``); only these are served."""


def create_app(settings: Settings | None = None, platform: Platform | None = None) -> FastAPI:
    """Build the API around a platform (made from ``settings`` if not given).

    The platform is closed when the app shuts down only if the app made it.
    """
    owns = platform is None
    if platform is None:
        platform = Platform.from_settings(settings or Settings())

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        platform.start_mqtt()
        await platform.start_detectors()
        try:
            yield
        finally:
            if owns:
                await platform.close()
            else:
                await platform.stop_detectors()

    app = FastAPI(
        title="Stadswacht",
        version=__version__,
        description="Signed sensor ingest, detection and need-to-know sharing for a city area.",
        lifespan=lifespan,
        license_info={"name": "EUPL-1.2", "identifier": "EUPL-1.2"},
    )
    app.state.platform = platform
    app.state.ip_limiter = TokenBuckets(rate=200.0, burst=400.0)
    app.state.login_limiter = TokenBuckets(rate=0.2, burst=10.0)

    for module in (
        auth,
        devices,
        readings,
        detections,
        incidents,
        audit,
        algorithms,
        hotspots,
        zones,
        areas,
        deadletters,
        stream,
        cap,
        websignal,
        resilience,
        health,
    ):
        app.include_router(module.router)

    # The operator dashboard; mounted last, so every route above takes precedence.
    app.mount("/", StaticFiles(directory=WEB_DIR, html=True), name="web")

    def _error(code: int, exc: Exception, **headers: str) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=code, headers=headers or None)

    @app.exception_handler(AuthenticationError)
    async def _auth(_: Request, exc: AuthenticationError) -> JSONResponse:
        return _error(status.HTTP_401_UNAUTHORIZED, exc, **{"WWW-Authenticate": "Bearer"})

    @app.exception_handler(PermissionDenied)
    async def _denied(_: Request, exc: PermissionDenied) -> JSONResponse:
        return _error(status.HTTP_403_FORBIDDEN, exc)

    @app.exception_handler(NotFound)
    async def _missing(_: Request, exc: NotFound) -> JSONResponse:
        return _error(status.HTTP_404_NOT_FOUND, exc)

    @app.exception_handler(PayloadTooLarge)
    async def _large(_: Request, exc: PayloadTooLarge) -> JSONResponse:
        return _error(status.HTTP_413_CONTENT_TOO_LARGE, exc)

    @app.exception_handler(RateLimited)
    async def _limited(_: Request, exc: RateLimited) -> JSONResponse:
        return _error(
            status.HTTP_429_TOO_MANY_REQUESTS, exc, **{"Retry-After": f"{exc.retry_after:.0f}"}
        )

    @app.exception_handler(StorageError)
    async def _storage(_: Request, exc: StorageError) -> JSONResponse:
        log.error("store failed: %s", exc)
        return JSONResponse(
            {"detail": "the store is unavailable; nothing was stored, retry later"},
            status_code=status.HTTP_503_SERVICE_UNAVAILABLE,
            headers={"Retry-After": "5"},
        )

    return app
