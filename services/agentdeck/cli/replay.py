"""``agentdeck replay RUN``: rebuild a run from the log; ``--verify`` re-checks its decisions."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from agentdeck.claimcheck import ClaimCheck, references
from agentdeck.cli.privacy import reading_codec
from agentdeck.cli.settings import CliSettings
from agentdeck.cli.stackfile import StackInfo, locate
from agentdeck.cli.views import run_tree
from agentdeck.contracts import Codec, DecodeError, Event, default_codec
from agentdeck.errors import ConfigError
from agentdeck.kafka import TopicRead, read_topics
from agentdeck.privacy import Sealer, erased_fields
from agentdeck.settings import KafkaSettings
from agentdeck.store import Store

__all__ = ["load_run", "log_order", "read_run_from_kafka", "replay"]

console = Console(soft_wrap=True)


def log_order(events: Sequence[Event]) -> list[Event]:
    """A run's events in the order they happened, the same whatever they were read from.

    By clock reading; events stamped with the same instant (one decision's
    outputs) cause-first, then by id, so the archive and the topics, which
    interleave topics differently, give the same order.
    """
    envelopes = [e.envelope for e in events]
    causes = {env.event_id: env.causation_id for env in envelopes}
    depth: dict[str, int] = {}

    def depth_of(event_id: str) -> int:
        chain: list[str] = []
        current: str | None = event_id
        while current is not None and current not in depth:
            chain.append(current)
            cause = causes[current]
            current = cause if cause in causes and cause not in chain else None
        base = depth[current] if current is not None else -1
        for link in reversed(chain):
            base += 1
            depth[link] = base
        return depth[event_id]

    keys = [(env.occurred_at, depth_of(env.event_id), env.event_id) for env in envelopes]
    return [events[i] for i in sorted(range(len(events)), key=keys.__getitem__)]


def load_run(store: Store, run_id: str, codec: Codec | None = None) -> list[Event]:
    """The run's archived events, decoded, references followed, in the order they happened.

    ``codec`` opens personal data (see :func:`agentdeck.cli.privacy.reading_codec`);
    without one, it stays sealed.
    """
    codec = codec or default_codec()
    with store.transaction(read_only=True) as conn:
        archived = store.archive.read_run(conn, run_id)
    events = []
    for item in archived:
        try:
            events.append(codec.decode(item.payload))
        except DecodeError:
            continue
    return log_order(_resolved(store, events, codec))


def _resolved(store: Store, events: list[Event], codec: Codec | None = None) -> list[Event]:
    """``events`` with claim-check references followed (large payloads, hash checked).

    Payloads are sealed like the fields they stand for: ``codec``'s cipher opens them.
    """
    if not any(references(e) for e in events):
        return events
    cipher = codec.cipher if codec is not None else None
    sealer = cipher if isinstance(cipher, Sealer) else None
    with store.transaction(read_only=True) as conn:
        return ClaimCheck(store.payloads, cipher=sealer).resolve(conn, events)


def read_run_from_kafka(
    kafka: KafkaSettings, run_id: str, *, timeout_s: float = 60.0, codec: Codec | None = None
) -> tuple[list[Event], TopicRead]:
    """The run's events read straight from every topic of the stack, in the order they happened.

    Every ``<prefix>.*`` topic is read from the beginning up to its end offsets
    at the start; messages that do not decode are counted in the read, not fatal.
    """
    read = read_topics(
        kafka, codec or default_codec(), lambda e: e.envelope.run_id == run_id, timeout_s=timeout_s
    )
    unique = {e.envelope.event_id: e for e in read.events}  # redelivered duplicates
    return log_order(list(unique.values())), read


def _events(stack: StackInfo, run_id: str, *, from_kafka: bool) -> tuple[list[Event], list[str]]:
    """The run's events, personal data opened where its key exists, and the fields erased."""
    store = Store.open(stack.database_url, data_dir=stack.data_dir, upgrade=False)
    try:
        codec = reading_codec(CliSettings(), stack, store)
        if from_kafka:
            kafka = KafkaSettings(
                bootstrap_servers=stack.bootstrap_servers, topic_prefix=stack.topic_prefix
            )
            events, read = read_run_from_kafka(kafka, run_id, codec=codec)
            console.print(
                f"read {read.messages} messages from {len(read.topics)} topics of "
                f"{stack.topic_prefix}; {len(events)} of run {run_id}"
                + (f"; skipped {read.skipped} that did not decode" if read.skipped else "")
            )
            events = _resolved(store, events, codec)  # topics carry references to large payloads
        else:
            events = load_run(store, run_id, codec)
        return events, erased_fields(events, codec.sensitive)
    finally:
        store.close()


