"""The vocabulary of sharing: classifications (TLP 2.0), object kinds and actions.

>>> Classification.AMBER_STRICT.rank > Classification.GREEN.rank
True
>>> Classification.parse("amber+strict") is Classification.AMBER_STRICT
True
"""

from __future__ import annotations

from enum import StrEnum
from typing import Protocol

from stadswacht.model.user import Role

__all__ = ["Action", "Classification", "ObjectKind", "Subject"]


class Classification(StrEnum):
    """Traffic Light Protocol 2.0 (FIRST, 2022): how far information may travel.

    - ``TLP:CLEAR``: no limit.
    - ``TLP:GREEN``: the community (here: every agency on the platform).
    - ``TLP:AMBER``: the recipient's organisation and its clients, on a need-to-know basis.
    - ``TLP:AMBER+STRICT``: the recipient's organisation only.
    - ``TLP:RED``: the named recipients only, no further.
    """

    CLEAR = "TLP:CLEAR"
    GREEN = "TLP:GREEN"
    AMBER = "TLP:AMBER"
    AMBER_STRICT = "TLP:AMBER+STRICT"
    RED = "TLP:RED"

    @property
    def rank(self) -> int:
        """0 (CLEAR) to 4 (RED): higher is more restricted."""
        return list(Classification).index(self)

    @classmethod
    def parse(cls, text: str) -> Classification:
        """``TLP:AMBER``, ``amber`` and ``AMBER+STRICT`` alike."""
        t = text.strip().upper()
        return cls(t if t.startswith("TLP:") else f"TLP:{t}")


class ObjectKind(StrEnum):
    """Kinds of object the sharing agreements speak about.

    Every kind but :attr:`AUDIT_LOG` is operational data.
    """

    DEVICE = "device"
    READING = "reading"
    DETECTION = "detection"
    INCIDENT = "incident"
    FORECAST = "forecast"
    ALERT = "alert"
    ZONE_STATE = "zone_state"
    POST = "post"
    """A public post (web signals), pseudonymised: personal data, for the roles that check
    bursts (analyst, supervisor) only."""
    WEBSIGNAL_COUNT = "websignal_count"
    """Counts of posts per area and information type, published for >= 5 authors only."""
    AUDIT_LOG = "audit_log"
    """The audit log itself: read by auditors (and admins) only, never shared by agreement."""


class Action(StrEnum):
    """What a user does with an object."""

    READ = "read"
    LIST = "list"
    STREAM = "stream"
    EXPORT = "export"
    SHARE = "share"


class Subject(Protocol):
    """Who asks: a user's name, agency and role (:class:`stadswacht.api.auth.Principal` is one).

    A protocol, so that sharing does not depend on the API layer.
    """

    @property
    def name(self) -> str:
        """The user's name."""
        ...

    @property
    def agency(self) -> str:
        """The agency the user works for."""
        ...

    @property
    def role(self) -> Role:
        """The user's role."""
        ...
