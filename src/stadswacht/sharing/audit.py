"""The tamper-evident audit log: an RFC 9162 Merkle tree of entries with signed checkpoints.

Every read of another agency's data, every share, export, alert, emergency release and human
decision on a model's output is one :class:`AuditEntry`. Its leaf bytes are the entry as
canonical JSON (sorted keys, no spaces, UTF-8); the log (:class:`AuditLog`) appends them to a
Merkle tree (:mod:`~stadswacht.sharing.merkle`) kept in a :class:`LogStorage`, and signs
checkpoints with Ed25519 in the C2SP signed-note ``checkpoint`` format::

    stadswacht.example/audit        origin: the log id
    1042                            tree size
    mCEZ...Xjk=                     root hash, base64
    time 2026-11-26T01:50:00.000000Z   extension line: when it was signed
                                    blank line ends the body
    — stadswacht.example/audit AbCd...==   key name, base64(key id [4 bytes] || signature)

The signature covers the body (the four lines, each ending with a newline); the key id is the
first four bytes of ``SHA-256(key name || 0x0A || 0x01 || public key)``. Each agency keeps the
checkpoints it fetched; :func:`verify_log` recomputes the tree from an export of the entries
and reports the first entry or checkpoint that does not fit.

>>> from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
>>> from datetime import UTC, datetime
>>> key = Ed25519PrivateKey.generate()
>>> log = AuditLog(MemoryStorage(), key, "demo.example/audit")
>>> e = AuditEntry(datetime(2026, 11, 26, tzinfo=UTC), "ann", "police", "read", "detection",
...                "d-1", "fire", "incident", "allow", "agreement a-1")
>>> log.append(e)
0
>>> cp = log.checkpoint()
>>> verify_log(log.entries(0, 1), [cp], key.public_key()).ok
True
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from stadswacht.errors import ConfigurationError
from stadswacht.model import format_time
from stadswacht.sharing.audit_storage import (
    LogStorage,
    MemoryStorage,
    PostgresStorage,
    SQLiteStorage,
    open_storage,
)
from stadswacht.sharing.merkle import MerkleTree, leaf_hash

__all__ = [
    "AuditEntry",
    "AuditLog",
    "Checkpoint",
    "LogStorage",
    "MemoryStorage",
    "PostgresStorage",
    "Problem",
    "SQLiteStorage",
    "VerifyReport",
    "generate_signing_key",
    "load_public_key",
    "load_signing_key",
    "open_storage",
    "parse_checkpoints",
    "read_checkpoints",
    "read_export",
    "verifier_key",
    "verify_log",
    "write_export",
]

Outcome = Literal["allow", "deny"]


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One audited act: who did what to whose object, why, and what was decided.

    ``actor`` is a user name or ``"system"``; ``action`` one of
    :class:`~stadswacht.sharing.model.Action` or ``alert``, ``emergency_release``,
    ``decision``; ``details`` any JSON object (agreement id, redacted fields, model output).
    """

    time: datetime
    actor: str
    actor_agency: str
    action: str
    object_kind: str
    object_id: str
    owner_agency: str
    purpose: str | None
    outcome: Outcome
    reason: str
    details: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.time.tzinfo is None:
            raise ValueError("an audit entry's time needs a timezone (UTC)")
        if self.outcome not in ("allow", "deny"):
            raise ValueError(f"outcome must be 'allow' or 'deny', not {self.outcome!r}")

    def to_json(self) -> dict[str, Any]:
        """The entry as a JSON object (``v`` is the format version, 1)."""
        return {
            "v": 1,
            "time": format_time(self.time),
            "actor": self.actor,
            "actor_agency": self.actor_agency,
            "action": str(self.action),
            "object_kind": str(self.object_kind),
            "object_id": self.object_id,
            "owner_agency": self.owner_agency,
            "purpose": None if self.purpose is None else str(self.purpose),
            "outcome": self.outcome,
            "reason": self.reason,
            "details": dict(self.details),
        }

    def to_bytes(self) -> bytes:
        """The leaf bytes: canonical JSON (sorted keys, no spaces, UTF-8, one line)."""
        return json.dumps(
            self.to_json(), sort_keys=True, separators=(",", ":"), ensure_ascii=False
        ).encode()

    @classmethod
    def from_bytes(cls, data: bytes) -> AuditEntry:
        """The entry whose leaf bytes these are."""
        d = json.loads(data)
        return cls(
            time=datetime.fromisoformat(d["time"]),
            actor=d["actor"],
            actor_agency=d["actor_agency"],
            action=d["action"],
            object_kind=d["object_kind"],
            object_id=d["object_id"],
            owner_agency=d["owner_agency"],
            purpose=d["purpose"],
            outcome=d["outcome"],
            reason=d["reason"],
            details=d["details"],
        )


