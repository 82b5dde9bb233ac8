"""A run's proof bundle checks on its own, and each kind of tampering names itself."""

from __future__ import annotations

import base64
import dataclasses
import json
from datetime import timedelta

import pytest

from agentdeck.audit import (
    TERMINAL_EVENT_TYPES,
    BundleUnreadable,
    ProofBundle,
    RunHead,
    build_bundle,
    log_events,
    root_hash,
    sign_checkpoint,
    sign_run_head,
    verify_bundle,
)
from agentdeck.contracts import models as m
from agentdeck.signing import Signer, generate_private_key
from agentdeck.store import ArchivedEvent
from testkit.archive import NOW, archived_event


def event(seq: int, run_id: str) -> ArchivedEvent:
    return archived_event(seq, run_id, headers=(("traceparent", b"00-abc-01"), ("empty", None)))


@pytest.fixture
def key() -> Signer:
    """The genuine checkpoint key; the auditor trusts its public half."""
    return Signer("telemetry-1", generate_private_key())


@pytest.fixture
def archive() -> list[ArchivedEvent]:
    return [event(seq, "run-a" if seq % 3 == 0 else "run-b") for seq in range(1, 20)]


EARLIER = NOW - timedelta(minutes=5)


def head_of(archive: list[ArchivedEvent], key: Signer, size: int) -> RunHead:
    """Run a's head as the checkpointer signs it at tree size ``size``."""
    mine = [i for i, e in enumerate(archive[:size]) if e.run_id == "run-a"]
    terminal = [i for i in mine if archive[i].event_type in TERMINAL_EVENT_TYPES]
    return sign_run_head(
        key,
        "run-a",
        tree_size=size,
        events=len(mine),
        last_leaf=mine[-1],
        terminal_leaf=terminal[0] if terminal else None,
        now=NOW,
    )


def bundle_of(
    archive: list[ArchivedEvent], key: Signer, size: int | None = None, *, version: int = 2
) -> ProofBundle:
    size = len(archive) if size is None else size
    leaves = log_events(archive, 0, {}, version=version)
    hashes = [x.leaf_hash for x in leaves]
    cp = sign_checkpoint(key, size, root_hash(hashes[:size]), NOW)
    run = [e for e in archive if e.run_id == "run-a"]
    head = head_of(archive, key, size)
    first_leaf = next(i for i, e in enumerate(archive) if e.run_id == "run-a")
    first = sign_checkpoint(key, first_leaf + 1, root_hash(hashes[: first_leaf + 1]), EARLIER)
    return build_bundle(
        "run-a", run, leaves, cp, key.public_key_b64(), run_head=head, first_checkpoint=first
    )


def completed(archive: list[ArchivedEvent]) -> list[ArchivedEvent]:
    """The archive with run a's last event turned into its RunCompleted."""
    last = max(i for i, e in enumerate(archive) if e.run_id == "run-a")
    ended = dataclasses.replace(archive[last], event_type=m.RunCompleted.EVENT_TYPE)
    return [*archive[:last], ended, *archive[last + 1 :]]


def failures_of(bundle: ProofBundle, trusted: Signer) -> list[str]:
    """The failures an auditor trusting ``trusted`` sees in the bundle as written to a file."""
    as_read = ProofBundle.parse(bundle.model_dump_json())
    return verify_bundle(as_read, trusted_keys={trusted.key_id: trusted.public_key_b64()}).failures


def test_an_untouched_bundle_verifies_on_its_own(archive, key):
    bundle = bundle_of(archive, key)
    assert len(bundle.events) == 6
    assert failures_of(bundle, key) == []


def test_a_bundle_from_a_log_of_the_first_leaf_encoding_verifies_as_written_then(archive, key):
    """Bundles exported before leaves covered the stored row carry no leaf version."""
    bundle = bundle_of(archive, key, version=1)
    written = json.loads(bundle.model_dump_json())
    for entry in written["events"]:
        assert entry.pop("leaf_version") == 1
    assert failures_of(ProofBundle.parse(json.dumps(written)), key) == []
    said_otherwise = [e.model_copy(update={"leaf_version": 2}) for e in bundle.events]
    failures = failures_of(bundle.model_copy(update={"events": said_otherwise}), key)
    altered = [f for f in failures if "was altered" in f]
    assert len(altered) == len(bundle.events), "each leaf is only its own encoding's"


