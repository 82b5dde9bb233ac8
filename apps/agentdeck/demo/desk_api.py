"""The desk's front door: every request from a tool must carry that call's credential.

The desk plays a real backend (a payments or CRM API): it holds only the
executor's *public* keys, so it can check a credential but never mint one.
Each operation rebuilds the arguments it was asked to act on, hashes them the
way the executor hashed the tool's arguments, and verifies that the credential
was minted for this operation, this call and these arguments, and is not past
the call's deadline. A credential leaked from one call is useless for any
other call and after its deadline.

Sending an email is the one operation the desk does not deduplicate, so its
credential is also single-use: replaying it for the same call, even within the
deadline, is refused (``credential_replayed``). The spent ids are kept in
memory until their credentials expire.
"""

from __future__ import annotations

import threading
from datetime import datetime
from typing import Any

from agentdeck.credentials import Claims, CredentialKeys, CredentialRefused, args_sha256, verify
from agentdeck.demo.desk import Desk, Order, Refund, SentEmail
from agentdeck.errors import ErrorCategory, TerminalError
from agentdeck.runtime import Clock, utc_now

__all__ = ["AUDIENCE", "CredentialRejected", "DeskApi"]

AUDIENCE = "demo-desk"
"""The desk's name as credentials address it (the tools' ``credential_audience``)."""


class CredentialRejected(TerminalError):
    """The desk refused a request's credential; the same credential can never succeed."""

    def __init__(self, message: str, *, code: str) -> None:
        super().__init__(
            message,
            capability="demo.desk.auth",
            code=code,
            category=ErrorCategory.POLICY,
            remediation=(
                "run the call through the executor, which mints a credential for each call",
                "a credential serves one call, tool and arguments until the call's deadline",
            ),
        )


class DeskApi:
    """What tools call: the desk's operations, each behind a credential check. Thread-safe.

    Args:
        desk: The system of record behind the API.
        keys: The executors' public keys the desk trusts.
        clock: The desk's clock, for credential expiry.
    """

    def __init__(self, desk: Desk, keys: CredentialKeys, *, clock: Clock = utc_now) -> None:
        self.desk = desk
        self._keys = keys
        self._clock = clock
        self._lock = threading.Lock()
        self._spent: dict[str, datetime] = {}
        """Credential id -> its expiry, for single-use operations."""

    def order(self, order_id: str, *, key: str, credential: str | None) -> Order:
        """The order ``order_id``, for call ``key`` of ``lookup_order``."""
        self._admit("lookup_order", {"order_id": order_id}, key, credential)
        return self.desk.order(order_id)

    def create_refund(
        self, order_id: str, amount_cents: int, reason: str, *, key: str, credential: str | None
    ) -> Refund:
        """Refund part of an order, for call ``key`` of ``create_refund``."""
        request = {"order_id": order_id, "amount_cents": amount_cents, "reason": reason}
        self._admit("create_refund", request, key, credential)
        return self.desk.create_refund(order_id, amount_cents, reason, key=key)

    def cancel_refund(
        self, refund_id: str, reason: str, *, key: str, credential: str | None
    ) -> Refund:
        """Cancel a refund, for call ``key`` of ``cancel_refund``."""
        self._admit("cancel_refund", {"refund_id": refund_id, "reason": reason}, key, credential)
        return self.desk.cancel_refund(refund_id, reason)

    def send_email(
        self, to: str, subject: str, body: str, *, key: str, credential: str | None
    ) -> SentEmail:
        """Send an email, for call ``key`` of ``send_email``."""
        request = {"to": to, "subject": subject, "body": body}
        claims = self._admit("send_email", request, key, credential)
        with self._lock:  # one send at a time, so a replay cannot slip in beside the first use
            self._refuse_spent(claims)
            sent = self.desk.send_email(to, subject, body, key=key)
            self._spent[claims.token_id] = claims.not_after
        return sent

    def _refuse_spent(self, claims: Claims) -> None:
        now = self._clock()
        self._spent = {jti: until for jti, until in self._spent.items() if until > now}
        if claims.token_id in self._spent:
            raise CredentialRejected(
                "send_email: the credential was already used", code="credential_replayed"
            )

    def _admit(
        self, tool: str, request: dict[str, Any], key: str, credential: str | None
    ) -> Claims:
        if not credential:
            raise CredentialRejected(
                f"{tool}: the request carries no credential", code="credential_missing"
            )
        try:
            return verify(
                credential,
                self._keys,
                audience=AUDIENCE,
                tool=tool,
                args_sha256=args_sha256(request),
                call_id=key,
                now=self._clock(),
            )
        except CredentialRefused as exc:  # the message names the mismatch, never the token
            raise CredentialRejected(f"{tool}: {exc}", code=f"credential_{exc.code}") from exc
