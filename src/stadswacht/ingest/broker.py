"""Mosquitto's password file and ACL file, made from the device registry.

Each device connects to the broker with its own user name (its ``broker_username``, else its
id) and may publish only to its own topic, ``stadswacht/v1/readings/<id>``; a gateway also to
``stadswacht/v1/gateways/<id>``. The platform's ingest user may read ``stadswacht/v1/#``.
Decommissioned devices lose both their password and their topics when the files are made
again. Mosquitto re-reads both files on ``SIGHUP`` (``systemctl reload mosquitto``).

Broker passwords are random, made by the platform and shown once; the password file keeps
only their hashes, in the format of Mosquitto 2.0's ``mosquitto_passwd``
(``user:$7$<iterations>$<salt, base64>$<PBKDF2-SHA512, base64>``), so it is the one place that
knows them: :func:`sync_password_file` keeps the hashes of active devices and drops the rest.

>>> line = hash_password("s3cret", salt=bytes(12))
>>> line.split("$")[:4], check_password(line, "s3cret"), check_password(line, "guess")
(['', '7', '101', 'AAAAAAAAAAAAAAAA'], True, False)
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path

from stadswacht.errors import ConfigurationError
from stadswacht.ingest.mqtt import TOPIC_ROOT, gateway_topic, reading_topic
from stadswacht.model import Device, DeviceKind, DeviceStatus

__all__ = [
    "DEFAULT_INGEST_USER",
    "PBKDF2_ITERATIONS",
    "acl_rules",
    "broker_username",
    "check_password",
    "create_device_password",
    "hash_password",
    "new_password",
    "password_file_text",
    "read_password_file",
    "set_password",
    "sync_password_file",
    "write_acl_file",
]

DEFAULT_INGEST_USER = "stadswacht-ingest"
"""Broker user of the platform's ingest (``STADSWACHT_MQTT_USERNAME``)."""

PBKDF2_ITERATIONS = 101
"""``mosquitto_passwd``'s default. The passwords are random (192 bits), so stretching adds no
safety, while the broker pays it on every CONNECT of every device after a restart."""

_SALT_BYTES = 12  # as mosquitto_passwd


def broker_username(device: Device) -> str:
    """The user name a device connects to the broker with.

    Raises:
        ConfigurationError: the name holds ``:`` (the password file's separator); give the
            device a ``broker_username``.
    """
    name = device.broker_username or device.id
    if ":" in name or not name:
        raise ConfigurationError(
            f"broker user name {name!r} of device {device.id!r} may not contain ':'; "
            "register the device with a broker_username"
        )
    return name


def new_password() -> str:
    """A random broker password (32 characters, 192 bits)."""
    return secrets.token_urlsafe(24)


def hash_password(
    password: str, *, iterations: int = PBKDF2_ITERATIONS, salt: bytes | None = None
) -> str:
    """The ``$7$`` PBKDF2-SHA512 hash Mosquitto 2.0 reads from its password file."""
    salt = secrets.token_bytes(_SALT_BYTES) if salt is None else salt
    digest = hashlib.pbkdf2_hmac("sha512", password.encode("utf-8"), salt, iterations)
    b64 = base64.b64encode
    return f"$7${iterations}${b64(salt).decode()}${b64(digest).decode()}"


def check_password(hashed: str, password: str) -> bool:
    """Whether ``password`` matches a ``$7$`` (PBKDF2-SHA512) or ``$6$`` (SHA512) hash."""
    parts = hashed.split("$")
    try:
        if len(parts) == 5 and parts[1] == "7":
            iterations, salt, want = int(parts[2]), parts[3], parts[4]
            got = hashlib.pbkdf2_hmac(
                "sha512", password.encode("utf-8"), base64.b64decode(salt), iterations
            )
        elif len(parts) == 4 and parts[1] == "6":
            salt, want = parts[2], parts[3]
            got = hashlib.sha512(password.encode("utf-8") + base64.b64decode(salt)).digest()
        else:
            return False
        return hmac.compare_digest(got, base64.b64decode(want))
    except ValueError:  # bad base64 or iteration count
        return False


