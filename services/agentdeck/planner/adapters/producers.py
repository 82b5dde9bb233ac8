"""The producer registry: which systems may start runs, with which keys, within which grant.

A YAML (or JSON) file, versioned like a policy bundle::

    version: 3
    producers:
      crm:
        keys: {crm-2026-12: <base64 Ed25519 public key>, crm-2027-01: <...>}
        tenants: [acme]
        agents: [support-agent]
        playbooks: [refund-order]
        model_planned: false
        ceilings: {max_cost_micros: 50000000, max_run_seconds: 86400}

Several keys per producer make rotation a cut-over rather than an outage:
add the new key, move the producer to it, then remove the old one.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from agentdeck.errors import ConfigError
from agentdeck.hashing import canonical_json
from agentdeck.planner.core.admission import Admitted, Grant, Refused
from agentdeck.signing import Verifier, record_signature

__all__ = ["ProducerRegistry", "RegisteredProducer"]

_SIGN = (
    "sign the record value with the producer's registered Ed25519 key and send the headers "
    "agentdeck-key-id (the key id) and agentdeck-signature (the 64-byte signature)"
)


class RegisteredProducer(Grant):
    """A producer: its public keys (key id -> base64 raw Ed25519 key) and its grant."""

    keys: dict[str, str]

    @field_validator("keys")
    @classmethod
    def _some_key(cls, keys: dict[str, str]) -> dict[str, str]:
        if not keys:
            raise ValueError("a producer needs at least one key")
        return keys


class ProducerRegistry(BaseModel):
    """Every registered producer; authenticates goal records against it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    version: int
    producers: dict[str, RegisteredProducer]

    @field_validator("producers")
    @classmethod
    def _unique_key_ids(
        cls, producers: dict[str, RegisteredProducer]
    ) -> dict[str, RegisteredProducer]:
        seen: dict[str, str] = {}
        for name, producer in producers.items():
            for key_id in producer.keys:
                if key_id in seen:
                    raise ValueError(f"key id {key_id!r} is used by {seen[key_id]} and {name}")
                seen[key_id] = name
        return producers

    @classmethod
    def load(cls, path: Path) -> ProducerRegistry:
        """The registry in ``path``; ConfigError (one line) if it is missing or invalid."""
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"producer registry {path}: {exc}") from exc
        return cls.parse(text, f"producer registry {path}")

    @classmethod
    def parse(cls, text: str, source: str) -> ProducerRegistry:
        """The registry in ``text`` (YAML or JSON); ConfigError naming ``source`` if invalid."""
        try:
            registry = cls.model_validate(yaml.safe_load(text))
        except yaml.YAMLError as exc:
            raise ConfigError(f"{source}: {exc}") from exc
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            raise ConfigError(f"{source}: {where}: {first['msg']}") from exc
        Verifier(registry.public_keys())  # every key must parse, at start
        return registry

    def public_keys(self) -> dict[str, str]:
        """Every key id with its public key."""
        return {k: v for p in self.producers.values() for k, v in p.keys.items()}

    @property
    def label(self) -> str:
        """``<version>@<digest>``: names exactly this registry in refusals and logs."""
        digest = hashlib.sha256(canonical_json(self.model_dump(mode="json")).encode()).hexdigest()
        return f"{self.version}@{digest[:16]}"

    def authenticator(self) -> GoalAuthenticator:
        """Checks goal records against this registry's keys."""
        return GoalAuthenticator(self)


class GoalAuthenticator:
    """Verifies a goal record's signature and names the producer whose key made it."""

    def __init__(self, registry: ProducerRegistry) -> None:
        self._label = registry.label
        self._verifier = Verifier(registry.public_keys())
        self._owner = {k: name for name, p in registry.producers.items() for k in p.keys}
        self._producers: Mapping[str, RegisteredProducer] = registry.producers

    def authenticate(
        self, value: bytes, headers: Sequence[tuple[str, bytes | None]]
    ) -> Admitted | Refused:
        """Who signed the record ``value``, or why it is refused."""
        signature = record_signature(headers)
        if signature is None:
            return Refused(
                "signature_missing", "the goal record is not signed", (_SIGN,), self._label
            )
        key_id = signature.key_id
        owner = self._owner.get(key_id)
        if owner is None:
            return Refused(
                "producer_unknown",
                f"no registered producer has key {key_id!r}",
                ("register the producer and its public key in the producer registry", _SIGN),
                self._label,
                key_id,
            )
        if not self._verifier.verify(key_id, value, signature.signature):
            return Refused(
                "signature_invalid",
                f"the signature does not verify with key {key_id!r} of producer {owner}",
                (_SIGN, "check that the record value was not changed after signing"),
                self._label,
                key_id,
                owner,
            )
        grant = Grant.model_validate(self._producers[owner].model_dump(exclude={"keys"}))
        return Admitted(owner, key_id, grant, self._label)
