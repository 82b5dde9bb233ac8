"""The one ``main`` of every service: settings, store and hot state, build, run until signalled."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

from pydantic import ValidationError

from agentdeck.errors import ConfigError
from agentdeck.settings import KafkaSettings, ServiceSettings

if TYPE_CHECKING:  # what a service process opens; tools that import the runtime need none of it
    from agentdeck.contracts import Codec
    from agentdeck.hotstate import HotState
    from agentdeck.runtime._runner import ServiceRunner
    from agentdeck.store import Store
    from agentdeck.store.sql import Schema

__all__ = ["Resources", "serve"]

S = TypeVar("S", bound=ServiceSettings)


@dataclass(frozen=True)
class Resources:
    """What a service is built over: the codec, its store and the hot state."""

    codec: Codec
    store: Store
    hot: HotState


def serve(
    name: str,
    settings_type: Callable[[], S],
    build: Callable[[S, Resources], ServiceRunner],
    *,
    check: Callable[[S], object] | None = None,
    schema: Schema | None = None,
) -> None:
    """Run one service as a process until SIGINT or SIGTERM (``python -m agentdeck.<svc>.main``).

    Settings come from the environment. A bad setting, or a configuration
    ``check`` or ``build`` refuses (:class:`ConfigError`), ends the process with
    one line, ``<name>: ...``, and exit status 1; ``check`` runs before
    anything is opened, so what it refuses starts nothing. While the database does
    not answer (it restarts, connections are dropped), opening the store and
    ``build`` are tried again for ``AGENTDECK_STARTUP_WAIT_S``; then the process
    ends with one line saying so. Without
    ``KAFKA_BOOTSTRAP_SERVERS`` the service gets an embedded broker of its own
    (to try it alone); otherwise the topics must exist (the deployment's topics
    job creates them).

    Args:
        name: The service's name, for the one-line errors.
        settings_type: Reads the service's settings from the environment.
        build: The service's composition root.
        check: Refuses a configuration the service cannot run with (missing keys).
        schema: The service's own tables, migrated at start with the store's.
    """
    from agentdeck.contracts import default_codec  # noqa: PLC0415 -- see the imports above
    from agentdeck.hotstate import open_hot_state  # noqa: PLC0415
    from agentdeck.runtime._starting import when_store_answers  # noqa: PLC0415
    from agentdeck.store import Store  # noqa: PLC0415
    from agentdeck.store.errors import StoreUnavailableError  # noqa: PLC0415

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    try:
        settings = settings_type()
        if check is not None:
            check(settings)
    except ValidationError as exc:
        raise SystemExit(_bad_setting(name, exc)) from None
    except ConfigError as exc:
        raise SystemExit(f"{name}: {exc}") from None
    wait_s = settings.store.startup_wait_s

    def opened() -> Store:
        return Store.open(
            settings.store.database_url,
            data_dir=settings.store.data_dir,
            schemas=() if schema is None else (schema,),
        )

    try:
        with (
            _broker(settings.kafka) as kafka,
            when_store_answers(name, opened, wait_s=wait_s) as store,
        ):
            settings = settings.model_copy(update={"kafka": kafka})
            hot = open_hot_state(settings.store.redis_url, prefix=kafka.topic_prefix)
            try:
                try:
                    resources = Resources(default_codec(), store, hot)
                    runner = when_store_answers(
                        name, lambda: build(settings, resources), wait_s=wait_s
                    )
                except ValidationError as exc:
                    raise SystemExit(_bad_setting(name, exc)) from None
                except ConfigError as exc:
                    raise SystemExit(f"{name}: {exc}") from None
                runner.run_until_signalled()
            finally:
                hot.close()
    except StoreUnavailableError as exc:
        raise SystemExit(
            f"{name}: database unavailable ({exc.code}) for {wait_s:g} s at start: "
            + exc.message.splitlines()[0]
        ) from None


def _bad_setting(name: str, exc: ValidationError) -> str:
    """Which setting and what is wrong with it, never its value (it may be a secret)."""
    first = exc.errors()[0]
    where = ".".join(str(p) for p in first["loc"])
    return f"{name}: bad setting {where}: {first['msg']}"


@contextlib.contextmanager
def _broker(kafka: KafkaSettings) -> Iterator[KafkaSettings]:
    if kafka.bootstrap_servers:
        yield kafka
        return
    from agentdeck.embedded import kafka_cluster  # noqa: PLC0415 -- only a service alone needs it

    with kafka_cluster(kafka) as embedded:
        yield embedded
