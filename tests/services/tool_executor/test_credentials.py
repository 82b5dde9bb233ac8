"""Per-call credentials through the executor, on a real store and real Redis.

The executor mints a credential for each call of a tool that calls a backend;
the demo desk verifies it. A credential captured from one call is refused for
any other call and after the call's deadline, and it never leaves the
executor except towards the backend: no event, ledger row or log line has it.
"""

import json
import logging
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import BaseModel

from agentdeck.contracts import default_codec
from agentdeck.contracts.models import ToolCallCompleted, ToolCallFailed
from agentdeck.credentials import CredentialKeys, args_sha256, verify
from agentdeck.demo.desk_api import AUDIENCE, CredentialRejected, DeskApi
from agentdeck.demo.tools import demo_registry
from agentdeck.errors import ConfigError
from agentdeck.signing import Signer, generate_private_key
from agentdeck.tool_executor.adapters.effects import EffectLedger
from agentdeck.tool_executor.core.reconcile import longest_call_s
from agentdeck.tools import RetryPolicy, ToolContext, ToolRegistry

REFUND = {"order_id": "2077", "amount_cents": 500, "reason": "arrived late"}

EFFECTS = EffectLedger()


class Clock:
    """The desk's clock: real time until the test moves it."""

    def __init__(self) -> None:
        self.fixed: datetime | None = None

    def __call__(self) -> datetime:
        return self.fixed or datetime.now(UTC)


