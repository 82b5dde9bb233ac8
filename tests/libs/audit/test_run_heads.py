"""Run heads signed together: each checks on its own, none can be altered or moved, and a
verifier checking a whole log checks each batch's signature once."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from agentdeck.audit import RunHead, sign_run_head, sign_run_heads
from agentdeck.signing import Signer, Verifier, generate_private_key

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
KEY = Signer("telemetry-1", generate_private_key())


class CountingVerifier(Verifier):
    """A verifier that counts the signatures it checks."""

    def __init__(self, signer: Signer) -> None:
        super().__init__({signer.key_id: signer.public_key_b64()})
        self.checked = 0

    def verify(self, key_id: str, data: bytes, signature: bytes) -> bool:
        self.checked += 1
        return super().verify(key_id, data, signature)


def batch(runs: int = 7) -> list[RunHead]:
    heads = [(f"run-{n}", n + 1, 10 + n, None if n % 2 else 10 + n) for n in range(runs)]
    return sign_run_heads(KEY, heads, tree_size=40, now=NOW)


def test_each_head_of_a_batch_verifies_on_its_own() -> None:
    heads = batch()
    assert len({head.signature for head in heads}) == 1, "one signature for the batch"
    assert [head.verify(CountingVerifier(KEY)) for head in heads] == [True] * 7
    assert [(h.run_id, h.events, h.last_leaf, h.terminal_leaf) for h in heads][2] == (
        "run-2",
        3,
        12,
        12,
    )


def test_a_verifier_with_seen_checks_each_batch_signature_once() -> None:
    heads = [*batch(), *sign_run_heads(KEY, [("run-x", 1, 41, None)], tree_size=42, now=NOW)]
    verifier, seen = CountingVerifier(KEY), dict[tuple[str, bytes, str], bool]()
    assert all(head.verify(verifier, seen) for head in heads)
    assert verifier.checked == 2


@pytest.mark.parametrize(
    "change",
    [
        {"events": 2},
        {"last_leaf": 99},
        {"terminal_leaf": 13},
        {"tree_size": 41},
        {"run_id": "run-9"},
        {"batch_index": 4},
        {"batch_size": 8},
        {"batch_path": []},
    ],
    ids=lambda change: next(iter(change)),
)
def test_an_altered_head_of_a_batch_fails_even_after_its_batch_was_seen(
    change: dict[str, object],
) -> None:
    heads = batch()
    verifier, seen = CountingVerifier(KEY), dict[tuple[str, bytes, str], bool]()
    assert heads[0].verify(verifier, seen)
    assert not heads[3].model_copy(update=change).verify(verifier, seen)


def test_a_head_of_one_batch_does_not_verify_with_another_batch_s_path() -> None:
    first, second = batch(), batch(4)
    moved = second[1].model_copy(update={"batch_path": first[1].batch_path})
    assert not moved.verify(CountingVerifier(KEY))


def test_a_head_signed_alone_and_a_batch_signature_are_not_interchangeable() -> None:
    alone = sign_run_head(
        KEY, "run-1", tree_size=40, events=2, last_leaf=11, terminal_leaf=None, now=NOW
    )
    assert alone.verify(CountingVerifier(KEY))
    as_batch = alone.model_copy(update={"batch_index": 0, "batch_size": 1, "batch_path": []})
    assert not as_batch.verify(CountingVerifier(KEY))
    batched = batch()[1]
    assert batched.run_id == "run-1"
    unbatched = batched.model_copy(
        update={"batch_index": None, "batch_size": None, "batch_path": None}
    )
    assert not unbatched.verify(CountingVerifier(KEY))


def test_a_batch_signed_by_another_key_fails() -> None:
    other = Signer(KEY.key_id, generate_private_key())
    forged = sign_run_heads(other, [("run-1", 2, 11, None)], tree_size=40, now=NOW)
    assert not forged[0].verify(CountingVerifier(KEY))


def test_an_empty_batch_signs_nothing() -> None:
    assert sign_run_heads(KEY, [], tree_size=40, now=NOW) == []
