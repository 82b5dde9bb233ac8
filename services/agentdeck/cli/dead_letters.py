"""``agentdeck dead-letters``: list, explain and redrive the records the services refused.

Every refused record is on the dead-letters topic as a ``DeadLettered`` event
holding its original bytes, key and headers and a machine-readable reason.
``redrive`` puts the original record back on the topic it came from (after a
fix), byte for byte, so its signatures and ids are what they were; each dead
letter is redriven at most once, and who redrove it when is kept in the store.
"""

from __future__ import annotations

import getpass
import os
from datetime import UTC, datetime, timedelta
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy import delete, select

from agentdeck.cli.settings import CliSettings
from agentdeck.cli.stackfile import StackInfo, locate
from agentdeck.cli.tables import RedriveRow
from agentdeck.contracts import DecodeError, default_codec
from agentdeck.contracts.models import DeadLettered
from agentdeck.errors import TerminalError
from agentdeck.kafka import EventProducer, Topic
from agentdeck.kafka.producer import Headers
from agentdeck.kafka.reader import read_topics
from agentdeck.settings import KafkaSettings
from agentdeck.store import Store
from agentdeck.store.sql import per_dialect, table_of

__all__ = ["dead_letters_app"]

dead_letters_app = typer.Typer(
    no_args_is_help=True, help="List, explain and redrive the records the services refused."
)
console = Console()

_REDRIVES = table_of(RedriveRow)
_CLAIM = per_dialect(lambda insert: insert(_REDRIVES).on_conflict_do_nothing())


def _kafka(stack: StackInfo) -> KafkaSettings:
    return KafkaSettings(bootstrap_servers=stack.bootstrap_servers, topic_prefix=stack.topic_prefix)


def _letters(stack: StackInfo) -> list[DeadLettered]:
    topic = Topic.DEAD_LETTERS.full(stack.topic_prefix)
    read = read_topics(
        _kafka(stack),
        default_codec(),
        lambda e: isinstance(e, DeadLettered),
        only={topic},
        timeout_s=30,
    )
    return [e for e in read.events if isinstance(e, DeadLettered)]


def _store(stack: StackInfo) -> Store:
    return Store.open(stack.database_url, data_dir=stack.data_dir, upgrade=False)


def _redriven(store: Store, ids: list[str]) -> dict[str, dict[str, str]]:
    with store.transaction(read_only=True) as conn:
        found = conn.execute(select(_REDRIVES).where(_REDRIVES.c.dead_letter_id.in_(ids)))
        return {
            row.dead_letter_id: {
                "at": row.redriven_at.isoformat(),
                "by": row.redriven_by,
                "to": row.republished_to,
            }
            for row in found
        }


def _one(letters: list[DeadLettered], letter_id: str) -> DeadLettered:
    matches = [d for d in letters if d.envelope.event_id.startswith(letter_id)]
    if len(matches) == 1:
        return matches[0]
    problem = "no dead letter" if not matches else f"{len(matches)} dead letters"
    raise TerminalError(
        f"{problem} with an id starting {letter_id!r}",
        capability="cli.dead_letters",
        code="not_found" if not matches else "ambiguous_id",
        remediation=("agentdeck dead-letters list shows the ids",),
    )


def _origin(letter: DeadLettered) -> str:
    return f"{letter.source_topic}:{letter.source_partition}:{letter.source_offset}"


def list_(
    topic: Annotated[str | None, typer.Option(help="Only records from this topic.")] = None,
    code: Annotated[str | None, typer.Option(help="Only this failure code.")] = None,
    hours: Annotated[
        float | None, typer.Option(min=0, help="Only those refused in the last HOURS.")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, help="Newest first, at most this many.")] = 50,
) -> None:
    """The dead letters, newest first, with why each record was refused."""
    stack = locate(CliSettings())
    since = None if hours is None else datetime.now(UTC) - timedelta(hours=hours)
    letters = [
        d
        for d in _letters(stack)
        if (topic is None or d.source_topic in (topic, f"{stack.topic_prefix}.{topic}"))
        and (code is None or d.failure.code == code)
        and (since is None or d.envelope.occurred_at >= since)
    ]
    letters.sort(key=lambda d: d.envelope.occurred_at, reverse=True)
    shown = letters[:limit]
    with _store(stack) as store:
        redriven = _redriven(store, [d.envelope.event_id for d in shown])
    table = Table(title=f"dead letters ({len(shown)} of {len(letters)})")
    table.add_column("id", no_wrap=True, min_width=8)
    for column in ("refused", "from", "group", "code", "category", "retry", "redriven"):
        table.add_column(column, overflow="fold")
    for d in shown:
        table.add_row(
            d.envelope.event_id[:8],
            d.envelope.occurred_at.strftime("%Y-%m-%d %H:%M:%S"),
            _origin(d),
            d.consumer_group,
            d.failure.code,
            str(d.failure.category),
            "yes" if d.failure.retryable else "no",
            redriven.get(d.envelope.event_id, {}).get("at", ""),
        )
    console.print(table)


