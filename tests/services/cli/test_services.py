"""The embedded stack's wiring: what the approval service is given of the approvers' tokens,
and whose signatures the services trust."""

import json
import stat

from agentdeck.approval.adapters.auth import token_hash
from agentdeck.approval.adapters.authenticators import authenticator_from
from agentdeck.approval.settings import ApprovalSettings
from agentdeck.cli.services import embedded_trust
from agentdeck.embedded_stack.identities import embedded_approvers
from agentdeck.embedded_stack.keys import load_or_create


def test_the_approval_service_gets_token_hashes_and_only_the_cli_keeps_the_tokens(tmp_path):
    keys = load_or_create(tmp_path)
    tokens = keys.approver_tokens
    given = ApprovalSettings(approvers=embedded_approvers(keys), allow_static_tokens=True)
    assert set(given.approvers) == {token_hash(t) for t in tokens.values()}
    everything = given.model_dump_json() + repr(given)
    assert not [t for t in tokens.values() if t in everything]
    who = authenticator_from(given).identify(tokens["alice"])
    assert who is not None
    assert (who.name, who.roles, who.tenants) == ("alice", {"support-lead"}, {"*"})
    key_file = tmp_path / "keys.json"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert tokens["alice"] in key_file.read_text(encoding="utf-8")  # for `--as alice`


def test_the_embedded_stack_trusts_exactly_its_own_writers(tmp_path, monkeypatch):
    intruder = {"intruder-1": {"service": "planner", "public_key": "AAAA"}}
    monkeypatch.setenv("AGENTDECK_WRITER_KEYS", json.dumps(intruder))
    keys = load_or_create(tmp_path)
    assert embedded_trust(keys).writer_keys == keys.writers()
