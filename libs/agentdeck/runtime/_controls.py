"""The kill switches a service enforces where it acts, kept fresh from the control topic."""

from __future__ import annotations

from collections.abc import Sequence

from agentdeck.contracts import Codec, Event
from agentdeck.contracts.models import KillSwitchSet
from agentdeck.controls import SwitchView
from agentdeck.errors import ConfigError
from agentdeck.kafka import EventAuthority, Topic, TopicFollower
from agentdeck.runtime._runner import BackgroundTask
from agentdeck.settings import ServiceSettings

__all__ = ["follow_switches"]


def follow_switches(settings: ServiceSettings, codec: Codec, view: SwitchView) -> BackgroundTask:
    """A task that keeps ``view`` equal to the control topic's operator-signed switches.

    The process reads the whole compacted topic at start (``view`` reports
    ``caught_up`` once it has) and then every new switch as it arrives, with
    the background fetch wait (no step waits on this loop). Only switches
    signed by an operator key of the writer registry count.

    Raises:
        ConfigError: No writer registry: no switch could be trusted.
    """
    writers = settings.trust.writer_keys
    if not writers:
        raise ConfigError(
            f"AGENTDECK_WRITER_KEYS is not set: {settings.service_name} acts only on kill"
            " switches signed by an operator's registered key"
        )
    kafka = settings.kafka.model_copy(
        update={"fetch_wait_max_ms": settings.kafka.background_fetch_wait_max_ms}
    )

    def apply(events: Sequence[Event]) -> None:
        view.apply(e for e in events if isinstance(e, KillSwitchSet))

    follower = TopicFollower(
        settings=kafka,
        codec=codec,
        topic=Topic.CONTROL.full(kafka.topic_prefix),
        wanted=(KillSwitchSet,),
        authority=EventAuthority(writers),
        sink=apply,
        caught_up=view.mark_caught_up,
        client_id=f"{settings.service_name}-switches",
    )
    return follower.run