def show(
    letter_id: Annotated[str, typer.Argument(help="The dead letter's id (or its start).")],
) -> None:
    """One dead letter: the reason in full, the original record, whether it was redriven."""
    stack = locate(CliSettings())
    letter = _one(_letters(stack), letter_id)
    with _store(stack) as store:
        redriven = _redriven(store, [letter.envelope.event_id]).get(letter.envelope.event_id)
    failure = letter.failure
    console.print(f"[bold]{letter.envelope.event_id}[/bold] refused {letter.envelope.occurred_at}")
    console.print(f"from {_origin(letter)}, consumer group {letter.consumer_group}")
    console.print(
        f"{failure.capability}: {failure.code} ({failure.category},"
        f" {'retryable' if failure.retryable else 'not retryable'})"
    )
    console.print(failure.message, markup=False)
    for step in failure.remediation:
        console.print(f"  - {step}", markup=False)
    kept = "not kept (too large)" if letter.original_value is None else "kept"
    console.print(f"original record: {letter.original_size} bytes, {kept}")
    if letter.original_value is not None:
        try:
            event = default_codec().decode(letter.original_value)
            console.print(f"  decodes as {event.envelope.event_type} {event.envelope.event_id}")
        except DecodeError as exc:
            console.print(f"  does not decode: {exc}", markup=False)
    names = ", ".join(h.key for h in letter.original_headers) or "none"
    console.print(f"  headers: {names}", markup=False)
    if redriven:
        console.print(f"redriven at {redriven['at']} by {redriven['by']}")


def redrive(
    letter_id: Annotated[str, typer.Argument(help="The dead letter's id (or its start).")],
) -> None:
    """Put a dead letter's original record back on its topic, once (after a fix)."""
    stack = locate(CliSettings())
    letter = _one(_letters(stack), letter_id)
    if letter.original_value is None:
        raise TerminalError(
            f"dead letter {letter.envelope.event_id} did not keep its original record"
            f" ({letter.original_size} bytes, above the topic's limit): nothing to redrive",
            capability="cli.dead_letters",
            code="nothing_to_redrive",
        )
    letter_id = letter.envelope.event_id
    record = {
        "dead_letter_id": letter_id,
        "redriven_at": datetime.now(UTC),
        "redriven_by": _operator(),
        "republished_to": _origin(letter),
    }
    with _store(stack) as store:
        with store.transaction() as conn:
            claimed = conn.execute(_CLAIM(conn), record).rowcount == 1
        if not claimed:
            earlier = _redriven(store, [letter.envelope.event_id])[letter.envelope.event_id]
            raise TerminalError(
                f"dead letter {letter.envelope.event_id} was redriven already, at {earlier['at']}",
                capability="cli.dead_letters",
                code="already_redriven",
            )
        try:
            _republish(stack, letter, letter.original_value)
        except Exception:
            with store.transaction() as conn:  # not sent: it may be redriven again
                conn.execute(delete(_REDRIVES).where(_REDRIVES.c.dead_letter_id == letter_id))
            raise
    console.print(
        f"redriven {letter.envelope.event_id}: {len(letter.original_value)} bytes back to"
        f" {letter.source_topic} (was partition {letter.source_partition}, offset"
        f" {letter.source_offset})"
    )


def _operator() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no name for this uid (a container)
        return f"uid {os.getuid()}"


def _republish(stack: StackInfo, letter: DeadLettered, value: bytes) -> None:
    producer = EventProducer(_kafka(stack), default_codec(), client_id="cli-redrive")
    headers: Headers = [(h.key, h.value) for h in letter.original_headers]
    producer.send_raw(letter.source_topic, value, letter.original_key, headers)
    producer.flush(15)


dead_letters_app.command("list")(list_)
dead_letters_app.command()(show)
dead_letters_app.command()(redrive)
