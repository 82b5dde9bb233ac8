"""Jobs in forked processes: a reader per CPU for the work that parallelises (audit, replay)."""

from __future__ import annotations

import gc
import multiprocessing
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from multiprocessing.connection import Connection as Pipe
from typing import TypeVar

__all__ = ["can_fork", "cpus", "forked", "rare_collections", "results"]

T = TypeVar("T")


def cpus() -> int:
    """The CPUs this process may run on."""
    affinity = getattr(os, "sched_getaffinity", None)
    return len(affinity(0)) if affinity is not None else os.cpu_count() or 1


@contextmanager
def rare_collections(threshold: int = 50_000) -> Iterator[None]:
    """Collect cyclic garbage rarely while a batch job makes many short-lived objects.

    The objects that exist on entry are frozen (never scanned again until the
    exit), and the youngest generation is collected after ``threshold``
    allocations instead of 700: replaying an archive spends an eighth of its
    time in collections otherwise. Both are restored on exit.
    """
    saved = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(threshold, *saved[1:])
    try:
        yield
    finally:
        gc.set_threshold(*saved)
        gc.unfreeze()


def can_fork() -> bool:
    """Whether forking is safe here: the platform has it, and no other thread is running."""
    return "fork" in multiprocessing.get_all_start_methods() and threading.active_count() == 1


def forked(job: Callable[[], T], what: str) -> Callable[[], T]:
    """Start ``job`` in a forked process; call the result to wait for what it returns.

    An exception in the child is raised in the parent by that call; a child
    that dies without answering raises ``RuntimeError`` naming ``what``.
    """
    context = multiprocessing.get_context("fork")
    reader, writer = context.Pipe(duplex=False)
    child = context.Process(target=_child, args=(writer, job))
    child.start()
    writer.close()

    def result() -> T:
        try:
            outcome = reader.recv()
        except EOFError:
            outcome = RuntimeError(f"{what} died")
        finally:
            reader.close()
            child.join()
        if isinstance(outcome, BaseException):
            raise outcome
        done: T = outcome
        return done

    return result


def results(children: list[Callable[[], T]]) -> list[T]:
    """Every child's result, in order; each child is waited for before any failure is raised."""
    found: list[T] = []
    failure: BaseException | None = None
    for child in children:
        try:
            found.append(child())
        except Exception as exc:  # noqa: BLE001 -- raised once every child has ended
            failure = failure or exc
    if failure is not None:
        raise failure
    return found


def _child(writer: Pipe, job: Callable[[], object]) -> None:
    try:
        outcome: object = job()
    except Exception as exc:  # noqa: BLE001 -- handed to the parent, which raises it
        outcome = exc
    try:
        writer.send(outcome)
    except Exception as exc:  # noqa: BLE001 -- an exception that does not pickle
        writer.send(RuntimeError(f"{type(exc).__name__}: {exc}"))
    finally:
        writer.close()
