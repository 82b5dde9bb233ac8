"""Errors of the peer workloads."""

from __future__ import annotations

from agentdeck.errors import AgentdeckError, ConfigError

__all__ = ["PeerError", "PeerFailed", "PeerNotInstalled"]


class PeerError(AgentdeckError):
    """Root of the errors raised while measuring a peer."""


class PeerNotInstalled(PeerError, ConfigError):
    """The peer is unknown, or its packages are absent (install ``agentdeck[peers]``)."""


class PeerFailed(PeerError):
    """The peer's workload exited with an error or did not finish in time."""
