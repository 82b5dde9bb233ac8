"""``agentdeck audit``: check the archive against its signed Merkle log, export proof bundles."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from sqlalchemy import Connection

from agentdeck.audit import (
    AuditReport,
    Checkpoint,
    Completeness,
    LeafChunk,
    LeafRow,
    LoggedLeaf,
    ProofBundle,
    ReferenceCollector,
    SignedNote,
    VerificationFailed,
    build_bundle,
    key_fingerprint,
    note_verifier_key,
    open_checkpoint,
    payload_failures,
    verify_bundle,
    verify_sources,
    witness,
)
from agentdeck.cli.audit_keys import NoTrustedKey, trusted_keys
from agentdeck.cli.audit_witness import StoreLog, append_state, last_recorded
from agentdeck.cli.settings import CliSettings
from agentdeck.contracts import default_codec
from agentdeck.errors import ConfigError
from agentdeck.forking import rare_collections
from agentdeck.runtime import utc_now
from agentdeck.signing import Signer, Verifier
from agentdeck.store import AuditRecord, Store, StoredBytes
from agentdeck.telemetry.adapters.merkle import MerkleLogStore

__all__ = ["audit_app", "verify_archive"]

audit_app = typer.Typer(
    name="audit", help="Tamper evidence: verify the archive, export and check proof bundles."
)
console = Console(soft_wrap=True)  # hashes and ids stay on one line

DatabaseUrl = Annotated[
    str | None, typer.Option(help="Store URL; default: the configured or embedded store.")
]
PublicKeys = Annotated[
    list[str] | None,
    typer.Option("--public-key", help="Trusted checkpoint key as KEY_ID=BASE64 (repeatable)."),
]
TrustedKeyFile = Annotated[
    Path | None,
    typer.Option(
        "--trusted-keys",
        help="JSON file of trusted checkpoint keys, KEY_ID -> BASE64. Default, when neither "
        "this nor --public-key is given: the embedded stack's key file in the data dir.",
    ),
]

MaxLagEvents = Annotated[
    int,
    typer.Option(min=0, help="Archived events the latest signed checkpoint may leave uncovered."),
]
MaxLagSeconds = Annotated[
    float,
    typer.Option(
        min=0,
        help="Seconds the newest archived event may follow the latest signed checkpoint.",
    ),
]


def _open(database_url: str | None) -> Store:
    settings = CliSettings()
    url = settings.store.database_url if database_url is None else database_url
    return Store.open(url, data_dir=settings.store.data_dir, upgrade=False)


def _trusted(public_key: list[str] | None, key_file: Path | None) -> dict[str, str]:
    """The verifier's trusted keys, said aloud; "unverified: no trusted key" without any."""
    try:
        trust = trusted_keys(public_key, key_file, Path(CliSettings().store.data_dir))
    except NoTrustedKey as exc:
        console.print(f"[red]{exc}[/red]")
        raise
    for key_id, b64 in sorted(trust.keys.items()):
        console.print(
            f"trusting checkpoint key {key_id!r} (fingerprint {key_fingerprint(b64)}) "
            f"from {trust.source}"
        )
    return trust.keys


@contextmanager
def _own_store(store: Store, pid: int) -> Iterator[Store]:
    """``store``, or in a forked reader (``pid`` is not this process) an engine of its own."""
    if os.getpid() == pid:
        yield store
        return
    store.engine.dispose(close=False)  # the parent's connections stay the parent's
    own = Store.open(store.engine.url.render_as_string(hide_password=False), upgrade=False)
    try:
        yield own
    finally:
        own.close()


class _StoreArchive:
    """The store's archive as an :class:`ArchiveSource`: ranges read from forked processes too."""

    def __init__(self, store: Store) -> None:
        self._store, self._pid = store, os.getpid()

    def seq_splits(self, parts: int) -> list[int]:
        with self._store.transaction(read_only=True) as conn:
            return self._store.archive.seq_splits(conn, parts)

    @contextmanager
    def records(self, after_seq: int, through_seq: int | None) -> Iterator[Iterator[AuditRecord]]:
        with _own_store(self._store, self._pid) as store, store.transaction(read_only=True) as conn:
            pages = store.archive.audit_pages(conn, after_seq=after_seq, through_seq=through_seq)
            yield (row for page in pages for row in page)

    @contextmanager
    def stored_pages(
        self, after_seq: int, through_seq: int | None
    ) -> Iterator[Iterator[list[StoredBytes]]]:
        with _own_store(self._store, self._pid) as store, store.transaction(read_only=True) as conn:
            archive = store.archive
            yield archive.stored_pages(conn, after_seq=after_seq, through_seq=through_seq)


