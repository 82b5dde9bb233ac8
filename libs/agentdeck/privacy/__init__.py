"""Personal data sealed per data subject, and erased by destroying the subject's key.

Fields the schemas mark ``"agentdeck.sensitive"`` are sealed by the codec
before any record leaves a service (Kafka, the archive, the payload store,
traces and logs see only ``sealed:v1:...`` values) and opened when a service
reads them. Each data subject has its own data key (AES-SIV), wrapped by the
platform's master key (``AGENTDECK_PII_MASTER_KEY``) in ``subject_keys``
(envelope encryption). Destroying the key (:meth:`KeyRing.erase`, ``agentdeck
erase``) makes every copy of the subject's data unreadable at once, while the
sealed bytes, and so every leaf hash, checkpoint and bundle, stay as they were.
"""

from __future__ import annotations

from collections.abc import Iterable

from agentdeck.contracts import Codec, Event, SensitiveFields
from agentdeck.errors import ConfigError
from agentdeck.privacy._at_rest import AtRest
from agentdeck.privacy._keyring import KeyRing, MasterKey, run_subject
from agentdeck.privacy._sealer import Sealer
from agentdeck.privacy._token import PREFIX, is_sealed, kid_of
from agentdeck.settings import PrivacySettings
from agentdeck.store import Store

__all__ = [
    "PREFIX",
    "AtRest",
    "KeyRing",
    "MasterKey",
    "Sealer",
    "erased_fields",
    "is_sealed",
    "kid_of",
    "run_subject",
    "sealing_codec",
]


def sealing_codec(codec: Codec, settings: PrivacySettings, store: Store) -> Codec:
    """``codec``, sealing and opening personal data with the configured master key.

    A codec that already seals is returned as it is (the embedded stack shares one).

    Raises:
        ConfigError: no master key is configured, or it is malformed.
    """
    if codec.cipher is not None:
        return codec
    if settings.pii_master_key is None:
        raise ConfigError(
            "AGENTDECK_PII_MASTER_KEY is not set: services seal personal data under per-subject "
            "keys wrapped by it, and do not start without it (see docs/operations.md)"
        )
    master = MasterKey.from_b64(settings.pii_master_key.get_secret_value())
    keys = KeyRing(store, master, cache_s=settings.pii_key_cache_s)
    return codec.with_cipher(Sealer(keys))


def erased_fields(events: Iterable[Event], sensitive: SensitiveFields) -> list[str]:
    """Every personal-data field of ``events`` still sealed after decoding: ``Type id path``.

    Decoded with a codec that opens what it can, a field stays sealed only when
    its subject's key is gone (erased) or was never at hand (no master key).
    """
    found = []
    for event in events:
        record = event.model_dump()
        for path, value in sensitive.values(event.EVENT_TYPE, record):
            if is_sealed(value):
                found.append(f"{type(event).__name__} {event.envelope.event_id} {path}")
    return found
