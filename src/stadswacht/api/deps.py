"""Request dependencies: the platform, the calling user, and error translation."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import Depends, HTTPException, Query, Request, status
from fastapi.security import OAuth2PasswordBearer

from stadswacht.api.auth import Principal, read_token
from stadswacht.errors import AuthenticationError
from stadswacht.pipeline import Platform

__all__ = [
    "CurrentUser",
    "PlatformDep",
    "StreamUser",
    "epoch_us",
    "get_platform",
    "get_principal",
]

oauth2 = OAuth2PasswordBearer(tokenUrl="/v1/auth/token", auto_error=False)


def get_platform(request: Request) -> Platform:
    """The platform the app was built with."""
    platform: Platform = request.app.state.platform
    return platform


PlatformDep = Annotated[Platform, Depends(get_platform)]


def _principal(token: str | None, platform: Platform) -> Principal:
    if not token:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "log in first: POST /v1/auth/token, then send 'Authorization: Bearer <token>'",
            headers={"WWW-Authenticate": "Bearer"},
        )
    try:
        return read_token(token, platform.settings.secret_key)
    except AuthenticationError as exc:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED, str(exc), headers={"WWW-Authenticate": "Bearer"}
        ) from exc


def get_principal(
    platform: PlatformDep, token: Annotated[str | None, Depends(oauth2)]
) -> Principal:
    """The user named by the bearer token; 401 without a valid one."""
    return _principal(token, platform)


def get_stream_principal(
    platform: PlatformDep,
    token: Annotated[str | None, Depends(oauth2)],
    access_token: Annotated[
        str | None, Query(description="For EventSource, which cannot send headers")
    ] = None,
) -> Principal:
    """Like :func:`get_principal`, also accepting ``?access_token=`` (browsers' EventSource)."""
    return _principal(token or access_token, platform)


CurrentUser = Annotated[Principal, Depends(get_principal)]
StreamUser = Annotated[Principal, Depends(get_stream_principal)]


def epoch_us(t: datetime | None) -> int | None:
    """A query parameter's time in microseconds since the Unix epoch; 422 without an offset."""
    if t is None:
        return None
    if t.tzinfo is None:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT, "give times with a UTC offset, e.g. ...Z"
        )
    return int(t.timestamp() * 1_000_000)
