"""The five services as separate processes (the launcher the benchmark uses too)."""

from agentdeck.bench.processes import SERVICES, ServiceProcesses

__all__ = ["SERVICES", "ServiceProcesses"]