# --- keys --------------------------------------------------------------------------------------


def load_signing_key(path: str | Path) -> Ed25519PrivateKey:
    """The log's Ed25519 signing key from a PEM (PKCS #8) file, as ``generate_signing_key``
    writes it."""
    try:
        key = serialization.load_pem_private_key(Path(path).read_bytes(), password=None)
    except (OSError, ValueError, TypeError) as exc:
        raise ConfigurationError(f"cannot read the audit signing key {str(path)!r}: {exc}") from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise ConfigurationError(f"{str(path)!r} is not an Ed25519 private key")
    return key


def generate_signing_key(path: str | Path | None = None) -> Ed25519PrivateKey:
    """A new Ed25519 signing key; written as PEM (mode 0600) to ``path`` if given.

    Without a file the key lives only as long as the process: its checkpoints cannot be
    verified after a restart. Use that for development only.
    """
    key = Ed25519PrivateKey.generate()
    if path is not None:
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(pem)
    return key


def _raw(public_key: Ed25519PublicKey) -> bytes:
    return public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def _key_id(name: str, public_key: Ed25519PublicKey) -> bytes:
    return hashlib.sha256(name.encode() + b"\n\x01" + _raw(public_key)).digest()[:4]


def verifier_key(name: str, public_key: Ed25519PublicKey) -> str:
    """The signed-note verifier key ``name+keyid(hex)+base64(0x01 || public key)``."""
    raw = base64.b64encode(b"\x01" + _raw(public_key)).decode()
    return f"{name}+{_key_id(name, public_key).hex()}+{raw}"


def load_public_key(text_or_path: str | Path) -> Ed25519PublicKey:
    """A checkpoint public key: a PEM file or text, or a signed-note verifier key
    (``name+keyid+base64``), given as text or as the path of a file holding it."""
    text = str(text_or_path)
    path = Path(text)
    try:
        if len(text) < 4096 and path.is_file():
            text = path.read_text()
    except OSError:
        pass
    text = text.strip()
    try:
        if text.startswith("-----BEGIN"):
            key = serialization.load_pem_public_key(text.encode())
            if not isinstance(key, Ed25519PublicKey):
                raise ValueError("not an Ed25519 public key")
            return key
        parts = text.split("+", 2)  # name+keyid+base64; base64 itself may hold '+'
        if len(parts) == 3 and len(parts[1]) == 8:
            text = parts[2]
        raw = base64.b64decode(text, validate=True)
        if len(raw) == 33 and raw[0] == 1:
            raw = raw[1:]
        return Ed25519PublicKey.from_public_bytes(raw)
    except ValueError as exc:
        raise ConfigurationError(
            f"cannot read the audit public key {str(text_or_path)[:80]!r}: give a PEM file or"
            f" a verifier key 'name+keyid+base64' ({exc})"
        ) from exc


# --- checkpoints -------------------------------------------------------------------------------

