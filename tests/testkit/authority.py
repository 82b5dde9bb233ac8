"""The writers tests sign as: one key per service entitled to events that carry authority.

Every test process gets this registry as ``AGENTDECK_WRITER_KEYS`` (see
``tests/conftest.py``), so a service under test acts on exactly the records
these keys sign; a test that publishes a decision, a request or a kill switch
signs it as its writer would.
"""

from __future__ import annotations

import base64
import json
import os

from agentdeck.contracts import Event
from agentdeck.contracts.models import GoalSubmitted
from agentdeck.kafka import ENTITLED, EventProducer
from agentdeck.settings import TrustSettings, WriterKey
from agentdeck.signing import Signer, generate_private_key
from testkit import producers

PLANNER_KEY = generate_private_key()
POLICY_KEY = generate_private_key()
APPROVAL_KEY = generate_private_key()
OPERATOR_KEY = generate_private_key()
PII_MASTER_KEY = base64.b64encode(os.urandom(32)).decode()
"""The master key of the subject keys every service under test seals personal data with."""

PLANNER = Signer("planner-1", PLANNER_KEY)
POLICY = Signer("policy-1", POLICY_KEY)
APPROVAL = Signer("approval-1", APPROVAL_KEY)
OPERATOR = Signer("operator-1", OPERATOR_KEY)

WRITERS = {
    s.key_id: WriterKey(service=service, public_key=s.public_key_b64())
    for s, service in (
        (PLANNER, "planner"),
        (POLICY, "policy-checker"),
        (APPROVAL, "approval"),
        (OPERATOR, "operator"),
    )
}
TRUST = TrustSettings(writer_keys=WRITERS)


def environment() -> dict[str, str]:
    """The variables that give a service process these writers (and the planner its key)."""
    return {
        "AGENTDECK_WRITER_KEYS": json.dumps({k: w.model_dump() for k, w in WRITERS.items()}),
        "AGENTDECK_PLANNER_SIGNING_KEY": PLANNER_KEY,
        "AGENTDECK_PII_MASTER_KEY": PII_MASTER_KEY,
    }


SIGNERS = {"planner": PLANNER, "policy-checker": POLICY, "approval": APPROVAL, "operator": OPERATOR}


class WriterProducer(EventProducer):
    """A producer that signs each event as the writer entitled to it would.

    Tests publish on behalf of every service at once: a request as the
    planner, a decision as the policy-checker, a kill switch as the operator,
    a goal as the registered test producer.
    """

    def send(self, event: Event, *, topic: str | None = None) -> None:
        """Enqueue ``event``, signed by its entitled writer's test key (if it has one)."""
        writers = sorted(ENTITLED.get(type(event), ()))
        self._signer = SIGNERS[writers[0]] if writers else None
        if isinstance(event, GoalSubmitted):
            self._signer = producers.SIGNER
        super().send(event, topic=topic)
