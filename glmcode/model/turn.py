"""One assistant turn assembled from GLM's streamed chunks (DESIGN.md §2, rules 4, 5 and 9).

`TurnAccumulator.feed(chunk)` takes each raw chunk dict and returns the text deltas to show;
`finish()` returns the `AssistantTurn`: reasoning, content, tool calls joined by index, the
finish reason and the usage. Raw `<tool_call>` and `<think>` text left in `content` by
self-hosted servers is parsed out at the end.
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

DeltaKind = str
"""`"reasoning"` or `"text"`."""

_TOOL_CALL_BLOCK = re.compile(r"<tool_call>(.*?)</tool_call>", re.S)
_ARG_PAIR = re.compile(r"<arg_key>(.*?)</arg_key>\s*<arg_value>(.*?)</arg_value>", re.S)
_THINK = re.compile(r"^\s*<think>(.*?)</think>\s*", re.S)


@dataclass
class RawToolCall:
    """A tool call as the model sent it: `arguments` is the raw JSON text."""

    id: str
    name: str
    arguments: str

    def to_message(self) -> dict[str, Any]:
        return {"id": self.id, "type": "function", "function": {"name": self.name, "arguments": self.arguments}}


@dataclass
class AssistantTurn:
    """Everything one model response produced."""

    reasoning: str = ""
    content: str = ""
    tool_calls: list[RawToolCall] = field(default_factory=list)
    finish_reason: str | None = None
    usage: dict[str, Any] = field(default_factory=dict)

    @property
    def is_empty(self) -> bool:
        return not self.content.strip() and not self.tool_calls

    def to_message(self) -> dict[str, Any]:
        """The assistant message sent back to the model, `reasoning_content` kept verbatim."""
        message: dict[str, Any] = {"role": "assistant", "content": self.content}
        if self.reasoning:
            message["reasoning_content"] = self.reasoning
        if self.tool_calls:
            message["tool_calls"] = [call.to_message() for call in self.tool_calls]
        return message


@dataclass
class _PartialCall:
    id: str = ""
    name: str = ""
    arguments: list[str] = field(default_factory=list)


class TurnAccumulator:
    """Collects the chunks of one streamed response."""

    def __init__(self, string_params: dict[str, set[str]] | None = None) -> None:
        self._reasoning: list[str] = []
        self._content: list[str] = []
        self._calls: dict[int, _PartialCall] = {}
        self.finish_reason: str | None = None
        self.usage: dict[str, Any] = {}
        self.chunks = 0
        self._string_params = string_params or {}

    def feed(self, chunk: dict[str, Any]) -> list[tuple[DeltaKind, str]]:
        """Take one chunk; return the (kind, text) deltas it carries, in order.

        Fields of the wrong type are ignored (a non-string id, name or finish reason, a usage that
        is not an object); a chunk whose structure is wrong (choices or deltas that are not
        objects) raises AttributeError or TypeError, which the client treats as a garbled stream."""
        self.chunks += 1
        if isinstance(chunk.get("usage"), dict):
            self.usage = chunk["usage"]
        deltas: list[tuple[DeltaKind, str]] = []
        for choice in chunk.get("choices") or ():
            delta = choice.get("delta") or {}
            reasoning = _reasoning_text(delta)
            if reasoning:
                self._reasoning.append(reasoning)
                deltas.append(("reasoning", reasoning))
            content = delta.get("content")
            if isinstance(content, str) and content:
                self._content.append(content)
                deltas.append(("text", content))
            for position, fragment in enumerate(delta.get("tool_calls") or ()):
                self._add_tool_fragment(fragment, position)
            if isinstance(choice.get("finish_reason"), str) and choice["finish_reason"]:
                self.finish_reason = choice["finish_reason"]
        return deltas

    def _add_tool_fragment(self, fragment: dict[str, Any], position: int) -> None:
        index = fragment.get("index")
        if not isinstance(index, int):
            index = position
        call = self._calls.setdefault(index, _PartialCall())
        if isinstance(fragment.get("id"), str) and fragment["id"] and not call.id:
            call.id = fragment["id"]
        function = fragment.get("function") or {}
        if isinstance(function.get("name"), str) and function["name"] and not call.name:
            call.name = function["name"]
        arguments = function.get("arguments")
        if isinstance(arguments, str):
            call.arguments.append(arguments)
        elif isinstance(arguments, dict):
            call.arguments.append(json.dumps(arguments, ensure_ascii=False))

    def partial(self) -> AssistantTurn:
        """What streamed so far, text only: kept when the user interrupts a turn."""
        return AssistantTurn(reasoning="".join(self._reasoning), content="".join(self._content), finish_reason="interrupted")

    def finish(self, turn_number: int = 0) -> AssistantTurn:
        """The assembled turn. Tool calls without an id get a deterministic one."""
        turn = AssistantTurn(
            reasoning="".join(self._reasoning),
            content="".join(self._content),
            finish_reason=self.finish_reason,
            usage=self.usage,
        )
        for index in sorted(self._calls):
            call = self._calls[index]
            turn.tool_calls.append(
                RawToolCall(
                    id=call.id or f"call_{turn_number}_{index}",
                    name=call.name,
                    arguments="".join(call.arguments),
                )
            )
        if not turn.reasoning:
            think = _THINK.match(turn.content)
            if think:
                turn.reasoning = think.group(1)
                turn.content = turn.content[think.end():]
        if not turn.tool_calls and "<tool_call>" in turn.content:
            turn.content, turn.tool_calls = parse_raw_tool_calls(turn.content, self._string_params, turn_number)
        return turn


def _reasoning_text(delta: dict[str, Any]) -> str:
    """Reasoning from `reasoning_content`, else `reasoning` (newer vLLM), else `reasoning_details`."""
    for key in ("reasoning_content", "reasoning"):
        value = delta.get(key)
        if isinstance(value, str) and value:
            return value
    details = delta.get("reasoning_details")
    if isinstance(details, list):
        return "".join(d.get("text", "") for d in details if isinstance(d, dict) and isinstance(d.get("text"), str))
    return ""


def parse_raw_tool_calls(
    text: str, string_params: dict[str, set[str]], turn_number: int = 0
) -> tuple[str, list[RawToolCall]]:
    """Parse GLM's raw `<tool_call>name<arg_key>k</arg_key><arg_value>v</arg_value></tool_call>` text.

    Returns the visible content (the text before the first call) and the calls. Values of
    parameters the schema types as strings stay raw; others are decoded as JSON, then as a
    Python literal, else kept as text (vLLM's order).
    """
    calls = []
    for index, body in enumerate(_TOOL_CALL_BLOCK.findall(text)):
        name = re.split(r"<arg_key>|\n", body, maxsplit=1)[0].strip()
        name = name.split("<", 1)[0].strip()
        strings = string_params.get(name, set())
        arguments = {
            key.strip(): (value.strip() if key.strip() in strings else _decode_value(value.strip()))
            for key, value in _ARG_PAIR.findall(body)
        }
        calls.append(RawToolCall(id=f"call_{turn_number}_{index}", name=name, arguments=json.dumps(arguments, ensure_ascii=False)))
    return text.split("<tool_call>", 1)[0].rstrip(), calls


def _decode_value(value: str) -> Any:
    try:
        return json.loads(value)
    except ValueError:
        pass
    try:
        literal = ast.literal_eval(value)
        json.dumps(literal)  # sets, bytes, complex numbers, tuple keys: literals JSON cannot carry
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return value
    return literal


def string_params_of(schemas: Iterable[dict[str, Any]]) -> dict[str, set[str]]:
    """For each tool in `schemas`, the names of its parameters typed as strings."""
    result = {}
    for schema in schemas:
        function = schema.get("function", {})
        properties = function.get("parameters", {}).get("properties", {})
        result[function.get("name", "")] = {
            key for key, prop in properties.items()
            if prop.get("type") == "string" or any(o.get("type") == "string" for o in prop.get("anyOf", ()))
        }
    return result
