"""Claim check: large event payloads are stored once by content hash; events carry a reference.

A *claimable* string field (``ToolCallCompleted.output_json``,
``LlmCallRecorded.request_json`` and ``response_json``) holds either the
payload itself or, when the payload is larger than a threshold (16 KiB by
default, ``AGENTDECK_CLAIM_CHECK_ABOVE_BYTES``), a reference to it::

    {"$claim":"sha256:<64 hex digits>","bytes":20731,"media_type":"application/json"}

The reference is canonical JSON (sorted keys, no spaces), so it always starts
with ``{"$claim":"sha256:``; an inline payload that happens to start that way is
claim-checked whatever its size, so the two can never be confused. The digest
is the SHA-256 of the payload's UTF-8 bytes; the payload lives in the store's
``payloads`` table, keyed by that digest, written once (insert-if-absent) in
the same transaction as the producer's other durable writes for the event, and
before the event is published.

Because the event, reference and digest included, is a leaf of the Merkle log,
the digest is proven by the log's signed checkpoints; a payload whose bytes
hash to a proven digest is proven with it. Readers check the hash on every read
(:class:`~agentdeck.store.PayloadCorruptError` otherwise)::

    claims = ClaimCheck(store.payloads, above_bytes=16_384)
    with store.transaction() as conn:
        event = claims.check_in_event(conn, event)   # before publishing
    with store.transaction(read_only=True) as conn:
        events = claims.resolve(conn, events)        # before folding
"""

from agentdeck.claimcheck._check import DEFAULT_ABOVE_BYTES, ClaimCheck, Owner, PayloadCipher
from agentdeck.claimcheck._events import (
    CLAIMABLE,
    encoded_references,
    references,
    resolve_event,
)
from agentdeck.claimcheck._reference import REFERENCE_PREFIX, parse_reference, reference_json

__all__ = [
    "CLAIMABLE",
    "DEFAULT_ABOVE_BYTES",
    "REFERENCE_PREFIX",
    "ClaimCheck",
    "Owner",
    "PayloadCipher",
    "encoded_references",
    "parse_reference",
    "reference_json",
    "references",
    "resolve_event",
]
