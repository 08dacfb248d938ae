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

from glmcode.model.code_spans import CodeTracker

DeltaKind = str
"""`"reasoning"` or `"text"`."""

ParamTypes = dict[str, dict[str, frozenset[str]]]
"""tool name → parameter name → the JSON types its schema allows (`"string"`, `"integer"`, …, no `"null"`)."""

_TOOL_CALL_BLOCK = re.compile(r"<tool_call>(.*?)</tool_call>", re.S)
_ARG_PAIR = re.compile(r"<arg_key>(.*?)</arg_key>\s*<arg_value>(.*?)</arg_value>", re.S)
_FAMILY_TAGS = (
    "<think>", "</think>", "<tool_call>", "</tool_call>", "<arg_key>", "</arg_key>",
    "<arg_value>", "</arg_value>", "<tool_response>", "</tool_response>", "<sop>", "<eop>",
)
"""GLM's chat-template markup that must never reach an answer (research/glm-api.md §7)."""
_SPECIAL_TOKEN = re.compile(r"<\|[A-Za-z_]{1,24}\|>")
"""`<|observation|>`, `<|user|>`, `<|assistant|>`, `<|system|>`, `<|endoftext|>` and the like."""
_SPECIAL_PREFIX = re.compile(r"<(?:\|[A-Za-z_]{0,24}\|?)?")
_TAG = re.compile("|".join(re.escape(tag) for tag in _FAMILY_TAGS) + "|" + _SPECIAL_TOKEN.pattern)
"""Any complete family tag or special token."""
_TAG_PREFIXES = frozenset(tag[:k] for tag in _FAMILY_TAGS for k in range(1, len(tag)))


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
    usage: dict[str, Any] | None = None
    """The provider's usage object; None when the host sent none (then the caller estimates)."""
    unclosed_tool_call: str | None = None
    """Raw `<tool_call>` text still open when the reply ended (a self-hosted server's unparsed,
    cut-off call), or a call another `<tool_call>` opened inside (then `nested_tool_call`): never
    run; the agent nudges the model once, then fails with this as cause."""
    nested_tool_call: bool = False
    """`unclosed_tool_call` is broken because a `<tool_call>` opened inside it (which `</tool_call>`
    closes which call cannot be told): it and everything after it were left unread."""

    @property
    def usage_reported(self) -> bool:
        """Whether the host sent a usage object for this turn."""
        return self.usage is not None

    @property
    def is_empty(self) -> bool:
        """No visible answer and no tool call (reasoning alone does not count)."""
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
    """A tool call being streamed: `index` as the server sent it (None: no index), `seq` its arrival."""

    seq: int
    index: int | None = None
    id: str = ""
    name: str = ""
    arguments: list[str] = field(default_factory=list)

    def arguments_look_complete(self) -> bool:
        """True when the arguments so far form one whole JSON value (checked only when they end in `}`)."""
        text = "".join(self.arguments).strip()
        if not text.endswith("}"):
            return False
        try:
            json.loads(text)
        except (ValueError, RecursionError):
            return False
        return True


