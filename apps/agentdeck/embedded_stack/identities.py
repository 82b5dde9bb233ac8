"""Who the embedded stack trusts: its one producer (the CLI) and the demo approvers."""

from __future__ import annotations

from agentdeck.approval.adapters.auth import token_hash
from agentdeck.approval.core import ALL_TENANTS, Principal
from agentdeck.embedded_stack.keys import DemoKeys
from agentdeck.planner.adapters.producers import ProducerRegistry, RegisteredProducer
from agentdeck.planner.core.admission import ANY
from agentdeck.signing import Signer

__all__ = [
    "DEMO_APPROVERS",
    "EMBEDDED_KEY_ID",
    "EMBEDDED_PRODUCER",
    "embedded_approvers",
    "embedded_registry",
    "producer_signer",
]

EMBEDDED_PRODUCER = "cli"
EMBEDDED_KEY_ID = "cli-1"

DEMO_APPROVERS = {"alice": "support-lead", "bob": "finance", "crm": "requester"}
"""Demo identities: alice approves refunds, bob the high band, crm submits goals."""


def producer_signer(keys: DemoKeys) -> Signer:
    """The stack's producer key: signs the goals its CLI (and the bench) publish."""
    return Signer(EMBEDDED_KEY_ID, keys.producer_private)


def embedded_registry(keys: DemoKeys) -> ProducerRegistry:
    """The embedded stack's registry: its own CLI, which may start anything."""
    producer = RegisteredProducer(
        keys={EMBEDDED_KEY_ID: producer_signer(keys).public_key_b64()},
        tenants=(ANY,),
        agents=(ANY,),
        playbooks=(ANY,),
        model_planned=True,
    )
    return ProducerRegistry(version=1, producers={EMBEDDED_PRODUCER: producer})


def embedded_approvers(keys: DemoKeys) -> dict[str, Principal]:
    """The demo approvers as the approval service holds them: by the hash of each token.

    The plaintext stays in ``keys.json`` (mode 600) for ``--as alice``. One
    operator's machine: its approvers act for every tenant it submits as.
    """
    return {
        token_hash(token): Principal(
            name=name, roles=frozenset({DEMO_APPROVERS[name]}), tenants=frozenset({ALL_TENANTS})
        )
        for name, token in keys.approver_tokens.items()
    }
