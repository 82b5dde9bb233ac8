"""``agentdeck replay --all``: every archived run's planner decisions re-checked from the CLI.

The golden recorded runs are archived interleaved, their personal data sealed
under the test master key as the services seal it. A clean archive verifies;
a recorded decision changed in the archive fails, naming its run; a run whose
subject was erased is reported as not re-checked, as ``replay RUN --verify``
reports it, and the others still verify.
"""

from __future__ import annotations

from datetime import timedelta
from itertools import zip_longest
from pathlib import Path

import pytest
from typer.testing import CliRunner

from agentdeck.audit import VerificationFailed
from agentdeck.cli.app import app
from agentdeck.cli.replay import log_order
from agentdeck.contracts import Codec, Event, default_codec
from agentdeck.contracts import models as m
from agentdeck.privacy import KeyRing, MasterKey, kid_of
from agentdeck.store import ArchiveRecord, Store
from agentdeck.telemetry.core.archive import archive_record
from testkit import golden_runs as golden
from testkit.authority import PII_MASTER_KEY
from testkit.privacy import opening

RUNS = ["order-status-llm", "refund-approved", "refund-auto", "refund-denied"]
runner = CliRunner()


def _runs() -> list[list[Event]]:
    codec = default_codec()
    return [golden.read(golden.RUNS / f"{name}.jsonl").decode(codec) for name in RUNS]


def _run_id(name: str) -> str:
    return golden.read(golden.RUNS / f"{name}.jsonl").run_id


def _record(codec: Codec, event: Event, offset: int) -> ArchiveRecord:
    return archive_record(
        event,
        value=codec.encode(event),
        fingerprint_hex=codec.writer_of(type(event)).fingerprint_hex,
        topic="golden",
        partition=0,
        offset=offset,
        headers=(),
        archived_at=event.envelope.occurred_at + timedelta(milliseconds=1),
    )


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Store:
    """An empty store the CLI reads, with the master key the services sealed under."""
    store = Store.open("", data_dir=str(tmp_path))
    url = store.engine.url.render_as_string(hide_password=False)
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "unused:9092")  # --all reads only the store
    monkeypatch.setenv("AGENTDECK_DATABASE_URL", url)
    monkeypatch.setenv("AGENTDECK_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("AGENTDECK_PII_MASTER_KEY", PII_MASTER_KEY)
    monkeypatch.setenv("COLUMNS", "300")
    return store


def _archive(store: Store, runs: list[list[Event]]) -> None:
    """The runs sealed as the services seal them, interleaved as a live archive holds them."""
    codec = opening(default_codec(), store)
    events = [e for batch in zip_longest(*runs) for e in batch if e is not None]
    records = [_record(codec, e, i) for i, e in enumerate(events)]  # sealed before the write
    with store.transaction() as conn:
        store.archive.append_many(conn, records)


def _decisions() -> int:
    from agentdeck.demo.tools import demo_registry
    from agentdeck.planner.adapters.playbooks import bundled_playbooks
    from agentdeck.planner.main import tool_infos
    from agentdeck.planner.replay import replay_run

    tools = tool_infos(demo_registry())
    return sum(
        replay_run(
            log_order(run),
            playbooks=bundled_playbooks(),
            tools=tools,
        ).decisions
        for run in _runs()
    )


def test_every_archived_run_verifies(store: Store):
    _archive(store, _runs())

    result = runner.invoke(app, ["replay", "--all"])

    assert result.exit_code == 0, result.output
    events = sum(map(len, _runs()))
    assert f"replayed {events} archived events of {len(RUNS)} runs" in result.output
    assert f"verified: {_decisions()} planner decisions of {len(RUNS)} runs" in result.output
    assert "not re-checked" not in result.output


def test_a_recorded_decision_changed_in_the_archive_fails_naming_its_run(store: Store):
    runs = _runs()
    auto = runs[RUNS.index("refund-auto")]
    request = next(e for e in auto if isinstance(e, m.ToolCallRequested))
    auto[auto.index(request)] = request.model_copy(
        update={"max_cost_micros": request.max_cost_micros + 1}
    )
    _archive(store, runs)

    result = runner.invoke(app, ["replay", "--all"])

    assert result.exit_code != 0
    assert isinstance(result.exception, VerificationFailed)
    message = str(result.exception)
    assert "diverged in 1 run(s)" in message
    assert f"run {request.envelope.run_id}:" in message
    assert "(same ids, different content)" in message


def test_a_run_whose_subject_was_erased_is_not_re_checked_and_the_others_verify(store: Store):
    _archive(store, _runs())
    with store.transaction(read_only=True) as conn:
        goal = next(
            default_codec().decode(r.payload)  # sealed values stay sealed: the key id shows
            for r in store.archive.read_run(conn, _run_id("refund-auto"))
            if r.event_type == m.GoalSubmitted.EVENT_TYPE
        )
    assert isinstance(goal, m.GoalSubmitted)
    kid = kid_of(goal.goal)
    assert kid is not None
    KeyRing(store, MasterKey.from_b64(PII_MASTER_KEY)).erase(kid, reason="test")

    result = runner.invoke(app, ["replay", "--all"])

    assert result.exit_code == 0, result.output
    run = goal.envelope.run_id
    assert f"personal-data field(s) of run {run}" in result.output
    assert "not re-checked: 1 run(s) whose decisions depend on erased data" in result.output
    assert f"of {len(RUNS) - 1} runs reproduce the recorded runs" in result.output
