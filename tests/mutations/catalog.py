"""Named mutations: each breaks one invariant on purpose, and names the tests that must catch it.

A mutation replaces one snippet of source (which must occur exactly once) with
its broken form. ``run.py`` applies each to a copy of the tree and runs its
tests there; a mutation the tests do not catch "survives", and the invariant
it breaks is unguarded.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["MUTATIONS", "Mutation"]

_LOOP = "libs/agentdeck/kafka/consumer.py"
_LOOP_TESTS = ("tests/libs/kafka/test_loop_invariants.py",)
_COMMIT_TESTS = ("tests/libs/kafka/test_outcome_commit.py",)
_RUNTIME = "libs/agentdeck/runtime/_stateful.py"
_RUNTIME_TESTS = ("tests/libs/runtime/test_stateful.py",)


@dataclass(frozen=True)
class Mutation:
    """One way of breaking one invariant.

    Attributes:
        name: Short, stable name (``run.py --only NAME``).
        invariant: The promise it breaks, in one sentence.
        path: The file changed, from the repository root.
        original: The exact snippet replaced (must occur once).
        mutant: What replaces it.
        tests: The test files that must fail with it in place.
    """

    name: str
    invariant: str
    path: str
    original: str
    mutant: str
    tests: tuple[str, ...]


MUTATIONS: tuple[Mutation, ...] = (
    Mutation(
        name="state-before-outputs-acknowledged",
        invariant="a batch's state commits only after the broker acknowledged its outputs",
        path=_LOOP,
        original=(
            "            self._producer.flush()\n"
            "            if self._outbox is not None:\n"
            "                self._outbox.keep(self._producer.take_sent())\n"
            "            if self._on_flushed is not None:\n"
            "                self._on_flushed(len(outputs))\n"
            "            for commit in commits:\n"
            "                commit()\n"
        ),
        mutant=(
            "            for commit in commits:\n"
            "                commit()\n"
            "            self._producer.flush()\n"
            "            if self._outbox is not None:\n"
            "                self._outbox.keep(self._producer.take_sent())\n"
            "            if self._on_flushed is not None:\n"
            "                self._on_flushed(len(outputs))\n"
        ),
        tests=_LOOP_TESTS,
    ),
    Mutation(
        name="offsets-before-state",
        invariant="a batch's offsets are committed only after its state",
        path=_LOOP,
        original="            for commit in commits:\n                commit()\n        except",
        mutant=(
            "            self._commit(records)\n"
            "            for commit in commits:\n                commit()\n        except"
        ),
        tests=_LOOP_TESTS,
    ),
    Mutation(
        name="authority-unchecked",
        invariant="an event carrying authority reaches a handler only if its entitled writer "
        "signed the record",
        path=_LOOP,
        original="        if self._authority is None:\n            return None\n",
        mutant="        return None\n",
        tests=_LOOP_TESTS,
    ),
    Mutation(
        name="duplicates-handed-over",
        invariant="an event id already processed is not handed to the handler again",
        path=_LOOP,
        original="            if event_id not in new or kept.get(event_id) == value:\n",
        mutant="            if False:\n",
        tests=("tests/libs/kafka/test_crash_safety.py", "tests/libs/kafka/test_consumer_loop.py"),
    ),
    Mutation(
        name="retry-without-redelivery",
        invariant="a batch that hits a retryable failure is read again, nothing skipped",
        path=_LOOP,
        original="            self._consumer.seek(TopicPartition(topic, partition, offset))\n",
        mutant="            pass\n",
        tests=_COMMIT_TESTS,
    ),
    Mutation(
        name="isolated-events-commit-together",
        invariant="when a batch fails and its events are handled one by one, each commits "
        "before the next is handled",
        path=_LOOP,
        original="        for item in fresh:\n            self._settle(self._handle_one(item))\n"
        "        return []\n",
        mutant="        return [o for item in fresh for o in self._handle_one(item)]\n",
        tests=_COMMIT_TESTS,
    ),
    Mutation(
        name="processed-ids-outside-state-transaction",
        invariant="a batch's processed ids are written in the same transaction as its state",
        path=_RUNTIME,
        original=(
            "            with store.transaction() as conn:\n"
            "                handler.save(conn, decision)\n"
            "                store.processed.mark(conn, self.consumer, done)\n"
        ),
        mutant=(
            "            with store.transaction() as conn:\n"
            "                store.processed.mark(conn, self.consumer, done)\n"
            "            with store.transaction() as conn:\n"
            "                handler.save(conn, decision)\n"
        ),
        tests=_RUNTIME_TESTS,
    ),
    Mutation(
        name="processed-events-decided-again",
        invariant="an event a service already processed is never decided again (dedupe by id)",
        path=_RUNTIME,
        original="            new = store.processed.filter_new(conn, self.consumer, ids)\n",
        mutant="            new = set(ids)\n",
        tests=_RUNTIME_TESTS,
    ),
    Mutation(
        name="journal-after-publish",
        invariant="a journaled handler's state is durable before its events are published",
        path=_RUNTIME,
        original=(
            "            commit()  # durable first: what is published next is already promised\n"
            "            return Outcome([*again, *events])\n"
        ),
        mutant="            return Outcome([*again, *events], commit)\n",
        tests=_RUNTIME_TESTS,
    ),
    Mutation(
        name="redelivery-not-republished",
        invariant="a handler that replays republishes a redelivered event's outputs from what it "
        "saved (journaled or not)",
        path=_RUNTIME,
        original=(
            "            again = list(replayer.replay(conn, seen)) "
            "if replayer is not None and seen else []\n"
        ),
        mutant="            again = []\n",
        tests=_RUNTIME_TESTS,
    ),
    Mutation(
        name="outputs-not-kept",
        invariant="a batch's acknowledged outputs are kept in the outbox until the archive holds "
        "them",
        path=_LOOP,
        original="                self._outbox.keep(self._producer.take_sent())\n",
        mutant="                self._outbox.keep([])\n",
        tests=("tests/libs/runtime/test_outbox.py",),
    ),
    Mutation(
        name="lost-records-not-republished",
        invariant="a record the archive moved past without is published again",
        path="libs/agentdeck/runtime/_outbox.py",
        original="            self._producer.send_raw(record.topic, record.value, record.key, "
        "list(record.headers))\n",
        mutant="            pass\n",
        tests=("tests/libs/runtime/test_outbox.py",),
    ),
    Mutation(
        name="running-calls-not-signalled",
        invariant="a call running when a switch covering it engages gets its cancel signal",
        path="services/agentdeck/tool_executor/adapters/running.py",
        original="            call.signal.set()\n",
        mutant="            pass\n",
        tests=("tests/services/tool_executor/test_kill_switches.py",),
    ),
    Mutation(
        name="parked-calls-not-redriven",
        invariant="a call parked for a human is re-driven (its decision may never have reached "
        "the approval service)",
        path="services/agentdeck/planner/core/redrive.py",
        original="REDRIVEN = ACTIVE | {StepStatus.WAITING_APPROVAL}\n",
        mutant="REDRIVEN = ACTIVE\n",
        tests=("tests/services/planner/test_redrive.py",),
    ),
    Mutation(
        name="row-fallback-accepts-any-row",
        invariant="the fast pass declines an archive whose rows do not rehash to their leaves",
        path="libs/agentdeck/audit/_fast.py",
        original="            return False  # altered, out of place, twice, or not logged\n",
        mutant="            continue\n",
        tests=("tests/services/cli/test_audit_fast.py",),
    ),
    Mutation(
        name="leaf-v2-without-run-chain",
        invariant="a version 2 leaf covers the run's previous leaf (a dropped event breaks the "
        "chain)",
        path="libs/agentdeck/audit/_leaf.py",
        original="        occurred, archived, body, hdrs, prev,\n",
        mutant='        occurred, archived, body, hdrs, b"",\n',
        tests=("tests/libs/audit/test_verify_lean.py",),
    ),
    Mutation(
        name="run-head-batch-seen-by-signature-alone",
        invariant="a run head whose batch signature was seen still has to lead to that signed root",
        path="libs/agentdeck/audit/_runhead.py",
        original="        key = (self.key_id, signed, self.signature)\n",
        mutant='        key = (self.key_id, b"", self.signature)\n',
        tests=("tests/libs/audit/test_run_heads.py",),
    ),
)
