"""The canonical form is RFC 8785 byte for byte, and signatures catch any change."""

from __future__ import annotations

import json
import os
from typing import Any

import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from stadswacht.model.signing import (
    canonical_json,
    generate_key,
    load_private_key,
    load_public_key,
    private_key_b64,
    public_key_b64,
    sign_reading,
    verify_reading,
)

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**60), max_value=2**60)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=int(os.environ.get("HYPOTHESIS_EXAMPLES", "400")), deadline=None)
@given(json_values)
def test_fast_path_equals_reference_rfc8785(value: Any) -> None:
    try:
        expected = rfc8785.dumps(value)
    except (rfc8785.IntegerDomainError, rfc8785.FloatDomainError, UnicodeEncodeError):
        return  # outside I-JSON: the reference refuses it too
    assert canonical_json(value) == expected


def test_known_vectors() -> None:
    assert canonical_json({"b": [1.0, 0.1, -0.0], "a": 1e21, "c": 1e-7}) == (
        b'{"a":1e+21,"b":[1,0.1,0],"c":1e-7}'
    )
    assert canonical_json({"\u20ac": 1, "\U0001f600": 2, "a": 3}) == rfc8785.dumps(
        {"\u20ac": 1, "\U0001f600": 2, "a": 3}
    )


def flip(sig: str) -> str:
    """The signature with one character in the middle changed (not the padding bits)."""
    i = len(sig) // 2
    return sig[:i] + ("B" if sig[i] != "B" else "C") + sig[i + 1 :]


def test_any_change_breaks_the_signature_and_key_roundtrip() -> None:
    key = generate_key()
    again = load_private_key(private_key_b64(key))
    pub = load_public_key(public_key_b64(key))
    r = sign_reading(again, {"device": "d", "seq": 1, "time": "t", "kind": "k", "values": {"x": 1}})
    assert verify_reading(pub, r)
    # Same content, other key order / whitespace on the wire: still valid.
    assert verify_reading(pub, json.loads(json.dumps(dict(reversed(list(r.items()))), indent=2)))
    for field, value in [
        ("seq", 2),
        ("values", {"x": 2}),
        ("device", "e"),
        ("sig", flip(r["sig"])),
    ]:
        assert not verify_reading(pub, {**r, field: value}), field
    assert not verify_reading(pub, {k: v for k, v in r.items() if k != "sig"})


@settings(max_examples=int(os.environ.get("HYPOTHESIS_EXAMPLES", "200")), deadline=None)
@given(json_values)
def test_verify_canonical_accepts_exactly_what_the_reference_signs(value: Any) -> None:
    from stadswacht.model.signing import sign_bytes, verify_canonical

    try:
        exact = rfc8785.dumps(value)
    except (rfc8785.IntegerDomainError, rfc8785.FloatDomainError, UnicodeEncodeError):
        return
    key = generate_key()
    pub = key.public_key()
    assert verify_canonical(pub, value, sign_bytes(key, exact)) is not None
    assert verify_canonical(pub, value, sign_bytes(generate_key(), exact)) is None


def test_integral_floats_and_exponents_on_the_wire_verify() -> None:
    from stadswacht.model.signing import sign_bytes, verify_canonical

    key = generate_key()
    body = json.loads('{"values": {"a": 12.0, "b": 1e-7, "c": 1E21}, "seq": 9007199254740991}')
    verified = verify_canonical(key.public_key(), body, sign_bytes(key, rfc8785.dumps(body)))
    assert verified == b'{"seq":9007199254740991,"values":{"a":12,"b":1e-7,"c":1e+21}}'


def test_only_the_canonical_spelling_of_a_signature_verifies() -> None:
    key = generate_key()
    r = sign_reading(key, {"device": "d", "seq": 1, "time": "t", "kind": "k", "values": {}})
    pub = key.public_key()
    for variant in (r["sig"] + "=", r["sig"][:40] + "!" + r["sig"][40:], " " + r["sig"]):
        assert not verify_reading(pub, {**r, "sig": variant}), variant
