"""The approvers' authentication, assembled from the service's settings (failing closed).

OIDC is on when its issuer, audience and JWKS are set; half of it is an
error. Static tokens are honoured only with ``allow_static_tokens``, which
only the embedded stack sets; given without it they stop the service, so a
production deployment cannot drift onto shared static secrets unnoticed.
"""

from __future__ import annotations

from pathlib import Path

from agentdeck.approval.adapters.auth import Authenticator, FirstMatch, StaticTokens
from agentdeck.approval.adapters.jwks import JwksFile, JwksSource, JwksUrl
from agentdeck.approval.adapters.oidc import OidcAuthenticator
from agentdeck.approval.settings import ApprovalSettings
from agentdeck.errors import ConfigError

__all__ = ["authenticator_from"]


def _jwks(settings: ApprovalSettings) -> JwksSource:
    if settings.oidc_jwks_url and settings.oidc_jwks_file:
        raise ConfigError(
            "set one of AGENTDECK_APPROVAL_OIDC_JWKS_URL and _OIDC_JWKS_FILE, not both"
        )
    if settings.oidc_jwks_file:
        return JwksFile(Path(settings.oidc_jwks_file))
    return JwksUrl(settings.oidc_jwks_url, refresh_s=settings.oidc_jwks_refresh_s)


def _oidc(settings: ApprovalSettings) -> OidcAuthenticator | None:
    given = {
        "AGENTDECK_APPROVAL_OIDC_ISSUER": settings.oidc_issuer,
        "AGENTDECK_APPROVAL_OIDC_AUDIENCE": settings.oidc_audience,
        "AGENTDECK_APPROVAL_OIDC_JWKS_URL or _FILE": settings.oidc_jwks_url
        or settings.oidc_jwks_file,
    }
    missing = [name for name, value in given.items() if not value]
    if len(missing) == len(given):
        return None
    if missing:
        raise ConfigError(f"approver OIDC is half configured: set {', '.join(missing)}")
    return OidcAuthenticator(settings.oidc(), _jwks(settings))


def authenticator_from(settings: ApprovalSettings) -> Authenticator:
    """Who may call the API, as ``settings`` configure it.

    Raises:
        ConfigError: nobody could call it, OIDC is half configured, or static
            tokens are given where they are not allowed.
    """
    oidc = _oidc(settings)
    if settings.approvers and not settings.allow_static_tokens:
        raise ConfigError(
            "static approver tokens are for the embedded stack only: configure OIDC "
            "(AGENTDECK_APPROVAL_OIDC_ISSUER, _OIDC_AUDIENCE, _OIDC_JWKS_URL)"
        )
    chain: list[Authenticator] = [StaticTokens(settings.approvers)] if settings.approvers else []
    chain += [oidc] if oidc is not None else []
    if not chain:
        raise ConfigError(
            "no approver authentication configured: set AGENTDECK_APPROVAL_OIDC_ISSUER, "
            "_OIDC_AUDIENCE and _OIDC_JWKS_URL (or _OIDC_JWKS_FILE)"
        )
    return FirstMatch(*chain)
