"""Keyed pseudonyms: an identifier that must be kept is kept only as an HMAC under a key that is
held apart from the data.

A pseudonym is ``ps:<context>:<32 hex digits>``: the first 128 bits of
HMAC-SHA256(k_context, identifier), where k_context = HMAC-SHA256(key, "stadswacht-pseudonym:" +
context). The same identifier gives the same pseudonym within one context (so an operator can
still see that 40 rejected requests came from one client) and unrelated pseudonyms in two
contexts (so two tables cannot be joined on it). Without the key, enumerating all 2^32 IPv4
addresses does not help: each guess needs the key (RFC 2104; a plain SHA-256 of an address is
reversed in minutes).

The key lives in a file outside the database (``STADSWACHT_PSEUDONYM_KEY_FILE``), so a copy of
the database or a backup of it does not carry the key. Rotating the key (replace the file,
restart) makes every later pseudonym unlinkable to the earlier ones; that is the intent, and it
needs nothing else: stored pseudonyms stay valid as opaque labels until retention removes them.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import re
import secrets
from pathlib import Path

from stadswacht.config import Settings
from stadswacht.errors import ConfigurationError

__all__ = [
    "DEFAULT_PSEUDONYM_KEY_FILE",
    "MIN_KEY_BYTES",
    "Pseudonymiser",
    "pseudonymiser_from_settings",
    "read_pseudonym_key",
]

log = logging.getLogger(__name__)

DEFAULT_PSEUDONYM_KEY_FILE = Path("var/pseudonym.key")
"""Where development keeps its generated key when no key file is set (next to the default
SQLite file, still outside the database)."""

MIN_KEY_BYTES = 32
"""Shortest key accepted: 256 bits, the output size of SHA-256 (RFC 2104 section 3)."""

_CONTEXT = re.compile(r"^[a-z][a-z0-9-]{0,31}$")


class Pseudonymiser:
    """Turns identifiers of one context into keyed pseudonyms.

    Args:
        key: the secret key, at least :data:`MIN_KEY_BYTES` bytes; read it with
            :func:`read_pseudonym_key`.
        context: what kind of identifier this is (``"source"``, ``"ip"``, ``"author"``):
            lower-case letters, digits and ``-``. It is part of every pseudonym.

    >>> p = Pseudonymiser(b"k" * 32, "ip")
    >>> p.pseudonym("192.0.2.10")
    'ps:ip:8ccb989c8491bf7bcc4b3e9fd1bb774b'
    >>> p.pseudonym("192.0.2.10") == p.pseudonym("192.0.2.10")
    True
    >>> Pseudonymiser(b"k" * 32, "author").pseudonym("192.0.2.10") == p.pseudonym("192.0.2.10")
    False
    """

    __slots__ = ("_key", "context")

    def __init__(self, key: bytes, context: str) -> None:
        if len(key) < MIN_KEY_BYTES:
            raise ConfigurationError(
                f"a pseudonym key must be at least {MIN_KEY_BYTES} bytes, got {len(key)}; "
                "generate one with `python -c 'import secrets; print(secrets.token_hex(32))'`"
            )
        if not _CONTEXT.match(context):
            raise ValueError(
                f"pseudonym context {context!r} must be 1-32 lower-case letters, digits or '-', "
                "starting with a letter"
            )
        self.context = context
        self._key = hmac.new(key, b"stadswacht-pseudonym:" + context.encode(), "sha256").digest()

    def pseudonym(self, identifier: str) -> str:
        """The pseudonym of ``identifier`` in this context (deterministic under one key)."""
        digest = hmac.new(self._key, identifier.encode("utf-8", "surrogatepass"), hashlib.sha256)
        return f"ps:{self.context}:{digest.hexdigest()[:32]}"

    def __call__(self, identifier: str | None) -> str | None:
        """:meth:`pseudonym`, passing ``None`` and pseudonyms already made through unchanged."""
        if identifier is None or identifier.startswith(f"ps:{self.context}:"):
            return identifier
        return self.pseudonym(identifier)

    def __repr__(self) -> str:  # never show the key
        return f"Pseudonymiser(context={self.context!r})"


def read_pseudonym_key(path: Path | None, env: str = "production") -> bytes:
    """The pseudonym key from ``path``, generating it where that is allowed.

    The file holds the key as text (e.g. 64 hex digits); its UTF-8 bytes, stripped of
    surrounding white space, are the key.

    - ``path`` set and the file exists: its key (at least :data:`MIN_KEY_BYTES` bytes).
    - ``path`` set and missing: in ``development`` and ``test`` a new random key is written
      there (mode 0600); in ``production`` this refuses, as a lost key file must not silently
      start a new set of pseudonyms.
    - ``path`` unset: ``development`` uses :data:`DEFAULT_PSEUDONYM_KEY_FILE` (made if missing);
      ``test`` gets a random key in memory only; ``production`` refuses.

    Raises:
        ConfigurationError: no usable key where one is required; the message says what to do.

    >>> import tempfile
    >>> key_file = Path(tempfile.mkdtemp()) / "pseudonym.key"
    >>> key = read_pseudonym_key(key_file, "development")
    >>> oct(key_file.stat().st_mode & 0o777), read_pseudonym_key(key_file) == key
    ('0o600', True)
    """
    if path is None:
        if env == "test":
            return secrets.token_hex(32).encode()
        if env != "development":
            raise ConfigurationError(
                "STADSWACHT_PSEUDONYM_KEY_FILE is not set; outside development the platform "
                "needs a pseudonym key held apart from the database: write one with "
                "`python -c 'import secrets; print(secrets.token_hex(32))' > /etc/stadswacht/"
                "pseudonym.key; chmod 600 /etc/stadswacht/pseudonym.key` and set the variable"
            )
        path = DEFAULT_PSEUDONYM_KEY_FILE
    path = Path(path)
    if not path.exists():
        if env not in ("development", "test"):
            raise ConfigurationError(
                f"pseudonym key file {path} does not exist; restore it from its backup, or "
                "(starting a new, unlinkable set of pseudonyms) write a new one with "
                f"`python -c 'import secrets; print(secrets.token_hex(32))' > {path}`"
            )
        _generate(path)
    try:
        key = path.read_bytes().strip()
    except OSError as exc:
        raise ConfigurationError(f"cannot read pseudonym key file {path}: {exc}") from exc
    if len(key) < MIN_KEY_BYTES:
        raise ConfigurationError(
            f"pseudonym key file {path} holds {len(key)} bytes, fewer than {MIN_KEY_BYTES}; "
            "write 64 hex digits there, e.g. from `python -c 'import secrets; "
            "print(secrets.token_hex(32))'`"
        )
    if os.name == "posix" and path.stat().st_mode & 0o077:
        log.warning("pseudonym key file %s is readable by others; chmod 600 it", path)
    return key


def pseudonymiser_from_settings(settings: Settings, context: str) -> Pseudonymiser:
    """A :class:`Pseudonymiser` for ``context`` with the key that ``settings`` name
    (``pseudonym_key_file``, read by :func:`read_pseudonym_key` for ``settings.env``)."""
    key_file: Path | None = getattr(settings, "pseudonym_key_file", None)
    return Pseudonymiser(read_pseudonym_key(key_file, settings.env), context)


def _generate(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process made it first: use theirs
        return
    except OSError as exc:
        raise ConfigurationError(f"cannot create pseudonym key file {path}: {exc}") from exc
    with os.fdopen(fd, "w") as f:
        f.write(secrets.token_hex(32) + "\n")
    log.warning("generated a new pseudonym key in %s (development only)", path)
