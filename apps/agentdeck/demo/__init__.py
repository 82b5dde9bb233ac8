"""The support-desk demo: a tool catalog over a small system of record.

``agentdeck.demo.tools.demo_registry`` declares the seven demo tools; the
desk (orders, refunds, sent emails) they act on lives behind the
``agentdeck.demo.desk`` port. ``POLICY`` and ``PLAYBOOKS`` are the demo's
Cedar bundle and playbook directory, found through this package wherever it
is installed (a wheel, or the ``apps/`` root of an editable install).
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["PLAYBOOKS", "POLICY"]

POLICY = Path(__file__).resolve().with_name("policy")
"""The demo's Cedar policy bundle (``manifest.yaml``, schema, policies)."""

PLAYBOOKS = Path(__file__).resolve().with_name("playbooks")
"""The demo's playbooks, one ``<name>.v<version>.yaml`` file each."""
