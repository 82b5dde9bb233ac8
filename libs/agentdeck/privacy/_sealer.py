"""The codec's field cipher: seals personal data under its subject's key, opens what it can."""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence

from agentdeck.privacy._keyring import KeyRing
from agentdeck.privacy._token import (
    erased_token,
    is_sealed,
    kid_of,
    open_payload,
    open_token,
    payload_kid,
    seal_payload,
    seal_token,
)

__all__ = ["Sealer"]


_KID = re.compile(rb"sealed:v1:([0-9a-f]{32}):")
"""A sealed value's key id, as it appears in an encoded record."""


class Sealer:
    """Implements :class:`agentdeck.contracts.FieldCipher` over a :class:`KeyRing`.

    A value is sealed under the key of the subject its record names (a goal's
    ``data_subject``) or else under its run's key (the subject the run was
    bound to at admission, or the run itself). A value whose subject was
    erased is written as the erased token: nothing of it leaves the process.
    """

    def __init__(self, keys: KeyRing) -> None:
        self.keys = keys

    def seal(
        self, value: str, *, tenant: str, run_id: str, subject: str | None, event_id: str, path: str
    ) -> str:
        """``value`` sealed for one field of one event (sealed values pass unchanged)."""
        from agentdeck.claimcheck import parse_reference  # noqa: PLC0415 -- claimcheck imports us

        if is_sealed(value) or parse_reference(value) is not None:
            # A claim-check reference names a stored payload by its hash; it stays
            # readable so bundles and audits can follow it.
            return value
        kid = self.keys.kid(tenant, subject) if subject else self.keys.run_kid(run_id, tenant)
        key = self.keys.key(kid, create_for=tenant)
        if key is None:
            return erased_token(kid)
        return seal_token(key, kid, value, event_id=event_id, path=path)

    def open(self, value: str, *, event_id: str, path: str) -> str:
        """The clear form of ``value``; a value that cannot be opened stays sealed."""
        kid = kid_of(value)
        if kid is None:
            return value
        key = self.keys.key(kid)
        if key is None:
            return value
        opened = open_token(key, value, event_id=event_id, path=path)
        return value if opened is None else opened

    def prefetch(self, records: Sequence[bytes]) -> None:
        """Read the keys the sealed values in ``records`` name in one read (cached ones skipped)."""
        kids = {m.decode() for record in records for m in _KID.findall(record)}
        if kids:
            self.keys.prefetch(kids)

    def prefetch_runs(self, runs: Collection[tuple[str, str]]) -> None:
        """Read the key ids and keys of ``(run id, tenant)`` runs not cached yet, in one read."""
        self.keys.prefetch_runs(runs)

    def seal_payload(self, data: bytes, *, tenant: str, run_id: str) -> bytes:
        """A claim-checked payload of a run, sealed under the run's subject key.

        Payloads are sealed per key, not per event (the event's id is not known
        when the payload is stored): equal payloads of one subject share bytes.
        """
        if payload_kid(data) is not None:
            return data
        kid = self.keys.run_kid(run_id, tenant)
        key = self.keys.key(kid, create_for=tenant)
        if key is None:
            return erased_token(kid).encode()
        return seal_payload(key, kid, data)

    def open_payload(self, data: bytes) -> bytes | str:
        """The clear bytes of a stored payload, or the erased token (text) if its key is gone."""
        kid = payload_kid(data)
        if kid is None:
            return data
        key = self.keys.key(kid)
        opened = None if key is None else open_payload(key, data)
        return erased_token(kid) if opened is None else opened
