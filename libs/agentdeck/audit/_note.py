"""C2SP signed notes (c2sp.org/signed-note) with Ed25519 signatures.

A note is a text ending in a newline, a blank line, then one signature line
per key: ``— <key name> <base64(key id || signature)>``. The key id is the
first four bytes of ``SHA-256(key name || 0x0A || 0x01 || public key)``;
the signature is Ed25519 over the text. The same bytes as
``golang.org/x/mod/sumdb/note``, so third parties verify with standard tooling.
"""

from __future__ import annotations

import base64
import hashlib
import re
from dataclasses import dataclass

from agentdeck.audit.errors import AuditError
from agentdeck.signing import Signer, Verifier

__all__ = [
    "NoteMalformed",
    "NoteSignature",
    "SignedNote",
    "note_key_id",
    "note_verifier_key",
]

_ED25519 = b"\x01"
_DASH = "\u2014 "
_CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f]")
_MAX_SIGNATURES = 100


class NoteMalformed(AuditError):
    """A text is not a signed note: bad framing, characters, names or signature lines."""


def _valid_name(name: str) -> bool:
    return bool(name) and "+" not in name and not any(c.isspace() for c in name)


def note_key_id(name: str, public_key_b64: str) -> bytes:
    """The 4-byte key id of an Ed25519 key under ``name``."""
    public = base64.b64decode(public_key_b64, validate=True)
    return hashlib.sha256(name.encode() + b"\n" + _ED25519 + public).digest()[:4]


def note_verifier_key(name: str, public_key_b64: str) -> str:
    """The key as ``note.NewVerifier`` takes it: ``<name>+<key id hex>+<base64(0x01 || key)>``."""
    public = base64.b64decode(public_key_b64, validate=True)
    encoded = base64.b64encode(_ED25519 + public).decode()
    return f"{name}+{note_key_id(name, public_key_b64).hex()}+{encoded}"


@dataclass(frozen=True)
class NoteSignature:
    """One signature line: who (name and key id) and the raw Ed25519 signature."""

    name: str
    key_id: bytes
    signature: bytes

    def line(self) -> str:
        """The line as written in the note, newline included."""
        return f"{_DASH}{self.name} {base64.b64encode(self.key_id + self.signature).decode()}\n"


@dataclass(frozen=True)
class SignedNote:
    """A note's text and its signature lines, in order."""

    text: str
    signatures: tuple[NoteSignature, ...] = ()

    def render(self) -> str:
        """The note as a file holds it."""
        return self.text + "\n" + "".join(s.line() for s in self.signatures)

    def signed(self, name: str, signer: Signer) -> SignedNote:
        """This note signed by ``signer`` under ``name`` (replacing that key's earlier line)."""
        if not _valid_name(name):
            raise NoteMalformed(f"{name!r} cannot name a note key (empty, space or '+')")
        key_id = note_key_id(name, signer.public_key_b64())
        mine = NoteSignature(name, key_id, signer.sign(self.text.encode()))
        others = tuple(s for s in self.signatures if (s.name, s.key_id) != (name, key_id))
        return SignedNote(self.text, (*others, mine))

    def verified_by(self, name: str, public_key_b64: str) -> bool | None:
        """Whether the key's signature verifies: None if the note carries no line of that key."""
        verifier = Verifier({name: public_key_b64})  # ConfigError if it is no Ed25519 key
        key_id = note_key_id(name, public_key_b64)
        lines = [s for s in self.signatures if s.name == name and s.key_id == key_id]
        if not lines:
            return None
        return all(verifier.verify(name, self.text.encode(), s.signature) for s in lines)

    @classmethod
    def parse(cls, note: str) -> SignedNote:
        """Split a signed note into its text and signature lines.

        Raises:
            NoteMalformed: the framing, a character, a name or a signature line is invalid.
        """
        if _CONTROL.search(note) or not note.endswith("\n"):
            raise NoteMalformed("a note ends in a newline and holds no control character")
        cut = note.rfind("\n\n")
        if cut < 0:
            raise NoteMalformed("a note's signatures follow a blank line")
        # Split on newlines only: str.splitlines would also split on U+2028 and
        # the like, which note tooling reads as part of a line.
        text, lines = note[: cut + 1], note[cut + 2 : -1].split("\n")
        if not lines or len(lines) > _MAX_SIGNATURES:
            raise NoteMalformed(f"a note carries 1 to {_MAX_SIGNATURES} signature lines")
        return cls(text, tuple(_signature(line) for line in lines))


def _signature(line: str) -> NoteSignature:
    name, _, encoded = line.removeprefix(_DASH).partition(" ")
    if not line.startswith(_DASH) or not _valid_name(name) or " " in encoded:
        raise NoteMalformed(f"not a signature line: {line!r}")
    try:
        raw = base64.b64decode(encoded, validate=True)
    except ValueError:
        raise NoteMalformed(f"signature of {name!r} is not base64") from None
    if len(raw) < 5:
        raise NoteMalformed(f"signature of {name!r} is too short")
    return NoteSignature(name, raw[:4], raw[4:])
