"""The compiled readers read exactly what fastavro reads, and give up on anything else.

Every version of every schema is written by fastavro with several data (all
optional fields null or set, empty and longer arrays, long and non-ASCII
text, extreme numbers) and read back by both; what a compiled reader cannot
read as fastavro would (corrupt bytes, types it does not handle) it refuses,
and the codec reads those with fastavro as before.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from io import BytesIO
from typing import Any

import pytest
from fastavro import parse_schema, schemaless_reader, schemaless_writer

from agentdeck.contracts import MARKER, DecodeError, SchemaRegistry, SchemaVersion, default_codec
from agentdeck.contracts import models as m
from agentdeck.contracts._reader import Unreadable, compile_reader
from testkit.avro import VARIANTS, avro_datum

VERSIONS = SchemaRegistry.load().versions()


def _body(version: SchemaVersion, datum: dict[str, Any]) -> bytes:
    buf = BytesIO()
    schemaless_writer(buf, version.parsed, datum)
    return buf.getvalue()


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("version", VERSIONS, ids=lambda v: f"{v.full_name}.v{v.version}")
def test_a_compiled_reader_reads_what_fastavro_reads(version: SchemaVersion, variant: str):
    read = compile_reader(version.parsed)
    assert read is not None
    body = _body(version, avro_datum(version.parsed, {}, variant))
    expected = schemaless_reader(BytesIO(body), version.parsed, None)

    record, end = read(b"head" + body, 4)

    assert end == 4 + len(body)
    assert record == expected
    assert repr(record) == repr(expected)  # same types too: str, not bytes; lists, not tuples


NUMBERS = parse_schema(
    {
        "type": "record",
        "name": "Numbers",
        "fields": [
            {"name": "n", "type": "long"},
            {"name": "at", "type": {"type": "long", "logicalType": "timestamp-micros"}},
        ],
    }
)
EDGES = [2**k + d for k in (6, 7, 13, 14, 20, 31, 32, 62, 63) for d in (-1, 0, 1)]


@pytest.mark.parametrize("values", [range(-20_000, 20_000), [*EDGES, *(-v for v in EDGES)]])
def test_numbers_of_every_length_read_as_fastavro_reads_them(values: range | list[int]):
    read = compile_reader(NUMBERS)
    assert read is not None
    for value in values:
        if not -(2**63) <= value < 2**63:
            continue
        instant = value if abs(value) < 2**55 else -value % 2**55  # datetimes end in year 9999
        at = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=instant)
        buf = BytesIO()
        schemaless_writer(buf, NUMBERS, {"n": value, "at": at})
        body = buf.getvalue()
        assert read(body, 0) == (schemaless_reader(BytesIO(body), NUMBERS, None), len(body))


def test_a_number_over_64_bits_in_ten_bytes_is_left_to_fastavro():
    read = compile_reader(NUMBERS)
    assert read is not None
    at = b"\x00"
    largest = b"\xfe" + b"\xff" * 8 + b"\x01"  # 2**64 - 2: zig-zag for 2**63 - 1
    assert read(largest + at, 0)[0]["n"] == 2**63 - 1

    with pytest.raises(Unreadable):
        read(b"\xff" * 9 + b"\x7f" + at, 0)


SIMPLE = parse_schema(
    {
        "type": "record",
        "name": "Simple",
        "fields": [
            {"name": "flag", "type": "boolean"},
            {"name": "kind", "type": {"type": "enum", "name": "Kind", "symbols": ["A", "B"]}},
            {"name": "maybe", "type": ["null", "string"]},
            {"name": "names", "type": {"type": "array", "items": "string"}},
        ],
    }
)


def test_an_array_written_in_blocks_with_sizes_reads_as_one_list():
    read = compile_reader(SIMPLE)
    assert read is not None
    # flag, kind B, maybe null, then a block of -2 items (4 bytes) and a block of 1 item
    body = b"\x01\x02\x00" + b"\x03\x08\x02a\x02b" + b"\x02\x02c" + b"\x00"

    assert read(body, 0) == (
        {"flag": True, "kind": "B", "maybe": None, "names": list("abc")},
        len(body),
    )
    assert schemaless_reader(BytesIO(body), SIMPLE, None) == read(body, 0)[0]


@pytest.mark.parametrize(
    "body",
    [
        b"\x02\x02\x00\x00",  # a boolean that is neither 0 nor 1
        b"\x01\x04\x00\x00",  # an enum index out of range
        b"\x01\x02\x04\x00",  # a union index out of range
        b"\x01\x02\x02\x08ab",  # a string longer than what is left
        b"\x01\x02\x02\x04\xff\xfe\x00",  # a string that is not UTF-8
        b"\x01\x02\x02\x03\x00",  # a negative length
        b"\x01\x02\x00\x02" + b"\xff" * 11,  # a varint of more than 64 bits
        b"\x01\x02",  # the end of the data in the middle of the record
    ],
)
def test_a_compiled_reader_refuses_what_it_cannot_read_exactly(body: bytes):
    read = compile_reader(SIMPLE)
    assert read is not None
    with pytest.raises(Unreadable):
        read(body, 0)


@pytest.mark.parametrize("length", [b"\x08", b"\x80\x01"], ids=["one-byte", "two-byte"])
def test_a_last_string_longer_than_what_is_left_is_refused(length: bytes):
    schema = parse_schema(
        {"type": "record", "name": "R", "fields": [{"name": "s", "type": "string"}]}
    )
    read = compile_reader(schema)
    assert read is not None
    with pytest.raises(Unreadable):
        read(length + b"ab", 0)


def test_an_enum_of_more_than_64_symbols_is_left_to_fastavro():
    many = {"type": "enum", "name": "Many", "symbols": [f"S{i}" for i in range(65)]}
    schema = parse_schema({"type": "record", "name": "R", "fields": [{"name": "e", "type": many}]})
    assert compile_reader(schema) is None  # index 64 takes two bytes


def test_a_schema_with_a_type_the_readers_do_not_handle_has_none():
    mapped = {
        "type": "record",
        "name": "M",
        "fields": [{"name": "m", "type": {"type": "map", "values": "long"}}],
    }
    assert compile_reader(parse_schema(mapped)) is None


def test_the_codec_reports_corrupt_bytes_as_before():
    codec = default_codec()
    writer = codec.registry.latest(m.StepScheduled.EVENT_TYPE)
    body = _body(writer, avro_datum(writer.parsed, {}, "plain"))
    message = MARKER + writer.fingerprint + body

    with pytest.raises(DecodeError) as truncated:
        codec.decode(message[:-3])
    with pytest.raises(DecodeError) as trailing:
        codec.decode(message + b"\x00")

    assert truncated.value.code == "corrupt_body"
    assert trailing.value.code == "trailing_bytes"
