"""One contract for every ProcessedLog adapter: in-process and SQL on both backends."""

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from agentdeck.kafka import InMemoryProcessedLog, ProcessedLog
from agentdeck.store import SqlProcessedLog, migrate
from testkit.sql import BACKENDS, databases_for


@pytest.fixture(params=["memory", *BACKENDS])
def log(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ProcessedLog]:
    if request.param == "memory":
        yield InMemoryProcessedLog()
        return
    databases = databases_for(request, tmp_path)
    engine = databases.new_engine()
    migrate(engine)
    yield SqlProcessedLog(engine)
    databases.close()


def _ids(n: int) -> list[str]:
    return [str(uuid.uuid4()) for _ in range(n)]


def test_unseen_ids_are_new_and_marked_ids_are_not(log):
    consumer = f"c-{uuid.uuid4().hex}"
    first, second = _ids(3), _ids(2)
    assert log.filter_new(consumer, first + second) == set(first + second)
    log.mark(consumer, first)
    assert log.filter_new(consumer, first + second) == set(second)


def test_consumers_do_not_share_what_they_processed(log):
    ids = _ids(2)
    log.mark("planner-" + uuid.uuid4().hex, ids)
    assert log.filter_new("telemetry-" + uuid.uuid4().hex, ids) == set(ids)


def test_marking_twice_is_harmless(log):
    consumer, ids = f"c-{uuid.uuid4().hex}", _ids(4)
    log.mark(consumer, ids)
    log.mark(consumer, ids[:2])
    assert log.filter_new(consumer, ids) == set()


def test_an_empty_batch_is_fine(log):
    assert log.filter_new("c", []) == set()
    log.mark("c", [])
