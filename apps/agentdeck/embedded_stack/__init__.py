"""The embedded stack's identities, shared by ``agentdeck up`` and ``agentdeck bench``.

``keys`` holds the stack's secrets (signing keys, demo approver tokens) in its
data dir; ``identities`` the producer and approvers every service of the stack
trusts; ``goals`` the goal its producer publishes. The CLI and the bench both
import these, so neither imports the other for them.
"""
