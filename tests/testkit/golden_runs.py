"""Golden recorded runs: a run's archived messages kept as JSON lines, byte for byte.

A file's first line is a header (the run id, the policy public keys that signed
its decisions, the directory of the bundle that decided them); every other line
is one archived message in archive order: topic, partition, offset and the
exact payload bytes (base64). ``tests/golden/runs/regenerate.py`` records them
from a real demo run; the tests replay them as an auditor would.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path

from fastavro import schemaless_writer

from agentdeck.contracts import MARKER, Codec, Event, SchemaVersion
from agentdeck.contracts import models as m
from agentdeck.signing import Signer, decision_message

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

    def decode(self, codec: Codec) -> list[Event]:
        """Every message decoded (a golden file holds no bad messages)."""
        return [codec.decode(msg.payload) for msg in self.messages]


def write(path: Path, run: GoldenRun) -> None:
    """Write ``run`` as JSON lines."""
    header = {
        "run_id": run.run_id,
        "policy_keys": run.policy_keys,
        "bundle": run.bundle.relative_to(path.parent).as_posix(),
    }
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
