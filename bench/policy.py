"""Policy decision benchmark: how long one sharing decision takes with many agencies.

Run from the repository root::

    .venv/bin/python bench/policy.py                     # 300,000 decisions, a few seconds
    .venv/bin/python bench/policy.py --decisions 20000   # a smoke run

Progress goes to stderr; stdout gets ONE line of JSON at the end.

What is measured
----------------
50 agencies and 500 random agreements between them (random provider and recipient, 1 to 4
object kinds, a random classification ceiling, purpose out of 4, 1 to 3 roles, 1 to 5 actions,
random field lists, periods of which about one in eight has ended or not begun yet), and 50
emergency releases of random incidents (half expired). Decisions go to
:meth:`stadswacht.sharing.PolicyDecisionPoint.decide` for random users (agency, role) and
random objects (kind, owner, classification); half of them are aimed at an agency pair that
has an agreement (with the agreement's purpose three times in four), so that the agreement
path, the slowest, is well represented. Each call is timed alone with ``perf_counter_ns``.

- ``decision_p50_ms``, ``decision_p99_ms``, ``decision_p999_ms``, ``decision_max_ms``: per
  decision [ms] (target: p99 <= 1 ms).
- ``allow_share``: share of decisions allowed; ``foreign_share``: share about another
  agency's object (the audited ones).
- ``audit_appends_per_s``: entries appended to the audit log (:mod:`stadswacht.sharing.audit`)
  per second on SQLite (the embedded store), one entry per transaction, timed up to a signed
  checkpoint (target >= 5,000); ``..._batched``: in batches of 100; ``..._postgres*`` the same
  on a throw-away PostgreSQL with fsync on (``--postgres``).
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # for tests.support, when run as bench/policy.py
    sys.path.insert(0, str(ROOT))

from stadswacht.api.auth import Principal  # noqa: E402
from stadswacht.model import Role  # noqa: E402
from stadswacht.sharing import (  # noqa: E402
    Action,
    Agreement,
    Classification,
    EmergencyRelease,
    ObjectKind,
    ObjectRef,
    PolicyDecisionPoint,
)
from stadswacht.sharing.audit import AuditEntry, AuditLog, generate_signing_key, open_storage  # noqa: E402
from stadswacht.sharing.policy import OPERATIONAL_KINDS  # noqa: E402

NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)
PURPOSES = ["public-order", "crisis-management", "traffic", "water-safety"]
RECIPIENT_ROLES = [
    Role.INTEGRATOR,
    Role.OPERATOR,
    Role.ANALYST,
    Role.SUPERVISOR,
    Role.INFORMATION_MANAGER,
]
FIELDS = ["status", "position", "kind", "severity", "notes", "source", "value", "opened"]
KINDS = sorted(OPERATIONAL_KINDS)


def random_agreement(rng: random.Random, i: int, agencies: list[str]) -> Agreement:
    provider, recipient = rng.sample(agencies, 2)
    kinds = rng.sample(KINDS, rng.randint(1, 4))
    ceiling = rng.choice(list(Classification))
    red = [f"{recipient}-u{rng.randint(0, 9)}"] if ceiling is Classification.RED else []
    start = NOW - timedelta(days=rng.randint(1, 400))
    if rng.random() < 0.0625:  # ended
        start = NOW - timedelta(days=rng.randint(400, 800))
        end = NOW - timedelta(days=rng.randint(1, 399))
    elif rng.random() < 0.0625:  # not begun
        start = NOW + timedelta(days=rng.randint(1, 30))
        end = start + timedelta(days=365)
    else:
        end = NOW + timedelta(days=rng.randint(1, 400))
    return Agreement(
        id=f"agr-{i:04d}",
        provider=provider,
        recipient=recipient,
        kinds=kinds,
        max_classification=ceiling,
        red_recipients=red,
        purpose=rng.choice(PURPOSES),
        roles=rng.sample(RECIPIENT_ROLES, rng.randint(1, 3)),
        actions=rng.sample(list(Action), rng.randint(1, 5)),
        fields={k: ["*"] if rng.random() < 0.3 else rng.sample(FIELDS, 3) for k in kinds},
        valid_from=start,
        valid_until=end,
    )


def random_release(rng: random.Random, agencies: list[str]) -> EmergencyRelease:
    frm, to = rng.sample(agencies, 2)
    granted = NOW - timedelta(hours=rng.uniform(0, 8))
    return EmergencyRelease(
        incident_id=f"inc-{rng.randint(0, 999)}",
        from_agency=frm,
        to_agency=to,
        by=f"{frm}-supervisor",
        reason="Benchmark: large incident near the border of two regions",
        granted_at=granted,
        expires_at=granted + timedelta(hours=4),
    )


def make_requests(
    rng: random.Random, n: int, agencies: list[str], agreements: list[Agreement]
) -> list[tuple[Principal, Action, ObjectRef, str | None]]:
    roles = list(Role)
    out = []
    for _ in range(n):
        if rng.random() < 0.5:
            a = rng.choice(agreements)
            agency, owner = a.recipient, a.provider
            kind = rng.choice(sorted(a.kinds))
            purpose: str | None = a.purpose if rng.random() < 0.75 else rng.choice(PURPOSES)
            role = rng.choice(sorted(a.roles))
        else:
            agency, owner = rng.choice(agencies), rng.choice(agencies)
            kind = rng.choice(list(ObjectKind))
            purpose = rng.choice([*PURPOSES, None])
            role = rng.choice(roles)
        user = Principal(f"{agency}-u{rng.randint(0, 9)}", agency, role)
        inc = f"inc-{rng.randint(0, 999)}"
        obj = ObjectRef(
            kind,
            owner,
            rng.choice(list(Classification)),
            id=inc if kind is ObjectKind.INCIDENT else f"{kind.value}-{rng.randint(0, 9999)}",
            incident_id=inc if kind in (ObjectKind.DETECTION, ObjectKind.ALERT) else None,
        )
        out.append((user, rng.choice(list(Action)), obj, purpose))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--agencies", type=int, default=50)
    parser.add_argument("--agreements", type=int, default=500)
    parser.add_argument("--decisions", type=int, default=300_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--audit-entries", type=int, default=20_000)
    parser.add_argument(
        "--postgres", action="store_true", help="also measure appends on a throw-away PostgreSQL"
    )
    args = parser.parse_args(argv)

    rng = random.Random(args.seed)
    agencies = [f"agency-{i:02d}" for i in range(args.agencies)]
    agreements = [random_agreement(rng, i, agencies) for i in range(args.agreements)]
    releases = [random_release(rng, agencies) for _ in range(50)]
    t0 = time.perf_counter()
    pdp = PolicyDecisionPoint(agreements, releases)
    build_ms = (time.perf_counter() - t0) * 1e3
    requests = make_requests(rng, args.decisions, agencies, agreements)
    print(
        f"{args.agencies} agencies, {len(agreements)} agreements, {len(releases)} releases; "
        f"index built in {build_ms:.1f} ms; {len(requests)} decisions",
        file=sys.stderr,
    )

    # --- decisions -----------------------------------------------------------------------
    decide = pdp.decide
    clock = time.perf_counter_ns
    times = np.empty(len(requests), dtype=np.int64)
    allowed = foreign = 0
    step = max(1, len(requests) // 10)
    for i, (user, action, obj, purpose) in enumerate(requests):
        start = clock()
        d = decide(user, action, obj, purpose, NOW)
        times[i] = clock() - start
        allowed += d.allow
        foreign += d.audit
        if (i + 1) % step == 0:
            print(f"  {i + 1} decisions", file=sys.stderr)
    ms = times / 1e6
    result: dict[str, Any] = {
        "decision_p50_ms": round(float(np.percentile(ms, 50)), 4),
        "decision_p99_ms": round(float(np.percentile(ms, 99)), 4),
        "decision_p999_ms": round(float(np.percentile(ms, 99.9)), 4),
        "decision_max_ms": round(float(ms.max()), 4),
        "decision_mean_ms": round(float(ms.mean()), 4),
        "allow_share": round(allowed / len(requests), 4),
        "foreign_share": round(foreign / len(requests), 4),
        "agencies": args.agencies,
        "agreements": len(agreements),
        "releases": len(releases),
        "decisions": len(requests),
        "index_build_ms": round(build_ms, 2),
    }
    print(
        f"decision p50 {result['decision_p50_ms']} ms, p99 {result['decision_p99_ms']} ms, "
        f"max {result['decision_max_ms']} ms; allowed {result['allow_share']:.1%}",
        file=sys.stderr,
    )

    # --- audit appends -------------------------------------------------------------------
    result.update(audit_appends(args.audit_entries, postgres=args.postgres))
    print(json.dumps(result))
    return 0


def _entries(n: int) -> list[AuditEntry]:
    """Audit entries like those the routes write: a user of one agency reading another's."""
    now = datetime.now(UTC)
    return [
        AuditEntry(
            time=now,
            actor=f"user{i % 97}",
            actor_agency=f"agency-{i % 50:02d}",
            action="read",
            object_kind="detection",
            object_id=f"gunshot-{i}",
            owner_agency=f"agency-{(i + 7) % 50:02d}",
            purpose="public-order",
            outcome="allow",
            reason="agreement",
            details={"basis": f"a{i % 500}", "withheld": ["evidence"]},
        )
        for i in range(n)
    ]


