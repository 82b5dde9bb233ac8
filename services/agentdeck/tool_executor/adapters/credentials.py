"""Per-call credentials: minted right before a tool runs, for tools that call a backend."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime

from pydantic import BaseModel

from agentdeck.credentials import args_sha256, mint
from agentdeck.errors import ConfigError
from agentdeck.signing import Signer
from agentdeck.tool_executor.adapters.invoke import Invoked
from agentdeck.tools import Tool, ToolContext, ToolContract

__all__ = ["REDACTED", "CallCredentials"]

REDACTED = "[credential]"
"""What replaces a credential a tool echoed into its output or error."""


class CallCredentials:
    """Mints each call's credential with the executor's key (which never leaves this process).

    The credential rides in the :class:`ToolContext` only: not in the arguments,
    which the model wrote and events carry, nor in the output, which goes back
    to the model.
    """

    def __init__(self, signer: Signer | None, *, issuer: str) -> None:
        self._signer = signer
        self._issuer = issuer

    def check(self, tools: Iterable[Tool], setting: str) -> None:
        """Refuse to start if a tool needs credentials and there is no key to mint them."""
        needing = sorted(t.contract.name for t in tools if t.contract.credential_audience)
        if needing and self._signer is None:
            raise ConfigError(f"{setting} is required: {', '.join(needing)} call a backend")

    def public_keys(self) -> dict[str, str]:
        """The public key backends verify with, by key id (empty without a key)."""
        signer = self._signer
        return {} if signer is None else {signer.key_id: signer.public_key_b64()}

    def attach(
        self, ctx: ToolContext, contract: ToolContract, args: BaseModel, *, now: datetime
    ) -> ToolContext:
        """``ctx`` with the call's credential, valid from ``now`` to its deadline, if needed."""
        audience = contract.credential_audience
        if audience is None:
            return ctx
        if self._signer is None:  # check() ran at start; reaching here is a wiring bug
            raise ConfigError(f"no credential key to call {contract.name}")
        token = mint(
            self._signer,
            issuer=self._issuer,
            audience=audience,
            run_id=ctx.run_id,
            call_id=ctx.idempotency_key,
            tool=contract.name,
            args_sha256=args_sha256(args.model_dump(mode="json")),
            not_before=now,
            not_after=ctx.deadline,
        )
        return replace(ctx, credential=token)

    @staticmethod
    def scrub(invoked: Invoked, ctx: ToolContext) -> Invoked:
        """``invoked`` without the call's credential, should the tool have echoed it.

        Output and errors go back to the model and onto the event log; a tool
        that prints its credential there must not hand it to either.
        """
        token = ctx.credential
        if not token:
            return invoked
        output, failure = invoked.output_json, invoked.failure
        if output is not None and token in output:
            output = output.replace(token, REDACTED)
        if failure is not None and token in failure.message:
            failure = failure.model_copy(
                update={"message": failure.message.replace(token, REDACTED)}
            )
        return replace(invoked, output_json=output, failure=failure)
