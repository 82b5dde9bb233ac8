"""Batch jobs' garbage collection: rare while they run, as it was once they are done."""

from __future__ import annotations

import gc

import pytest

from agentdeck.forking import rare_collections


def test_collections_are_rare_inside_and_as_before_after() -> None:
    before, frozen = gc.get_threshold(), gc.get_freeze_count()
    with rare_collections(threshold=12_345):
        assert gc.get_threshold() == (12_345, *before[1:])
        assert gc.get_freeze_count() > frozen, "what existed on entry is left alone"
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == frozen


def test_a_job_that_fails_restores_them_too() -> None:
    before, frozen = gc.get_threshold(), gc.get_freeze_count()
    with pytest.raises(RuntimeError), rare_collections():
        raise RuntimeError("the job failed")
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == frozen
