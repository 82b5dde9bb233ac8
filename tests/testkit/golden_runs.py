"""Golden recorded runs: a run's archived messages kept as JSON lines, byte for byte.

A file's first line is a header (the run id, the policy public keys that signed
its decisions, the directory of the bundle that decided them and, for runs
whose personal data is sealed, the master key and the wrapped subject keys
that open it); every other line is one archived message in archive order:
topic, partition, offset and the exact payload bytes (base64).
``tests/golden/runs/regenerate.py`` records them from a real demo run; the tests
replay them as an auditor would.
"""

from __future__ import annotations

import base64
import json
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from io import BytesIO
from pathlib import Path

from fastavro import schemaless_writer

from agentdeck.contracts import MARKER, Codec, Event, SchemaVersion, default_codec
from agentdeck.contracts import models as m
from agentdeck.signing import Signer, decision_message
from agentdeck.store import Store

RUNS = Path(__file__).parents[1] / "golden" / "runs"


@dataclass(frozen=True)
class Message:
    """One archived message."""

    topic: str
    partition: int
    offset: int
    payload: bytes


@dataclass(frozen=True)
class GoldenRun:
    """A recorded run and what verifying it needs."""

    run_id: str
    policy_keys: dict[str, str]
    bundle: Path
    messages: list[Message]
    pii_master: str = ""
    subject_keys: list[dict[str, str]] = field(default_factory=list)
    """``{"kid", "tenant", "wrapped"}`` (base64) of each subject key the run is sealed under."""

    def decode(self, codec: Codec) -> list[Event]:
        """Every message decoded (a golden file holds no bad messages)."""
        return [codec.decode(msg.payload) for msg in self.messages]

    def codec(self) -> Codec:
        """A codec that opens the run's sealed personal data (the plain codec if it has none)."""
        if not self.pii_master:
            return default_codec()
        from agentdeck.privacy import sealing_codec
        from agentdeck.settings import PrivacySettings

        store = Store.open(data_dir=tempfile.mkdtemp(prefix="golden-keys-"))
        now = datetime.now(UTC)
        with store.transaction() as conn:
            for key in self.subject_keys:
                wrapped = base64.b64decode(key["wrapped"])
                store.subject_keys.create(
                    conn, kid=key["kid"], tenant=key["tenant"], wrapped_key=wrapped, now=now
                )
        privacy = PrivacySettings(pii_master_key=self.pii_master)
        return sealing_codec(default_codec(), privacy, store)

    def events(self) -> list[Event]:
        """Every message decoded, personal data opened."""
        return self.decode(self.codec())


def write(path: Path, run: GoldenRun) -> None:
    """Write ``run`` as JSON lines."""
    header: dict[str, object] = {
        "run_id": run.run_id,
        "policy_keys": run.policy_keys,
        "bundle": run.bundle.relative_to(path.parent).as_posix(),
    }
    if run.pii_master:
        header |= {"pii_master": run.pii_master, "subject_keys": run.subject_keys}
    lines = [json.dumps(header, sort_keys=True)]
    lines += [
        json.dumps(
            {
                "topic": msg.topic,
                "partition": msg.partition,
                "offset": msg.offset,
                "payload": base64.b64encode(msg.payload).decode(),
            },
            sort_keys=True,
        )
        for msg in run.messages
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def read(path: Path) -> GoldenRun:
    """The run recorded in ``path``."""
    header, *rows = (json.loads(line) for line in path.read_text("utf-8").splitlines() if line)
    return GoldenRun(
        run_id=header["run_id"],
        policy_keys=header["policy_keys"],
        bundle=path.parent / header["bundle"],
        pii_master=header.get("pii_master", ""),
        subject_keys=header.get("subject_keys", []),
        messages=[
            Message(r["topic"], r["partition"], r["offset"], base64.b64decode(r["payload"]))
            for r in rows
        ],
    )


def policy_decided_v1(payload: bytes, codec: Codec, key: Signer) -> bytes:
    """A PolicyDecided re-written as a v1 writer wrote it, signed over what v1 carries.

    v1 has no call fields (arguments, idempotency key, attempt, expiry): a v1
    policy-checker signed the decision without them, so the signature is made
    again over the v1 event as today's code reads it.
    """
    v1 = codec.registry.get(m.PolicyDecided.EVENT_TYPE, 1)
    names = {f["name"] for f in v1.parsed["fields"]}
    event = codec.decode(payload)
    if not isinstance(event, m.PolicyDecided):
        raise TypeError(f"not a PolicyDecided: {type(event).__name__}")
    envelope = event.envelope.model_copy(update={"schema_version": 1})
    record = event.model_copy(update={"envelope": envelope}).model_dump()
    unsigned = codec.decode(_encode(v1, {**record, "signature": b""}, names))
    if not isinstance(unsigned, m.PolicyDecided):
        raise TypeError("a v1 PolicyDecided decodes as another type")
    signature = key.sign(decision_message(unsigned))
    return _encode(v1, {**record, "signature": signature}, names)


def _encode(version: SchemaVersion, record: dict[str, object], names: set[str]) -> bytes:
    buf = BytesIO()
    buf.write(MARKER)
    buf.write(version.fingerprint)
    schemaless_writer(buf, version.parsed, {k: v for k, v in record.items() if k in names})
    return buf.getvalue()
