"""Human users: each belongs to one agency and has one role."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, StringConstraints

from stadswacht.model.area import AgencyId

__all__ = ["Role", "User", "UserName"]

UserName = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_.@-]{1,63}$")]


class Role(StrEnum):
    """What a user may do. Data access is further limited to the user's own agency.

    - ``admin``: everything, for every agency (platform operator).
    - ``integrator``: registers and manages the devices of their agency, reads dead letters.
    - ``operator``: watches readings, detections and incidents of their agency live, and acts
      on incidents (acknowledge, dispatch, procedure steps).
    - ``analyst``: reads readings, detections, incidents and forecasts of their agency.
    - ``supervisor``: an operator who may also resolve, reopen, take escalations and make an
      emergency release of an incident to another agency.
    - ``information_manager``: manages the agency's sharing agreements and exports.
    - ``auditor``: reads the audit log and its proofs; no operational data.

    What crosses agencies is decided by the sharing agreements (:mod:`stadswacht.sharing`).
    """

    ADMIN = "admin"
    INTEGRATOR = "integrator"
    OPERATOR = "operator"
    ANALYST = "analyst"
    SUPERVISOR = "supervisor"
    INFORMATION_MANAGER = "information_manager"
    AUDITOR = "auditor"


class User(BaseModel):
    """A person who logs in to the API or the dashboard."""

    model_config = ConfigDict(frozen=True)

    name: UserName
    agency: AgencyId
    role: Role
    password_hash: str
    created: datetime
