"""The benchmark harness (`agentdeck bench`)."""