_DASH = "\u2014"  # the em dash that starts a signed note's signature line


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """A signed tree head: the log ``origin`` had ``size`` entries with root ``root_hash``."""

    origin: str
    size: int
    root_hash: bytes
    timestamp: datetime
    key_name: str
    signature: bytes

    def body(self) -> str:
        """The signed text: origin, size, base64 root hash, ``time`` line, each with ``\\n``."""
        return (
            f"{self.origin}\n{self.size}\n{base64.b64encode(self.root_hash).decode()}\n"
            f"time {format_time(self.timestamp)}\n"
        )

    def to_note(self, public_key: Ed25519PublicKey | None = None) -> str:
        """The signed note: body, blank line, signature line. The key id is taken from
        ``public_key`` (zeros without one; verification does not depend on it)."""
        kid = _key_id(self.key_name, public_key) if public_key else b"\0\0\0\0"
        sig = base64.b64encode(kid + self.signature).decode()
        return f"{self.body()}\n{_DASH} {self.key_name} {sig}\n"

    def verify(self, public_key: Ed25519PublicKey) -> bool:
        """Whether the signature over :meth:`body` is ``public_key``'s."""
        try:
            public_key.verify(self.signature, self.body().encode())
        except InvalidSignature:
            return False
        return True

    def to_json(self, public_key: Ed25519PublicKey | None = None) -> dict[str, Any]:
        """For the API: the fields (hashes and signature base64) and the signed note."""
        return {
            "origin": self.origin,
            "size": self.size,
            "root_hash": base64.b64encode(self.root_hash).decode(),
            "timestamp": format_time(self.timestamp),
            "key_name": self.key_name,
            "signature": base64.b64encode(self.signature).decode(),
            "note": self.to_note(public_key),
        }

    @classmethod
    def parse(cls, note: str) -> Checkpoint:
        """The checkpoint a signed note holds; ``ValueError`` if it is not one."""
        found = parse_checkpoints(note)
        if len(found) != 1:
            raise ValueError(f"expected one checkpoint, found {len(found)}")
        return found[0]


def parse_checkpoints(text: str) -> list[Checkpoint]:
    """Every checkpoint note in ``text`` (notes one after another), in order.

    Raises:
        ValueError: a note is malformed; the message says which line.
    """
    lines = text.split("\n")
    out: list[Checkpoint] = []
    i = 0
    while i < len(lines):
        if not lines[i].strip():
            i += 1
            continue
        body = lines[i : i + 4]
        if len(body) < 4 or i + 4 >= len(lines) or lines[i + 4] != "":
            raise ValueError(f"line {i + 1}: a checkpoint needs 4 lines and a blank line")
        origin, size_s, root_s, time_s = body
        sigs: list[tuple[str, bytes]] = []
        j = i + 5
        while j < len(lines) and lines[j].startswith(_DASH + " "):
            parts = lines[j].split(" ")
            if len(parts) != 3:
                raise ValueError(f"line {j + 1}: malformed signature line")
            sigs.append((parts[1], base64.b64decode(parts[2], validate=True)))
            j += 1
        if not sigs:
            raise ValueError(f"line {i + 6}: the checkpoint has no signature line")
        if not size_s.isdigit() or not time_s.startswith("time "):
            raise ValueError(f"line {i + 2}: not a checkpoint (size or time line)")
        name, blob = sigs[0]
        if len(blob) != 68:
            raise ValueError(f"line {i + 6}: an Ed25519 signature line holds 4 + 64 bytes")
        ts = datetime.fromisoformat(time_s.removeprefix("time "))
        out.append(
            Checkpoint(
                origin, int(size_s), base64.b64decode(root_s, validate=True), ts, name, blob[4:]
            )
        )
        i = j
    return out


def read_checkpoints(path: str | Path) -> list[Checkpoint]:
    """The checkpoints kept in a file (one or more notes) or a directory (every file in it,
    by name)."""
    p = Path(path)
    files = sorted(f for f in p.iterdir() if f.is_file()) if p.is_dir() else [p]
    out: list[Checkpoint] = []
    for f in files:
        try:
            out.extend(parse_checkpoints(f.read_text(encoding="utf-8")))
        except (OSError, ValueError) as exc:
            raise ValueError(f"{f}: {exc}") from exc
    return out


# --- the log -----------------------------------------------------------------------------------


