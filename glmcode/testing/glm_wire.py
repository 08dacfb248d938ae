"""GLM wire shapes: stream chunks, full completions, usage and error bodies.

Pure functions with no I/O. A turn is cut into ``Piece`` objects (one per non-final stream
chunk); streaming serves them as chunks, non-streaming assembles them into one message, and
faults serve only a prefix of them. Usage is computed from the pieces actually served.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from glmcode.testing.glm_script import ScriptedTurn


@dataclass(frozen=True)
class Piece:
    """The payload of one non-final stream chunk: delta fields other than ``role``."""

    kind: Literal["reasoning", "content", "tool"]
    delta: dict[str, Any]
    chars: int


@dataclass(frozen=True)
class ResponseContext:
    """Per-request values stamped on every chunk and on the usage block."""

    response_id: str
    created: int
    model: str
    turn_number: int
    prompt_tokens: int
    cached_tokens: int
    usage_requested: bool = False
    """The request set ``stream_options: {"include_usage": true}``."""


def dumps(payload: Any) -> bytes:
    """Compact UTF-8 JSON, the way GLM writes it."""
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()


def sse(payload: dict[str, Any] | str, raw_controls: bool = False) -> bytes:
    """One server-sent event: ``data: <json>`` (or a literal such as ``[DONE]``) and a blank line.

    With ``raw_controls`` the control characters in the JSON's strings, but for CR and LF, are
    written raw instead of escaped (``unescape_controls``)."""
    data = payload.encode() if isinstance(payload, str) else dumps(payload)
    if raw_controls:
        data = unescape_controls(data)
    return b"data: " + data + b"\n\n"


_CONTROL_ESCAPE = re.compile(rb"(?<!\\)((?:\\\\)*)\\(u00[01][0-9a-fA-F]|[btf])")
_SHORT_ESCAPES = {b"b": b"\b", b"t": b"\t", b"f": b"\f"}


def unescape_controls(data: bytes) -> bytes:
    """Compact JSON with its escaped control characters (U+0000 to U+001F) written raw, but for CR
    and LF, as a lax server writes them (JSON wants them escaped; a raw CR or LF would end the SSE
    line). An escaped backslash before a ``u``/``b``/``t``/``f`` is left as it is."""

    def raw(match: re.Match[bytes]) -> bytes:
        escape = match.group(2)
        char = _SHORT_ESCAPES.get(escape) or bytes([int(escape[1:], 16)])
        return match.group(0) if char in (b"\n", b"\r") else match.group(1) + char

    return _CONTROL_ESCAPE.sub(raw, data)


def split(text: str, size: int) -> list[str]:
    """Cut text into fragments of at most ``size`` characters."""
    return [text[start : start + size] for start in range(0, len(text), size)]


def tool_call_id(turn_number: int, index: int) -> str:
    """A deterministic GLM-style tool call id (``call_-`` and 19 digits) for a turn and index."""
    digest = hashlib.sha256(f"{turn_number}:{index}".encode()).digest()
    number = 10**18 + int.from_bytes(digest[:8], "big") % (9 * 10**18)
    return f"call_-{number}"


def turn_pieces(turn: ScriptedTurn, turn_number: int) -> list[Piece]:
    """All non-final chunk payloads of a turn, in GLM order: reasoning, content, tool calls."""
    pieces = [
        Piece("reasoning", {turn.reasoning_field: fragment}, len(fragment))
        for fragment in split(turn.reasoning, turn.chunk_chars)
    ]
    content = turn.content + (turn.raw_tool_call_text() if turn.tool_calls_as_text else "")
    pieces += [
        Piece("content", {"content": fragment}, len(fragment))
        for fragment in split(content, turn.chunk_chars)
    ]
    if not turn.tool_calls_as_text:
        for index in range(len(turn.tool_calls)):
            pieces += _tool_call_pieces(turn, turn_number, index)
    return pieces


def _tool_call_pieces(turn: ScriptedTurn, turn_number: int, index: int) -> list[Piece]:
    """The fragments of one tool call: a header with id and name, then argument fragments."""
    call = turn.tool_calls[index]
    call_id = call.id if call.id is not None else tool_call_id(turn_number, index)
    wire_index = {"distinct": index, "same": 0, "none": None}[turn.tool_call_index]
    if turn.arguments_as_object:
        head = _tool_delta(wire_index, call_id, call.name, call.arguments_object())
        return [Piece("tool", head, len(call.arguments_text()))]
    pieces = [Piece("tool", _tool_delta(wire_index, call_id, call.name, ""), 0)]
    for fragment in split(call.arguments_text(), turn.chunk_chars):
        continuation: dict[str, Any] = {"function": {"arguments": fragment}}
        if turn.empty_name_in_continuations:
            continuation = {"id": "", "function": {"name": "", "arguments": fragment}}
        elif wire_index is None:
            continuation = {"id": call_id, **continuation}  # without an index, only the id tells calls apart
        if wire_index is not None:
            continuation = {"index": wire_index, **continuation}
        pieces.append(Piece("tool", {"tool_calls": [continuation]}, len(fragment)))
    return pieces


def _tool_delta(index: int | None, call_id: str, name: str, arguments: Any) -> dict[str, Any]:
    """The delta of a tool call's first fragment (no ``index`` key when ``index`` is None)."""
    function = {"name": name, "arguments": arguments}
    fragment: dict[str, Any] = {"id": call_id, "type": "function", "function": function}
    if index is not None:
        fragment = {"index": index, **fragment}
    return {"tool_calls": [fragment]}