class TurnAccumulator:
    """Collects the chunks of one streamed response.

    Tool calls are told apart the way every GLM host needs (DESIGN.md §2 rule 4): by `index`,
    except that a new non-empty id at an index already taken by another id starts a new call
    (vLLM/SGLang-served GLM and some gateways stream every call at index 0); calls without an
    index are told apart by id. A known id or name is never overwritten, by an empty value or
    another one, and the arguments of two calls are never joined.
    """

    def __init__(self, param_types: ParamTypes | None = None) -> None:
        """`param_types`: each tool's parameters' JSON types (`param_types_of`), used to decode
        values of raw `<tool_call>` text."""
        self._reasoning: list[str] = []
        self._markup = _MarkupFilter()
        self._calls: list[_PartialCall] = []
        self._by_index: dict[int, _PartialCall] = {}
        self._by_id: dict[str, _PartialCall] = {}
        self.finish_reason: str | None = None
        self.usage: dict[str, Any] | None = None
        """The provider's usage object, None until one arrives (many hosts send none unless asked)."""
        self.chunks = 0
        self._param_types = param_types or {}

    def feed(self, chunk: dict[str, Any]) -> list[tuple[DeltaKind, str]]:
        """Take one chunk; return the (kind, text) deltas it carries, in order.

        Content passes through a markup filter: GLM's raw tool-call text is held back from the
        deltas (it is parsed at `finish`), text inside `<think>` comes out as reasoning, and stray
        tags of the family (`</tool_call>`, `<arg_key>`, `<|observation|>`, a lone `</think>`)
        are dropped. Fields of the wrong type are ignored (a non-string id, name or finish
        reason, a usage that is not an object); a chunk whose structure is wrong (choices or
        deltas that are not objects) raises AttributeError or TypeError, which the client treats
        as a garbled stream."""
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
                deltas.extend(self._markup.feed(content))
            for fragment in delta.get("tool_calls") or ():
                self._add_tool_fragment(fragment)
            if isinstance(choice.get("finish_reason"), str) and choice["finish_reason"]:
                self.finish_reason = choice["finish_reason"]
        return deltas

    def _add_tool_fragment(self, fragment: dict[str, Any]) -> None:
        index = fragment.get("index")
        if isinstance(index, bool) or not isinstance(index, int):
            index = None
        raw_id, function = fragment.get("id"), fragment.get("function") or {}
        call_id = raw_id if isinstance(raw_id, str) else ""
        raw_name = function.get("name")
        name = raw_name if isinstance(raw_name, str) else ""
        call = self._call_for(index, call_id, name)
        if call_id and not call.id:
            call.id = call_id
            self._by_id.setdefault(call_id, call)
        if name and not call.name:
            call.name = name
        arguments = function.get("arguments")
        if isinstance(arguments, str):
            call.arguments.append(arguments)
        elif isinstance(arguments, dict):
            call.arguments.append(json.dumps(arguments, ensure_ascii=False))

    def _call_for(self, index: int | None, call_id: str, name: str) -> _PartialCall:
        """The call a fragment belongs to, started anew when the fragment begins another call."""
        if index is not None:
            known = self._by_index.get(index)
            if known is None or (call_id and known.id and call_id != known.id) or _starts_another(name, known):
                return self._new_call(index)
            return known
        if call_id and call_id in self._by_id:
            return self._by_id[call_id]
        # no index: a new id or a second name starts a call; a bare fragment continues the open one
        unindexed = [call for call in self._calls if call.index is None]
        if not unindexed or (call_id and unindexed[-1].id) or _starts_another(name, unindexed[-1]):
            return self._new_call(None)
        for call in reversed(unindexed):
            if not call.arguments_look_complete():
                return call
        return unindexed[-1]

    def _new_call(self, index: int | None) -> _PartialCall:
        call = _PartialCall(seq=len(self._calls), index=index)
        self._calls.append(call)
        if index is not None:
            self._by_index[index] = call
        return call

    @property
    def has_output(self) -> bool:
        """Whether anything of an answer streamed: reasoning, text or a tool call."""
        markup = self._markup.snapshot()
        return bool(self._calls or "".join(self._reasoning).strip() or markup.think.strip() or markup.text.strip())

    def partial(self) -> AssistantTurn:
        """What streamed so far, text only: kept when the user interrupts a turn."""
        markup = self._markup.snapshot()
        return AssistantTurn(
            reasoning="".join(self._reasoning) + markup.think, content=markup.text, finish_reason="interrupted"
        )

    def finish(self, turn_number: int = 0) -> AssistantTurn:
        """The assembled turn. Tool calls without an id get a deterministic one.

        Ordered by index (calls without one last), then by arrival. Raw `<tool_call>` text is
        parsed when no structured call came: complete calls become tool calls; a call still open
        at the end is kept in `unclosed_tool_call` (never run, never silently dropped).
        """
        markup = self._markup.close()
        turn = AssistantTurn(
            reasoning="".join(self._reasoning) + markup.think,
            content=markup.text,
            finish_reason=self.finish_reason,
            usage=self.usage,
        )
        if not turn.reasoning and markup.lone_think_end is not None:  # the prompt opened the <think>
            turn.reasoning, turn.content = turn.content[:markup.lone_think_end], turn.content[markup.lone_think_end:]
        if turn.reasoning and (markup.think or markup.lone_think_end is not None):
            turn.content = turn.content.lstrip()  # what followed `</think>` is the answer, as the template strips it
        ordered = sorted(self._calls, key=lambda c: (c.index if c.index is not None else 1 << 62, c.seq))
        taken: set[str] = set()
        for position, call in enumerate(ordered):
            call_id = call.id or f"call_{turn_number}_{position}"
            if call_id in taken:  # a host that gives two calls one id: each result must name its own call
                call_id = f"{call_id}_{position}"
            taken.add(call_id)
            arguments = "".join(call.arguments)
            if "<arg_key>" in call.name or call.name.strip().startswith("<tool_call>"):
                # the server's own parser failed: the raw call leaked into the name (GLM-5#84)
                body = call.name.replace("<tool_call>", "").replace("</tool_call>", "")
                _, leaked = parse_raw_tool_calls(f"<tool_call>{body}</tool_call>", self._param_types, turn_number)
                if leaked:
                    turn.tool_calls.append(RawToolCall(id=call_id, name=leaked[0].name, arguments=leaked[0].arguments))
                    continue
            turn.tool_calls.append(RawToolCall(id=call_id, name=call.name, arguments=arguments))
        if not turn.tool_calls and (markup.calls or markup.open_call is not None):
            _, turn.tool_calls = parse_raw_tool_calls("".join(markup.calls), self._param_types, turn_number)
            turn.content = turn.content.rstrip()
            turn.unclosed_tool_call = markup.open_call
            turn.nested_tool_call = markup.nested
        return turn