class CapturingDesk(DeskApi):
    """The real desk API, which also keeps what a network tap would see: each credential."""

    def __init__(self, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        self.seen: list[str] = []

    def create_refund(self, *args, credential, **kwargs):  # type: ignore[no-untyped-def]
        self.seen.append(credential)
        return super().create_refund(*args, credential=credential, **kwargs)


@pytest.fixture
def desk_clock() -> Clock:
    return Clock()


@pytest.fixture
def api(authority, desk, desk_clock) -> CapturingDesk:  # type: ignore[no-untyped-def]
    keys = CredentialKeys(authority.credential_public_keys())
    return CapturingDesk(desk, keys, clock=desk_clock)


def _refund(api, decision, credential, **changes):  # type: ignore[no-untyped-def]
    args = {**REFUND, **changes}
    return api.create_refund(**args, key=decision.idempotency_key, credential=credential)


def test_the_desk_receives_a_credential_bound_to_the_call_it_serves(authority, make_executor, api):
    decision = authority.decision("create_refund", REFUND)
    before = datetime.now(UTC)
    events = make_executor(tools=demo_registry(api)).handle(decision)
    assert [type(e) for e in events] == [ToolCallCompleted]
    [credential] = api.seen
    claims = verify(
        credential,
        CredentialKeys(authority.credential_public_keys()),
        audience=AUDIENCE,
        tool="create_refund",
        args_sha256=args_sha256(REFUND),
        call_id=decision.idempotency_key,
        now=datetime.now(UTC),
    )
    assert (claims.run_id, claims.issuer) == (decision.envelope.run_id, "tool-executor")
    longest = longest_call_s(demo_registry().contract("create_refund"))
    assert claims.not_after <= before + timedelta(seconds=longest + 2)


def test_a_credential_leaked_from_one_call_is_refused_for_another_call(
    authority, make_executor, api, desk
):
    call_a = authority.decision("create_refund", REFUND)
    call_b = authority.decision("create_refund", REFUND, run_id=call_a.envelope.run_id, step="s2")
    make_executor(tools=demo_registry(api)).handle(call_a)
    [leaked] = api.seen
    refunds = desk.refunds()
    with pytest.raises(CredentialRejected) as other_call:
        _refund(api, call_b, leaked)
    with pytest.raises(CredentialRejected) as other_amount:
        _refund(api, call_a, leaked, amount_cents=20_000)
    assert other_call.value.code == "credential_wrong_call"
    assert other_amount.value.code == "credential_wrong_arguments"
    assert desk.refunds() == refunds


def test_a_credential_leaked_from_a_call_is_refused_after_its_deadline(
    authority, make_executor, api, desk, desk_clock
):
    decision = authority.decision("create_refund", REFUND)
    make_executor(tools=demo_registry(api)).handle(decision)
    [leaked] = api.seen
    longest = longest_call_s(demo_registry().contract("create_refund"))
    desk_clock.fixed = datetime.now(UTC) + timedelta(seconds=longest + 2)
    with pytest.raises(CredentialRejected) as caught:
        _refund(api, decision, leaked)
    assert caught.value.code == "credential_expired"


def test_a_desk_that_does_not_trust_the_executors_key_fails_the_call_and_refunds_nothing(
    authority, make_executor, desk
):
    stranger = Signer("executor-1", generate_private_key())
    tools = demo_registry(desk, credential_public_keys={"executor-1": stranger.public_key_b64()})
    refunds = desk.refunds()
    events = make_executor(tools=tools).handle(authority.decision("create_refund", REFUND))
    assert [type(e) for e in events] == [ToolCallFailed]
    assert events[0].failure.code == "credential_bad_signature"
    assert desk.refunds() == refunds


def test_an_executor_with_tools_that_need_credentials_but_no_key_refuses_to_start(
    make_executor,
):
    with pytest.raises(ConfigError) as caught:
        make_executor(credential_signing_key=None)
    message = str(caught.value)
    assert "AGENTDECK_EXECUTOR_CREDENTIAL_SIGNING_KEY" in message
    assert "create_refund" in message
    assert "\n" not in message


def test_the_credential_is_in_no_event_ledger_row_or_log_line(
    authority, make_executor, api, store, caplog
):
    decision = authority.decision("create_refund", REFUND)
    with caplog.at_level(logging.DEBUG):
        events = make_executor(tools=demo_registry(api)).handle(decision)
    [credential] = api.seen
    signature = credential.rsplit(".", 1)[1]
    codec = default_codec()
    for event in events:
        assert signature.encode() not in codec.encode(event)
        assert signature not in event.model_dump_json()
    with store.transaction(read_only=True) as conn:
        entry = EFFECTS.get(conn, decision.idempotency_key)
    assert signature not in repr(entry)
    assert all(signature not in r.getMessage() for r in caplog.records)


class Probe(BaseModel):
    n: int


class Seen(BaseModel):
    has_credential: bool
    audience_ok: bool


def test_only_tools_whose_contract_names_a_backend_get_a_credential(authority, make_executor):
    registry = ToolRegistry()
    keys = CredentialKeys(authority.credential_public_keys())

    def seen(args: Probe, ctx: ToolContext, audience: str) -> Seen:
        if ctx.credential is None:
            return Seen(has_credential=False, audience_ok=False)
        claims = verify(
            ctx.credential,
            keys,
            audience=audience,
            tool=f"probe_{audience}",
            args_sha256=args_sha256(args.model_dump(mode="json")),
            call_id=ctx.idempotency_key,
            now=datetime.now(UTC),
        )
        return Seen(has_credential=True, audience_ok=claims.audience == audience)

    @registry.tool(version="1.0", credential_audience="crm")
    def probe_crm(args: Probe, ctx: ToolContext) -> Seen:
        """Report the credential it got."""
        return seen(args, ctx, "crm")

    @registry.tool(version="1.0")
    def probe_none(args: Probe, ctx: ToolContext) -> Seen:
        """Report the credential it got (none expected)."""
        return seen(args, ctx, "none")

    executor = make_executor(tools=registry)
    crm = executor.handle(authority.decision("probe_crm", {"n": 1}))[0]
    none = executor.handle(authority.decision("probe_none", {"n": 1}))[0]
    assert Seen.model_validate_json(crm.output_json) == Seen(has_credential=True, audience_ok=True)
    assert Seen.model_validate_json(none.output_json).has_credential is False
    assert "credential=" not in repr(
        ToolContext("r", "s", "t", None, "k", 1, datetime.now(UTC), "x")
    )


class Echo(BaseModel):
    text: str


def test_a_tool_that_echoes_its_credential_has_it_redacted_from_output_and_error(
    authority, make_executor
):
    registry = ToolRegistry()
    given: list[str] = []

    @registry.tool(version="1.0", credential_audience="crm")
    def echo(args: Probe, ctx: ToolContext) -> Echo:
        """Print the credential (a careless tool)."""
        given.append(ctx.credential or "")
        return Echo(text=f"token={ctx.credential}")

    @registry.tool(version="1.0", credential_audience="crm", retry=RetryPolicy(max_attempts=1))
    def blurt(args: Probe, ctx: ToolContext) -> Echo:
        """Fail with the credential in the message (a careless tool)."""
        given.append(ctx.credential or "")
        raise RuntimeError(f"backend said no to {ctx.credential}")

    executor = make_executor(tools=registry)
    echoed = executor.handle(authority.decision("echo", {"n": 1}))[0]
    failed = executor.handle(authority.decision("blurt", {"n": 1}))[0]
    assert all(given)
    assert given[0] not in echoed.output_json
    assert json.loads(echoed.output_json)["text"] == "token=[credential]"
    assert given[1] not in failed.failure.message
    assert "[credential]" in failed.failure.message
