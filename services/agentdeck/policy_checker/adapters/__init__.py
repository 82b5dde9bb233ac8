"""Adapters of the policy-checker: Cedar, tool contracts, the store, hot state."""
