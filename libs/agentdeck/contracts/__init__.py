"""The event contract: schemas, typed models and the single-object Avro codec.

``schemas/`` is the source of truth; the models in ``models`` are generated
from it and checked for drift; :class:`Codec` writes and reads the wire format.
"""

from __future__ import annotations

from agentdeck.contracts import models
from agentdeck.contracts._built import built, updated
from agentdeck.contracts._codec import MARKER, Codec
from agentdeck.contracts._envelope import NAMESPACE, deterministic_id, envelope_for, follow_up
from agentdeck.contracts._files import schema_dir
from agentdeck.contracts._registry import SchemaRegistry, SchemaVersion
from agentdeck.contracts._sensitive import FieldCipher, SensitiveFields
from agentdeck.contracts.errors import DecodeError, SchemaError
from agentdeck.contracts.models import Envelope, ErrorInfo, Event, Producer

__all__ = [
    "ALL_EVENTS",
    "MARKER",
    "NAMESPACE",
    "Codec",
    "DecodeError",
    "Envelope",
    "ErrorInfo",
    "Event",
    "FieldCipher",
    "Producer",
    "SchemaError",
    "SchemaRegistry",
    "SchemaVersion",
    "SensitiveFields",
    "built",
    "default_codec",
    "deterministic_id",
    "envelope_for",
    "follow_up",
    "models",
    "schema_dir",
    "updated",
]

#: Every event class, for codecs that decode anything (telemetry, tests, replay).
ALL_EVENTS: tuple[type[Event], ...] = tuple(
    obj
    for obj in vars(models).values()
    if isinstance(obj, type) and issubclass(obj, Event) and obj is not Event
)


def default_codec(*, max_bytes: int = 1_000_000, cipher: FieldCipher | None = None) -> Codec:
    """A codec over the project's schemas that knows every event type.

    With ``cipher``, it seals the schemas' personal-data fields on write and
    opens them on read (see :mod:`agentdeck.privacy`).
    """
    return Codec(SchemaRegistry.load(), list(ALL_EVENTS), max_bytes=max_bytes, cipher=cipher)
