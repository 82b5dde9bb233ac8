"""Avro single-object encoding of events (marker ``C3 01`` + CRC-64-AVRO fingerprint + body).

Any consumer identifies the writer schema from the first ten bytes, with no
registry server, and reads the body into the newest (reader) version of the
record. Everything that can go wrong with foreign bytes is a :class:`DecodeError`
with a specific code, never another exception.
"""

from __future__ import annotations

from collections.abc import Sequence
from io import BytesIO
from typing import Any

from fastavro import schemaless_reader, schemaless_writer
from pydantic import ValidationError

from agentdeck.contracts._reader import Reader, Unreadable, compile_reader
from agentdeck.contracts._registry import SchemaRegistry, SchemaVersion
from agentdeck.contracts._sensitive import FieldCipher, SensitiveFields
from agentdeck.contracts.errors import DecodeError, SchemaError
from agentdeck.contracts.models import Event

__all__ = ["MARKER", "Codec"]

MARKER = b"\xc3\x01"
_PREFIX = len(MARKER) + 8


class Codec:
    """Encodes and decodes events; one instance per process, shared by every loop.

    Args:
        registry: Known schemas (writer and reader versions).
        models: Event classes to decode into (their newest versions are the readers).
        max_bytes: Larger messages are refused before any parsing.
        cipher: Seals the fields the schemas mark as personal data when encoding
            and opens them when decoding (see :mod:`agentdeck.contracts._sensitive`);
            without one, values pass as they are.
        opens: False leaves sealed values sealed when decoding (a reader that
            never looks at personal data, such as the archiver, skips the work).
    """

    def __init__(
        self,
        registry: SchemaRegistry,
        models: list[type[Event]],
        *,
        max_bytes: int = 1_000_000,
        cipher: FieldCipher | None = None,
        opens: bool = True,
    ) -> None:
        self.registry = registry
        self.max_bytes = max_bytes
        self.cipher = cipher
        self.opens = opens
        self.sensitive = SensitiveFields(registry)
        self._writers: dict[type[Event], SchemaVersion] = {}
        self._models: dict[str, type[Event]] = {}
        self._readers: dict[bytes, Reader | None] = {}
        self._model_readers: dict[type[Event], Reader | None] = {}
        self._direct: dict[bytes, tuple[Reader, str, int]] = {}
        """By marker and fingerprint: the model readers of messages read without opening."""
        for model in models:
            version = registry.latest(model.EVENT_TYPE)
            if version.version != model.SCHEMA_VERSION:
                raise SchemaError(
                    f"{model.__name__} is v{model.SCHEMA_VERSION}, schemas have "
                    f"v{version.version}; regenerate the models"
                )
            self._writers[model] = version
            self._models[model.EVENT_TYPE] = model

    def with_cipher(self, cipher: FieldCipher | None, *, opens: bool = True) -> Codec:
        """The same codec, sealing (and, if ``opens``, opening) personal data with ``cipher``."""
        return Codec(
            self.registry, list(self._writers), max_bytes=self.max_bytes, cipher=cipher, opens=opens
        )

    def writer_of(self, event_type: type[Event]) -> SchemaVersion:
        """The schema version an event class is written with."""
        return self._writers[event_type]

    def encode(self, event: Event) -> bytes:
        """Single-object encoding of ``event`` with its newest schema."""
        version = self._writers[type(event)]
        if event.envelope.schema_version != version.version:
            # Re-publishing an event read from an older version: the envelope must
            # state the version these bytes are written with.
            stamped = event.envelope.model_copy(update={"schema_version": version.version})
            event = event.model_copy(update={"envelope": stamped})
        record = event.model_dump()
        if self.cipher is not None:
            self.sensitive.seal(version.full_name, record, self.cipher)
        return self._write(version, record)

    def seal(self, data: bytes) -> bytes:
        """``data`` with any personal data its writer left in the clear sealed (same schema).

        For bytes written outside the platform (a producer's goal) before they are
        archived; bytes with nothing to seal come back as they are.

        Raises:
            DecodeError: ``data`` is not a valid message.
        """
        writer = self.identify(data)
        if self.cipher is None or not self.sensitive.has(writer.full_name):
            return data
        record = self._read_body(data, writer, writer)
        if not self.sensitive.seal(writer.full_name, record, self.cipher):
            return data  # the services' own records arrive sealed: kept as they are, not rewritten
        return self._write(writer, record)

    @staticmethod
    def _write(version: SchemaVersion, record: dict[str, Any]) -> bytes:
        buf = BytesIO()
        buf.write(MARKER)
        buf.write(version.fingerprint)
        schemaless_writer(buf, version.parsed, record)
        return buf.getvalue()

    def identify(self, data: bytes) -> SchemaVersion:
        """The writer schema of an encoded message, checking only its prefix."""
        if len(data) > self.max_bytes:
            raise DecodeError(
                "oversized",
                f"{len(data)} bytes exceeds the {self.max_bytes} limit",
                remediation=("store the payload by claim check", "raise the limit"),
            )
        if len(data) < _PREFIX:
            raise DecodeError("truncated", f"{len(data)} bytes is shorter than the 10-byte header")
        if data[:2] != MARKER:
            raise DecodeError("bad_marker", f"expected marker c301, found {data[:2].hex()}")
        version = self.registry.by_fingerprint(bytes(data[2:_PREFIX]))
        if version is None:
            raise DecodeError(
                "unknown_fingerprint",
                f"no known schema has fingerprint {bytes(data[2:_PREFIX]).hex()}",
                remediation=("deploy a consumer that knows the writer's schema version",),
            )
        return version

    def prepare(self, records: Sequence[bytes]) -> None:
        """Ready what decoding ``records`` will need: the keys of their sealed values, at once."""
        if self.cipher is not None and self.opens:
            self.cipher.prefetch(records)

    def prepare_events(self, events: Sequence[Event]) -> None:
        """Ready what encoding ``events`` will need: the keys of their runs, at once."""
        if self.cipher is None:
            return
        runs = {
            (e.envelope.run_id, e.envelope.tenant)
            for e in events
            if e.envelope.run_id and self.sensitive.has(e.envelope.event_type)
        }
        if runs:
            self.cipher.prefetch_runs(runs)

    def decode(self, data: bytes) -> Event:
        """The event in ``data``, read into the newest version of its record."""
        # A model's own writer, read before (and nothing to open): its reader, directly.
        direct = self._direct.get(data[:_PREFIX]) if type(data) is bytes else None
        opening = self.cipher is not None and self.opens
        if direct is not None and not opening and len(data) <= self.max_bytes:
            read, event_type, version = direct
            try:
                event, end = read(data, _PREFIX)
            except Unreadable:
                pass  # the long way says what is wrong, or reads it otherwise
            else:
                envelope = event.envelope
                if (
                    end == len(data)
                    and envelope.event_type == event_type
                    and envelope.schema_version == version
                ):
                    return event  # type: ignore[no-any-return]
        return self._decoded(data)

    def _decoded(self, data: bytes) -> Event:
        writer = self.identify(data)
        model = self._models.get(writer.full_name)
        if model is None:
            raise DecodeError("unknown_fingerprint", f"{writer.full_name} is not decoded here")
        reader = self._writers[model]
        opening = self.cipher is not None and self.opens
        event = None if opening or reader is not writer else self._read_model(data, writer, model)
        if event is None:
            record = self._read_body(data, writer, reader)
            if opening:
                self.sensitive.open(writer.full_name, record, self.cipher)  # type: ignore[arg-type]
            event = self._built(model, record)
        envelope = event.envelope
        if envelope.event_type != writer.full_name or envelope.schema_version != writer.version:
            raise DecodeError(
                "envelope_mismatch",
                f"envelope says {envelope.event_type} v{envelope.schema_version}, "
                f"fingerprint says {writer.full_name} v{writer.version}",
            )
        return event

    def _read_model(self, data: bytes, writer: SchemaVersion, model: type[Event]) -> Event | None:
        """The event read by the compiled reader of its model; None: the other way reads it.

        The reader is then used directly for messages of the same writer (``decode``).
        """
        try:
            read = self._model_readers[model]
        except KeyError:
            read = self._model_readers[model] = compile_reader(writer.parsed, model)
            if read is not None:
                self._direct[bytes(data[:_PREFIX])] = (read, writer.full_name, writer.version)
        return _whole(read, data)  # type: ignore[no-any-return]

    @staticmethod
    def _built(model: type[Event], record: dict[str, Any]) -> Event:
        """The event in ``record``, validated: what the model's own reader did not read."""
        try:
            return model.model_validate(record)
        except ValidationError as exc:
            raise DecodeError("invalid_payload", f"{model.EVENT_TYPE}: {exc}") from exc

    def _read_body(
        self, data: bytes, writer: SchemaVersion, reader: SchemaVersion
    ) -> dict[str, Any]:
        if reader is writer:
            compiled = self._read_compiled(data, writer)
            if compiled is not None:
                return compiled
        body = BytesIO(data)
        body.seek(_PREFIX)
        try:
            record = schemaless_reader(
                body, writer.parsed, None if reader is writer else reader.parsed
            )
        # fastavro signals corrupt input with many exception types (EOFError,
        # ValueError, IndexError, UnicodeDecodeError, OverflowError, ...).
        except Exception as exc:
            raise DecodeError(
                "corrupt_body", f"{writer.full_name}: {type(exc).__name__}: {exc}"
            ) from exc
        if body.tell() != len(data):
            raise DecodeError("trailing_bytes", f"{len(data) - body.tell()} bytes after the record")
        if not isinstance(record, dict):
            raise DecodeError("corrupt_body", f"{writer.full_name}: body is not a record")
        return record

    def _read_compiled(self, data: bytes, writer: SchemaVersion) -> dict[str, Any] | None:
        """The body read by the schema's compiled reader; None: fastavro reads it."""
        try:
            read = self._readers[writer.fingerprint]
        except KeyError:
            read = self._readers[writer.fingerprint] = compile_reader(writer.parsed)
        return _whole(read, data)  # type: ignore[no-any-return]


def _whole(read: Reader | None, data: bytes) -> Any:
    """What ``read`` reads of the body, if it reads exactly the whole of it; else None."""
    if read is None:
        return None
    try:
        value, end = read(data, _PREFIX)
    except Unreadable:
        return None
    return value if end == len(data) else None
