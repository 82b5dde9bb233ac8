"""The chaos soak: a stream of runs while services, connections, the cache and the whole stack
are killed at random, with cancellations, kill switches and approvals thrown in.

Every service runs as its own process on a fresh embedded broker, a fresh PostgreSQL
database and a Redis of the soak's own (so restarting it disturbs nothing else). Goals
arrive over the first part of the soak; every ``chaos_every_s`` one of the chaos actions
strikes; once, half-way, every service and the broker are killed together and the stack
comes back on an empty broker. At the end the soak waits for the runs to settle and
checks what must hold whatever happened:

- no run is lost: every goal's run ended, or waits for a human with its case open;
- no side effect happened twice: one refund per refunded run, each email delivered once;
- a cancelled run holds no budget.

It also reports, apart, the runs with a call that ran whose outcome is not in the
archive: a known gap when the broker loses its log (docs/reliability.md).
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, select
from sqlalchemy.pool import NullPool

from agentdeck.approval import client
from agentdeck.bench.processes import SERVICES, ServiceProcesses
from agentdeck.bench.stack import fresh_database, terminate_connections
from agentdeck.cli.producer import OPERATOR_KEY_ID
from agentdeck.cli.schemas import SERVICE_SCHEMAS
from agentdeck.cli.stackfile import StackInfo
from agentdeck.cli.submit import publish, publish_goal
from agentdeck.contracts import Producer, default_codec, deterministic_id, envelope_for
from agentdeck.contracts import models as m
from agentdeck.demo.scripted_llm import ScriptedModel
from agentdeck.demo.sql_desk import SqlDesk
from agentdeck.embedded import EmbeddedBroker, free_port
from agentdeck.embedded_stack.goals import goal_event
from agentdeck.embedded_stack.keys import DemoKeys, load_or_create
from agentdeck.kafka import ensure_topics, topic_specs
from agentdeck.policy_checker.adapters.tables import BudgetReservationRow
from agentdeck.settings import KafkaSettings
from agentdeck.signing import Signer
from agentdeck.store import Store, migrate
from agentdeck.store.errors import StoreUnavailableError
from agentdeck.telemetry.adapters.runs import RunsRepository
from agentdeck.telemetry.core.runs import FINAL_STATUSES
from agentdeck.tool_executor.adapters.tables import EffectRow

__all__ = ["SoakConfig", "SoakReport", "run_soak"]

CHAOS = ("kill-service", "terminate-connections", "restart-redis", "cancel-run", "kill-switch")
"""The actions that strike every ``chaos_every_s`` (the whole stack is killed once, apart)."""

_CLI = Producer(service="cli", version="soak")
REPUBLISH_AFTER_S = 3
"""How long after the archive moved past a record it lacks a service publishes it again."""


@dataclass(frozen=True)
class SoakConfig:
    """How long, how many runs, how hard."""

    admin_url: str
    runs: int = 300
    seconds: float = 300.0
    chaos_every_s: float = 3.0
    settle_s: float = 180.0
    parked_share: float = 0.1
    """Share of goals whose refund waits for an approver (approved during the soak)."""
    model_share: float = 0.1
    """Share of goals the model plans (its endpoint fails ``model_failures`` of its calls)."""
    model_failures: float = 0.2
    seed: int = 1
    logs: Path = Path("soak-logs")


@dataclass
class SoakReport:
    """What happened, and what was found wrong."""

    runs: int = 0
    statuses: Counter[str] = field(default_factory=Counter)
    chaos: Counter[str] = field(default_factory=Counter)
    approved: int = 0
    model_calls_failed: int = 0
    wall_s: float = 0.0
    problems: list[str] = field(default_factory=list)
    archive_gaps: list[str] = field(default_factory=list)
    """Calls that ran whose outcome is not in the archive (each one is a problem too)."""
    exits: list[str] = field(default_factory=list)
    """Services that ended on their own, restarted as an orchestrator would (each a problem)."""
    crashes: Counter[str] = field(default_factory=Counter)
    """Loops and tasks that crashed and were started again inside their service, by service
    (no problem by itself: the checks say whether anything was lost)."""

    @property
    def ok(self) -> bool:
        """Whether every invariant held."""
        return not self.problems

    def as_json(self) -> dict[str, Any]:
        """The report as plain data."""
        return {
            "runs": self.runs,
            "statuses": dict(self.statuses),
            "chaos": dict(self.chaos),
            "approved": self.approved,
            "model_calls_failed": self.model_calls_failed,
            "wall_s": round(self.wall_s, 1),
            "problems": self.problems,
            "archive_gaps": self.archive_gaps,
            "exits": self.exits,
            "crashes": dict(self.crashes),
            "ok": self.ok,
        }


@contextmanager
def _redis(port: int, logs: Path) -> Iterator[Callable[[], None]]:
    """A Redis of the soak's own on ``port``; yields a function that kills and restarts it."""
    command = ["redis-server", "--port", str(port), "--save", "", "--appendonly", "no"]
    out = (logs / "redis.log").open("ab")
    process = [subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)]

    def restart() -> None:
        process[0].send_signal(signal.SIGKILL)
        process[0].wait()
        process[0] = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)

    try:
        time.sleep(0.3)
        yield restart
    finally:
        process[0].kill()
        process[0].wait()
        out.close()