def _starts_another(name: str, call: _PartialCall) -> bool:
    """A fragment without a new id begins another call when it names a tool and `call` already
    has a name and whole arguments (anything more would only make them invalid)."""
    return bool(name and call.name and call.arguments_look_complete())


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


@dataclass
class _Markup:
    """What the markup filter has separated so far."""

    text: str
    """The visible answer, markup removed."""
    think: str
    """Text that came inside `<think>…</think>` in content."""
    calls: list[str]
    """Each closed raw call, `<tool_call>…</tool_call>`, in order."""
    open_call: str | None
    """The raw text of a `<tool_call>` still open (None when every call was closed)."""
    lone_think_end: int | None
    """Where in `text` a `</think>` with no `<think>` before it came: a server whose prompt
    ended in `<think>` streams the reasoning as content up to there."""
    nested: bool = False
    """`open_call` is broken by a `<tool_call>` that opened inside it (not merely left open)."""


_CALL_OPENING = re.compile(r"\s*[A-Za-z0-9_.\-]{0,64}\s*")
"""What may follow `<tool_call>` while the stream has not yet shown whether a call begins."""
_CALL_HEAD = re.compile(r"\s*[A-Za-z0-9_.\-]{1,64}\s*<")
"""A tool name, then `<arg_key>` or `</tool_call>`: a call does begin."""


