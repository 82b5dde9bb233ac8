"""Personal data from the CLI: opening what it shows, and erasing subjects (crypto-shredding).

The master key comes from ``AGENTDECK_PII_MASTER_KEY``, else from the embedded
stack's key file. Without one, commands that show events show personal data
as its sealed form; ``erase`` and ``retention`` refuse to run.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from agentdeck.cli.producer import operator_signer
from agentdeck.cli.settings import CliSettings
from agentdeck.cli.stackfile import StackInfo, locate
from agentdeck.cli.submit import publish
from agentdeck.contracts import Codec, Producer, default_codec, deterministic_id, envelope_for
from agentdeck.contracts.models import SubjectErased
from agentdeck.embedded_stack.keys import load_or_create
from agentdeck.errors import ConfigError
from agentdeck.privacy import KeyRing, MasterKey, Sealer
from agentdeck.signing import Signer
from agentdeck.store import Store

__all__ = ["erase", "reading_codec", "retention"]

console = Console()


def _master(settings: CliSettings, data_dir: str | Path) -> MasterKey | None:
    if settings.privacy.pii_master_key is not None:
        return MasterKey.from_b64(settings.privacy.pii_master_key.get_secret_value())
    if (Path(data_dir) / "keys.json").exists():
        keys = load_or_create(Path(data_dir))
        return MasterKey.from_b64(keys.pii_master)
    return None


def _keyring(settings: CliSettings, stack: StackInfo, store: Store) -> KeyRing:
    master = _master(settings, stack.data_dir)
    if master is None:
        raise ConfigError(
            "no PII master key: set AGENTDECK_PII_MASTER_KEY (the services' own), or run "
            "next to an embedded stack's data dir"
        )
    return KeyRing(store, master, cache_s=0.001)


def reading_codec(settings: CliSettings, stack: StackInfo, store: Store) -> Codec:
    """A codec that opens personal data if the master key is at hand, else shows it sealed."""
    master = _master(settings, stack.data_dir)
    codec = default_codec()
    if master is None:
        return codec
    return codec.with_cipher(Sealer(KeyRing(store, master)))


def _record(
    stack: StackInfo,
    signer: Signer,
    tenant: str,
    kid: str,
    *,
    destroyed: bool,
    reason: str,
    policy_days: int | None = None,
) -> None:
    """Publish the erasure as a SubjectErased event (archived and logged like any event)."""
    now = datetime.now(UTC)
    envelope = envelope_for(
        SubjectErased,
        event_id=deterministic_id("erase", tenant, kid, now.isoformat()),
        tenant=tenant,
        producer=Producer(service="cli", version="0.1.0"),
        occurred_at=now,
    )
    event = SubjectErased(
        envelope=envelope,
        subject_key=kid,
        destroyed=destroyed,
        erased_by=signer.key_id,
        reason=reason,
        policy_days=policy_days,
    )
    publish(stack, event, signer, client_id="cli-erase")


def erase(
    *,
    subject: Annotated[str, typer.Option(help="The data subject, as goals name it.")],
    tenant: Annotated[str | None, typer.Option(help="Tenant (default: AGENTDECK_TENANT).")] = None,
) -> None:
    """Destroy a data subject's key: their personal data becomes unreadable everywhere.

    The sealed bytes stay, so the archive, its Merkle log, checkpoints and
    bundles still verify; replay reports the subject's fields as erased.
    """
    settings = CliSettings()
    stack = locate(settings)
    signer = operator_signer(settings, stack.data_dir)
    tenant = tenant or settings.tenant
    store = Store.open(stack.database_url, data_dir=stack.data_dir, upgrade=False)
    try:
        keys = _keyring(settings, stack, store)
        kid = keys.kid(tenant, subject)
        destroyed = keys.erase(kid, reason="request")
    finally:
        store.close()
    _record(stack, signer, tenant, kid, destroyed=destroyed, reason="request")
    if destroyed:
        console.print(f"subject key {kid} ({tenant}) destroyed: its data is unreadable everywhere")
    else:
        console.print(
            f"no data of this subject was ever sealed in {tenant} (check the subject id); "
            f"a tombstone for key {kid} now bars it"
        )


def retention(
    *,
    policy: Annotated[
        str | None,
        typer.Option(
            help='Days per tenant, JSON: {"acme": 30}. Default: AGENTDECK_RETENTION_DAYS.'
        ),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option(help="List what would be erased; erase nothing.")
    ] = False,
) -> None:
    """Apply the retention policy: erase subjects no run used for longer than their tenant allows.

    Run it on a schedule (a cron job or a Kubernetes CronJob); each erasure is
    recorded as a SubjectErased event with the policy's age.
    """
    settings = CliSettings()
    days_by_tenant = _policy(policy)
    stack = locate(settings)
    signer = operator_signer(settings, stack.data_dir)
    store = Store.open(stack.database_url, data_dir=stack.data_dir, upgrade=False)
    erased = 0
    try:
        keys = _keyring(settings, stack, store)
        for tenant, days in sorted(days_by_tenant.items()):
            before = datetime.now(UTC) - timedelta(days=days)
            with store.transaction(read_only=True) as conn:
                idle = store.subject_keys.idle_since(conn, tenant, before)
            for kid in idle:
                if dry_run:
                    console.print(f"would erase {kid} ({tenant}): unused for over {days} days")
                    continue
                destroyed = keys.erase(kid, reason="retention")
                _record(
                    stack,
                    signer,
                    tenant,
                    kid,
                    destroyed=destroyed,
                    reason="retention",
                    policy_days=days,
                )
                erased += 1
    finally:
        store.close()
    console.print(f"retention: {erased} subject key(s) erased")


def _policy(given: str | None) -> dict[str, int]:
    text = given if given is not None else os.environ.get("AGENTDECK_RETENTION_DAYS", "")
    if not text:
        raise ConfigError(
            "no retention policy: pass --policy '{\"acme\": 30}' or set AGENTDECK_RETENTION_DAYS"
        )
    try:
        parsed = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"retention policy is not JSON: {exc}") from None
    if not isinstance(parsed, dict) or not all(
        isinstance(t, str) and isinstance(d, int) and not isinstance(d, bool) and d >= 1
        for t, d in parsed.items()
    ):
        raise ConfigError('retention policy must map tenants to whole days >= 1: {"acme": 30}')
    return parsed
