"""Replaying the whole archive decodes only what the planner reads, and agrees with replay_run.

The golden recorded runs (an LLM run, an approval, an automatic and a denied
refund) are archived interleaved; replaying the archive, in one process or
split across several, re-makes exactly the decisions ``replay_run`` re-makes
over each fully decoded run, and names the same divergence when a recorded
decision is missing.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta
from itertools import zip_longest
from pathlib import Path

import pytest

from agentdeck.claimcheck import reference_json
from agentdeck.cli.replay import log_order
from agentdeck.cli.replay_archive import replay_archive
from agentdeck.contracts import Event, default_codec
from agentdeck.contracts import models as m
from agentdeck.demo.tools import demo_registry
from agentdeck.planner.adapters.playbooks import bundled_playbooks
from agentdeck.planner.main import tool_infos
from agentdeck.planner.replay import replay_run
from agentdeck.store import ArchiveRecord, Store
from agentdeck.telemetry.core.archive import archive_record
from testkit import golden_runs as golden

RUNS = ["order-status-llm", "refund-approved", "refund-auto", "refund-denied"]
PLAYBOOKS = bundled_playbooks()
TOOLS = tool_infos(demo_registry())


def _records(drop: type[Event] | None = None) -> list[ArchiveRecord]:
    """The golden runs' messages, interleaved round-robin as a live archive holds them."""
    codec = default_codec()
    runs = []
    for name in RUNS:
        run = golden.read(golden.RUNS / f"{name}.jsonl")
        records = []
        for msg in run.messages:
            event = codec.decode(msg.payload)
            if drop is not None and isinstance(event, drop):
                drop = None  # the first one only
                continue
            writer = codec.registry.by_fingerprint(msg.payload[2:10])
            assert writer is not None
            records.append(
                archive_record(
                    event,
                    value=msg.payload,
                    fingerprint_hex=writer.fingerprint_hex,
                    topic=msg.topic,
                    partition=msg.partition,
                    offset=msg.offset,
                    headers=(),
                    archived_at=event.envelope.occurred_at + timedelta(milliseconds=1),
                )
            )
        runs.append(records)
    return [r for batch in zip_longest(*runs) for r in batch if r is not None]


def _expected(records: list[ArchiveRecord]) -> tuple[int, list[tuple[str, str]]]:
    """Decisions and divergences of replay_run over each run decoded in full."""
    codec = default_codec()
    by_run: dict[str, list[Event]] = defaultdict(list)
    for record in records:
        by_run[record.run_id or ""].append(codec.decode(record.payload))
    decisions, divergences = 0, []
    for run_id, events in by_run.items():
        result = replay_run(log_order(events), playbooks=PLAYBOOKS, tools=TOOLS)
        decisions += result.decisions
        if result.divergence is not None:
            divergences.append((run_id, result.divergence.describe()))
    return decisions, divergences


def _archived(tmp_path: Path, records: list[ArchiveRecord]) -> Store:
    store = Store.open("", data_dir=str(tmp_path))
    with store.transaction() as conn:
        store.archive.append_many(conn, records)
    return store


@pytest.mark.parametrize("processes", [1, 2])
def test_replaying_the_archive_re_makes_every_decision_of_every_run(
    tmp_path: Path, processes: int
) -> None:
    records = _records()
    decisions, divergences = _expected(records)
    with _archived(tmp_path, records) as store:
        replayed = replay_archive(store, playbooks=PLAYBOOKS, tools=TOOLS, processes=processes)

    assert divergences == []
    assert replayed.divergences == []
    assert replayed.events == len(records)
    assert replayed.runs == len(RUNS)
    assert replayed.decisions == decisions > 0


@pytest.mark.parametrize("processes", [1, 2])
def test_a_missing_recorded_decision_is_the_divergence_replay_run_names(
    tmp_path: Path, processes: int
) -> None:
    records = _records(drop=m.ToolCallRequested)
    decisions, divergences = _expected(records)
    with _archived(tmp_path, records) as store:
        replayed = replay_archive(store, playbooks=PLAYBOOKS, tools=TOOLS, processes=processes)

    assert len(divergences) == 1
    assert replayed.divergences == divergences
    assert replayed.decisions == decisions


def test_an_output_stored_by_reference_is_read_in_full_before_its_run_is_replayed(
    tmp_path: Path,
) -> None:
    records = _records()
    decisions, _ = _expected(records)
    codec = default_codec()
    store = Store.open("", data_dir=str(tmp_path))
    with store, store.transaction() as conn:
        # The first tool output of the automatic refund (its lookup, which later steps
        # read) moves to the payload store; the event carries the reference instead.
        at, event = next(
            (i, event)
            for i, r in enumerate(records)
            if r.run_id and "auto" in r.run_id
            for event in [codec.decode(r.payload)]
            if isinstance(event, m.ToolCallCompleted)
        )
        ref = store.payloads.put(conn, event.output_json.encode())
        moved = event.model_copy(update={"output_json": reference_json(ref)})
        record = records[at]
        records[at] = archive_record(
            moved,
            value=codec.encode(moved),
            fingerprint_hex=record.schema_fingerprint,
            topic=record.topic,
            partition=record.partition,
            offset=record.offset,
            headers=(),
            archived_at=record.archived_at,
        )
        store.archive.append_many(conn, records)
    with store:
        replayed = replay_archive(store, playbooks=PLAYBOOKS, tools=TOOLS, processes=1)

    assert replayed.divergences == []
    assert replayed.decisions == decisions