class _Stack:
    """The broker and the five services; the broker can be lost and replaced."""

    def __init__(self, config: SoakConfig, url: str, redis_url: str, keys: DemoKeys) -> None:
        self.config, self.url, self.redis_url, self.keys = config, url, redis_url, keys
        self.prefix = f"soak{uuid.uuid4().hex[:8]}"
        self.approval_port = free_port()
        self.lock = threading.Lock()
        self.broker: EmbeddedBroker | None = None
        self.processes: ServiceProcesses | None = None
        self.model = ScriptedModel(fail_share=config.model_failures)

    def start(self) -> None:
        logs = self.config.logs
        self.broker = EmbeddedBroker(log_path=logs / f"broker-{uuid.uuid4().hex[:4]}.log")
        self.broker.start()
        ensure_topics(self.kafka, topic_specs(self.prefix, 3))
        self.processes = ServiceProcesses(
            bootstrap=self.broker.bootstrap_servers,
            prefix=self.prefix,
            database_url=self.url,
            keys=self.keys,
            approval_port=self.approval_port,
            llm_base_url=self.model.base_url,
            logs=logs,
            redis_url=self.redis_url,
            overrides={
                "planner": {"REDRIVE_AFTER_S": "5", "REDRIVE_INTERVAL_S": "1"},
                "tool-executor": {"IN_FLIGHT_GRACE_S": "3"},
                # A cancelled run's allowed call whose outcome was lost with the broker holds
                # its budget until the stale-hold sweep: within the soak, not within the hour.
                "policy-checker": {
                    "ALLOW_TTL_S": "20",
                    "STALE_HOLD_AFTER_S": "25",
                    "HOLD_SWEEP_INTERVAL_S": "2",
                },
            },
            # What the broker lost before telemetry archived it is published again
            # within the soak, not half a minute later.
            common={"AGENTDECK_REPUBLISH_UNARCHIVED_AFTER_S": str(REPUBLISH_AFTER_S)},
        )
        self.processes.start_all()

    def stop(self) -> None:
        if self.processes is not None:
            self.processes.stop_all()
        if self.broker is not None:
            self.broker.stop()

    @property
    def kafka(self) -> KafkaSettings:
        assert self.broker is not None  # noqa: S101 -- started
        return KafkaSettings(
            bootstrap_servers=self.broker.bootstrap_servers, topic_prefix=self.prefix
        )

    @property
    def info(self) -> StackInfo:
        return StackInfo(
            bootstrap_servers=self.kafka.bootstrap_servers,
            topic_prefix=self.prefix,
            database_url=self.url,
            data_dir=str(self.config.logs),
            approval_url=f"http://127.0.0.1:{self.approval_port}",
        )