class _StoreLog:
    """Telemetry's Merkle log in the store as a :class:`LogSource` (forked readers too)."""

    def __init__(self, store: Store) -> None:
        self._store, self._pid = store, os.getpid()
        self._log = MerkleLogStore()

    def chunk_starts(self) -> list[int]:
        with self._store.transaction(read_only=True) as conn:
            return self._log.chunk_starts(conn)

    def leaf_seq(self, index: int) -> int | None:
        with self._store.transaction(read_only=True) as conn:
            return self._log.leaf_seq(conn, index)

    @contextmanager
    def leaf_rows(self, first: int, end: int | None) -> Iterator[Iterator[LeafRow]]:
        with _own_store(self._store, self._pid) as store, store.transaction(read_only=True) as conn:
            yield self._log.leaf_rows(conn, first, end)

    @contextmanager
    def leaf_chunks(self, first: int, end: int | None) -> Iterator[Iterator[LeafChunk]]:
        with _own_store(self._store, self._pid) as store, store.transaction(read_only=True) as conn:
            yield self._log.leaf_chunks(conn, first, end)


def verify_archive(store: Store, verifier: Verifier, completeness: Completeness) -> AuditReport:
    """``audit verify`` on ``store``: the archive against its log, and the payloads it names.

    The log and the archive are read in ranges, one process per CPU.
    """
    log = MerkleLogStore()
    refs = ReferenceCollector(default_codec())
    with rare_collections():  # a run head per run, a row per event: few cycles among them
        # One state of the store: a checkpoint committed between the two reads would make the
        # heads it signed look signed beyond the latest checkpoint (a log cut back).
        with store.transaction(read_only=True, snapshot=True) as conn:
            checkpoints, run_heads = log.checkpoints(conn), log.all_run_heads(conn)
        report = verify_sources(
            checkpoints,
            _StoreLog(store),
            _StoreArchive(store),
            verifier,
            completeness=completeness,
            run_heads=run_heads,
            references=refs,
        )
    with store.transaction(read_only=True) as conn:
        _payload_check(store, conn, report, refs)
    return report


def _print(report: AuditReport, what: str) -> None:
    for note in report.notes:
        console.print(f"note: {note}")
    for failure in report.failures:
        console.print(f"[red]FAILED[/red] {failure}")
    if not report.ok:
        raise VerificationFailed(f"{what}: {len(report.failures)} failure(s), listed above")
    payloads = f"{report.payloads} payload(s), " if report.payloads else ""
    console.print(
        f"verified: {what}: {report.events} events, {payloads}{report.checkpoints} checkpoint(s)"
    )


def _payload_check(
    store: Store, conn: Connection, report: AuditReport, refs: ReferenceCollector
) -> None:
    """Every payload an archived event references is stored and hashes to the reference."""
    stored = store.payloads.fetch(conn, refs.referenced.keys())
    available = {digest: payload.data for digest, payload in stored.items()}
    report.payloads = len(refs.referenced)
    report.failures += payload_failures(refs.referenced, available, "payload store")


@audit_app.command()
def verify(
    database_url: DatabaseUrl = None,
    public_key: PublicKeys = None,
    trusted_keys_file: TrustedKeyFile = None,
    max_lag_events: MaxLagEvents = Completeness.max_lag_events,
    max_lag_seconds: MaxLagSeconds = Completeness.max_lag_s,
) -> None:
    """Check every archived event and checkpoint against the Merkle log, offline.

    Fails unless a valid signed checkpoint covers the archive up to its end,
    within the allowed lag.
    """
    allowed = Completeness(max_lag_events=max_lag_events, max_lag_s=max_lag_seconds)
    trusted = _trusted(public_key, trusted_keys_file)
    store = _open(database_url)
    try:
        report = verify_archive(store, Verifier(trusted), allowed)
    finally:
        store.close()
    _print(report, "archive")