class _MarkupFilter:
    """Splits streamed content into visible text, `<think>` text and raw tool calls, as it arrives.

    Text that may be the start of a family tag (`<too`, `<|obs`) is held back until the next
    fragment decides it; everything else goes out at once. `<tool_call>` begins a call only when
    a tool name follows (else it is text, as in an answer that talks about the format); inside a
    call nothing is shown. Other family tags anywhere are dropped (stray markup).

    In the answer, tags inside Markdown code (a fenced block or an inline code span, followed by
    `CodeTracker`) are text, shown as written: an answer that shows the raw format runs nothing.
    A first `</think>` with no `<think>` before it is the exception: what came before it was
    reasoning, not the answer's Markdown. A `<tool_call>` inside an open call breaks that call:
    which `</tool_call>` closes which cannot be told, so it and the rest of the reply are kept as
    the broken call (never run, never shown).
    """

    def __init__(self) -> None:
        self._state = "text"
        self._pending = ""
        self._text: list[str] = []
        self._think: list[str] = []
        self._call: list[str] = []
        self._calls: list[str] = []
        self._saw_think = False
        self._lone_think_end: int | None = None
        self._code = CodeTracker()

    def feed(self, fragment: str) -> list[tuple[DeltaKind, str]]:
        """The deltas to show for one content fragment (one per kind in a row, merged)."""
        if not self._pending and "<" not in fragment:  # the common case: plain text
            out: list[tuple[DeltaKind, str]] = []
            self._emit(out, fragment)
            return out
        self._pending += fragment
        return _merged(self._drain(final=False))

    def close(self) -> _Markup:
        """Flush what was held back (an incomplete tag prefix is plain text) and return the split."""
        self._drain(final=True)
        return self.snapshot()

    def snapshot(self) -> _Markup:
        """The split so far, held-back text left out."""
        open_call = "<tool_call>" + "".join(self._call) if self._state in ("call", "nested") else None
        return _Markup(
            "".join(self._text), "".join(self._think), list(self._calls), open_call, self._lone_think_end,
            nested=self._state == "nested",
        )

    def _drain(self, final: bool) -> list[tuple[DeltaKind, str]]:
        out: list[tuple[DeltaKind, str]] = []
        buf, i = self._pending, 0
        while True:
            match = _TAG.search(buf, i)
            if match is None:
                hold = len(buf) if final else _held_tail(buf, i)
                self._emit(out, buf[i:hold])
                i = hold
                break
            self._emit(out, buf[i:match.start()])
            tag = match.group()
            if self._state == "text" and not self._first_lone_think_end(tag) and self._code.in_code():
                self._emit(out, tag)  # markup shown in code is text, as written
                self._saw_think |= tag == "<think>"  # so a `</think>` after it is no end of reasoning
                i = match.end()
                continue
            if tag == "<tool_call>" and self._state == "text":
                after = buf[match.end():]
                if not final and _CALL_OPENING.fullmatch(after):
                    i = match.start()  # not yet known whether a call begins: hold
                    break
                if not (_CALL_HEAD.match(after) or (final and _CALL_OPENING.fullmatch(after))):
                    self._emit(out, tag)  # "<tool_call>" as words, not a call
                    i = match.end()
                    continue
            self._on_tag(tag)
            i = match.end()
        self._pending = buf[i:]
        return out

    def _first_lone_think_end(self, tag: str) -> bool:
        """`tag` is a `</think>` ending reasoning a server streamed as content (no `<think>` yet)."""
        return tag == "</think>" and not self._saw_think and self._lone_think_end is None

    def _emit(self, out: list[tuple[DeltaKind, str]], text: str) -> None:
        if not text:
            return
        if self._state in ("call", "nested"):
            self._call.append(text)
        elif self._state == "think":
            self._think.append(text)
            out.append(("reasoning", text))
        else:
            self._text.append(text)
            self._code.feed(text)
            out.append(("text", text))

    def _on_tag(self, tag: str) -> None:
        if self._state == "nested":
            self._call.append(tag)
        elif self._state == "call":
            if tag == "<tool_call>":
                self._state = "nested"
                self._call.append(tag)
            elif tag == "</tool_call>":
                self._calls.append("<tool_call>" + "".join(self._call) + tag)
                self._state = "text"
                self._call = []
            else:
                self._call.append(tag)
        elif tag == "<tool_call>":
            self._state = "call"
            self._call = []
        elif tag == "<think>" and self._state == "text":
            self._state = "think"
            self._saw_think = True
        elif tag == "</think>":
            if self._state == "text" and not self._saw_think and self._lone_think_end is None:
                self._lone_think_end = sum(len(part) for part in self._text)
                self._code = CodeTracker()  # the answer begins here: the reasoning's Markdown is behind
            self._state = "text"
        # any other family tag is stray markup: dropped


