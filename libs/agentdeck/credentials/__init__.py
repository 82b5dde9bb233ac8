"""Per-call credentials: short-lived, signed, bound to one call of one tool.

A tool that calls a backend (a payment API, a mail provider) must not hold a
standing secret the model could leak or a prompt injection could reuse. The
executor instead mints, for each call, a credential bound to the run, the call
(its idempotency key), the tool and the SHA-256 of the arguments, valid only
until the call's deadline, and hands it to the tool in its
:class:`~agentdeck.tools.ToolContext` (never in the arguments, the output or an
event). The backend verifies it with the executor's *public* key::

    token = mint(signer, issuer="tool-executor", audience="payments", run_id=run,
                 call_id=key, tool="create_refund", args_sha256=args_sha256(args),
                 not_before=now, not_after=deadline)
    claims = verify(token, CredentialKeys({"executor-1": public_key}),
                    audience="payments", tool="create_refund",
                    args_sha256=args_sha256(request), call_id=key, now=now)

A credential captured from one call is refused for any other call, tool,
arguments or backend (:class:`CredentialMismatch`) and after the call's
deadline (:class:`CredentialExpired`). The format is a compact JWS with EdDSA
(Ed25519), so backends in other languages can verify it with a JOSE library.
"""

from agentdeck.credentials._claims import Claims, args_sha256
from agentdeck.credentials._keys import CredentialKeys
from agentdeck.credentials._mint import mint
from agentdeck.credentials._token import TYPE
from agentdeck.credentials._verify import verify
from agentdeck.credentials.errors import (
    BadSignature,
    CredentialExpired,
    CredentialMalformed,
    CredentialMismatch,
    CredentialNotYetValid,
    CredentialRefused,
    UnknownKey,
)

__all__ = [
    "TYPE",
    "BadSignature",
    "Claims",
    "CredentialExpired",
    "CredentialKeys",
    "CredentialMalformed",
    "CredentialMismatch",
    "CredentialNotYetValid",
    "CredentialRefused",
    "UnknownKey",
    "args_sha256",
    "mint",
    "verify",
]
