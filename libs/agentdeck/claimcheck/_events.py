"""Which event fields may hold a reference, and following the references of events."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Final, TypeVar

from agentdeck.claimcheck._reference import REFERENCE_PREFIX, parse_reference
from agentdeck.contracts import Codec, DecodeError, Event
from agentdeck.contracts import models as m
from agentdeck.privacy._token import erased_token, payload_kid
from agentdeck.store import PayloadMissingError, PayloadRef

__all__ = ["CLAIMABLE", "encoded_references", "references", "resolve_event"]

E = TypeVar("E", bound=Event)

CLAIMABLE: Final[Mapping[type[Event], tuple[str, ...]]] = MappingProxyType(
    {
        m.ToolCallCompleted: ("output_json",),
        m.LlmCallRecorded: ("request_json", "response_json"),
    }
)
"""The string fields, per event type, that hold a payload or a reference to it."""

_MARKER = REFERENCE_PREFIX.encode()


def _fields(event: Event) -> tuple[str, ...]:
    return CLAIMABLE.get(type(event), ())


def references(event: Event) -> list[PayloadRef]:
    """The references ``event`` carries (none for most events)."""
    found = (parse_reference(getattr(event, name)) for name in _fields(event))
    return [ref for ref in found if ref is not None]


def resolve_event(event: E, payloads: Mapping[str, bytes | str]) -> E:
    """``event`` with every reference replaced by its payload (``payloads``: digest -> bytes).

    A payload given as text is put in as it is (the sealed form of a payload
    whose key was erased); a sealed payload nobody opened stays sealed.

    Raises:
        PayloadMissingError: a reference's payload is not in ``payloads``.
    """
    update: dict[str, str] = {}
    for name in _fields(event):
        ref = parse_reference(getattr(event, name))
        if ref is None:
            continue
        data = payloads.get(ref.digest)
        if data is None:
            raise PayloadMissingError(
                f"event {event.envelope.event_id} references payload {ref.claim}, "
                "which is not available",
                capability="claimcheck.resolve",
                code="payload_missing",
            )
        update[name] = data if isinstance(data, str) else _text(data)
    return event.model_copy(update=update) if update else event


def encoded_references(data: bytes, codec: Codec) -> list[PayloadRef]:
    """The references in an encoded event; only events that may hold one are decoded.

    Undecodable bytes hold no reference this can follow (the Merkle log, not
    this, vouches for them).
    """
    if _MARKER not in data:
        return []
    try:
        return references(codec.decode(data))
    except DecodeError:
        return []


def _text(data: bytes) -> str:
    kid = payload_kid(data)
    return data.decode() if kid is None else erased_token(kid)