@audit_app.command()
def export(
    run_id: Annotated[str, typer.Argument(help="The run to export.")],
    out: Annotated[Path, typer.Option(help="Where to write the bundle (JSON).")],
    database_url: DatabaseUrl = None,
) -> None:
    """Write a self-contained proof bundle of one run against the latest checkpoint.

    It carries the run's signed run head, which proves it holds every event
    of the run (to its terminal event, or says the run is open).
    """
    store = _open(database_url)
    log = MerkleLogStore()
    try:
        # One state of the store: the run head and leaves of the checkpoint the bundle is for.
        with store.transaction(read_only=True, snapshot=True) as conn:
            checkpoints = log.checkpoints(conn)
            if not checkpoints:
                raise ConfigError("no checkpoint yet: is telemetry's checkpoint task running?")
            cp = max(checkpoints, key=lambda c: c.tree_size)
            leaves = log.leaves(conn)
            run_events = store.archive.read_run(conn, run_id)
            head = log.run_heads(conn, [run_id]).get(run_id)
            key = log.published_keys(conn).get(cp.key_id)
            refs = ReferenceCollector(default_codec())
            for event in run_events:
                refs.add(event.event_id, event.payload)
            payloads = store.payloads.fetch(conn, refs.referenced.keys()).values()
    finally:
        store.close()
    if key is None:
        raise ConfigError(f"the public key {cp.key_id!r} was never published")
    first = _first_checkpoint(checkpoints, leaves, {e.event_id for e in run_events})
    bundle = build_bundle(
        run_id,
        run_events,
        leaves,
        cp,
        key,
        run_head=head,
        first_checkpoint=first,
        payloads=payloads,
    )
    if not bundle.events:
        raise ConfigError(f"no events of run {run_id} are covered by the latest checkpoint")
    if head is None:
        console.print(
            f"note: run {run_id} has no signed run head (logged before run heads were signed): "
            "the bundle cannot prove it holds the run's last events"
        )
    else:
        console.print(f"note: {head.describe()}")
    out.write_text(bundle.model_dump_json(indent=1), encoding="utf-8")
    console.print(f"wrote {out}: {len(bundle.events)} events of {run_id}, tree size {cp.tree_size}")


def _first_checkpoint(
    checkpoints: list[Checkpoint], leaves: list[LoggedLeaf], run_event_ids: set[str]
) -> Checkpoint | None:
    """The checkpoint that first covered the run's first logged event."""
    first_leaf = next((leaf.index for leaf in leaves if leaf.event_id in run_event_ids), None)
    if first_leaf is None:
        return None
    covering = [cp for cp in checkpoints if cp.tree_size > first_leaf]
    return min(covering, key=lambda cp: cp.tree_size, default=None)


@audit_app.command("verify-bundle")
def verify_bundle_command(
    path: Annotated[Path, typer.Argument(help="A bundle written by `audit export`.")],
    public_key: PublicKeys = None,
    trusted_keys_file: TrustedKeyFile = None,
) -> None:
    """Check a proof bundle with nothing but the bundle and the checkpoint key you trust."""
    trusted = _trusted(public_key, trusted_keys_file)
    bundle = ProofBundle.parse(path.read_text(encoding="utf-8"))
    console.print(
        f"run {bundle.run_id}: checkpoint key {bundle.checkpoint.key_id!r}, bundled key's "
        f"fingerprint {key_fingerprint(bundle.public_key)}"
    )
    _print(verify_bundle(bundle, trusted_keys=trusted), f"bundle of {bundle.run_id}")


@audit_app.command()
def checkpoint(database_url: DatabaseUrl = None) -> None:
    """Print the latest checkpoint as a signed C2SP checkpoint note (for witnesses, note tools)."""
    typer.echo(StoreLog(lambda: _open(database_url)).latest_note(), nl=False)


@audit_app.command("witness")
def witness_command(
    *,
    state: Annotated[Path, typer.Option(help="The witness's own record of checkpoints seen.")],
    note: Annotated[
        Path | None,
        typer.Option(
            exists=True, dir_okay=False, help="A checkpoint note file; default: the store's latest."
        ),
    ] = None,
    database_url: DatabaseUrl = None,
    public_key: PublicKeys = None,
    trusted_keys_file: TrustedKeyFile = None,
    cosign_key: Annotated[
        Path | None,
        typer.Option(
            exists=True,
            dir_okay=False,
            help="File holding the witness's Ed25519 private key, base64.",
        ),
    ] = None,
    cosign_name: Annotated[
        str, typer.Option(help="Key name of the witness's signature line.")
    ] = "witness.agentdeck/1",
) -> None:
    """Check the latest checkpoint extends the last one this witness saw, then record it.

    Fails on a rollback (a smaller tree), a fork (same size, other root) or a
    rewritten history (no consistency proof from the recorded tree).
    """
    trusted = _trusted(public_key, trusted_keys_file)
    log = StoreLog(lambda: _open(database_url))
    signed = SignedNote.parse(note.read_text(encoding="utf-8") if note else log.latest_note())
    head = open_checkpoint(signed, trusted)
    for key_id, b64 in sorted(trusted.items()):
        console.print(f"note verifier key of {key_id!r}: {note_verifier_key(head.origin, b64)}")
    said = witness(last_recorded(state), head, log.consistency_proof)
    if cosign_key is not None:
        private = cosign_key.read_text(encoding="utf-8").strip()
        signed = signed.signed(cosign_name, Signer(cosign_name, private))
    append_state(state, signed, utc_now())
    console.print(f"witnessed {head.origin}: {said}; recorded in {state}")