def test_flipping_one_payload_byte_names_the_altered_event(archive, key):
    bundle = bundle_of(archive, key)
    victim = bundle.events[2]
    payload = bytearray(base64.b64decode(victim.payload_b64))
    payload[-1] ^= 0x01
    flipped = victim.model_copy(update={"payload_b64": base64.b64encode(payload).decode()})
    events = [*bundle.events[:2], flipped, *bundle.events[3:]]
    failures = failures_of(bundle.model_copy(update={"events": events}), key)
    assert failures == [
        (
            f"event {victim.event_id} (leaf {victim.leaf_index}) was altered or is not at that "
            "leaf: its inclusion proof does not lead to the checkpoint's root"
        )
    ]


def test_reordering_two_events_is_reported_as_a_reorder(archive, key):
    bundle = bundle_of(archive, key)
    events = list(bundle.events)
    events[1], events[2] = events[2], events[1]
    failures = failures_of(bundle.model_copy(update={"events": events}), key)
    assert (
        f"events reordered: event {events[2].event_id} (leaf {events[2].leaf_index}) is "
        f"listed after event {events[1].event_id} (leaf {events[1].leaf_index})"
    ) in failures
    assert not any("altered" in failure for failure in failures)


def test_deleting_an_event_of_the_run_shows_the_gap_in_its_chain(archive, key):
    bundle = bundle_of(archive, key)
    gone, after = bundle.events[2], bundle.events[3]
    events = [e for e in bundle.events if e is not gone]
    failures = failures_of(bundle.model_copy(update={"events": events}), key)
    assert failures == [
        (
            f"event {after.event_id} (leaf {after.leaf_index}) follows leaf {gone.leaf_index} of "
            f"its run, not leaf {bundle.events[1].leaf_index}: an event of the run was removed "
            "or reordered"
        ),
        "the bundle holds 5 events of run run-a; its signed run head counts 6",
    ]


def test_deleting_the_runs_first_event_is_reported(archive, key):
    bundle = bundle_of(archive, key)
    first, second = bundle.events[0], bundle.events[1]
    failures = failures_of(bundle.model_copy(update={"events": bundle.events[1:]}), key)
    assert failures == [
        (
            f"event {second.event_id} (leaf {second.leaf_index}) follows leaf {first.leaf_index} "
            "of its run, which the bundle lacks: the run's earlier events were removed"
        ),
        "the bundle holds 5 events of run run-a; its signed run head counts 6",
        (
            f"the checkpoint that first covered the run (tree size 3) precedes the bundle's "
            f"first event (leaf {second.leaf_index}): it covered an earlier event of the run, "
            "which the bundle lacks"
        ),
    ]


def test_a_checkpoint_swapped_for_another_genuine_one_is_reported(archive, key):
    bundle = bundle_of(archive, key)
    older = bundle_of(archive, key, size=17).checkpoint
    failures = failures_of(bundle.model_copy(update={"checkpoint": older}), key)
    assert (
        "no event's inclusion proof leads to the checkpoint's root: "
        "the checkpoint was swapped for one these proofs were not made against"
    ) in failures
    assert (
        "the run head (tree size 19) is newer than the checkpoint (tree size 17): "
        "the bundle proves its events against an older log"
    ) in failures


def test_an_altered_checkpoint_fails_its_signature(archive, key):
    bundle = bundle_of(archive, key)
    forged = bundle.checkpoint.model_copy(update={"tree_size": 18})
    failures = failures_of(bundle.model_copy(update={"checkpoint": forged}), key)
    assert failures[0] == (
        "the checkpoint (tree size 18) does not verify under the trusted key 'telemetry-1': "
        "it was altered, swapped or signed by another key"
    )


