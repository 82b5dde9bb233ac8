"""Where ``agentdeck audit`` gets the checkpoint keys it trusts: always from the verifier.

The keys published in the store and the key inside a bundle are part of the
evidence: whoever rewrote the log could have replaced them too. So a
verification trusts only keys the auditor brings (``--public-key``,
``--trusted-keys FILE``) or, for the embedded stack, the operator's own key
file in the data dir, which telemetry signs with and which no archive or
bundle carries.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from agentdeck.audit import VerificationFailed
from agentdeck.embedded_stack.keys import DemoKeys
from agentdeck.errors import ConfigError
from agentdeck.signing import Signer
from agentdeck.telemetry.settings import TelemetrySettings

__all__ = ["NoTrustedKey", "TrustedKeys", "trusted_keys"]

EMBEDDED_KEY_ID: str = TelemetrySettings.model_fields["checkpoint_key_id"].default
"""The key id the embedded stack's telemetry signs checkpoints under."""


class NoTrustedKey(VerificationFailed):
    """The verifier named no key to trust, so nothing could be verified."""


@dataclass(frozen=True)
class TrustedKeys:
    """Key id -> base64 public key, and where they came from (said in the output)."""

    keys: dict[str, str]
    source: str


def trusted_keys(options: list[str] | None, key_file: Path | None, data_dir: Path) -> TrustedKeys:
    """The keys to verify with, from the first source given.

    Args:
        options: ``--public-key`` values, ``KEY_ID=BASE64``.
        key_file: ``--trusted-keys``: a JSON object of key id -> base64 public key.
        data_dir: The embedded stack's data dir, whose ``keys.json`` is the
            operator's pinned trust root when nothing else is given.

    Raises:
        ConfigError: a ``--public-key`` or key file is malformed.
        NoTrustedKey: no source named a key.
    """
    keys: dict[str, str] = {}
    if options:
        keys.update(_options(options))
    if key_file is not None:
        keys.update(_key_file(key_file))
    if keys:
        return TrustedKeys(keys, "the keys you passed")
    embedded = _embedded(data_dir / "keys.json")
    if embedded is not None:
        return embedded
    raise NoTrustedKey(
        "unverified: no trusted key (pass --public-key KEY_ID=BASE64 or --trusted-keys FILE; "
        "keys inside the store or the bundle are evidence, not trust)"
    )


def _options(values: list[str]) -> dict[str, str]:
    pairs = [value.partition("=") for value in values]
    if any(not sep or not key or not b64 for key, sep, b64 in pairs):
        raise ConfigError("--public-key takes KEY_ID=BASE64")
    return {key: b64 for key, _, b64 in pairs}


def _key_file(path: Path) -> dict[str, str]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"--trusted-keys {path}: not a readable JSON file ({exc})") from None
    if not isinstance(data, dict) or not all(
        isinstance(k, str) and isinstance(v, str) and v for k, v in data.items()
    ):
        raise ConfigError(f"--trusted-keys {path}: expected a JSON object of KEY_ID -> BASE64")
    return data


def _embedded(path: Path) -> TrustedKeys | None:
    """The embedded stack's checkpoint key, if this data dir holds its key file."""
    if not path.is_file():
        return None
    keys = DemoKeys.model_validate_json(path.read_text(encoding="utf-8"))
    if not keys.checkpoint_private:
        return None
    public = Signer(EMBEDDED_KEY_ID, keys.checkpoint_private).public_key_b64()
    return TrustedKeys({EMBEDDED_KEY_ID: public}, f"the embedded stack's key file {path}")