class AuditLog:
    """The audit log: leaves in ``storage``, the tree in memory, checkpoints signed with
    ``signing_key`` under the name ``log_id`` (the checkpoint origin, e.g.
    ``stadswacht.example/audit``).

    The tree (every perfect subtree's hash, about 64 bytes per entry) is loaded from the
    storage's leaf hashes when the log is opened and follows appends made by other processes
    on the same storage. Thread-safe.
    """

    def __init__(
        self,
        storage: LogStorage,
        signing_key: Ed25519PrivateKey,
        log_id: str,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        if not log_id or any(c.isspace() or c == "+" for c in log_id):
            raise ConfigurationError(f"a log id has no spaces or '+': {log_id!r}")
        self.storage = storage
        self.log_id = log_id
        self._key = signing_key
        self.public_key = signing_key.public_key()
        self._clock = clock
        self._lock = threading.Lock()
        self._tree = MerkleTree()
        self._sync(storage.size())

    def _sync(self, size: int) -> None:
        """Bring the tree up to ``size`` leaves from storage (appends by other processes)."""
        have = self._tree.size
        if size > have:
            self._tree.extend(self.storage.leaf_hashes(have, size))
            if self._tree.size != size:
                raise ValueError(f"audit log storage lacks leaves below index {size}")

    def append(self, entry: AuditEntry | bytes) -> int:
        """Append one entry (durably); return its index."""
        return self.append_many([entry]).start

    def append_many(self, entries: Iterable[AuditEntry | bytes]) -> range:
        """Append entries in one transaction; return their indices."""
        leaves = []
        for e in entries:
            data = e.to_bytes() if isinstance(e, AuditEntry) else bytes(e)
            leaves.append((data, leaf_hash(data)))
        if not leaves:
            return range(self._tree.size, self._tree.size)
        with self._lock:
            first = self.storage.append(leaves)
            self._sync(first)
            self._tree.extend(h for _, h in leaves)
        return range(first, first + len(leaves))

    @property
    def size(self) -> int:
        """The number of entries (including other processes' appends)."""
        with self._lock:
            self._sync(self.storage.size())
            return self._tree.size

    def root(self, size: int | None = None) -> bytes:
        """The root hash at ``size`` (the current size by default)."""
        with self._lock:
            self._sync(self.storage.size() if size is None else size)
            return self._tree.root(size)

    def checkpoint(self) -> Checkpoint:
        """A new signed checkpoint of the log as it is now."""
        with self._lock:
            self._sync(self.storage.size())
            size, root_hash = self._tree.size, self._tree.root()
        self.storage.sync()  # never sign a state a power cut could take back
        unsigned = Checkpoint(self.log_id, size, root_hash, self._clock(), self.log_id, b"")
        return Checkpoint(
            self.log_id,
            size,
            root_hash,
            unsigned.timestamp,
            self.log_id,
            self._key.sign(unsigned.body().encode()),
        )

    def _checked(self, size: int | None) -> int:
        current = self.storage.size()
        size = current if size is None else size
        if not 0 <= size <= current:
            raise ValueError(f"size {size} is not between 0 and the log's size {current}")
        self._sync(size)
        return size

    def inclusion(self, index: int, size: int | None = None) -> list[bytes]:
        """The inclusion proof of entry ``index`` in the tree of ``size`` entries."""
        with self._lock:
            size = self._checked(size)
            return self._tree.inclusion_proof(index, size)

    def consistency(self, first: int, second: int | None = None) -> list[bytes]:
        """The consistency proof from size ``first`` to size ``second``."""
        with self._lock:
            second = self._checked(second)
            return self._tree.consistency_proof(first, second)

    def leaf_hash(self, index: int) -> bytes:
        """The leaf hash of entry ``index``."""
        with self._lock:
            self._checked(index + 1)
            return self._tree.leaf(index)

    def entries(self, start: int, end: int) -> list[bytes]:
        """The leaf bytes of entries ``start`` to ``end`` (exclusive)."""
        return self.storage.entries(start, end)

    def close(self) -> None:
        """Close the storage."""
        self.storage.close()


# --- export ------------------------------------------------------------------------------------


def write_export(
    log: AuditLog | LogStorage, out: Any, start: int = 0, end: int | None = None
) -> int:
    """Write entries as JSONL to the text stream ``out``: ``{"index": i, "entry": "<leaf
    bytes as text>"}`` per line (``"entry_b64"`` for leaves that are not UTF-8). Return the
    number written."""
    storage = log.storage if isinstance(log, AuditLog) else log
    end = storage.size() if end is None else end
    n = 0
    for lo in range(start, end, 10_000):
        for i, data in enumerate(storage.entries(lo, min(lo + 10_000, end)), start=lo):
            try:
                line: dict[str, Any] = {"index": i, "entry": data.decode()}
            except UnicodeDecodeError:
                line = {"index": i, "entry_b64": base64.b64encode(data).decode()}
            out.write(json.dumps(line, ensure_ascii=False) + "\n")
            n += 1
    return n


def read_export(path: str | Path) -> tuple[list[bytes], list[int | None]]:
    """The entries' leaf bytes of a JSONL export and the index each line claims.

    Raises:
        ValueError: a line is not an export line; the message names it.
    """
    entries: list[bytes] = []
    indices: list[int | None] = []
    with open(path, encoding="utf-8") as f:
        for no, line in enumerate(f, start=1):
            if not line.strip():
                continue
            try:
                d = json.loads(line)
                data = d["entry"].encode() if "entry" in d else base64.b64decode(d["entry_b64"])
            except (ValueError, KeyError, TypeError, AttributeError) as exc:
                raise ValueError(f"{path}:{no}: not an audit export line ({exc})") from exc
            idx = d.get("index")
            entries.append(data)
            indices.append(idx if isinstance(idx, int) else None)
    return entries, indices


# --- verification ------------------------------------------------------------------------------

ProblemKind = Literal[
    "bad_signature",
    "wrong_log",
    "forked",
    "rollback",
    "changed",
    "removed",
    "reordered",
    "truncated",
]


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong: its kind, the first entry index concerned (if known), the kept
    checkpoint concerned (its position in the list given), and a sentence."""

    kind: ProblemKind
    message: str
    index: int | None = None
    checkpoint: int | None = None

    def __str__(self) -> str:
        return f"{self.kind}: {self.message}"


@dataclass
class VerifyReport:
    """What :func:`verify_log` found; ``ok`` when nothing."""

    entries: int
    checkpoints: int
    verified_size: int = 0
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """No problem found."""
        return not self.problems

    @property
    def first(self) -> Problem | None:
        """The first problem (lowest entry index, else first checkpoint), if any."""
        if not self.problems:
            return None
        return min(
            self.problems,
            key=lambda p: (p.index is None, p.index or 0, p.checkpoint or 0),
        )


def _times(entries: Sequence[bytes], lo: int, hi: int) -> int | None:
    """Where, in ``lo:hi``, entries stop being in time order: the entry before the first one
    whose time goes back (the one moved later, when two were swapped)."""
    prev = None
    for i in range(max(lo - 1, 0), min(hi, len(entries))):
        try:
            t = json.loads(entries[i]).get("time")
        except (ValueError, AttributeError):
            return None
        if isinstance(t, str) and prev is not None and t < prev and i >= lo:
            return max(i - 1, lo)
        prev = t if isinstance(t, str) else prev
    return None


def _index_hint(indices: Sequence[int | None], lo: int, hi: int) -> tuple[ProblemKind, int] | None:
    """From the indices an export claims: where, in ``lo:hi``, a line is missing or moved."""
    for pos in range(lo, min(hi, len(indices))):
        idx = indices[pos]
        if idx is None or idx == pos:
            continue
        later = [i for i in indices[pos + 1 :] if i is not None]
        if idx < pos or any(i < idx for i in later):
            return "reordered", pos
        return "removed", pos
    return None


def _classify(
    entries: Sequence[bytes],
    indices: Sequence[int | None] | None,
    lo: int,
    hi: int,
    *,
    removed: bool,
) -> tuple[ProblemKind, int]:
    """The likely kind and first index of a mismatch between sizes ``lo`` and ``hi``."""
    hint = _index_hint(indices, lo, hi) if indices is not None else None
    if hint is not None:
        return hint
    at = _times(entries, lo, hi)
    if at is not None:
        return "reordered", at
    return ("removed" if removed else "changed"), lo


def verify_log(
    entries: Sequence[bytes],
    checkpoints: Sequence[Checkpoint],
    public_key: Ed25519PublicKey,
    *,
    indices: Sequence[int | None] | None = None,
    origin: str | None = None,
) -> VerifyReport:
    """Check a log's entries against kept checkpoints.

    Recomputes the Merkle tree of ``entries`` (leaf bytes, in order) and checks every kept
    checkpoint: its signature (and ``origin``, if given); that no two of the same size have
    different roots (a forked view); that sizes never go down as time goes on; and that the
    root of the entries at each checkpoint's size equals the checkpoint's. Where a root differs
    the first bad entry lies between the last matching checkpoint and that one; ``indices``
    (from :func:`read_export`) and the entries' times then tell removed or reordered entries
    from changed ones.

    Args:
        entries: the leaf bytes of the log, index 0 first.
        checkpoints: the checkpoints an agency kept, oldest first.
        public_key: the log's checkpoint key.
        indices: the index each export line claims, for a more precise report.
        origin: the log id the checkpoints must carry.
    """
    report = VerifyReport(entries=len(entries), checkpoints=len(checkpoints))
    problems = report.problems
    tree = MerkleTree(leaf_hash(e) for e in entries)
    n = tree.size

    valid: list[tuple[int, Checkpoint]] = []
    for k, cp in enumerate(checkpoints):
        if origin is not None and cp.origin != origin:
            problems.append(
                Problem("wrong_log", f"checkpoint {k} is of log {cp.origin!r}", checkpoint=k)
            )
        elif not cp.verify(public_key):
            problems.append(
                Problem(
                    "bad_signature",
                    f"checkpoint {k} (size {cp.size}) has no valid signature by the log key",
                    checkpoint=k,
                )
            )
        else:
            valid.append((k, cp))

    by_size: dict[int, tuple[int, Checkpoint]] = {}
    for k, cp in valid:
        seen = by_size.setdefault(cp.size, (k, cp))
        if seen[1].root_hash != cp.root_hash:
            problems.append(
                Problem(
                    "forked",
                    f"checkpoints {seen[0]} and {k} both sign size {cp.size} with different"
                    " roots: the log showed two histories",
                    index=None,
                    checkpoint=k,
                )
            )

    latest: tuple[int, Checkpoint] | None = None
    for k, cp in sorted(valid, key=lambda kc: kc[1].timestamp):
        if latest is not None and cp.size < latest[1].size:
            problems.append(
                Problem(
                    "rollback",
                    f"checkpoint {k} (size {cp.size}, {format_time(cp.timestamp)}) is later"
                    f" than checkpoint {latest[0]} (size {latest[1].size}) but smaller",
                    checkpoint=k,
                )
            )
        latest = (k, cp) if latest is None or cp.size >= latest[1].size else latest

    good = 0  # the largest size known to match
    for size in sorted(by_size):
        k, cp = by_size[size]
        if size > n:
            hint = _index_hint(indices, good, n) if indices is not None else None
            kind, index = hint or ("truncated", good)
            problems.append(
                Problem(
                    kind,
                    f"the log has {n} entries but checkpoint {k} signed {size}: entries from"
                    f" index {index} on are not the signed ones (it was {kind})",
                    index=index,
                    checkpoint=k,
                )
            )
            break
        if tree.root(size) != cp.root_hash:
            kind, index = _classify(entries, indices, good, size, removed=max(by_size) > n)
            problems.append(
                Problem(
                    kind,
                    f"the entries at indices {good} to {size - 1} do not give checkpoint {k}'s"
                    f" root (size {size}): an entry from index {index} was {kind}",
                    index=index,
                    checkpoint=k,
                )
            )
            break
        good = size
    report.verified_size = good
    return report
