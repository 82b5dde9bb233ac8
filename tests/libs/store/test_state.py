import pytest

from agentdeck.store import StateRepository, transaction

STATE = StateRepository()


@pytest.fixture
def service(new_id):
    return new_id("svc")


def test_new_state_is_version_one_and_reads_back(engine, service):
    with transaction(engine) as conn:
        assert STATE.put(conn, service, "run-1", '{"a":1}', expected_version=None) == 1
    with transaction(engine, read_only=True) as conn:
        entry = STATE.get(conn, service, "run-1")
    assert entry is not None
    assert (entry.version, entry.state) == (1, '{"a":1}')


def test_a_stale_writer_loses(engine, service):
    with transaction(engine) as conn:
        STATE.put(conn, service, "k", "v1", expected_version=None)
        assert STATE.put(conn, service, "k", "v2", expected_version=1) == 2
        assert STATE.put(conn, service, "k", "v2-stale", expected_version=1) is None
        assert STATE.put(conn, service, "k", "dup", expected_version=None) is None
        entry = STATE.get(conn, service, "k")
    assert entry is not None
    assert (entry.version, entry.state) == (2, "v2")


def test_upsert_many_writes_a_batch_and_bumps_versions(engine, service):
    with transaction(engine) as conn:
        STATE.upsert_many(conn, service, {"a": "1", "b": "1"})
        STATE.upsert_many(conn, service, {"b": "2", "c": "1"})
        found = STATE.get_many(conn, service, ["a", "b", "c", "missing"])
    assert {k: (e.version, e.state) for k, e in found.items()} == {
        "a": (1, "1"),
        "b": (2, "2"),
        "c": (1, "1"),
    }


def test_scan_lists_a_prefix_in_key_order_and_services_are_separate(engine, service, new_id):
    other = new_id("svc")
    with transaction(engine) as conn:
        STATE.upsert_many(conn, service, {"switch:tool:b": "x", "switch:tool:a": "y", "run:1": "z"})
        STATE.upsert_many(conn, other, {"switch:tool:c": "w"})
        keys = [e.key for e in STATE.scan(conn, service, prefix="switch:")]
        assert STATE.delete(conn, service, "run:1")
        assert not STATE.delete(conn, service, "run:1")
    assert keys == ["switch:tool:a", "switch:tool:b"]
