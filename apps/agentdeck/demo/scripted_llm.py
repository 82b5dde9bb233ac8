"""A scripted OpenAI-compatible endpoint: the demo's (and the tests') stand-in for a model.

It serves ``POST /v1/chat/completions`` on a loopback port and answers from a
script: the first script whose ``match`` appears in the first user message
is followed, and the answer is its entry at the conversation's turn (the
number of assistant messages so far). Entries are either
``{"tool_calls": [{"name": ..., "arguments": {...}}]}`` or ``{"content": "..."}``.
"""

from __future__ import annotations

import json
import random
import threading
from collections.abc import Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = ["DEMO_SCRIPT", "ScriptedModel"]

DEMO_SCRIPT: list[dict[str, Any]] = [
    {
        "match": "order 1042",
        "turns": [
            {"tool_calls": [{"name": "lookup_order", "arguments": {"order_id": "1042"}}]},
            {
                "tool_calls": [
                    {
                        "name": "draft_email",
                        "arguments": {
                            "to": "kim@example.com",
                            "subject": "About your order 1042",
                            "body": "Your order 1042 is on its way.",
                        },
                    }
                ]
            },
            {"content": "Looked the order up and drafted a status note for the customer."},
        ],
    },
    {  # a long document: the draft (about 18 KB) and the next request go by claim check
        "match": "quarterly report",
        "turns": [
            {
                "tool_calls": [
                    {
                        "name": "draft_email",
                        "arguments": {
                            "to": "kim@example.com",
                            "subject": "The quarterly report",
                            "body": "Orders shipped on time this quarter. " * 500,
                        },
                    }
                ]
            },
            {"content": "Drafted the quarterly report for review."},
        ],
    },
    {  # a model stuck repeating itself: the planner's loop detection stops it
        "match": "keep checking order 3001",
        "turns": [{"tool_calls": [{"name": "lookup_order", "arguments": {"order_id": "3001"}}]}]
        * 6,
    },
    {  # a model asking for a tool that does not exist
        "match": "wipe the order database",
        "turns": [{"tool_calls": [{"name": "drop_all_tables", "arguments": {}}]}],
    },
]


def _answer(script: Sequence[dict[str, Any]], request: dict[str, Any]) -> dict[str, Any]:
    messages = request.get("messages", [])
    first_user = next((m.get("content", "") for m in messages if m.get("role") == "user"), "")
    turn = sum(1 for m in messages if m.get("role") == "assistant")
    entry: dict[str, Any] = {"content": "I have no script for this goal."}
    for item in script:
        if item["match"] in first_user and turn < len(item["turns"]):
            entry = item["turns"][turn]
            break
    message: dict[str, Any] = {"role": "assistant", "content": entry.get("content")}
    if "tool_calls" in entry:
        message["tool_calls"] = [
            {
                "id": f"call_{turn}_{n}",
                "type": "function",
                "function": {"name": c["name"], "arguments": json.dumps(c["arguments"])},
            }
            for n, c in enumerate(entry["tool_calls"])
        ]
    prompt = sum(len(str(m.get("content") or "")) for m in messages) // 4 + 1
    return {
        "id": f"scripted-{turn}",
        "object": "chat.completion",
        "model": request.get("model"),
        "choices": [
            {
                "index": 0,
                "message": message,
                "finish_reason": "tool_calls" if "tool_calls" in entry else "stop",
            }
        ],
        "usage": {"prompt_tokens": prompt, "completion_tokens": 20, "total_tokens": prompt + 20},
    }


class ScriptedModel:
    """The endpoint, on a free loopback port, in a background thread; a context manager."""

    def __init__(
        self, script: Sequence[dict[str, Any]] = DEMO_SCRIPT, *, fail_share: float = 0.0
    ) -> None:
        """``fail_share``: the share of requests answered 503, drawn from a seeded generator."""
        self.requests: list[dict[str, Any]] = []
        self.failed = 0
        owner = self
        draw = random.Random(7)  # noqa: S311 -- which requests fail, not a secret

        class _Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                request = json.loads(self.rfile.read(length) or b"{}")
                owner.requests.append(request)
                if fail_share and draw.random() < fail_share:
                    owner.failed += 1
                    self.send_response(503)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                body = json.dumps(_answer(script, request)).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002, ARG002
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        """Where to point the planner (``.../v1``)."""
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/v1"

    def __enter__(self) -> ScriptedModel:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
