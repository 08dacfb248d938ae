"""The conversation as the provider sees it: an append-only list of messages and its request body.

GLM's context cache hits only on a byte-identical prefix (DESIGN.md §2, rule 8), and the
`openai` SDK's own request preparation walks the whole history every turn (DESIGN.md §8). So
each message is serialised once, when it is appended, and every request body is the fixed head
(model, parameters, tools) plus the already-encoded messages: request n+1's body, without its
closing `]}`, starts with request n's body without it. Nothing earlier is ever rewritten.

A request is sent from `request_body()`: the encoded history handed over in chunks, never joined
into one more copy of the whole body (at 1M tokens that copy is 4 MB a turn, and peak memory).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

CHUNK_BYTES = 1 << 18
"""The largest piece a `RequestBody` hands over at a time (the only copies made while sending are
of one piece: the slice and its bytes)."""


def encode(value: Any) -> bytes:
    """The one JSON encoding used for everything sent: compact, UTF-8, key order kept."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


class Conversation:
    """Messages plus the request head; `body()` is the exact bytes of the next request."""

    def __init__(self, head: dict[str, Any]) -> None:
        self.messages: list[dict[str, Any]] = []
        self._encoded = bytearray()
        self._sizes: list[int] = []
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
        self._sizes = []
        for message in messages:
            self.append(message)

    def append(self, message: dict[str, Any]) -> None:
        """Add a message at the end; it is encoded now and never again."""
        encoded = encode(message)
        if self.messages:
            self._encoded += b","
        self._encoded += encoded
        self._sizes.append(len(encoded))
        self.messages.append(message)

    def body(self) -> bytes:
        """The request body for the conversation so far, as one bytes object (a copy of the history)."""
        return b"".join((self._head, self._encoded, b"]}"))

    def request_body(self) -> RequestBody:
        """The request body for the conversation so far, without copying the history: the same
        bytes as `body()`, handed over in chunks. Messages appended later are not part of it."""
        return RequestBody(self._head, self._encoded, b"]}")

    @property
    def last_role(self) -> str | None:
        return self.messages[-1]["role"] if self.messages else None

    def size_bytes(self) -> int:
        """Length of `body()` in bytes, without building it: O(1)."""
        return len(self._head) + len(self._encoded) + 2

    def message_size(self, index: int) -> int:
        """Encoded length in bytes of message `index` (its separating comma included but for the first)."""
        return self._sizes[index] + (1 if index else 0)

    @property
    def head_size(self) -> int:
        """Bytes of the request head (model, parameters, tools) and the body's framing."""
        return len(self._head) + 2

    def body_with(self, messages: list[dict[str, Any]], keep: int) -> bytes:
        """A body of the first `keep` messages as they are (already encoded: no copy of work but
        the bytes) followed by `messages`, encoded now; the conversation is left as it is.

        For side requests (the compaction summary) that change or add only the last messages.
        Raises ValueError if `keep` is out of range.
        """
        if not 0 <= keep <= len(self.messages):
            raise ValueError(f"keep={keep} outside 0..{len(self.messages)}")
        kept = sum(self._sizes[:keep]) + max(keep - 1, 0)
        added = b",".join(encode(message) for message in messages)
        separator = b"," if keep and messages else b""
        with memoryview(self._encoded) as view:
            return b"".join((self._head, view[:kept], separator, added, b"]}"))


class RequestBody:
    """The bytes of one request as a re-iterable sequence of chunks (retries send it again).

    `len()` is its size in bytes; iterating yields the head, the encoded messages in pieces of at
    most `CHUNK_BYTES` (each a short-lived copy) and the tail. It holds the conversation's buffer
    as it was when made: the buffer only ever grows (a restart gives the conversation a new one),
    so later appends do not change what it yields.
    """

    def __init__(self, head: bytes, encoded: bytearray, tail: bytes) -> None:
        self._head, self._encoded, self._end, self._tail = head, encoded, len(encoded), tail

    def __len__(self) -> int:
        return len(self._head) + self._end + len(self._tail)

    def __iter__(self) -> Iterator[bytes]:
        yield self._head
        for start in range(0, self._end, CHUNK_BYTES):
            # a slice, never a memoryview: a request cancelled mid-send may still be read from its
            # thread while the agent appends, and a live export would make that append fail
            yield bytes(self._encoded[start : min(start + CHUNK_BYTES, self._end)])
        yield self._tail

    def __bytes__(self) -> bytes:
        return b"".join(self)