def read_password_file(path: str | Path) -> dict[str, str]:
    """``{user: hash}`` from a Mosquitto password file (empty if there is none)."""
    path = Path(path)
    if not path.exists():
        return {}
    out: dict[str, str] = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#") or ":" not in line:
            continue
        user, _, hashed = line.partition(":")
        out[user] = hashed
    return out


def password_file_text(hashes: Mapping[str, str]) -> str:
    """A password file holding ``{user: hash}``, sorted by user."""
    return "".join(f"{user}:{hashes[user]}\n" for user in sorted(hashes))


def _write_atomic(path: Path, text: str, mode: int) -> None:
    # The broker may re-read the file at any moment (SIGHUP): never let it see half of it.
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def set_password(path: str | Path, username: str, password: str | None = None) -> str:
    """Give ``username`` a password in the password file at ``path``; returns the password.

    Without ``password`` a random one is made: show it once, it is not kept anywhere.
    """
    if ":" in username or not username:
        raise ConfigurationError(f"broker user name {username!r} may not be empty or hold ':'")
    password = password or new_password()
    hashes = read_password_file(path)
    hashes[username] = hash_password(password)
    _write_atomic(Path(path), password_file_text(hashes), 0o640)
    return password


def create_device_password(path: str | Path, device: Device, password: str | None = None) -> str:
    """Make (or replace) a device's broker password in the password file; returns it once."""
    if device.status is DeviceStatus.DECOMMISSIONED:
        raise ConfigurationError(f"device {device.id!r} is decommissioned; it gets no password")
    return set_password(path, broker_username(device), password)


def sync_password_file(
    path: str | Path, devices: Iterable[Device], *, keep: Iterable[str] = (DEFAULT_INGEST_USER,)
) -> list[str]:
    """Keep only the users of active devices (and ``keep``) in the password file.

    Returns the users removed: decommissioned devices, devices no longer registered.
    """
    hashes = read_password_file(path)
    allowed = set(keep) | {broker_username(d) for d in devices if d.status is DeviceStatus.ACTIVE}
    removed = sorted(set(hashes) - allowed)
    for user in removed:
        del hashes[user]
    _write_atomic(Path(path), password_file_text(hashes), 0o640)
    return removed


def acl_rules(devices: Iterable[Device], *, ingest_user: str = DEFAULT_INGEST_USER) -> str:
    """The ACL file: each active device writes its own topic, the ingest reads them all.

    >>> from stadswacht.model import Position
    >>> d = Device(id="iz-ac-01", kind="acoustic", position=Position(lat=52.1, lon=4.3),
    ...            agency="police", public_key="11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo")
    >>> print(acl_rules([d]).split("\\n\\n")[-1].strip())
    # acoustic of police
    user iz-ac-01
    topic write stadswacht/v1/readings/iz-ac-01
    """
    blocks = [
        "# Mosquitto ACL for Stadswacht, made from the device registry by\n"
        "# stadswacht.ingest.broker.acl_rules: make it again rather than edit it.\n"
        "# Whatever is not granted here is denied.",
        "# The platform's ingest reads every device and gateway topic (also as $share/...).\n"
        f"user {ingest_user}\n"
        f"topic read {TOPIC_ROOT}/#",
    ]
    for d in sorted(devices, key=lambda d: d.id):
        if d.status is not DeviceStatus.ACTIVE:
            continue
        lines = [f"# {d.kind.value} of {d.agency}", f"user {broker_username(d)}"]
        lines.append(f"topic write {reading_topic(d.id)}")
        if d.kind is DeviceKind.GATEWAY:
            lines.append(f"topic write {gateway_topic(d.id)}")
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks) + "\n"


def write_acl_file(
    path: str | Path, devices: Iterable[Device], *, ingest_user: str = DEFAULT_INGEST_USER
) -> None:
    """Write :func:`acl_rules` to ``path`` (atomically); then reload the broker (SIGHUP)."""
    _write_atomic(Path(path), acl_rules(devices, ingest_user=ingest_user), 0o644)
