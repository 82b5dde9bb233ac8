"""A service's view of the kill switches: the whole control topic at start, then each new one."""

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import pytest

from agentdeck.contracts import Codec
from agentdeck.contracts.models import KillSwitchScope
from agentdeck.controls import SwitchView, switch_key
from agentdeck.errors import ConfigError
from agentdeck.kafka import EventProducer
from agentdeck.runtime import follow_switches
from agentdeck.settings import KafkaSettings, ServiceSettings, TrustSettings
from agentdeck.signing import Signer, generate_private_key
from testkit.authority import TRUST, WriterProducer
from testkit.controls import kill_switch
from testkit.kafka import NOW, goal, started


def _settings(kafka: KafkaSettings, trust: TrustSettings = TRUST) -> ServiceSettings:
    return ServiceSettings(
        service_name="probe", consumer_group=f"{kafka.topic_prefix}-probe", kafka=kafka, trust=trust
    )


@contextmanager
def _following(kafka: KafkaSettings, codec: Codec, view: SwitchView) -> Iterator[None]:
    stop = threading.Event()
    task = follow_switches(_settings(kafka), codec, view)
    thread = threading.Thread(target=task, args=(stop,), daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(15)


def _publish(kafka: KafkaSettings, codec: Codec, *events, producer=None):  # type: ignore[no-untyped-def]
    out = producer or WriterProducer(kafka, codec, client_id="ops")
    for event in events:
        out.send(event)
    out.flush()


def test_switches_set_before_the_start_are_in_the_view_once_it_is_caught_up(kafka, codec):
    # Other events on the control topic are not switches; a forged switch never counts.
    forger = EventProducer(
        kafka, codec, client_id="forger", signer=Signer("x", generate_private_key())
    )
    _publish(kafka, codec, kill_switch(KillSwitchScope.TENANT, "forged"), producer=forger)
    _publish(
        kafka,
        codec,
        kill_switch(KillSwitchScope.TENANT, "acme"),
        kill_switch(KillSwitchScope.TOOL, "send_email"),
        kill_switch(KillSwitchScope.TOOL, "send_email", engaged=False, at=NOW + timedelta(1)),
    )
    _publish(kafka, codec, started(goal(1)), producer=WriterProducer(kafka, codec, client_id="p"))
    view = SwitchView()
    with _following(kafka, codec, view):
        assert view.wait_caught_up(timeout_s=30), "the view caught up with the topic"
        assert view.covering(tenant="acme", agent=None, tool="x", run=None) is not None
        assert view.covering(tenant="other", agent=None, tool="send_email", run=None) is None
        assert view.covering(tenant="forged", agent=None, tool="x", run=None) is None


def test_an_empty_control_topic_is_caught_up_at_once(kafka, codec):
    view = SwitchView()
    with _following(kafka, codec, view):
        assert view.wait_caught_up(timeout_s=30)
        assert view.switches() == []


def test_a_new_switch_reaches_a_caught_up_view_well_within_a_second(kafka, codec):
    view = SwitchView()
    with _following(kafka, codec, view):
        assert view.wait_caught_up(timeout_s=30)
        version = view.version
        _publish(kafka, codec, kill_switch(KillSwitchScope.AGENT, "bot"))
        published = time.monotonic()
        assert view.wait_past(version, timeout_s=10)
        assert view.covering(tenant="t", agent="bot", tool="x", run=None) is not None
    applied = view.applied_at(switch_key(KillSwitchScope.AGENT, "bot"))
    assert applied is not None
    print(f"switch applied {1000 * (applied - published):.0f} ms after its publish returned")


def test_without_a_writer_registry_no_switch_could_be_trusted(kafka, codec, monkeypatch):
    monkeypatch.delenv("AGENTDECK_WRITER_KEYS")
    with pytest.raises(ConfigError, match="AGENTDECK_WRITER_KEYS"):
        follow_switches(_settings(kafka, TrustSettings(writer_keys={})), codec, SwitchView())


def test_the_view_is_rebuilt_from_the_topic_by_every_process(kafka, codec):
    _publish(kafka, codec, kill_switch(KillSwitchScope.GLOBAL, "*"))
    first, second = SwitchView(), SwitchView()
    with _following(kafka, codec, first), _following(kafka, codec, second):
        assert first.wait_caught_up(timeout_s=30)
        assert second.wait_caught_up(timeout_s=30)
    assert first.switches() == second.switches() != []
