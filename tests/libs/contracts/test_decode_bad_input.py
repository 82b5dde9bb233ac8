import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agentdeck.contracts import MARKER, DecodeError, SchemaRegistry, default_codec
from agentdeck.contracts.examples import example_message

CODEC = default_codec(max_bytes=64_000)
VERSIONS = SchemaRegistry.load().versions()
SAMPLES = [example_message(v) for v in VERSIONS]
CODES = {
    "oversized",
    "truncated",
    "bad_marker",
    "unknown_fingerprint",
    "corrupt_body",
    "trailing_bytes",
    "invalid_payload",
    "envelope_mismatch",
}
FAST = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _decode_or_reason(data: bytes) -> str | None:
    try:
        CODEC.decode(data)
    except DecodeError as exc:
        assert exc.code in CODES
        assert exc.capability == "codec.decode"
        assert not exc.retryable
        return exc.code
    return None


@FAST
@given(st.binary(max_size=400))
def test_random_bytes_never_raise_anything_but_a_decode_error(data):
    _decode_or_reason(data)


@FAST
@given(st.sampled_from(SAMPLES), st.data())
def test_a_truncated_message_is_refused(sample, data):
    cut = data.draw(st.integers(min_value=0, max_value=len(sample) - 1))
    assert _decode_or_reason(sample[:cut]) in {"truncated", "corrupt_body", "invalid_payload"}


@FAST
@given(st.binary(min_size=8, max_size=8), st.binary(max_size=200))
def test_a_valid_marker_with_an_unknown_fingerprint_is_refused(fingerprint, body):
    if CODEC.registry.by_fingerprint(fingerprint) is None:
        assert _decode_or_reason(MARKER + fingerprint + body) == "unknown_fingerprint"


@FAST
@given(st.sampled_from(SAMPLES), st.data())
def test_a_known_fingerprint_with_a_corrupt_body_never_crashes(sample, data):
    position = data.draw(st.integers(min_value=10, max_value=len(sample) - 1))
    flip = data.draw(st.integers(min_value=1, max_value=255))
    corrupted = sample[:position] + bytes([sample[position] ^ flip]) + sample[position + 1 :]
    _decode_or_reason(corrupted)


@FAST
@given(st.sampled_from(SAMPLES), st.binary(min_size=1, max_size=50))
def test_bytes_after_the_record_are_refused(sample, tail):
    assert _decode_or_reason(sample + tail) == "trailing_bytes"


def test_an_oversized_message_is_refused_before_parsing():
    assert _decode_or_reason(SAMPLES[0] + b"\x00" * 64_000) == "oversized"


@pytest.mark.parametrize("data", [b"", b"\xc3", b"\xc3\x01\x00"])
def test_a_header_shorter_than_ten_bytes_is_truncated(data):
    assert _decode_or_reason(data) == "truncated"


def test_a_wrong_marker_is_refused():
    assert _decode_or_reason(b"\x00\x01" + SAMPLES[0][2:]) == "bad_marker"
