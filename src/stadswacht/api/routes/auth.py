"""Log in (OAuth2 password flow) and manage users."""

from __future__ import annotations

from typing import Annotated

import anyio
from fastapi import APIRouter, Depends, HTTPException, Request, status
from fastapi.security import OAuth2PasswordRequestForm
from pydantic import BaseModel, Field

from stadswacht.api.auth import create_user, issue_token, login, require
from stadswacht.api.deps import CurrentUser, PlatformDep
from stadswacht.errors import AlreadyExists, AuthenticationError
from stadswacht.model import Role

router = APIRouter(tags=["auth"])


class Token(BaseModel):
    """A bearer token."""

    access_token: str
    token_type: str = "bearer"  # noqa: S105 - the OAuth2 token type, not a secret
    expires_in: int


class NewUser(BaseModel):
    """A user to create."""

    name: str
    password: str = Field(min_length=12)
    agency: str
    role: Role


class UserOut(BaseModel):
    """A user, without the password hash."""

    name: str
    agency: str
    role: Role


@router.post("/v1/auth/token", response_model=Token)
async def token(
    request: Request, platform: PlatformDep, form: Annotated[OAuth2PasswordRequestForm, Depends()]
) -> Token:
    """Exchange user name and password for a bearer token."""
    client = request.client.host if request.client else "?"
    if not request.app.state.login_limiter.take(f"{client}|{form.username}"):
        raise HTTPException(
            status.HTTP_429_TOO_MANY_REQUESTS, "too many login attempts; wait a minute"
        )
    try:
        user = await anyio.to_thread.run_sync(login, platform.store, form.username, form.password)
    except AuthenticationError as exc:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED, str(exc), headers={"WWW-Authenticate": "Bearer"}
        ) from exc
    ttl = platform.settings.token_ttl_s
    return Token(access_token=issue_token(user, platform.settings.secret_key, ttl), expires_in=ttl)


@router.get("/v1/users/me", response_model=UserOut)
async def me(user: CurrentUser) -> UserOut:
    """Who the token belongs to."""
    return UserOut(name=user.name, agency=user.agency, role=user.role)


@router.post("/v1/users", response_model=UserOut, status_code=status.HTTP_201_CREATED)
async def add_user(body: NewUser, user: CurrentUser, platform: PlatformDep) -> UserOut:
    """Create a user (administrators only)."""
    require(user)
    try:
        created = await anyio.to_thread.run_sync(
            create_user, platform.store, body.name, body.password, body.agency, body.role
        )
    except AlreadyExists as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from exc
    return UserOut(name=created.name, agency=created.agency, role=created.role)