def run_soak(config: SoakConfig, say: Callable[[str], None] = print) -> SoakReport:
    """Run the soak; the report says what held."""
    config.logs.mkdir(parents=True, exist_ok=True)
    rng = random.Random(config.seed)  # noqa: S311 -- chaos, not secrets
    redis_port = free_port()
    with (
        fresh_database(_psycopg(config.admin_url)) as url,
        _redis(redis_port, config.logs) as restart,
    ):
        # No pool: the chaos terminates this database's connections, the soak's own too.
        store = Store(create_engine(url, poolclass=NullPool))
        migrate(store.engine, *SERVICE_SCHEMAS)
        SqlDesk(store).seed()
        stack = _Stack(
            config, url, f"redis://127.0.0.1:{redis_port}/0", load_or_create(config.logs)
        )
        try:
            with stack.model:
                stack.start()
                return _Soak(stack, store, rng, restart, say).run()
        finally:
            stack.stop()
            store.close()


def _psycopg(url: str) -> str:
    """``url`` with the psycopg 3 driver named (as the store's engines use it)."""
    return url.replace("postgresql://", "postgresql+psycopg://", 1)


class _Soak:
    def __init__(
        self,
        stack: _Stack,
        store: Store,
        rng: random.Random,
        restart_redis: Callable[[], None],
        say: Callable[[str], None],
    ) -> None:
        self.stack, self.store, self.rng, self.say = stack, store, rng, say
        self.restart_redis = restart_redis
        self.config = stack.config
        self.report = SoakReport()
        self.run_ids: list[str] = []
        self.marker = f"soak-{uuid.uuid4().hex[:6]}"
        self.operator = Signer(OPERATOR_KEY_ID, stack.keys.operator_private)
        self.cancelled: set[str] = set()
        self.goals: dict[str, tuple[m.GoalSubmitted, float]] = {}
        """Goals whose run has not shown up yet, and when they were last published."""
        self.stop = threading.Event()

    def run(self) -> SoakReport:
        started = time.monotonic()
        threads = [
            threading.Thread(target=self._guarded, args=(f, name), daemon=True)
            for f, name in (
                (self._submit, "submit"),
                (self._approve, "approve"),
                (self._resubmit, "resubmit"),
            )
        ]
        for thread in threads:
            thread.start()
        self._chaos(started)
        threads[0].join(self.config.settle_s)  # every goal is submitted before settling
        if threads[0].is_alive():
            self.report.problems.append("the goals were not all submitted in time")
        self.say(f"chaos over after {time.monotonic() - started:.0f} s; settling")
        self._settle()
        self.stop.set()
        for thread in threads:
            thread.join(30)
        self.report.wall_s = time.monotonic() - started
        self.report.model_calls_failed = self.stack.model.failed
        self._check()
        return self.report

    def _guarded(self, work: Callable[[], None], name: str) -> None:
        try:
            work()
        except Exception as exc:  # noqa: BLE001 -- reported, the soak goes on
            self.report.problems.append(f"{name} thread died: {exc!r}")

    # -- workload ---------------------------------------------------------------------------

    def _submit(self) -> None:
        """Submit the goals evenly over the first 60% of the soak."""
        gap = self.config.seconds * 0.6 / max(1, self.config.runs)
        for n in range(self.config.runs):
            draw = self.rng.random()
            parked = draw < self.config.parked_share
            event = (
                self._model_goal(n)
                if draw > 1 - self.config.model_share
                else goal_event(
                    goal="refund",
                    playbook="refund-order",
                    inputs={
                        "order_id": "2077",
                        "amount_cents": 6000 if parked else 300 + n % 50,
                        "reason": self.marker,
                    },
                    tenant="acme",
                    run_id=f"{self.marker}-{n}",
                    requested_by="crm",
                    limits=m.RunLimits(),
                )
            )
            self._retrying(partial(publish_goal, event=event))
            self.goals[event.envelope.run_id or ""] = (event, time.monotonic())
            self.run_ids.append(event.envelope.run_id or "")
            self.report.runs += 1
            time.sleep(gap)

    def _model_goal(self, n: int) -> m.GoalSubmitted:
        """A goal the model plans (the demo's script: look order 1042 up, draft a note)."""
        return goal_event(
            goal=f"Tell the customer about order 1042 (ticket {self.marker}-{n})",
            playbook=None,
            inputs={},
            tenant="acme",
            run_id=f"{self.marker}-{n}",
            requested_by="crm",
            limits=m.RunLimits(),
        )

    def _resubmit(self) -> None:
        """Publish again the goals whose run has not shown up (as a producer with an outbox does).

        A goal the broker acknowledged and then lost with its log (the whole stack
        killed) never reaches the planner; the same goal again starts the run once.
        """
        while not self.stop.wait(5.0):
            try:
                with self.store.transaction(read_only=True) as conn:
                    seen = RunsRepository().get_many(conn, list(self.goals))
            except StoreUnavailableError:
                continue  # its connection was just terminated: next round
            for run_id, (event, at) in list(self.goals.items()):
                if run_id in seen:
                    del self.goals[run_id]
                elif time.monotonic() - at > 10.0:
                    self._retrying(partial(publish_goal, event=event))
                    self.goals[run_id] = (event, time.monotonic())
                    self.report.chaos["goal-published-again"] += 1

    def _approve(self) -> None:
        """Approve what waits for a human, a few seconds after it parked."""
        while not self.stop.wait(2.0):
            try:
                pending = client.list_pending(
                    self.stack.info.approval_url, self.stack.keys.approver_tokens["alice"]
                )
            except Exception:  # noqa: BLE001,S112 -- the service is being killed: next round
                continue
            for view in pending:
                try:
                    client.approve(
                        self.stack.info.approval_url,
                        self.stack.keys.approver_tokens["alice"],
                        view.approval_id,
                    )
                    self.report.approved += 1
                except Exception:  # noqa: BLE001,S112 -- killed scope, restart: next round
                    continue

    def _retrying(self, action: Callable[[StackInfo], None], attempts: int = 20) -> None:
        """Do ``action`` on the stack, again on failure; each try reads the stack's address
        anew, since the whole stack may have come back on another broker meanwhile."""
        for attempt in range(attempts):
            try:
                with self.stack.lock:
                    action(self.stack.info)
            except Exception:
                if attempt == attempts - 1:
                    raise
                time.sleep(0.5)
            else:
                return

    # -- chaos ------------------------------------------------------------------------------

    def _chaos(self, started: float) -> None:
        whole_at = started + self.config.seconds / 2
        whole_done = False
        while (now := time.monotonic()) < started + self.config.seconds:
            time.sleep(self.config.chaos_every_s)
            self._supervise()
            if not whole_done and now >= whole_at:
                self._kill_everything()
                whole_done = True
                continue
            action = self.rng.choice(CHAOS)
            try:
                getattr(self, "_" + action.replace("-", "_"))()
                self.report.chaos[action] += 1
            except Exception as exc:  # noqa: BLE001 -- chaos may fail; counted
                self.report.chaos[f"{action} (failed: {type(exc).__name__})"] += 1

    def _supervise(self) -> None:
        """Restart what ended on its own, as an orchestrator would, and note it (a service
        must outlive the chaos: its database, cache or broker going away)."""
        processes = self.stack.processes
        assert processes is not None  # noqa: S101 -- started
        for name, code in processes.exited().items():
            last = processes.log(name).strip().splitlines()[-1:] or ["(no output)"]
            self.report.exits.append(f"{name} exited ({code}): {last[0][:300]}")
            processes.forget(name)
            service, _, replica = name.partition(".")
            processes.start(service, int(replica or 0))

    def _kill_service(self) -> None:
        processes = self.stack.processes
        assert processes is not None  # noqa: S101 -- started
        victim = self.rng.choice(list(SERVICES))
        processes.kill(victim)
        time.sleep(self.rng.uniform(0.2, 1.5))
        processes.start(victim)

    def _terminate_connections(self) -> None:
        name = self.store.engine.url.database
        admin = create_engine(_psycopg(self.config.admin_url), isolation_level="AUTOCOMMIT")
        try:
            with admin.connect() as conn:
                terminate_connections(conn, name or "")
        finally:
            admin.dispose()

    def _restart_redis(self) -> None:
        self.restart_redis()

    def _cancel_run(self) -> None:
        with self.store.transaction(read_only=True) as conn:
            runs = RunsRepository().get_many(conn, self.run_ids)
        going = sorted(r for r, rec in runs.items() if not rec.final)
        if not going:
            return
        run_id = self.rng.choice(going)
        self._operator_event(
            m.KillSwitchSet,
            run_id=run_id,
            scope=m.KillSwitchScope.RUN,
            target=run_id,
            engaged=True,
            reason="soak",
        )
        self.cancelled.add(run_id)

    def _kill_switch(self) -> None:
        """Stop every send_email for a moment: the runs that meet it fail, honestly."""
        for engaged in (True, False):
            self._operator_event(
                m.KillSwitchSet,
                run_id=None,
                scope=m.KillSwitchScope.TOOL,
                target="send_email",
                engaged=engaged,
                reason="soak",
            )
            time.sleep(1.0 if engaged else 0)

    def _operator_event(
        self, kind: type[m.KillSwitchSet], *, run_id: str | None, **fields: Any
    ) -> None:
        now = datetime.now(UTC)
        event = kind(
            envelope=envelope_for(
                kind,
                event_id=deterministic_id("soak", str(fields), now.isoformat()),
                tenant="acme",
                producer=_CLI,
                occurred_at=now,
                run_id=run_id,
            ),
            set_by=self.operator.key_id,
            **fields,
        )
        self._retrying(partial(publish, event=event, signer=self.operator, client_id="soak"))

    def _kill_everything(self) -> None:
        """SIGKILL every service and the broker; come back on an empty broker."""
        with self.stack.lock:
            processes, broker = self.stack.processes, self.stack.broker
            assert processes is not None  # noqa: S101 -- started
            assert broker is not None  # noqa: S101 -- started
            for name in list(processes.pids()):
                processes.kill(name)
            if broker.pid is not None:
                os.kill(broker.pid, signal.SIGKILL)
            broker.stop()
            self.stack.start()
        self.report.chaos["kill-everything"] += 1
        self.say("killed every service and the broker; restarted on an empty broker")

    # -- the end ----------------------------------------------------------------------------

    def _settle(self) -> None:
        """Wait until every run ended, no cancelled run holds budget and every service's outbox
        is empty (the archive holds all they published), or ``settle_s``."""
        deadline = time.monotonic() + self.config.settle_s
        while time.monotonic() < deadline:
            self._supervise()
            try:
                if not self._unsettled() and not self._held_by_cancelled() and not self._kept():
                    return
            except StoreUnavailableError:
                pass  # a connection the chaos terminated: look again
            time.sleep(1.0)

    def _kept(self) -> int:
        """How many published records the services keep because the archive lacks them."""
        with self.store.transaction(read_only=True) as conn:
            return sum(self.store.outbox.pending(conn, service) for service in SERVICES)

    def _unsettled(self) -> list[str]:
        with self.store.transaction(read_only=True) as conn:
            runs = RunsRepository().get_many(conn, self.run_ids)
        return [r for r in self.run_ids if r not in runs or runs[r].status not in FINAL_STATUSES]

    def _check(self) -> None:
        problems = self.report.problems
        with self.store.transaction(read_only=True) as conn:
            runs = RunsRepository().get_many(conn, self.run_ids)
        self.report.statuses = Counter(
            runs[r].status.value if r in runs else "lost" for r in self.run_ids
        )
        lost = [r for r in self.run_ids if r not in runs or not runs[r].final]
        if lost:
            problems.append(f"{len(lost)} run(s) not ended: {lost[:5]}")
        self._check_effects(runs)
        self._check_archive()
        self._check_holds()
        if self.report.exits:
            problems.append(f"{len(self.report.exits)} service exit(s): {self.report.exits[:3]}")
        processes = self.stack.processes
        assert processes is not None  # noqa: S101 -- started
        for service in SERVICES:  # each log holds every run of the service, restarts and all
            crashed = processes.log(service).count("crashed; restarting")
            if crashed:
                self.report.crashes[service] = crashed

    def _check_effects(self, runs: dict[str, Any]) -> None:
        """No refund without its call in the ledger, none twice; no email delivered twice.

        A refund may exist while its ledger entry says started or unknown: the
        executor died mid-call after the desk made it. That is one effect, reported.
        """
        refunds = [r for r in SqlDesk(self.store).refunds() if r.reason == self.marker]
        calls = select(EffectRow.run_id).where(
            EffectRow.run_id.in_(self.run_ids), EffectRow.tool == "create_refund"
        )
        with self.store.transaction(read_only=True) as conn:
            refunding = set(conn.execute(calls).scalars())
        if len(refunds) > len(refunding):
            self.report.problems.append(
                f"{len(refunds)} refunds for {len(refunding)} runs that asked for one"
            )
        if len({r.refund_id for r in refunds}) != len(refunds):
            self.report.problems.append("a refund made twice")
        emails = [e for e in SqlDesk(self.store).sent_emails() if e.deliveries > 1]
        if emails:
            self.report.problems.append(f"{len(emails)} email(s) delivered more than once")
        del runs

    def _check_archive(self) -> None:
        """Every call that ran has its outcome in the archive, the broker's losses included."""
        done = select(EffectRow.idempotency_key, EffectRow.run_id).where(
            EffectRow.run_id.in_(self.run_ids), EffectRow.status == "completed"
        )
        codec = default_codec()
        with self.store.transaction(read_only=True) as conn:
            ran: dict[str, str] = {str(row[0]): str(row[1]) for row in conn.execute(done)}
            archived = {
                event.idempotency_key
                for run in set(ran.values())
                for a in self.store.archive.read_run(conn, run)
                if a.event_type.endswith("ToolCallCompleted")
                and isinstance(event := codec.decode(a.payload), m.ToolCallCompleted)
            }
        self.report.archive_gaps = sorted(set(ran) - archived)
        if self.report.archive_gaps:
            self.report.problems.append(
                f"{len(self.report.archive_gaps)} call(s) ran whose outcome the archive lacks:"
                f" {self.report.archive_gaps[:5]}"
            )

    def _check_holds(self) -> None:
        left = self._held_by_cancelled()
        if left:
            self.report.problems.append(f"cancelled runs still hold budget: {left[:5]}")

    def _held_by_cancelled(self) -> list[str]:
        """The reservations of cancelled runs still held."""
        if not self.cancelled:
            return []
        held = select(BudgetReservationRow.reservation_id).where(
            BudgetReservationRow.status == "reserved",
            BudgetReservationRow.reservation_id.in_(self._reservations(self.cancelled)),
        )
        with self.store.transaction(read_only=True) as conn:
            return list(conn.execute(held).scalars().all())

    def _reservations(self, run_ids: set[str]) -> list[str]:
        codec = default_codec()
        found: list[str] = []
        with self.store.transaction(read_only=True) as conn:
            for run in run_ids:
                for archived in self.store.archive.read_run(conn, run):
                    if archived.event_type.endswith("PolicyDecided"):
                        event = codec.decode(archived.payload)
                        if isinstance(event, m.PolicyDecided) and event.reservation_id:
                            found.append(event.reservation_id)
        return found


def main() -> None:
    """``python -m agentdeck.bench.soak``: the soak with its defaults; exits 1 if anything broke."""
    import argparse  # noqa: PLC0415

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=300)
    parser.add_argument("--seconds", type=float, default=300.0)
    parser.add_argument("--chaos-every", type=float, default=3.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--admin-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
    )
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    config = SoakConfig(
        admin_url=args.admin_url,
        runs=args.runs,
        seconds=args.seconds,
        chaos_every_s=args.chaos_every,
        seed=args.seed,
        logs=Path("soak-logs") / datetime.now(UTC).strftime("%Y%m%dT%H%M%S"),
    )
    report = run_soak(config)
    text_report = json.dumps(report.as_json(), indent=2)
    print(text_report)
    if args.json is not None:
        args.json.write_text(text_report, encoding="utf-8")
    raise SystemExit(0 if report.ok else 1)


if __name__ == "__main__":
    main()
