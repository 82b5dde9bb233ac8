"""Approvers authenticate with bearer tokens mapped to a name and a role in settings."""

from __future__ import annotations

import hmac
from collections.abc import Mapping

from agentdeck.approval.core import Approver

__all__ = ["TokenAuthenticator"]


class TokenAuthenticator:
    """Finds the approver a bearer token belongs to."""

    def __init__(self, approvers: Mapping[str, Approver]) -> None:
        self._approvers = [(token.encode(), who) for token, who in approvers.items() if token]

    def identify(self, token: str) -> Approver | None:
        """The approver holding ``token``, or None.

        Compares against every token in constant time, so response times do
        not tell how much of a guess was right.
        """
        given = token.encode()
        found = None
        for known, who in self._approvers:
            if hmac.compare_digest(known, given):
                found = who
        return found
