"""Who is calling: users log in with a password and get a bearer token (JWT, HS256).

Devices do not log in: each reading carries the device's Ed25519 signature, which is its
authentication. Every other route needs a user's token; :func:`require` checks the role.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from stadswacht.errors import AuthenticationError, PermissionDenied, UnknownUser
from stadswacht.model import Role, User
from stadswacht.store.base import Store

__all__ = ["Principal", "create_user", "issue_token", "login", "read_token", "require"]

_HASHER = PasswordHasher()


@cache
def _dummy_hash() -> str:
    # Made on first use, not at import: an Argon2 hash costs 64 MiB of memory for a moment.
    return _HASHER.hash("timing-equaliser")


_ALGORITHM = "HS256"


@dataclass(frozen=True, slots=True)
class Principal:
    """An authenticated user: name, agency and role."""

    name: str
    agency: str
    role: Role

    @property
    def is_admin(self) -> bool:
        """Platform administrators see every agency."""
        return self.role is Role.ADMIN

    def agencies(self) -> frozenset[str] | None:
        """Agencies whose data this user may read (``None``: all). Need-to-know by default:
        only one's own agency until sharing agreements say more."""
        return None if self.is_admin else frozenset({self.agency})


def create_user(store: Store, name: str, password: str, agency: str, role: Role | str) -> User:
    """Create a user with an Argon2id password hash."""
    if len(password) < 12:
        raise ValueError("a password needs at least 12 characters")
    user = User(
        name=name,
        agency=agency,
        role=Role(role),
        password_hash=_HASHER.hash(password),
        created=datetime.now(UTC),
    )
    store.add_user(user)
    return user


def login(store: Store, name: str, password: str) -> User:
    """Check a user's password; raise ``AuthenticationError`` with one message for every failure
    (unknown user or wrong password), so names cannot be probed."""
    try:
        user = store.get_user(name)
        stored = user.password_hash
    except UnknownUser:
        user, stored = None, _dummy_hash()
    try:
        _HASHER.verify(stored, password)
    except (VerificationError, InvalidHashError):
        user = None
    if user is None:
        raise AuthenticationError("unknown user or wrong password")
    return user


def issue_token(user: User, secret: str, ttl_s: int) -> str:
    """A signed bearer token for ``user``, valid ``ttl_s`` seconds."""
    now = int(time.time())
    claims = {
        "sub": user.name,
        "agency": user.agency,
        "role": user.role.value,
        "iat": now,
        "exp": now + ttl_s,
    }
    return jwt.encode(claims, secret, algorithm=_ALGORITHM)


def read_token(token: str, secret: str) -> Principal:
    """The principal a token names; raise ``AuthenticationError`` if invalid or expired."""
    try:
        claims = jwt.decode(
            token, secret, algorithms=[_ALGORITHM], options={"require": ["exp", "sub"]}
        )
        return Principal(str(claims["sub"]), str(claims["agency"]), Role(claims["role"]))
    except jwt.ExpiredSignatureError as exc:
        raise AuthenticationError("token expired; log in again") from exc
    except (jwt.InvalidTokenError, KeyError, ValueError) as exc:
        raise AuthenticationError("invalid token") from exc


def require(principal: Principal, *roles: Role) -> Principal:
    """Raise ``PermissionDenied`` unless the principal has one of ``roles`` (admins always do)."""
    if principal.is_admin or principal.role in roles:
        return principal
    allowed = ", ".join(r.value for r in roles) or "admin"
    raise PermissionDenied(f"role {principal.role.value!r} may not do this (needs {allowed})")
