"""The wire form: a JWS compact serialization (RFC 7515) signed with EdDSA (Ed25519, RFC 8037).

``base64url(header) . base64url(claims) . base64url(signature)``, so any JOSE
library can read it; the claims use the registered JWT names (``iss``, ``aud``,
``nbf``, ``exp``, ``jti``) plus ``run``, ``call``, ``tool`` and ``args``.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from agentdeck.credentials.errors import CredentialMalformed

__all__ = ["TYPE", "Header", "Payload", "decode", "encode"]

TYPE = "agentdeck-call+jwt"
"""The ``typ`` of a per-call credential, so no other JWT is mistaken for one."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class Header(_Strict):
    """The JOSE header: algorithm, type and signing key."""

    alg: Literal["EdDSA"] = "EdDSA"
    typ: Literal["agentdeck-call+jwt"] = "agentdeck-call+jwt"
    kid: str


class Payload(_Strict):
    """The claims as they travel (NumericDate seconds for ``nbf`` and ``exp``)."""

    iss: str
    aud: str
    jti: str
    nbf: int
    exp: int
    run: str
    call: str
    tool: str
    args: str


def _b64encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes:
    try:
        return base64.b64decode(text + "=" * (-len(text) % 4), altchars=b"-_", validate=True)
    except (binascii.Error, ValueError) as exc:
        raise CredentialMalformed("a credential part is not base64url") from exc


def _part(model: BaseModel) -> str:
    return _b64encode(model.model_dump_json().encode())


def _signing_input(header: str, payload: str) -> bytes:
    # RFC 7515: the signature covers the first two parts exactly as sent, dot-joined
    return f"{header}.{payload}".encode("ascii")


def _parse(part: str, model: type[Any], what: str) -> Any:
    try:
        return model.model_validate(json.loads(_b64decode(part)))
    except (ValueError, ValidationError) as exc:
        raise CredentialMalformed(f"the credential's {what} is not valid") from exc


def decode(token: str) -> tuple[Header, Payload, bytes, bytes]:
    """Header, claims, signing input and signature of ``token``, unverified.

    Raises:
        CredentialMalformed: ``token`` is not a compact JWS of this type.
    """
    parts = token.split(".")
    if len(parts) != 3 or not all(parts):
        raise CredentialMalformed("a credential has three non-empty dot-separated parts")
    header = _parse(parts[0], Header, "header")
    payload = _parse(parts[1], Payload, "claims")
    return header, payload, _signing_input(parts[0], parts[1]), _b64decode(parts[2])


def encode(header: Header, payload: Payload, signature_of: Callable[[bytes], bytes]) -> str:
    """The compact token of ``header`` and ``payload``, signed by ``signature_of(bytes)``."""
    head, body = _part(header), _part(payload)
    return f"{head}.{body}.{_b64encode(signature_of(_signing_input(head, body)))}"
