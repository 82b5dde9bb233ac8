"""The CLI's keys: the producer key it signs goals with, the operator key for kill switches.

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

__all__ = [
    "EMBEDDED_KEY_ID",
    "EMBEDDED_PRODUCER",
    "embedded_registry",
    "goal_signer",
    "operator_signer",
]

OPERATOR_KEY_ID = "operator-1"

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


def _embedded_keys(data_dir: str | Path, what: str, setting: str) -> DemoKeys:
    path = Path(data_dir)
    if not (path / "keys.json").exists():
        raise ConfigError(
            f"no {what} key: {path} holds no embedded stack's keys; set"
            f" AGENTDECK_CLI_{setting} and AGENTDECK_CLI_{setting}_ID"
        )
    return load_or_create(path)


def embedded_signer(data_dir: str | Path) -> Signer:
    """The embedded stack's producer key, from its key file in ``data_dir``."""
    keys = _embedded_keys(data_dir, "producer", "PRODUCER_KEY")
    return Signer(EMBEDDED_KEY_ID, keys.producer_private)


def operator_signer(settings: CliSettings, data_dir: str | Path) -> Signer:
    """The configured operator key, else the embedded stack's: signs kill switches."""
    if settings.operator_key is not None:
        if not settings.operator_key_id:
            raise ConfigError(
                "AGENTDECK_CLI_OPERATOR_KEY is set but AGENTDECK_CLI_OPERATOR_KEY_ID is not"
            )
        return Signer(settings.operator_key_id, settings.operator_key.get_secret_value())
    keys = _embedded_keys(data_dir, "operator", "OPERATOR_KEY")
    return Signer(OPERATOR_KEY_ID, keys.operator_private)


def goal_signer(settings: CliSettings, data_dir: str | Path) -> Signer:
    """The configured producer key, else the embedded stack's."""
    if settings.producer_key is None:
        return embedded_signer(data_dir)
    if not settings.producer_key_id:
        raise ConfigError(
            "AGENTDECK_CLI_PRODUCER_KEY is set but AGENTDECK_CLI_PRODUCER_KEY_ID is not"
        )
    return Signer(settings.producer_key_id, settings.producer_key.get_secret_value())