def _rate(url: str, entries: list[AuditEntry], batch: int) -> float:
    log = AuditLog(open_storage(url), generate_signing_key(), "bench.local/audit")
    try:
        started = time.perf_counter()
        if batch == 1:
            for e in entries:
                log.append(e)
        else:
            for i in range(0, len(entries), batch):
                log.append_many(entries[i : i + batch])
        log.checkpoint()  # syncs what was appended, then signs
        return len(entries) / (time.perf_counter() - started)
    finally:
        log.close()


def audit_appends(n: int, *, postgres: bool) -> dict[str, Any]:
    """Entries appended per second to the audit log: one entry per transaction (a single
    audited read) and in batches of 100 (a list the routes audit in one go), on the embedded
    SQLite store and, with ``--postgres``, on a throw-away PostgreSQL (fsync on)."""
    out: dict[str, Any] = {"audit_entries": n}
    entries = _entries(n)
    with tempfile.TemporaryDirectory(prefix="stadswacht-auditbench-") as tmp:
        url = f"sqlite:///{tmp}/audit.db"
        out["audit_appends_per_s"] = round(_rate(url, entries, 1))
        out["audit_appends_per_s_batched"] = round(
            _rate(f"sqlite:///{tmp}/audit2.db", entries, 100)
        )
    print(
        f"audit log on SQLite: {out['audit_appends_per_s']:,} entries/s one by one, "
        f"{out['audit_appends_per_s_batched']:,}/s in batches of 100",
        file=sys.stderr,
    )
    if postgres:
        from tests.support.postgres import postgres_server

        with postgres_server(durable=True) as server:
            pg = server.create_database("stadswacht_auditbench")
            out["audit_appends_per_s_postgres"] = round(_rate(pg, entries[: n // 4], 1))
            out["audit_appends_per_s_postgres_batched"] = round(_rate(pg, entries, 100))
        print(
            f"audit log on PostgreSQL: {out['audit_appends_per_s_postgres']:,}/s one by one, "
            f"{out['audit_appends_per_s_postgres_batched']:,}/s in batches of 100",
            file=sys.stderr,
        )
    return out


if __name__ == "__main__":
    raise SystemExit(main())
