"""The routes' side of the policy decision point: decide, redact and audit, in one place.

Every route that returns agency data and both live streams go through a :class:`Gate`:

- :meth:`Gate.agencies` narrows a store query to the agencies whose objects the user could
  see at all (own, and the providers of agreements in force for that kind, and emergency
  releases); the decision point then decides per object;
- :meth:`Gate.filter` (lists, streams) keeps the allowed objects, redacted to the fields their
  agreement covers (withheld fields stay, as ``None``, and ``_withheld`` names them);
- :meth:`Gate.one` (a read by id) answers "not found" for a denied object, so ids of other
  agencies are not disclosed;
- every decision about another agency's object (``decision.audit``) is appended to the audit
  log, allowed reads and denied direct reads alike.

The purpose of a request is the ``X-Purpose`` header (or ``?purpose=``); agreements name the
purposes they serve.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from fastapi import Request

from stadswacht.api.auth import Principal
from stadswacht.errors import NotFound
from stadswacht.pipeline import Platform
from stadswacht.sharing.defaults import classification_of
from stadswacht.sharing.model import Action, ObjectKind
from stadswacht.sharing.policy import Decision, ObjectRef, redact

__all__ = ["PURPOSE_HEADER", "Gate", "gate"]

log = logging.getLogger(__name__)

PURPOSE_HEADER = "X-Purpose"


def purpose_of(request: Request) -> str | None:
    """The purpose a request states (header ``X-Purpose`` or query ``purpose``)."""
    return request.headers.get(PURPOSE_HEADER) or request.query_params.get("purpose") or None


@dataclass
class Gate:
    """Decides, redacts and audits for one user and one request."""

    platform: Platform
    user: Principal
    purpose: str | None
    at: datetime = field(default_factory=lambda: datetime.now(UTC))

    def agencies(self, kind: ObjectKind) -> frozenset[str] | None:
        """Owners whose objects of ``kind`` this user could see (``None``: every agency)."""
        if self.user.is_admin:
            return None
        pdp = self.platform.policy
        out = {self.user.agency}
        for a in pdp.agreements:
            if a.recipient == self.user.agency and kind in a.kinds and a.in_force(self.at):
                out.add(a.provider)
        for r in pdp.releases:
            if r.to_agency == self.user.agency and r.active(self.at):
                out.add(r.from_agency)
        return frozenset(out)

    def decide(self, action: Action, kind: ObjectKind, doc: Mapping[str, Any]) -> Decision:
        """The decision for one object, given as its JSON document."""
        owner = str(doc.get("agency") or "")
        obj = ObjectRef(
            kind,
            owner,
            classification_of(kind, doc),
            id=None if doc.get("id") is None else str(doc["id"]),
            incident_id=doc.get("incident_id")
            or (str(doc["id"]) if kind is ObjectKind.INCIDENT and doc.get("id") else None),
        )
        return self.platform.policy.decide(self.user, action, obj, self.purpose, self.at)

    def filter(
        self, action: Action, kind: ObjectKind, docs: Iterable[Mapping[str, Any]]
    ) -> list[dict[str, Any]]:
        """The allowed documents, redacted; audits every allowed one of another agency."""
        out: list[dict[str, Any]] = []
        audited: list[tuple[Mapping[str, Any], Decision]] = []
        for doc in docs:
            d = self.decide(action, kind, doc)
            if not d.allow:
                continue
            out.append(_shown(doc, d))
            if d.audit:
                audited.append((out[-1], d))
        self._audit(action, kind, audited)
        return out

    def one(self, action: Action, kind: ObjectKind, doc: Mapping[str, Any]) -> dict[str, Any]:
        """The document if allowed (redacted), else :class:`NotFound`; audited either way when
        it is another agency's."""
        d = self.decide(action, kind, doc)
        shown = _shown(doc, d) if d.allow else dict(doc)
        if d.audit:
            self._audit(action, kind, [(shown, d)])
        if not d.allow:
            raise NotFound(f"no {kind.value} {doc.get('id')!r}")
        return shown

    def _audit(
        self, action: Action, kind: ObjectKind, items: list[tuple[Mapping[str, Any], Decision]]
    ) -> None:
        if not items:
            return
        record = getattr(self.platform, "record_access", None)
        if record is None:
            return
        record(
            [
                {
                    "actor": self.user.name,
                    "actor_agency": self.user.agency,
                    "actor_role": self.user.role.value,
                    "action": action.value,
                    "object_kind": kind.value,
                    "object_id": str(doc.get("id", "")),
                    "owner": str(doc.get("agency", "")),
                    "purpose": self.purpose,
                    "outcome": "allow" if d.allow else "deny",
                    "reason": d.code,
                    "basis": d.basis,
                    "withheld": list(doc.get("_withheld", [])),
                }
                for doc, d in items
            ]
        )


def _shown(doc: Mapping[str, Any], d: Decision) -> dict[str, Any]:
    """The document as the reader sees it: redacted to the decision's fields."""
    return redact(doc, d) if d.fields is not None else {**doc, "_withheld": []}


def gate(request: Request, user: Principal) -> Gate:
    """The gate for this request: the app's platform, the signed-in user, the stated purpose."""
    platform: Platform = request.app.state.platform
    return Gate(platform, user, purpose_of(request))
