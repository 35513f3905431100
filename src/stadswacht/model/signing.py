"""Ed25519 signatures over the RFC 8785 (JSON Canonicalization Scheme) form of a reading.

Part of the model because it is the wire protocol's own rule: the platform's ingest verifies
with it and a device (``stadswacht.client``) signs with it. Pure functions, no I/O.

A device signs the reading object without its ``sig`` member; the signature travels as
base64url without padding. A gateway signs the exact bytes of a batch body instead (see
``docs/device-protocol.md``).

>>> key = generate_key()
>>> r = sign_reading(key, {"device": "d1", "seq": 1, "time": "2026-11-25T02:13:07.000001Z",
...                        "kind": "heartbeat", "values": {}})
>>> verify_reading(load_public_key(public_key_b64(key)), r)
True
>>> r["values"] = {"battery_pct": 5}
>>> verify_reading(load_public_key(public_key_b64(key)), r)
False
"""

from __future__ import annotations

import base64
import json
import math
import re
from typing import Any

import rfc8785
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from stadswacht.model.device import decode_b64url

__all__ = [
    "b64url",
    "canonical_json",
    "generate_key",
    "load_private_key",
    "load_public_key",
    "private_key_b64",
    "public_key_b64",
    "sign_bytes",
    "sign_reading",
    "verify_bytes",
    "verify_canonical",
    "verify_reading",
]

_EXACT_INT = 2**53
_SIG = re.compile(r"[A-Za-z0-9_-]{86}")


class _Fallback(Exception):
    """The fast path cannot guarantee RFC 8785 output for this value."""


def _normalise(value: Any) -> Any:
    # json.dumps with sorted keys is RFC 8785 except for number formatting and for the sort
    # order of non-ASCII keys (UTF-16 code units versus code points). Integral floats print
    # as integers in ECMAScript; other floats agree with Python's repr unless it uses an
    # exponent. Anything else goes to the reference implementation.
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if not isinstance(k, str) or not k.isascii():
                raise _Fallback
            out[k] = _normalise(v)
        return out
    if isinstance(value, list | tuple):
        return [_normalise(v) for v in value]
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError("NaN and infinity cannot be serialised in JSON")
        if value.is_integer():
            if abs(value) < _EXACT_INT:
                return int(value)
            raise _Fallback
        if "e" in repr(value):
            raise _Fallback
        return value
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int):
        if abs(value) >= _EXACT_INT:
            raise _Fallback
        return value
    raise TypeError(f"cannot serialise {type(value).__name__} in a reading")


# In json.dumps output, these are the only places where it can differ from RFC 8785: integral
# floats ("1.0"), exponents ("1e-07"), integers beyond 2^53 (16+ digits). A match inside a
# string is harmless: it only sends that value down the slower exact path.
_RISKY = re.compile(r"\d\.0(?![0-9])|[0-9][eE]|[0-9]{16,}")
_ENCODER = json.JSONEncoder(
    sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
)


def canonical_json(obj: Any) -> bytes:
    """Serialise ``obj`` by RFC 8785 (JSON Canonicalization Scheme), exactly.

    Ordinary readings take a fast path through the C JSON encoder; any output where the two
    could differ (integral floats, exponents, very large integers, non-ASCII text whose sort
    order differs) is redone exactly: normalised numbers, or the reference ``rfc8785``.

    >>> canonical_json({"b": 1.0, "a": [0.5, "é"], "c": 1e-7})
    b'{"a":[0.5,"\\xc3\\xa9"],"b":1,"c":1e-7}'
    """
    try:
        text = _ENCODER.encode(obj)
    except TypeError:
        raise
    except ValueError as exc:
        raise ValueError(f"cannot serialise in JSON: {exc}") from None
    if text.isascii() and _RISKY.search(text) is None:
        return text.encode("ascii")
    return _exact(obj)


