"""``agentdeck replay RUN --verify``: re-run the planner's and the policy-checker's decisions."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path

from rich.console import Console

from agentdeck.audit import VerificationFailed
from agentdeck.cli.stackfile import StackInfo
from agentdeck.contracts import Event, default_codec
from agentdeck.embedded_stack.keys import DemoKeys
from agentdeck.errors import ConfigError
from agentdeck.signing import Verifier

__all__ = ["policy_keys", "verify_run"]


def policy_keys(values: Sequence[str], data_dir: str) -> dict[str, str]:
    """The policy public keys given as ``KEY_ID=BASE64``, else the embedded stack's, else none."""
    pairs = [value.partition("=") for value in values]
    if any(not sep or not key or not b64 for key, sep, b64 in pairs):
        raise ConfigError("--policy-key takes KEY_ID=BASE64")
    if pairs:
        return {key: b64 for key, _, b64 in pairs}
    path = Path(data_dir) / "keys.json"
    if not path.exists():
        return {}
    keys = DemoKeys.model_validate(json.loads(path.read_text(encoding="utf-8")))
    return {"policy-1": keys.policy_public()}


def verify_run(
    events: Sequence[Event],
    stack: StackInfo,
    *,
    bundles: Sequence[Path],
    keys: Sequence[str],
    console: Console,
    load: Callable[[str], Sequence[Event]] | None = None,
) -> None:
    """Replay the planner and re-decide the policy decisions; raise at the first divergence.

    ``load`` reads another run's events: a rollback run's replay rebuilds the
    runs it rolled back from theirs (without it, a rollback run diverges).

    Raises:
        VerificationFailed: A recorded decision is not what the code decides
            on the recorded inputs (the message names the first one).
    """
    from agentdeck.demo.tools import demo_registry  # noqa: PLC0415 -- heavy imports
    from agentdeck.planner.adapters.playbooks import bundled_playbooks  # noqa: PLC0415
    from agentdeck.planner.main import tool_infos  # noqa: PLC0415
    from agentdeck.planner.replay import replay_run, replayed_targets  # noqa: PLC0415
    from agentdeck.policy_checker.adapters.catalog import ToolCatalog  # noqa: PLC0415
    from agentdeck.policy_checker.adapters.cedar import load_bundle  # noqa: PLC0415
    from agentdeck.policy_checker.main import DEMO_BUNDLE  # noqa: PLC0415
    from agentdeck.policy_checker.replay import verify_decisions  # noqa: PLC0415

    registry = demo_registry()
    playbooks, tools = bundled_playbooks(), tool_infos(registry)
    targets = replayed_targets(events, load, playbooks=playbooks, tools=tools) if load else {}
    planned = replay_run(events, playbooks=playbooks, tools=tools, targets=targets)
    if planned.divergence is not None:
        raise VerificationFailed(f"planner replay diverged: {planned.divergence.describe()}")
    console.print(f"verified: {planned.decisions} planner decisions reproduce the recorded run")
    engines = {e.bundle.digest: e for e in map(load_bundle, bundles or [DEMO_BUNDLE])}
    trusted = policy_keys(keys, stack.data_dir)
    checked = verify_decisions(
        events,
        engines=engines,
        catalog=ToolCatalog(registry),
        verifier=Verifier(trusted) if trusted else None,
        registry=default_codec().registry,
    )
    if not checked.signatures_checked:
        console.print("note: no policy public key (--policy-key): signatures not checked")
    for note in checked.unconfirmed:
        console.print(f"note: unconfirmed {note}")
    if checked.divergence is not None:
        raise VerificationFailed(f"policy replay diverged: {checked.divergence.describe()}")
    console.print(
        f"verified: {checked.decisions} policy decisions reproduce the recorded run"
        + (", signatures valid" if checked.signatures_checked else "")
    )
