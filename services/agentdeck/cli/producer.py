"""The CLI as a registered producer: the key it signs goals with, and the embedded registry.

Outside the embedded stack the key comes from the environment
(``AGENTDECK_CLI_PRODUCER_KEY``, ``AGENTDECK_CLI_PRODUCER_KEY_ID``) and the
planner's registry must list its public key. ``agentdeck up`` makes a key of
its own (in the data dir's key file) and registers it with every tenant.
"""

from __future__ import annotations

from pathlib import Path

from agentdeck.cli.keys import DemoKeys, load_or_create
from agentdeck.cli.settings import CliSettings
from agentdeck.errors import ConfigError
from agentdeck.planner.adapters.producers import ProducerRegistry, RegisteredProducer
from agentdeck.planner.core.admission import ANY
from agentdeck.signing import Signer

__all__ = ["EMBEDDED_KEY_ID", "EMBEDDED_PRODUCER", "embedded_registry", "goal_signer"]

EMBEDDED_PRODUCER = "cli"
EMBEDDED_KEY_ID = "cli-1"


def embedded_registry(keys: DemoKeys) -> ProducerRegistry:
    """The embedded stack's registry: its own CLI, which may start anything."""
    public = Signer(EMBEDDED_KEY_ID, keys.producer_private).public_key_b64()
    producer = RegisteredProducer(
        keys={EMBEDDED_KEY_ID: public},
        tenants=(ANY,),
        agents=(ANY,),
        playbooks=(ANY,),
        model_planned=True,
    )
    return ProducerRegistry(version=1, producers={EMBEDDED_PRODUCER: producer})


def embedded_signer(data_dir: str | Path) -> Signer:
    """The embedded stack's producer key, from its key file in ``data_dir``."""
    path = Path(data_dir)
    if not (path / "keys.json").exists():
        raise ConfigError(
            f"no producer key: {path} holds no embedded stack's keys; set"
            " AGENTDECK_CLI_PRODUCER_KEY and AGENTDECK_CLI_PRODUCER_KEY_ID"
        )
    return Signer(EMBEDDED_KEY_ID, load_or_create(path).producer_private)


def goal_signer(settings: CliSettings, data_dir: str | Path) -> Signer:
    """The configured producer key, else the embedded stack's."""
    if settings.producer_key is None:
        return embedded_signer(data_dir)
    if not settings.producer_key_id:
        raise ConfigError(
            "AGENTDECK_CLI_PRODUCER_KEY is set but AGENTDECK_CLI_PRODUCER_KEY_ID is not"
        )
    return Signer(settings.producer_key_id, settings.producer_key.get_secret_value())
