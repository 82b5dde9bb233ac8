"""Record the golden runs from a real demo run: ``python tests/golden/runs/regenerate.py``.

Starts the embedded stack (Tansu, SQLite, in-process hot state, the five
services, the scripted model), submits the four demo goals, approves the
refund that waits for a support lead, and writes each run's archived messages
to ``<name>.<generation>.jsonl`` with the bundle that decided them
(``bundles/<digest>/``); the generation names the event model that recorded
them (``GENERATION``). The runs recorded under the first event model (seven
events a step: StepScheduled, BudgetReserved, ToolCallStarted, BudgetSettled
besides the request, decision and outcome) are the files without a generation,
``<name>.jsonl``. It also writes ``refund-approved.policy-decided-v1.jsonl``
(if missing): the approved refund with its decisions as a PolicyDecided v1
writer wrote them, so replay is shown unchanged across that schema change.

Released goldens are frozen: existing files are left alone unless ``--force``.
"""

from __future__ import annotations

import argparse
import base64
import shutil
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import select

sys.path.insert(0, str(Path(__file__).parents[2]))  # tests/, for testkit

from agentdeck.approval import client
from agentdeck.cli.demo import demo_events, wait_for_outcomes
from agentdeck.cli.services import compose
from agentdeck.cli.settings import CliSettings
from agentdeck.cli.stack import embedded_stack
from agentdeck.cli.stackfile import StackInfo
from agentdeck.cli.submit import publish_goal
from agentdeck.contracts import default_codec
from agentdeck.contracts import models as m
from agentdeck.demo.scripted_llm import ScriptedModel
from agentdeck.embedded import free_port
from agentdeck.embedded_stack.keys import load_or_create
from agentdeck.policy_checker.adapters.cedar import load_bundle
from agentdeck.policy_checker.main import DEMO_BUNDLE
from agentdeck.privacy import PREFIX
from agentdeck.settings import KafkaSettings, StoreSettings
from agentdeck.signing import Signer
from agentdeck.store import Store
from agentdeck.store._models import SubjectKeyRow
from agentdeck.telemetry.adapters.runs import RunsRepository
from agentdeck.telemetry.core.runs import RunStatus
from testkit import golden_runs as golden

NAMES = {
    "auto": "refund-auto",
    "approval": "refund-approved",
    "denied": "refund-denied",
    "llm": "order-status-llm",
}
V1_TWIN = "refund-approved.policy-decided-v1"
GENERATION = "events-v3"
"""The event model the current code records: three events a tool step."""

PROJECTION = RunsRepository()


def _archived(store: Store, run_id: str) -> list[golden.Message]:
    with store.transaction(read_only=True) as conn:
        rows = store.archive.read_run(conn, run_id)
    return [golden.Message(r.topic, r.partition, r.offset, r.payload) for r in rows]


def _settled(store: Store, run_ids: list[str], timeout_s: float = 60) -> None:
    """Wait until every run finished and the archiver has caught up with it."""
    deadline = time.monotonic() + timeout_s
    last: list[int] = []
    while time.monotonic() < deadline:
        counts = [len(_archived(store, r)) for r in run_ids]
        with store.transaction(read_only=True) as conn:
            done = all(
                (rec := PROJECTION.get(conn, r)) is not None and rec.status is not RunStatus.RUNNING
                for r in run_ids
            )
        if done and counts == last:
            return
        last = counts
        time.sleep(1.0)
    raise TimeoutError("the demo runs did not settle")


def _approve(info: StackInfo, token: str, run_id: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        pending = [p for p in client.list_pending(info.approval_url, token) if p.run_id == run_id]
        if pending:
            client.approve(info.approval_url, token, pending[0].approval_id, "damaged item")
            return
        time.sleep(0.2)
    raise TimeoutError(f"no approval opened for {run_id}")


def record(out: Path, *, force: bool) -> None:
    """Run the demo and write the golden runs into ``out``."""
    codec = default_codec()
    digest = load_bundle(DEMO_BUNDLE).bundle.digest
    bundle = out / "bundles" / digest[:16]
    with tempfile.TemporaryDirectory() as tmp:
        settings = CliSettings(
            kafka=KafkaSettings(topic_prefix="agentdeck", partitions=3),
            store=StoreSettings(data_dir=tmp),
        )
        with embedded_stack(settings) as stack, ScriptedModel() as model:
            keys = load_or_create(stack.data_dir)
            port = free_port()
            runners = compose(stack, keys, llm_base_url=model.base_url, approval_port=port)
            for runner in runners:
                runner.start()
            try:
                info = StackInfo(
                    bootstrap_servers=stack.kafka.bootstrap_servers,
                    topic_prefix=stack.kafka.topic_prefix,
                    database_url="",
                    data_dir=str(stack.data_dir),
                    approval_url=f"http://127.0.0.1:{port}",
                )
                goals = demo_events("acme", "golden")
                for _goal, event in goals:
                    publish_goal(info, event)
                ids = {goal.key: event.envelope.run_id or "" for goal, event in goals}
                wait_for_outcomes(stack.store, list(ids.values()), timeout_s=120)
                _approve(info, keys.approver_tokens["alice"], ids["approval"])
                _settled(stack.store, list(ids.values()))
                runs = {key: _archived(stack.store, run) for key, run in ids.items()}
                with stack.store.transaction(read_only=True) as conn:
                    subject_keys = conn.execute(
                        select(SubjectKeyRow.kid, SubjectKeyRow.tenant, SubjectKeyRow.wrapped_key)
                    ).all()
            finally:
                for runner in runners:
                    runner.stop()
        policy_keys = {"policy-1": keys.policy_public()}
        signer = Signer("policy-1", keys.policy_private)
    if not bundle.exists():
        shutil.copytree(DEMO_BUNDLE, bundle)
    files = {f"{NAMES[key]}.{GENERATION}": (ids[key], messages) for key, messages in runs.items()}
    twin = [
        golden.Message(
            msg.topic,
            msg.partition,
            msg.offset,
            golden.policy_decided_v1(msg.payload, codec, signer)
            if isinstance(codec.decode(msg.payload), m.PolicyDecided)
            else msg.payload,
        )
        for msg in runs["approval"]
    ]
    files[V1_TWIN] = (ids["approval"], twin)
    for name, (run_id, messages) in files.items():
        path = out / f"{name}.jsonl"
        if path.exists() and not force:
            print(f"kept {path}")
            continue
        sealed_under = [
            {"kid": k.kid, "tenant": k.tenant, "wrapped": base64.b64encode(k.wrapped_key).decode()}
            for k in subject_keys
            if k.wrapped_key is not None
            and any(f"{PREFIX}{k.kid}:".encode() in msg.payload for msg in messages)
        ]
        run = golden.GoldenRun(
            run_id,
            policy_keys,
            bundle,
            messages,
            pii_master=keys.pii_master if sealed_under else "",
            subject_keys=sealed_under,
        )
        golden.write(path, run)
        print(f"wrote {path}: {len(messages)} messages")


def main() -> None:
    """Parse the flags and record."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--force", action="store_true", help="Overwrite existing goldens.")
    record(golden.RUNS, force=parser.parse_args().force)


if __name__ == "__main__":
    main()
