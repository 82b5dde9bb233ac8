"""Model answers, made durable before they are used.

A run's N-th model answer is looked up in the ledger first (a redelivered
batch must act on the answer it already published), then in the response
cache (identical requests are answered once), and only then asked for; a
fresh answer is written to the ledger before anything else happens with it.
A large request or response is stored by content hash in that same
transaction, so the ``LlmCallRecorded`` event can carry its reference.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection

from agentdeck.claimcheck import ClaimCheck, Owner
from agentdeck.contracts import FieldCipher
from agentdeck.hashing import canonical_json, sha256_hex
from agentdeck.hotstate import HotState
from agentdeck.planner.adapters.model import ModelPort
from agentdeck.planner.adapters.records import KeptAnswer, ModelCallsTable
from agentdeck.privacy import AtRest
from agentdeck.store import Store

__all__ = ["ModelAnswer", "ModelCalls"]

_LEDGER_PATH = "model.ledger"
_CACHE_PATH = "model.cache"


@dataclass(frozen=True)
class ModelAnswer:
    """One recorded exchange.

    Attributes:
        recorded_request: What the event's ``request_json`` carries: the request,
            or its claim-check reference.
        recorded_response: Likewise for ``response_json``.
    """

    request_json: str
    request_hash: str
    response: dict[str, Any]
    cached: bool
    latency_ms: int
    recorded_request: str
    recorded_response: str


class ModelCalls:
    """Ledger, then cache, then the endpoint."""

    def __init__(
        self,
        store: Store,
        hot: HotState,
        port: ModelPort,
        *,
        cache_ttl_s: float,
        claims: ClaimCheck,
        cipher: FieldCipher | None = None,
    ) -> None:
        self._store = store
        self._ledger = ModelCallsTable()
        self._hot = hot
        self._port = port
        self._ttl = cache_ttl_s
        self._claims = claims
        self._at_rest = AtRest(cipher)

    def answer(
        self,
        run_id: str,
        turn: int,
        request: dict[str, Any],
        *,
        tenant: str = "",
        port: ModelPort | None = None,
    ) -> ModelAnswer:
        """The answer to the run's ``turn``-th model request (large texts sealed as the run's).

        ``port`` asks the model if neither ledger nor cache answers (default: this one's).
        """
        owner = (tenant, run_id)
        request_json = canonical_json(request)
        digest = sha256_hex(request_json)
        key = f"{run_id}:{turn}"
        with self._store.transaction(read_only=True) as conn:
            kept = self._ledger.get(conn, run_id, turn)
        recorded = None if kept is None else self._open(kept.response, key, _LEDGER_PATH)
        if kept is not None and recorded is not None:  # as first obtained: billed the same
            texts = self._recorded_texts(request_json, recorded, owner)
            response = json.loads(recorded)
            return ModelAnswer(request_json, digest, response, kept.cached, kept.latency_ms, *texts)
        started = time.monotonic()
        cached_bytes = self._hot.cache_get(f"llm:{digest}")
        cached = None
        if cached_bytes is not None:
            cached = self._open(cached_bytes.decode(), digest, _CACHE_PATH)
        asked = port or self._port
        response = json.loads(cached) if cached else asked.complete(request)
        latency = int((time.monotonic() - started) * 1000)
        answer = canonical_json(response)
        if not cached:
            sealed = self._seal(answer, owner, digest, _CACHE_PATH)
            self._hot.cache_set(f"llm:{digest}", sealed.encode(), ttl_s=self._ttl)
        state = self._seal(answer, owner, key, _LEDGER_PATH)  # before the write transaction
        mine = KeptAnswer(state, cached is not None, latency)
        with self._store.transaction() as conn:
            if not self._ledger.add(conn, run_id, turn, mine, at=datetime.now(UTC)):
                winner = self._ledger.get(conn, run_id, turn)  # a replica answered first
                opened = None if winner is None else self._open(winner.response, key, _LEDGER_PATH)
                if winner is not None and opened:
                    response, mine = json.loads(opened), winner
            texts = self._check_in(conn, request_json, canonical_json(response), owner)
        return ModelAnswer(request_json, digest, response, mine.cached, mine.latency_ms, *texts)

    def _seal(self, text: str, owner: Owner, record_id: str, path: str) -> str:
        """``text`` sealed under the run's subject key (answers quote what the prompt held)."""
        tenant, run_id = owner
        return self._at_rest.seal(
            text, tenant=tenant, run_id=run_id, record_id=record_id, path=path
        )

    def _open(self, text: str, record_id: str, path: str) -> str | None:
        """The clear text, or None if its subject was erased (then it is asked again)."""
        return self._at_rest.open(text, record_id=record_id, path=path)

    def _recorded_texts(
        self, request_json: str, response_json: str, owner: Owner
    ) -> tuple[str, str]:
        """The event's texts of an answer already in the ledger.

        Large payloads are checked in again (insert-if-absent), so an answer the
        ledger kept from before claim checks still gets stored references.
        """
        if not (self._claims.needed(request_json) or self._claims.needed(response_json)):
            return request_json, response_json
        with self._store.transaction() as conn:
            return self._check_in(conn, request_json, response_json, owner)

    def _check_in(
        self, conn: Connection, request_json: str, response_json: str, owner: Owner
    ) -> tuple[str, str]:
        claims = self._claims
        return (
            claims.check_in(conn, request_json, owner=owner),
            claims.check_in(conn, response_json, owner=owner),
        )
