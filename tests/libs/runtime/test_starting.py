"""A service starting while its database does not answer waits for it, within a bound."""

from __future__ import annotations

import logging
import threading
import uuid

import pytest
from sqlalchemy import create_engine, text

from agentdeck.runtime import Resources, ServiceRunner, serve
from agentdeck.runtime._starting import LONGEST_WAIT_S, when_store_answers
from agentdeck.settings import ServiceSettings
from agentdeck.store.errors import StoreIntegrityError, StoreUnavailableError
from testkit.sql import PG_ADMIN_URL


class _Time:
    """A clock that only moves when slept on."""

    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def _down(code: str = "database_unavailable") -> StoreUnavailableError:
    return StoreUnavailableError("connection refused", capability="store", code=code)


def test_tries_again_with_growing_capped_pauses_until_the_database_answers() -> None:
    time_ = _Time()
    answers = iter([_down()] * 8 + ["store"])

    def attempt() -> str:
        answer = next(answers)
        if isinstance(answer, Exception):
            raise answer
        return answer

    got = when_store_answers(
        "svc", attempt, wait_s=120, sleep=time_.sleep, clock=lambda: time_.now, draw=lambda: 1.0
    )

    assert got == "store"
    assert time_.slept == [0.25, 0.5, 1.0, 2.0, 4.0, LONGEST_WAIT_S, LONGEST_WAIT_S, LONGEST_WAIT_S]


def test_jitter_keeps_at_least_half_of_each_pause() -> None:
    time_ = _Time()
    answers = iter([_down(), _down(), "ok"])

    def attempt() -> str:
        answer = next(answers)
        if isinstance(answer, Exception):
            raise answer
        return answer

    when_store_answers(
        "svc", attempt, wait_s=60, sleep=time_.sleep, clock=lambda: time_.now, draw=lambda: 0.0
    )

    assert time_.slept == [0.125, 0.25]


def test_gives_up_with_the_last_error_once_the_wait_is_over() -> None:
    time_ = _Time()
    tries = []

    def attempt() -> None:
        tries.append(time_.now)
        raise _down(f"try-{len(tries)}")

    with pytest.raises(StoreUnavailableError) as raised:
        when_store_answers(
            "svc", attempt, wait_s=3, sleep=time_.sleep, clock=lambda: time_.now, draw=lambda: 1.0
        )

    assert raised.value.code == f"try-{len(tries)}"
    assert time_.now == pytest.approx(3.0), "the last pause is cut to what is left of the wait"
    assert tries[-1] == pytest.approx(3.0)


def test_an_error_trying_again_cannot_cure_is_raised_at_once() -> None:
    time_ = _Time()

    def attempt() -> None:
        raise StoreIntegrityError("no", capability="store", code="constraint_violation")

    with pytest.raises(StoreIntegrityError):
        when_store_answers("svc", attempt, wait_s=60, sleep=time_.sleep, clock=lambda: time_.now)
    assert time_.slept == []


class _Built:
    def __init__(self) -> None:
        self.answered: list[int] = []

    def build(self, _settings: ServiceSettings, resources: Resources) -> ServiceRunner:
        with resources.store.transaction(read_only=True) as conn:
            self.answered.append(conn.execute(text("SELECT 1")).scalar_one())
        return self  # type: ignore[return-value] -- run_until_signalled below

    def run_until_signalled(self) -> None:
        return None


@pytest.mark.integration
def test_a_service_started_before_its_database_exists_waits_and_then_starts(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    name = f"agentdeck_test_{uuid.uuid4().hex[:16]}"
    monkeypatch.setenv("AGENTDECK_DATABASE_URL", PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}")
    monkeypatch.setenv("AGENTDECK_STARTUP_WAIT_S", "60")
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    created = threading.Timer(1.5, _create, (admin, name))
    built = _Built()
    created.start()
    try:
        with caplog.at_level(logging.WARNING, logger="agentdeck.runtime._starting"):
            serve("svc", ServiceSettings, built.build)
    finally:
        created.join()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    assert built.answered == [1]
    waited = [r.getMessage() for r in caplog.records]
    assert waited, "it started without waiting: the database was there from the start"
    assert all(m.startswith("svc: database unavailable (database_unavailable)") for m in waited)


@pytest.mark.integration
def test_a_database_that_never_answers_ends_the_start_in_one_line(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    missing = f"agentdeck_test_{uuid.uuid4().hex[:16]}"
    monkeypatch.setenv("AGENTDECK_DATABASE_URL", PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{missing}")
    monkeypatch.setenv("AGENTDECK_STARTUP_WAIT_S", "0.5")
    built = _Built()

    with pytest.raises(SystemExit) as stopped:
        serve("svc", ServiceSettings, built.build)

    message = str(stopped.value)
    said = "svc: database unavailable (database_unavailable) for 0.5 s at start: "
    assert message.startswith(said)
    assert missing in message
    assert "\n" not in message
    assert built.answered == []


def _create(admin: object, name: str) -> None:
    with admin.connect() as conn:  # type: ignore[attr-defined]
        conn.execute(text(f'CREATE DATABASE "{name}"'))