def _held_tail(buf: str, start: int) -> int:
    """Where the text that may still become a tag begins (a last `<` whose rest is a tag's
    prefix), or `len(buf)` when all of `buf[start:]` can be shown now."""
    at = buf.rfind("<", max(start, len(buf) - 27))
    if at < 0:
        return len(buf)
    rest = buf[at:]
    return at if rest in _TAG_PREFIXES or _SPECIAL_PREFIX.fullmatch(rest) else len(buf)


def _merged(deltas: list[tuple[DeltaKind, str]]) -> list[tuple[DeltaKind, str]]:
    """Adjacent deltas of one kind joined: one event per kind in a row, not one per tag."""
    merged: list[tuple[DeltaKind, str]] = []
    for kind, text in deltas:
        if merged and merged[-1][0] == kind:
            merged[-1] = (kind, merged[-1][1] + text)
        else:
            merged.append((kind, text))
    return merged


def parse_raw_tool_calls(
    text: str, param_types: ParamTypes, turn_number: int = 0
) -> tuple[str, list[RawToolCall]]:
    """Parse GLM's raw `<tool_call>name<arg_key>k</arg_key><arg_value>v</arg_value></tool_call>` text.

    Returns the visible content (the text before the first call, right-stripped) and the
    complete calls (an unclosed one is not among them). A value keeps its exact text, final
    newline included, when the schema types it as a string; a value typed otherwise (number,
    boolean, array, object) is decoded as JSON, then as a Python literal, and kept only if the
    result has an allowed type, else left as text for the argument check to name; a value of a
    parameter the schema does not know is decoded when it can be (vLLM's order), else kept.
    """
    calls = []
    for index, body in enumerate(_TOOL_CALL_BLOCK.findall(text)):
        name = re.split(r"<arg_key>|\n", body, maxsplit=1)[0].strip()
        name = name.split("<", 1)[0].strip()
        types = param_types.get(name, {})
        arguments = {
            key.strip(): _typed_value(value, types.get(key.strip())) for key, value in _ARG_PAIR.findall(body)
        }
        calls.append(RawToolCall(id=f"call_{turn_number}_{index}", name=name, arguments=json.dumps(arguments, ensure_ascii=False)))
    return text.split("<tool_call>", 1)[0].rstrip(), calls


def _typed_value(value: str, types: frozenset[str] | None) -> Any:
    """One `<arg_value>` as the schema wants it (see `parse_raw_tool_calls`)."""
    if not types:
        decoded = _decode_value(value.strip())
        return value if isinstance(decoded, str) else decoded
    if types == {"string"}:
        return value
    decoded = _decode_value(value.strip())
    if _json_type(decoded) in types or (_json_type(decoded) == "integer" and "number" in types):
        return decoded
    return value


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object" if isinstance(value, dict) else "null"


def _decode_value(value: str) -> Any:
    try:
        return json.loads(value)
    except (ValueError, RecursionError):
        pass
    try:
        literal = ast.literal_eval(value)
        json.dumps(literal)  # sets, bytes, complex numbers, tuple keys: literals JSON cannot carry
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return value
    return literal


def param_types_of(schemas: Iterable[dict[str, Any]]) -> ParamTypes:
    """For each tool in `schemas`, each parameter's allowed JSON types (from `type` or `anyOf`)."""
    result: ParamTypes = {}
    for schema in schemas:
        function = schema.get("function", {})
        properties = function.get("parameters", {}).get("properties", {})
        result[function.get("name", "")] = {key: _schema_types(prop) for key, prop in properties.items()}
    return result


def _schema_types(prop: dict[str, Any]) -> frozenset[str]:
    kinds = prop.get("type")
    found = set(kinds) if isinstance(kinds, list) else {kinds} if isinstance(kinds, str) else set()
    for option in prop.get("anyOf", ()) or prop.get("oneOf", ()):
        if isinstance(option, dict):
            found |= _schema_types(option)
    if not found and "enum" in prop:
        found = {_json_type(v) for v in prop["enum"]}
    found.discard("null")
    return frozenset(found)
