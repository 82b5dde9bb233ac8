"""The policy-checker service."""
