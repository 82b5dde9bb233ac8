"""Platform guards: what no bundle can lift, applied after the policies.

Integrity comes first: arguments that are not JSON, do not match their hash,
or do not fit the tool's contract are refused whatever the policies say.
A policy DENY then stands as the policies explained it. Otherwise an unknown
tool, a tool version the registered one cannot serve, or an engaged kill switch
turns the verdict into DENY, so a bundle that forgot those rules stays safe. A
call of a cancelled run (its RUN switch) is denied under ``platform.run-cancelled``
whatever the policies say, right after the integrity checks: the planner reads
that as the cancellation it is, not as a failure of the run.
"""

from __future__ import annotations

from agentdeck.contracts.models import DecisionOutcome, KillSwitchScope
from agentdeck.controls import RUN_CANCELLED_POLICY
from agentdeck.policy_checker.core.evaluate import Verdict
from agentdeck.policy_checker.core.facts import CallFacts
from agentdeck.tools import version_compatible

__all__ = [
    "ARGUMENTS",
    "KILL_SWITCH",
    "TOOL_VERSION",
    "UNKNOWN_TOOL",
    "guarded",
]

ARGUMENTS = "platform.arguments"
UNKNOWN_TOOL = "platform.unknown-tool"
TOOL_VERSION = "platform.tool-version"
KILL_SWITCH = "platform.kill-switch"


def _deny(policy: str, reason: str) -> Verdict:
    return Verdict(DecisionOutcome.DENY, (policy,), reason)


def guarded(facts: CallFacts, verdict: Verdict) -> Verdict:
    """``verdict``, or a DENY if a platform guard refuses the call."""
    tool = facts.tool
    if facts.args_problem is not None:
        return _deny(ARGUMENTS, f"{tool.name}: {facts.args_problem}")
    switch = facts.switch
    if switch is not None and switch.scope is KillSwitchScope.RUN:
        # Whatever else the policies say, the run is over: the planner must hear that.
        reason = f"run {switch.target} was cancelled by {switch.set_by}: {switch.reason}"
        return _deny(RUN_CANCELLED_POLICY, reason)
    if verdict.outcome is DecisionOutcome.DENY:
        return verdict
    if not tool.registered:
        return _deny(UNKNOWN_TOOL, f"no tool named {tool.name} is registered")
    wanted = facts.requested_version
    if not version_compatible(wanted, tool.version):
        reason = f"{tool.name} version {wanted} was requested; version {tool.version} is registered"
        return _deny(TOOL_VERSION, reason)
    if switch is not None:
        reason = (
            f"the {switch.scope.value} kill switch on {switch.target} is engaged"
            f" by {switch.set_by}: {switch.reason}"
        )
        return _deny(KILL_SWITCH, reason)
    return verdict
