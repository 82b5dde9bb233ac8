"""Signed notes and checkpoint notes, byte for byte as c2sp.org/signed-note and tlog-checkpoint.

The known answers are golang.org/x/mod/sumdb/note's own test vectors
(note_test.go: TestSign, TestOpen, TestNewVerifier).
"""

from __future__ import annotations

import base64

import pytest

from agentdeck.audit import (
    NoteMalformed,
    SignedNote,
    TreeHead,
    leaf_hash,
    note_key_id,
    note_verifier_key,
    sign_tree_head,
)
from agentdeck.signing import Signer, generate_private_key

# PRIVATE+KEY+PeterNeumann+c74f20a3+AYEK...: 0x01 || the 32-byte seed.
PETER_SEED = "gQoUAtUUbI2E8kQzMPVAgOv5juF9nHT2JS/F1ccoMXM="
PETER_PUBLIC = "GlzZBxQ8OExB6DDFvOEqqIF+xWSaqr8sMTiLNbLXRNY="
PETER_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
ENOCH_PUBLIC = "O2onvM62pC1io6jQKm8Nc2UyFXcd4kOmOsBIoYtZ2ik="
TEXT = (
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n"
)
PETER_SIG = (
    "\u2014 PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqd"
    "ngotpRZb6KE6RyyBwJnAM=\n"
)
ENOCH_SIG = (
    "\u2014 EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwn"
    "WLox33WWd1RvMc+QQ=\n"
)


def test_signing_reproduces_the_go_note_packages_known_answer():
    peter = Signer("peter", PETER_SEED)
    assert peter.public_key_b64() == PETER_PUBLIC
    assert SignedNote(TEXT).signed("PeterNeumann", peter).render() == TEXT + "\n" + PETER_SIG


def test_the_key_id_and_verifier_key_match_the_go_note_package():
    assert note_key_id("PeterNeumann", PETER_PUBLIC).hex() == "c74f20a3"
    assert note_key_id("EnochRoot", ENOCH_PUBLIC).hex() == "af0cfe78"
    assert note_verifier_key("PeterNeumann", PETER_PUBLIC) == PETER_VKEY


def test_a_note_with_two_signatures_parses_and_each_verifies_under_its_own_key():
    note = SignedNote.parse(TEXT + "\n" + PETER_SIG + ENOCH_SIG)
    assert note.text == TEXT
    assert [s.name for s in note.signatures] == ["PeterNeumann", "EnochRoot"]
    assert note.verified_by("PeterNeumann", PETER_PUBLIC) is True
    assert note.verified_by("EnochRoot", ENOCH_PUBLIC) is True
    assert note.verified_by("EnochRoot", PETER_PUBLIC) is None  # same name, another key
    assert note.render() == TEXT + "\n" + PETER_SIG + ENOCH_SIG


def test_a_signature_of_a_known_key_over_another_text_fails():
    note = SignedNote.parse(TEXT.replace("answer", "riddle") + "\n" + PETER_SIG)
    assert note.verified_by("PeterNeumann", PETER_PUBLIC) is False


@pytest.mark.parametrize(
    "bad",
    [
        TEXT,
        TEXT + "\n",
        TEXT + "\n" + PETER_SIG[:-1],
        "\x01" + TEXT + "\n" + PETER_SIG,
        TEXT + "\n" + PETER_SIG.replace("PeterNeumann", "Bad Name"),
        TEXT + "\n" + PETER_SIG + "Unexpected line.\n",
        TEXT + "\n" + PETER_SIG.replace("PeterNeumann", "Peter+Neumann"),
        TEXT + "\n" + "\u2014 PeterNeumann AAAA\n",
        TEXT + "\n" + PETER_SIG[:-1] + "\u2028" + ENOCH_SIG,
        TEXT + "\n\n",
    ],
)
def test_malformed_notes_are_refused(bad):
    with pytest.raises(NoteMalformed):
        SignedNote.parse(bad)


def test_the_tlog_checkpoint_specs_example_text_reads_as_a_tree_head():
    text = "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
    head = TreeHead.from_text(text)
    assert (head.origin, head.tree_size) == ("example.com/behind-the-sofa", 20852163)
    assert head.text() == text
    assert TreeHead.from_text(text + "an extension line\n") == head


@pytest.mark.parametrize(
    "text",
    [
        "origin\n12\n",
        "origin\n012\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",
        "origin\n-1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",
        "origin\n12\nnot base64!\n",
        "origin\n12\nAAAA\n",
        "origin\n12\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=",
    ],
)
def test_a_malformed_checkpoint_text_is_refused(text):
    with pytest.raises(NoteMalformed):
        TreeHead.from_text(text)


def test_a_checkpoint_note_is_signed_under_its_origin_and_survives_a_round_trip():
    key = Signer("telemetry-1", generate_private_key())
    head = TreeHead("agentdeck.acme/audit", 9, leaf_hash(b"root"))
    note = sign_tree_head(key, head)
    rendered = note.render()
    root = base64.b64encode(head.root).decode()
    assert rendered.startswith(f"agentdeck.acme/audit\n9\n{root}\n\n")
    assert rendered.split("\n")[4].startswith("\u2014 agentdeck.acme/audit ")
    parsed = SignedNote.parse(rendered)
    assert TreeHead.from_text(parsed.text) == head
    assert parsed.verified_by("agentdeck.acme/audit", key.public_key_b64()) is True


def test_cosigning_adds_a_line_and_re_signing_replaces_the_keys_own():
    log = Signer("telemetry-1", generate_private_key())
    witness = Signer("w", generate_private_key())
    note = sign_tree_head(log, TreeHead("o.example/log", 3, leaf_hash(b"r")))
    cosigned = note.signed("witness.example/w", witness).signed("witness.example/w", witness)
    assert [s.name for s in cosigned.signatures] == ["o.example/log", "witness.example/w"]
    assert cosigned.verified_by("witness.example/w", witness.public_key_b64()) is True