def test_a_bundle_rebuilt_and_signed_with_a_key_of_its_own_is_refused(archive, key):
    forger = Signer("telemetry-1", generate_private_key())
    forged = bundle_of(archive, forger)  # genuine events, re-proven, the forger's key inside
    assert verify_bundle(forged, trusted_keys={forger.key_id: forger.public_key_b64()}).ok
    assert failures_of(forged, key) == [
        "the bundled public key is not the trusted key 'telemetry-1'",
        (
            "the checkpoint (tree size 19) does not verify under the trusted key 'telemetry-1': "
            "it was altered, swapped or signed by another key"
        ),
        (
            "the run head of run-a does not verify under a trusted key ('telemetry-1'): "
            "it was altered or forged"
        ),
        (
            "the checkpoint that first covered the run (tree size 3) does not verify under a "
            "trusted key: forged or altered"
        ),
    ]


def test_a_bundle_checks_nothing_without_a_trusted_key(archive, key):
    report = verify_bundle(bundle_of(archive, key), trusted_keys={})
    assert report.failures == ["unverified: no trusted key"]


def test_a_checkpoint_under_a_key_id_the_auditor_does_not_know_is_refused(archive, key):
    other = Signer("telemetry-9", generate_private_key())
    failures = failures_of(bundle_of(archive, other), key)
    assert failures == [
        (
            "the checkpoint is signed under key 'telemetry-9', which is not among the trusted "
            "keys (telemetry-1)"
        ),
        (
            "the run head of run-a does not verify under a trusted key ('telemetry-9'): "
            "it was altered or forged"
        ),
        (
            "the checkpoint that first covered the run (tree size 3) does not verify under a "
            "trusted key: forged or altered"
        ),
    ]


def test_a_bundle_whose_events_were_all_removed_fails(archive, key):
    bundle = bundle_of(archive, key).model_copy(update={"events": []})
    assert failures_of(bundle, key) == [
        "the bundle holds no events of run run-a",
        (
            "the run's last event (leaf 17, per its signed run head) is missing: the bundle "
            "holds none; events were cut off the end of run run-a"
        ),
        "the bundle holds 0 events of run run-a; its signed run head counts 6",
    ]


