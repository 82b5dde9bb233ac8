"""Fixtures shared by every test: the real broker, unique names, a guard against real LLMs."""

from __future__ import annotations

import os

# pytest-xdist sets COLUMNS=80 in its workers; the CLI's consoles, made at import, would
# keep that width for good, whatever a test sets (``testkit.cli.point_cli_at``).
os.environ.pop("COLUMNS", None)
import socket
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from agentdeck.cli.schemas import SERVICE_SCHEMAS
from agentdeck.contracts import Codec, default_codec
from agentdeck.embedded import EmbeddedBroker
from agentdeck.kafka import ensure_topics, topic_specs, wait_for_broker
from agentdeck.settings import KafkaSettings
from agentdeck.store import create_store_engine, migrate
from testkit import authority
from testkit.sql import BACKENDS, PG_ADMIN_URL, START_POSTGRES, Databases, NewId, databases_for

WHOLE_STACKS = ("e2e", "apps/bench")
"""Folders whose tests run whole platforms (five services and a broker each) and measure
latency: with ``pytest -n`` they run one after another on one worker, beside the rest."""


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Put the whole-stack tests in one xdist group (``--dist loadgroup`` keeps them together)."""
    root = Path(__file__).parent
    for item in items:
        where = item.path.relative_to(root).as_posix()
        if where.startswith(tuple(f"{folder}/" for folder in WHOLE_STACKS)):
            item.add_marker(pytest.mark.xdist_group("whole-stacks"))


@pytest.fixture(autouse=True)
def _no_real_model_endpoints(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any connection to a non-loopback address fails the test: no real LLM, no internet."""
    real = socket.create_connection

    def guarded(address, *args, **kwargs):  # type: ignore[no-untyped-def]
        host = str(address[0])
        if host not in {"127.0.0.1", "localhost", "::1"} and not host.startswith("127."):
            pytest.fail(f"test tried to reach {host}: only loopback services are allowed")
        return real(address, *args, **kwargs)

    monkeypatch.setattr(socket, "create_connection", guarded)


@pytest.fixture(autouse=True)
def _writer_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    """Services under test trust the test writers' keys, as a deployment's environment says."""
    for name, value in authority.environment().items():
        monkeypatch.setenv(name, value)


@pytest.fixture(scope="session")
def bootstrap_servers() -> Iterator[str]:
    """The cluster under test: ``KAFKA_BOOTSTRAP_SERVERS`` if set, else an embedded broker."""
    external = os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "")
    if external:
        wait_for_broker(KafkaSettings(bootstrap_servers=external))
        yield external
        return
    with EmbeddedBroker() as broker:
        yield broker.bootstrap_servers


@pytest.fixture
def kafka(bootstrap_servers: str) -> KafkaSettings:
    """Settings with a topic prefix of this test's own, its topics created."""
    settings = KafkaSettings(
        bootstrap_servers=bootstrap_servers,
        topic_prefix=f"t{uuid.uuid4().hex[:12]}",
        partitions=3,
    )
    ensure_topics(settings, topic_specs(settings.topic_prefix, settings.partitions))
    return settings


@pytest.fixture(scope="session")
def pg_admin() -> Iterator[Engine]:
    """An autocommit engine on the ``postgres`` database, for creating and dropping databases."""
    base = create_store_engine(PG_ADMIN_URL)
    admin = base.execution_options(isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:  # noqa: BLE001 - any failure here means "server not usable"
        base.dispose()
        pytest.fail(f"PostgreSQL unreachable at {PG_ADMIN_URL} ({exc}); start it: {START_POSTGRES}")
    yield admin
    base.dispose()


@pytest.fixture(scope="session")
def codec() -> Codec:
    """A codec that knows every event type."""
    return default_codec(max_bytes=100_000)


@pytest.fixture(scope="session", params=BACKENDS)
def engine(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Engine]:
    """A migrated store database (SQLite, then PostgreSQL) shared by the session's tests."""
    databases = databases_for(request, tmp_path_factory.mktemp("store"))
    try:
        shared = databases.new_engine()
        migrate(shared, *SERVICE_SCHEMAS)
        yield shared
    finally:
        databases.close()


@pytest.fixture
def new_id() -> NewId:
    """Make ids no other test uses: ``new_id("run")`` -> ``run-<hex>``."""
    return lambda prefix: f"{prefix}-{uuid.uuid4().hex}"


@pytest.fixture
def now() -> datetime:
    """The current time, timezone-aware, truncated to whole milliseconds."""
    current = datetime.now(UTC)
    return current.replace(microsecond=current.microsecond // 1000 * 1000)


@pytest.fixture(params=BACKENDS)
def databases(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Databases]:
    """Fresh, unmigrated databases of one backend, removed after the test."""
    created = databases_for(request, tmp_path)
    yield created
    created.close()
