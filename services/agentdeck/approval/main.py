"""Composition root of the approval service: ``python -m agentdeck.approval.main``."""

from __future__ import annotations

import threading

from agentdeck.approval.adapters.auth import Authenticator
from agentdeck.approval.adapters.authenticators import authenticator_from
from agentdeck.approval.adapters.cases import CaseStore
from agentdeck.approval.adapters.http import create_app
from agentdeck.approval.adapters.server import HttpServer
from agentdeck.approval.adapters.tables import SCHEMA
from agentdeck.approval.adapters.webhook import NoNotifier, Notifier, WebhookNotifier
from agentdeck.approval.core import SignerPort
from agentdeck.approval.desk import ApprovalDesk
from agentdeck.approval.handlers import ENDED, DecisionHandler, RunsEnded
from agentdeck.approval.settings import ApprovalSettings
from agentdeck.approval.sweeper import Sweeper
from agentdeck.contracts import Codec, Producer
from agentdeck.contracts.models import PolicyDecided
from agentdeck.controls import SwitchView
from agentdeck.hotstate import HotState
from agentdeck.kafka import Publisher, Topic
from agentdeck.privacy import sealing_codec
from agentdeck.runtime import (
    BackgroundTask,
    Clock,
    ServiceRunner,
    Subscription,
    follow_switches,
    publisher_for,
    serve,
    transactional,
    utc_now,
)
from agentdeck.signing import Signer, required_signer
from agentdeck.store import Store

__all__ = ["build", "main"]


def _signer(settings: ApprovalSettings) -> Signer:
    key = settings.signing_key.get_secret_value() if settings.signing_key else None
    return required_signer(settings.signing_key_id, key, setting="AGENTDECK_APPROVAL_SIGNING_KEY")


class _CloseAfterLast:
    """Closes the shared publisher once the last task using it has ended."""

    def __init__(self, publisher: Publisher, users: int) -> None:
        self._publisher = publisher
        self._users = users
        self._lock = threading.Lock()

    def wrap(self, task: BackgroundTask) -> BackgroundTask:
        def run(stop: threading.Event) -> None:
            try:
                task(stop)
            finally:
                with self._lock:
                    self._users -= 1
                    last = self._users == 0
                if last:
                    self._publisher.close()

        return run


def build(
    settings: ApprovalSettings,
    *,
    codec: Codec,
    store: Store,
    hot: HotState,
    clock: Clock = utc_now,
    signer: SignerPort | None = None,
    authenticator: Authenticator | None = None,
    switches: SwitchView | None = None,
) -> ServiceRunner:
    """The approval service: the decisions consumer, the HTTP API and the timer sweeper.

    Args:
        settings: The service's settings.
        codec: Codec of every event it reads and writes.
        store: Where cases live (the approvals, approval_cases and approval_outbox tables).
        hot: Unused: approvals are human-paced and durable in SQL.
        clock: Time of decisions and timers; tests pass their own.
        signer: Signs outcomes; defaults to the key in ``settings``.
        authenticator: Who may call the API; defaults to what ``settings`` configure.
        switches: The view of the kill switches this process keeps fresh from the
            control topic (no grant in a killed scope); None: a new one.

    Raises:
        ConfigError: no signer given and no signing key configured, or no usable
            approver authentication.
    """
    codec = sealing_codec(codec, settings.privacy, store)
    del hot
    sign = signer or _signer(settings)
    auth = authenticator or authenticator_from(settings)
    identity = Producer(service=settings.service_name, version=settings.service_version)
    switches = switches if switches is not None else SwitchView()
    tasks: list[tuple[str, BackgroundTask]] = [
        ("switches", follow_switches(settings, codec, switches))
    ]
    notifier: Notifier = NoNotifier()
    if settings.webhook_url:
        webhook = WebhookNotifier(settings.webhook_url, timeout_s=settings.webhook_timeout_s)
        notifier = webhook
        tasks.append(("webhook", webhook.run))
    cases = CaseStore(store, codec)
    publisher = publisher_for(settings, codec, store, name="desk", clock=clock, signer=sign)
    desk = ApprovalDesk(
        cases,
        publisher,
        sign,
        identity=identity,
        clock=clock,
        notifier=notifier,
        switches=switches,
    )
    app = create_app(desk, auth, max_body_bytes=settings.max_body_bytes)
    server = HttpServer(app, settings.http_host, settings.http_port)
    sweeper = Sweeper(desk, interval_s=settings.sweep_interval_s)
    closing = _CloseAfterLast(publisher, users=2)
    tasks += [("http", closing.wrap(server.serve)), ("sweeper", closing.wrap(sweeper.run))]
    deciding = DecisionHandler(
        cases,
        settings.rules(),
        identity=identity,
        clock=clock,
        notifier=notifier,
        policy_keys=settings.policy_verify_keys,
        signer=sign,
    )
    handler = transactional(deciding, store=store, consumer=f"{settings.consumer_group}.decisions")
    decisions = Subscription(
        "decisions", (Topic.DECISIONS,), handler, background=True, events=(PolicyDecided,)
    )
    # A run that ended (its deadline passed while a call waited for a human, say) has its
    # open cases expired: nobody may grant a call of a run that is over.
    ended = Subscription("runs", (Topic.RUNS,), RunsEnded(desk), background=True, events=ENDED)
    checks = {"store": store.ping, "switches": lambda: switches.caught_up}
    return ServiceRunner(
        settings,
        codec,
        [decisions, ended],
        tasks=tasks,
        checks=checks,
        signer=sign,
        store=store,
        clock=clock,
    )


def main() -> None:
    """Run the approval service until SIGINT or SIGTERM."""
    serve(
        "approval",
        ApprovalSettings,
        lambda settings, r: build(settings, codec=r.codec, store=r.store, hot=r.hot),
        check=lambda settings: (_signer(settings), authenticator_from(settings)),
        schema=SCHEMA,
    )


if __name__ == "__main__":
    main()