def replay(
    run_id: Annotated[
        str | None, typer.Argument(help="The run (omit with --policy for a range).")
    ] = None,
    *,
    verify: Annotated[
        bool, typer.Option(help="Re-run the planner's and policy-checker's decisions and compare.")
    ] = False,
    from_kafka: Annotated[
        bool, typer.Option("--from-kafka", help="Read the run from the topics, not the archive.")
    ] = False,
    bundle: Annotated[
        list[Path] | None,
        typer.Option(help="With --verify: a bundle that decided (repeatable; default: demo)."),
    ] = None,
    policy_key: Annotated[
        list[str] | None,
        typer.Option(help="With --verify: policy public key KEY_ID=BASE64 (repeatable)."),
    ] = None,
    policy: Annotated[Path | None, typer.Option(help="Backtest this policy bundle.")] = None,
    since_hours: Annotated[float, typer.Option(min=0, help="With --policy and no run.")] = 24,
    json_out: Annotated[Path | None, typer.Option("--json", help="Write the report here.")] = None,
    all_runs: Annotated[
        bool,
        typer.Option("--all", help="Re-check the planner's decisions in every run of the archive."),
    ] = False,
) -> None:
    """Rebuild a run from the archive (or the topics); --verify re-checks it; --policy backtests.

    --all replays every run of the archive through the planner instead and
    re-checks each of its decisions (no network, no model, no tools).
    """
    from agentdeck.cli.backtest import run_backtest  # noqa: PLC0415
    from agentdeck.cli.verify import verify_run  # noqa: PLC0415

    stack = locate(CliSettings())
    if all_runs:
        if run_id is not None or policy is not None or from_kafka:
            raise ConfigError(
                "--all replays every archived run: name no run, policy or --from-kafka"
            )
        _replay_all(stack)
        return
    if policy is not None:
        store = Store.open(stack.database_url, data_dir=stack.data_dir, upgrade=False)
        try:
            run_backtest(
                store,
                policy,
                run_id=run_id,
                since_hours=since_hours,
                json_out=json_out,
                codec=reading_codec(CliSettings(), stack, store),
            )
        finally:
            store.close()
        return
    if run_id is None:
        raise ConfigError("name a run (or use --policy BUNDLE for a time range)")
    events, erased = _events(stack, run_id, from_kafka=from_kafka)
    if not events:
        where = f"the topics of {stack.topic_prefix}" if from_kafka else "the archive"
        raise ConfigError(f"no events of run {run_id} in {where}")
    console.print(run_tree(run_id, events))
    if erased:
        console.print(f"erased: {len(erased)} personal-data field(s) of run {run_id}")
        for field in erased:
            console.print(f"  {field}")
        if verify:
            console.print(
                "not re-checked: the run's decisions depend on erased data; "
                "`agentdeck audit verify` still proves its events are the ones logged"
            )
        return
    if verify:
        verify_run(
            events,
            stack,
            bundles=bundle or [],
            keys=policy_key or [],
            console=console,
            load=lambda other: _events(stack, other, from_kafka=from_kafka)[0],
        )


def _replay_all(stack: StackInfo) -> None:
    """Every archived run through the planner; raise if a recorded decision is not reproduced.

    Raises:
        VerificationFailed: A run's recorded decision is not what the planner
            decides on its recorded inputs (every such run is named).
    """
    from agentdeck.audit import VerificationFailed  # noqa: PLC0415
    from agentdeck.cli.replay_archive import replay_archive  # noqa: PLC0415 -- heavy imports
    from agentdeck.demo.tools import demo_registry  # noqa: PLC0415
    from agentdeck.planner.adapters.playbooks import bundled_playbooks  # noqa: PLC0415
    from agentdeck.planner.main import tool_infos  # noqa: PLC0415

    store = Store.open(stack.database_url, data_dir=stack.data_dir, upgrade=False)
    try:
        replayed = replay_archive(
            store,
            playbooks=bundled_playbooks(),
            tools=tool_infos(demo_registry()),
            codec=reading_codec(CliSettings(), stack, store),
        )
    finally:
        store.close()
    console.print(f"replayed {replayed.events} archived events of {replayed.runs} runs")
    for run_id, erased in replayed.unchecked:
        console.print(f"erased: {erased} personal-data field(s) of run {run_id}")
    if replayed.unchecked:
        console.print(
            f"not re-checked: {len(replayed.unchecked)} run(s) whose decisions depend on erased "
            "data; `agentdeck audit verify` still proves their events are the ones logged"
        )
    if replayed.divergences:
        raise VerificationFailed(
            f"planner replay diverged in {len(replayed.divergences)} run(s): "
            + "; ".join(f"run {run_id}: {where}" for run_id, where in replayed.divergences)
        )
    checked = replayed.runs - len(replayed.unchecked)
    console.print(
        f"verified: {replayed.decisions} planner decisions of {checked} runs "
        "reproduce the recorded runs"
    )
