"""The conversation as the provider sees it: an append-only list of messages and its request body.

GLM's context cache hits only on a byte-identical prefix (DESIGN.md §2, rule 8), and the
`openai` SDK's own request preparation walks the whole history every turn (DESIGN.md §8). So
each message is serialised once, when it is appended, and every request body is the fixed head
(model, parameters, tools) plus the already-encoded messages: request n+1's body, without its
closing `]}`, starts with request n's body without it. Nothing earlier is ever rewritten.
"""

from __future__ import annotations

import json
from typing import Any


def encode(value: Any) -> bytes:
    """The one JSON encoding used for everything sent: compact, UTF-8, key order kept."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


class Conversation:
    """Messages plus the request head; `body()` is the exact bytes of the next request."""

    def __init__(self, head: dict[str, Any]) -> None:
        self.messages: list[dict[str, Any]] = []
        self._encoded = bytearray()
        self.set_head(head)

    def set_head(self, head: dict[str, Any]) -> None:
        """Replace the request head (model, effort, tools...): the one change that breaks the cache."""
        if "messages" in head:
            raise ValueError("the request head must not contain messages")
        self.head = head
        encoded = encode(head)[:-1]
        self._head = encoded + (b',"messages":[' if head else b'"messages":[')

    def restart(self, messages: list[dict[str, Any]]) -> None:
        """Start over from `messages` with the same head (compaction)."""
        self.messages = []
        self._encoded = bytearray()
        for message in messages:
            self.append(message)

    def append(self, message: dict[str, Any]) -> None:
        """Add a message at the end; it is encoded now and never again."""
        if self.messages:
            self._encoded += b","
        self._encoded += encode(message)
        self.messages.append(message)

    def body(self) -> bytes:
        """The request body for the conversation so far."""
        return b"".join((self._head, self._encoded, b"]}"))

    @property
    def last_role(self) -> str | None:
        return self.messages[-1]["role"] if self.messages else None

    def size_bytes(self) -> int:
        return len(self._head) + len(self._encoded)
