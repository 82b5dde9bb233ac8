"""Which cases an authenticated person may see and decide, and in which role.

A principal is entitled to a case when it acts for the case's tenant (the
tenant of the envelope of the ``ApprovalRequested`` event) and holds one of
the roles that may decide the case (the requested role, plus the escalation
role once escalated). Anything else is invisible to it: the API answers
404, exactly as for an id that does not exist, so one tenant's approvers
cannot learn that another tenant's approvals exist.

A principal acts for every tenant only when its tenants say ``*``
explicitly; an empty set of tenants sees nothing.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from agentdeck.approval.core.model import Approver, Case

__all__ = ["ALL_TENANTS", "Principal", "acting_as", "entitled", "tenant_of"]

ALL_TENANTS = "*"
"""The tenant entry of a platform-wide approver."""


class Principal(BaseModel):
    """An authenticated approver: a name, the roles held, the tenants acted for."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1)
    roles: frozenset[str] = Field(description="Approver roles held (support-lead, finance...).")
    tenants: frozenset[str] = Field(description="Tenants acted for; '*' means every tenant.")

    def acts_for(self, tenant: str) -> bool:
        """Whether the principal may act for ``tenant``."""
        return ALL_TENANTS in self.tenants or tenant in self.tenants


def tenant_of(case: Case) -> str:
    """The tenant a case belongs to."""
    return case.request.envelope.tenant


def acting_as(principal: Principal, case: Case) -> Approver | None:
    """The approver ``principal`` is for ``case``, or None if not entitled to it.

    Of several eligible roles the requested one wins, so a person holding both
    the requested and the escalation role is recorded in the requested one.
    """
    if not principal.acts_for(tenant_of(case)):
        return None
    if case.request.approver_role in principal.roles:
        return Approver(name=principal.name, role=case.request.approver_role)
    held = sorted(principal.roles & case.eligible_roles)
    return Approver(name=principal.name, role=held[0]) if held else None


def entitled(principal: Principal, case: Case) -> bool:
    """Whether ``principal`` may see and decide ``case``."""
    return acting_as(principal, case) is not None
