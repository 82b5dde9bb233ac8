"""A ticking background task outlives a bad tick and stops when told."""

from __future__ import annotations

import logging
import threading

import pytest

from agentdeck.errors import RetryableError
from agentdeck.runtime import ticking


def test_a_failing_tick_is_logged_and_the_next_one_runs(caplog: pytest.LogCaptureFixture) -> None:
    calls: list[int] = []
    done = threading.Event()

    def tick() -> None:
        calls.append(len(calls))
        if len(calls) == 1:
            raise RetryableError("the store went away", capability="store", code="unavailable")
        if len(calls) == 2:
            raise ValueError("a bug")
        done.set()

    stop = threading.Event()
    task = threading.Thread(target=ticking(tick, every_s=0.01, what="the sweep"), args=(stop,))
    with caplog.at_level(logging.WARNING):
        task.start()
        assert done.wait(5), "a third tick ran after two failed"
        stop.set()
        task.join(5)
    assert not task.is_alive(), "it stops when told"
    messages = [r.getMessage() for r in caplog.records]
    assert "the sweep failed (unavailable): the store went away" in messages
    assert "the sweep failed" in messages