def test_a_truncated_bundle_file_is_not_readable(archive, key):
    text = bundle_of(archive, key).model_dump_json()
    with pytest.raises(BundleUnreadable, match="not a readable proof bundle"):
        ProofBundle.parse(text[: len(text) // 2])


def test_patching_the_chain_to_hide_a_deletion_breaks_the_proof(archive, key):
    bundle = bundle_of(archive, key)
    gone, after = bundle.events[2], bundle.events[3]
    patched = after.model_copy(update={"run_prev": bundle.events[1].leaf_index})
    events = [*bundle.events[:2], patched, *bundle.events[4:]]
    failures = failures_of(bundle.model_copy(update={"events": events}), key)
    assert gone.event_id not in " ".join(failures)
    assert failures == [
        (
            f"event {after.event_id} (leaf {after.leaf_index}) was altered or is not at that "
            "leaf: its inclusion proof does not lead to the checkpoint's root"
        ),
        "the bundle holds 5 events of run run-a; its signed run head counts 6",
    ]


def test_a_complete_run_says_so_and_names_its_terminal_event(archive, key):
    bundle = bundle_of(completed(archive), key)
    report = verify_bundle(bundle, trusted_keys={key.key_id: key.public_key_b64()})
    assert report.failures == []
    assert report.notes == [
        (
            f"complete: run run-a as of tree size 19 ({NOW.isoformat()}): 6 events, the last "
            "at leaf 17, ended at leaf 17 (RunCompleted)"
        ),
        (
            "the log at tree size 19 extends, unchanged, the one that first covered the run "
            f"(tree size 3, {EARLIER.isoformat()})"
        ),
    ]


def test_cutting_the_last_events_off_a_complete_run_names_what_is_missing(archive, key):
    bundle = bundle_of(completed(archive), key)
    cut = bundle.model_copy(update={"events": bundle.events[:-2]})
    assert failures_of(cut, key) == [
        (
            "the run's last event (leaf 17, per its signed run head) is missing: the bundle "
            "ends at leaf 11; events were cut off the end of run run-a"
        ),
        "the run's terminal event (leaf 17, per its signed run head) is missing",
        "the bundle holds 4 events of run run-a; its signed run head counts 6",
    ]


def test_cutting_the_last_event_off_an_open_run_names_it(archive, key):
    bundle = bundle_of(archive, key)
    cut = bundle.model_copy(update={"events": bundle.events[:-1]})
    assert failures_of(cut, key) == [
        (
            "the run's last event (leaf 17, per its signed run head) is missing: the bundle "
            "ends at leaf 14; events were cut off the end of run run-a"
        ),
        "the bundle holds 5 events of run run-a; its signed run head counts 6",
    ]


def test_an_open_run_verifies_as_open(archive, key):
    report = verify_bundle(bundle_of(archive, key), trusted_keys={key.key_id: key.public_key_b64()})
    assert report.ok, report.failures
    status, _history = report.notes
    assert status.startswith("complete as of tree size 19, but the run was still OPEN")


def test_a_bundle_without_a_run_head_does_not_prove_its_end(archive, key):
    bundle = bundle_of(archive, key).model_copy(update={"run_head": None})
    assert failures_of(bundle, key) == [
        (
            "the bundle carries no signed run head: nothing proves it holds every event of "
            "run run-a (events may have been cut off its end)"
        )
    ]


def test_a_run_head_rewritten_to_match_a_cut_bundle_fails_its_signature(archive, key):
    bundle = bundle_of(completed(archive), key)
    kept = bundle.events[:-1]
    head = bundle.run_head
    assert head is not None
    forged = head.model_copy(
        update={"events": 5, "last_leaf": kept[-1].leaf_index, "terminal_leaf": None}
    )
    cut = bundle.model_copy(update={"events": kept, "run_head": forged})
    assert failures_of(cut, key) == [
        (
            "the run head of run-a does not verify under a trusted key ('telemetry-1'): "
            "it was altered or forged"
        )
    ]


def test_a_run_head_signed_by_an_untrusted_key_is_refused(archive, key):
    bundle = bundle_of(archive, key)
    forger = Signer("telemetry-1", generate_private_key())
    kept = bundle.events[:-1]
    forged = head_of(archive[: kept[-1].leaf_index + 1], forger, 19)
    cut = bundle.model_copy(update={"events": kept, "run_head": forged})
    assert failures_of(cut, key)[0] == (
        "the run head of run-a does not verify under a trusted key ('telemetry-1'): "
        "it was altered or forged"
    )


def test_a_first_checkpoint_the_bundles_log_does_not_extend_is_reported(archive, key):
    bundle = bundle_of(archive, key)
    rewritten = [*archive[:1], event(99, "run-b"), *archive[2:]]
    other = bundle_of(rewritten, key).first_checkpoint  # a log whose history differs
    failures = failures_of(bundle.model_copy(update={"first_checkpoint": other}), key)
    assert failures == [
        (
            "the checkpoint that first covered the run (tree size 3) is not a prefix of the "
            "bundle's checkpoint (tree size 19): the log was rewritten in between, or the proof "
            "was altered"
        )
    ]


def test_a_bundle_without_a_consistency_proof_says_so(archive, key):
    bundle = bundle_of(archive, key).model_copy(update={"first_checkpoint": None})
    report = verify_bundle(bundle, trusted_keys={key.key_id: key.public_key_b64()})
    assert report.ok
    assert report.notes[-1] == (
        "the bundle carries no consistency proof from the run's first checkpoint"
    )


def test_an_unusable_trusted_key_leaves_the_bundle_unverified(archive, key):
    report = verify_bundle(bundle_of(archive, key), trusted_keys={"telemetry-1": "bm90IGEga2V5"})
    [failure] = report.failures
    assert failure.startswith("unverified: a trusted key is unusable: ")