def _exact(obj: Any) -> bytes:
    try:
        norm = _normalise(obj)
    except _Fallback:
        return bytes(rfc8785.dumps(obj))
    return json.dumps(norm, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode(
        "utf-8", "surrogatepass"
    )


def verify_canonical(key: Ed25519PublicKey, obj: Any, sig: str) -> bytes | None:
    """Verify ``sig`` over the RFC 8785 form of ``obj``; the verified bytes, or None.

    The hot path of ingest. It first tries the C encoder's sorted, compact output without
    checking whether it is exactly RFC 8785, and only if that does not verify computes the
    exact form and tries again. Accepting either is safe: both are serialisations that parse
    to exactly ``obj``, so a signature over either commits the device to the same reading.
    Only values where the two differ (exponents, integers beyond 2^53, non-ASCII key order)
    cost a second verification; integral floats, which are common, are normalised first.

    Raises:
        ValueError: ``obj`` cannot be serialised as JSON (NaN, infinity, lone surrogates).
        TypeError: ``obj`` holds something that is not JSON.
    """
    try:
        text = _ENCODER.encode(obj)
    except ValueError as exc:
        raise ValueError(f"cannot serialise in JSON: {exc}") from None
    if ".0," in text or ".0}" in text or ".0]" in text:
        exact = _exact(obj)
        return exact if verify_bytes(key, exact, sig) else None
    try:
        fast = text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValueError(f"cannot serialise in JSON: {exc}") from None
    if verify_bytes(key, fast, sig):
        return fast
    exact = _exact(obj)
    if exact != fast and verify_bytes(key, exact, sig):
        return exact
    return None


def b64url(data: bytes) -> str:
    """Base64url without padding."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def generate_key() -> Ed25519PrivateKey:
    """A fresh Ed25519 private key."""
    return Ed25519PrivateKey.generate()


def private_key_b64(key: Ed25519PrivateKey) -> str:
    """The 32-byte raw private key as base64url (what a device keeps secret)."""
    raw = key.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )
    return b64url(raw)


def public_key_b64(key: Ed25519PrivateKey) -> str:
    """The 32-byte raw public key as base64url (what the platform registers)."""
    raw = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return b64url(raw)


def load_private_key(text: str) -> Ed25519PrivateKey:
    """Load a base64url raw private key (32 bytes)."""
    raw = decode_b64url(text.strip())
    if len(raw) != 32:
        raise ValueError(f"an Ed25519 private key is 32 bytes, this one is {len(raw)}")
    return Ed25519PrivateKey.from_private_bytes(raw)


def load_public_key(text: str) -> Ed25519PublicKey:
    """Load a base64url raw public key (32 bytes)."""
    raw = decode_b64url(text.strip())
    if len(raw) != 32:
        raise ValueError(f"an Ed25519 public key is 32 bytes, this one is {len(raw)}")
    return Ed25519PublicKey.from_public_bytes(raw)


def sign_bytes(key: Ed25519PrivateKey, data: bytes) -> str:
    """Sign ``data``; the signature as base64url without padding."""
    return b64url(key.sign(data))


def verify_bytes(key: Ed25519PublicKey, data: bytes, sig: str) -> bool:
    """Whether ``sig`` (base64url) is ``key``'s signature of ``data``.

    Only the one canonical spelling is accepted (86 base64url characters, no padding):
    a decoder that skipped stray characters would let one signature be written many ways.
    """
    if not isinstance(sig, str) or _SIG.fullmatch(sig) is None:
        return False
    try:
        raw = decode_b64url(sig)
    except (ValueError, TypeError):
        return False
    if len(raw) != 64 or b64url(raw) != sig:
        return False
    try:
        key.verify(raw, data)
    except InvalidSignature:
        return False
    return True


def sign_reading(key: Ed25519PrivateKey, reading: dict[str, Any]) -> dict[str, Any]:
    """A copy of ``reading`` with its ``sig`` over the canonical form without ``sig``."""
    body = {k: v for k, v in reading.items() if k != "sig"}
    return {**body, "sig": sign_bytes(key, canonical_json(body))}


def verify_reading(key: Ed25519PublicKey, reading: dict[str, Any]) -> bool:
    """Whether ``reading["sig"]`` is ``key``'s signature of the rest of ``reading``."""
    sig = reading.get("sig")
    if not isinstance(sig, str):
        return False
    body = {k: v for k, v in reading.items() if k != "sig"}
    try:
        data = canonical_json(body)
    except (TypeError, ValueError):
        return False
    return verify_bytes(key, data, sig)