def usage_for(turn: ScriptedTurn, ctx: ResponseContext, pieces: list[Piece]) -> dict[str, Any]:
    """The turn's usage override, else usage computed from the request and the served pieces."""
    if turn.usage is not None:
        return turn.usage
    generated = sum(piece.chars for piece in pieces)
    reasoning = sum(piece.chars for piece in pieces if piece.kind == "reasoning")
    completion_tokens = generated // 4 + 1
    return {
        "prompt_tokens": ctx.prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": ctx.prompt_tokens + completion_tokens,
        "prompt_tokens_details": {"cached_tokens": ctx.cached_tokens},
        "completion_tokens_details": {"reasoning_tokens": reasoning // 4},
    }


def chunk(ctx: ResponseContext, delta: dict[str, Any]) -> dict[str, Any]:
    """A non-final ``chat.completion.chunk``: no ``finish_reason`` key at all."""
    return _chunk_envelope(ctx, [{"index": 0, "delta": {"role": "assistant", **delta}}])


def final_chunk(ctx: ResponseContext, finish_reason: str, usage: dict[str, Any] | None) -> dict[str, Any]:
    """The chunk that carries ``finish_reason`` and, unless sent separately, ``usage``."""
    choice = {"index": 0, "delta": {"role": "assistant"}, "finish_reason": finish_reason}
    payload = _chunk_envelope(ctx, [choice])
    if usage is not None:
        payload["usage"] = usage
    return payload


def usage_chunk(ctx: ResponseContext, usage: dict[str, Any]) -> dict[str, Any]:
    """A trailing chunk with an empty ``choices`` list that carries only usage."""
    return {**_chunk_envelope(ctx, []), "usage": usage}


def _chunk_envelope(ctx: ResponseContext, choices: list[dict[str, Any]]) -> dict[str, Any]:
    """The fields shared by every stream chunk."""
    return {
        "id": ctx.response_id,
        "created": ctx.created,
        "object": "chat.completion.chunk",
        "model": ctx.model,
        "choices": choices,
    }


def completion(
    ctx: ResponseContext, turn: ScriptedTurn, pieces: list[Piece], finish_reason: str
) -> dict[str, Any]:
    """A full non-streaming ``chat.completion`` object assembled from the pieces."""
    return {
        "id": ctx.response_id,
        "request_id": ctx.response_id,
        "created": ctx.created,
        "model": ctx.model,
        "object": "chat.completion",
        "choices": [{"index": 0, "finish_reason": finish_reason, "message": assemble_message(turn, pieces)}],
        "usage": usage_for(turn, ctx, pieces),
    }


def assemble_message(turn: ScriptedTurn, pieces: list[Piece]) -> dict[str, Any]:
    """Join pieces into one assistant message; arguments stay strings unless sent as objects."""
    content = "".join(p.delta["content"] for p in pieces if p.kind == "content")
    reasoning = "".join(p.delta[turn.reasoning_field] for p in pieces if p.kind == "reasoning")
    message: dict[str, Any] = {"role": "assistant", "content": content}
    if reasoning:
        message[turn.reasoning_field] = reasoning
    calls: list[dict[str, Any]] = []
    for piece in pieces:
        if piece.kind == "tool":
            _merge_tool_fragment(calls, piece.delta["tool_calls"][0])
    if calls:
        message["tool_calls"] = calls
    return message


def _merge_tool_fragment(calls: list[dict[str, Any]], fragment: dict[str, Any]) -> None:
    """Fold one tool-call fragment into the calls: a fragment with a name opens a call (pieces
    come call by call), any other continues the last one."""
    arguments = fragment["function"]["arguments"]
    if fragment["function"].get("name"):
        call: dict[str, Any] = {
            "id": fragment["id"],
            "type": "function",
            "function": {"name": fragment["function"]["name"], "arguments": arguments},
        }
        if "index" in fragment:
            call["index"] = fragment["index"]
        calls.append(call)
    else:
        calls[-1]["function"]["arguments"] += arguments


def error_body(code: str, message: str) -> dict[str, Any]:
    """A Z.ai error body: ``{"error": {"code": ..., "message": ...}}``."""
    return {"error": {"code": code, "message": message}}


def malformed_event(ctx: ResponseContext) -> bytes:
    """Two chunk starts run together and cut short, as seen from GLM in the wild."""
    start = f'{{"id":"{ctx.response_id}","created":{ctx.created},"object":"chat.compl'
    return b'data: {"id":data: ' + start.encode() + b"\n\n"


def truncated_completion(ctx: ResponseContext) -> bytes:
    """A non-streaming completion body cut off mid-object."""
    return f'{{"id":"{ctx.response_id}","object":"chat.completion","choices":[{{"index":0,"mess'.encode()


def common_prefix_len(first: bytes, second: bytes) -> int:
    """Length of the longest common prefix of two byte strings.

    Binary search where only the not-yet-known part is compared, so the cost stays linear.
    """
    low, high = 0, min(len(first), len(second))
    while low < high:
        middle = (low + high + 1) // 2
        if first[low:middle] == second[low:middle]:
            low = middle
        else:
            high = middle - 1
    return low


PREFIX_BLOCK_BYTES = 64
"""Granularity of `PrefixCache`: 64 bytes, about 16 tokens at 4 bytes a token (a paged KV cache's
usual block of 16 tokens)."""


class PrefixCache:
    """A provider's prefix cache as the scripted server imitates it: a request's cached part is the
    longest prefix it shares with any earlier request, counted in whole blocks of
    `PREFIX_BLOCK_BYTES` bytes (a block is cached when it and everything before it were sent
    before). Nothing is ever evicted. Bytes, not tokens: the caller divides by 4.
    """

    def __init__(self, block_bytes: int = PREFIX_BLOCK_BYTES) -> None:
        self.block_bytes = block_bytes
        self._known: set[bytes] = set()

    def lookup_and_add(self, body: bytes) -> int:
        """How many leading bytes of `body` were cached; its blocks are then cached too."""
        digest, cached, hit = b"", 0, True
        size = self.block_bytes
        for start in range(0, len(body) - size + 1, size):
            digest = hashlib.blake2b(digest + body[start : start + size], digest_size=16).digest()
            if hit and digest in self._known:
                cached = start + size
            else:
                hit = False
                self._known.add(digest)
        return cached
