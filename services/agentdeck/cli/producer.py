"""The CLI's keys: the producer key it signs goals with, the operator key for kill switches.

Outside the embedded stack the key comes from the environment
(``AGENTDECK_CLI_PRODUCER_KEY``, ``AGENTDECK_CLI_PRODUCER_KEY_ID``) and the
planner's registry must list its public key. ``agentdeck up`` makes a key of
its own (in the data dir's key file) and registers it with every tenant.
"""

from __future__ import annotations

from pathlib import Path

from agentdeck.cli.settings import CliSettings
from agentdeck.embedded_stack.identities import producer_signer
from agentdeck.embedded_stack.keys import DemoKeys, load_or_create
from agentdeck.errors import ConfigError
from agentdeck.signing import Signer

__all__ = ["embedded_signer", "goal_signer", "operator_signer"]

OPERATOR_KEY_ID = "operator-1"


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
    return producer_signer(_embedded_keys(data_dir, "producer", "PRODUCER_KEY"))


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
