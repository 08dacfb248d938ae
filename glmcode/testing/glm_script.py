"""What the scripted GLM server serves: turns, tool calls, faults and whole scenarios (pydantic models).

The models forbid unknown fields so a typo in a scenario file fails loudly instead of being
ignored. Kept apart from the server so the wire and HTTP modules can use them without
importing the server (no import cycles).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = [
    "OVERFLOWS",
    "OVERLOADED_MESSAGE",
    "Fault",
    "FaultKind",
    "OverflowShape",
    "Scenario",
    "ScriptedToolCall",
    "ScriptedTurn",
    "load_scenario",
]

FaultKind = Literal[
    "http_error", "drop", "malformed", "error_in_stream", "json_error_200", "finish_reason", "delay"
]

OVERLOADED_MESSAGE = "The service may be temporarily overloaded, please try again later"


class _Strict(BaseModel):
    """Base model that rejects unknown fields."""

    model_config = ConfigDict(extra="forbid")


class ScriptedToolCall(_Strict):
    """One tool call the scripted model makes.

    ``arguments`` is the exact JSON text the client should reassemble, or a dict that is
    serialised as compact JSON, the way GLM sends it. ``id`` defaults to a deterministic
    GLM-style id such as ``call_-7682507267639338722`` derived from the turn number and index.
    """

    name: str
    arguments: str | dict[str, Any] = "{}"
    id: str | None = None

    def arguments_text(self) -> str:
        """The arguments as the JSON string a GLM stream carries."""
        if isinstance(self.arguments, str):
            return self.arguments
        return json.dumps(self.arguments, ensure_ascii=False, separators=(",", ":"))

    def arguments_object(self) -> dict[str, Any]:
        """The arguments as a JSON object (for the ``arguments_as_object`` quirk)."""
        if isinstance(self.arguments, dict):
            return self.arguments
        value = json.loads(self.arguments)
        if not isinstance(value, dict):
            raise ValueError(f"arguments of {self.name!r} are not a JSON object")
        return value


class Fault(_Strict):
    """A failure served instead of a turn; each fault is consumed by one request."""

    kind: FaultKind
    status: int = 500
    code: str | None = None
    message: str = OVERLOADED_MESSAGE
    retry_after: float | None = None
    after_chunks: int = Field(default=0, ge=0)
    finish_reason: str = "network_error"
    seconds: float = Field(default=0, ge=0)
    event: dict[str, Any] | None = None
    """For ``malformed``: this JSON event instead of the default cut-short one (a chunk of the
    wrong shape, e.g. ``{"choices": ["x"]}``: valid JSON, not a chunk)."""
    body: dict[str, Any] | list[Any] | str | None = None
    """For ``http_error``: this body instead of Z.ai's ``{"error": {"code", "message"}}`` — a
    JSON object or array as another host words its errors (Gemini sends an array), or text
    (served as ``text/plain``)."""

    def error_code(self, default: str | None = None) -> str:
        """The Z.ai business code for the error body: explicit code, else default, else status."""
        return self.code or default or str(self.status)


class ScriptedTurn(_Strict):
    """One assistant response: reasoning, then content, then tool calls."""

    reasoning: str = ""
    content: str = ""
    tool_calls: list[ScriptedToolCall] = Field(default_factory=list)
    finish_reason: str | None = None
    usage: dict[str, Any] | None = None
    chunk_chars: int = Field(default=8, ge=1)
    reasoning_field: Literal["reasoning_content", "reasoning"] = "reasoning_content"
    arguments_as_object: bool = False
    empty_name_in_continuations: bool = False
    usage_in_separate_chunk: bool = False
    usage_mode: Literal["always", "when_asked", "never"] = "always"
    """``always``: usage on the final chunk, as Z.ai sends it; ``when_asked``: only when the
    request sets ``stream_options.include_usage`` (vLLM, SGLang, llama.cpp, most gateways), then
    in a trailing chunk with empty ``choices``; ``never``: no usage at all."""
    tool_call_index: Literal["distinct", "same", "none"] = "distinct"
    """How streamed calls are indexed: ``distinct`` 0, 1, 2…; ``same``: every call at index 0,
    told apart only by a new id (vLLM/SGLang-served GLM, some gateways); ``none``: no ``index``
    key at all, told apart by id."""
    tool_calls_as_text: bool = False
    """Send the calls as GLM's raw text in ``content`` (``<tool_call>name<arg_key>k</arg_key>
    <arg_value>v</arg_value></tool_call>``), as a self-hosted server without a tool parser does;
    the finish reason defaults to ``stop``."""
    unclose_last_tool_call: bool = False
    """With ``tool_calls_as_text``: the last call's ``</tool_call>`` never comes."""
    raw_control_characters: bool = False
    """Stream chunks carry the control characters of their strings (VT, FF, FS... but not CR or
    LF) raw rather than as JSON escapes, as a lax server writes them. Characters beyond ASCII
    (U+0085, U+2028, U+2029 among them) are always sent raw, as GLM sends them."""
    faults: list[Fault] = Field(default_factory=list)

    @model_validator(mode="after")
    def _object_arguments_are_objects(self) -> ScriptedTurn:
        """With ``arguments_as_object`` or ``tool_calls_as_text`` every call's arguments must be a JSON object."""
        if self.arguments_as_object or self.tool_calls_as_text:
            for call in self.tool_calls:
                call.arguments_object()
        return self

    def resolved_finish_reason(self) -> str:
        """The finish reason served: explicit, else ``tool_calls`` or ``stop``."""
        if self.finish_reason:
            return self.finish_reason
        return "tool_calls" if self.tool_calls and not self.tool_calls_as_text else "stop"

    def raw_tool_call_text(self) -> str:
        """The calls as GLM-4.7-style raw text: string values as they are, others as JSON."""
        parts = []
        for call in self.tool_calls:
            args = "".join(
                f"<arg_key>{key}</arg_key><arg_value>"
                f"{value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)}</arg_value>"
                for key, value in call.arguments_object().items()
            )
            parts.append(f"<tool_call>{call.name}{args}</tool_call>")
        if parts and self.unclose_last_tool_call:
            parts[-1] = parts[-1].removesuffix("</tool_call>")
        return "".join(parts)


class Scenario(_Strict):
    """A whole script: the turn queue plus server-wide settings."""

    turns: list[ScriptedTurn] = Field(default_factory=list)
    chunk_delay_s: float = Field(default=0.0, ge=0)
    model: str = "glm-5.2"


def load_scenario(path: str | Path) -> Scenario:
    """Read a scenario file: a ``Scenario`` object, or a bare JSON list of turns."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    if isinstance(data, list):
        return Scenario(turns=data)
    return Scenario.model_validate(data)




OverflowShape = Literal["zai", "finish_reason", "openai", "vllm", "sglang", "llamacpp", "http_413"]
"""How a host says a request is longer than its context window (see ``OVERFLOWS``)."""

OVERFLOWS: dict[str, Fault] = {
    "zai": Fault(kind="http_error", status=400, code="1261", message="Prompt exceeds max length"),
    "finish_reason": Fault(kind="finish_reason", finish_reason="model_context_window_exceeded"),
    "openai": Fault(kind="http_error", status=400, body={"error": {
        "message": "This model's maximum context length is 8192 tokens. However, your messages resulted in 9100 tokens. "
        "Please reduce the length of the messages.",
        "type": "invalid_request_error", "param": "messages", "code": "context_length_exceeded",
    }}),
    "vllm": Fault(kind="http_error", status=400, body={
        "object": "error", "type": "BadRequestError", "param": None, "code": 400,
        "message": "This model's maximum context length is 8192 tokens. However, you requested 9100 tokens "
        "(9000 in the messages, 100 in the completion). Please reduce the length of the messages or completion.",
    }),
    "sglang": Fault(kind="http_error", status=400, body={
        "object": "error", "type": "BadRequestError", "param": None, "code": 400,
        "message": "The input (9100 tokens) is longer than the model's context length (8192 tokens).",
    }),
    "llamacpp": Fault(kind="http_error", status=400, body={"error": {
        "code": 400, "message": "the request exceeds the available context size, try increasing it",
        "type": "exceed_context_size_error", "n_prompt_tokens": 9100, "n_ctx": 8192,
    }}),
    "http_413": Fault(kind="http_error", status=413, body="Request Entity Too Large"),
    "tgi": Fault(kind="http_error", status=422, body={
        "error": "Input validation error: `inputs` tokens + `max_new_tokens` must be <= 8192. "
        "Given: 9000 `inputs` tokens and 100 `max_new_tokens`",
        "error_type": "validation",
    }),
    "gemini": Fault(kind="http_error", status=400, body=[{"error": {
        "code": 400, "status": "INVALID_ARGUMENT",
        "message": "The input token count (1200000) exceeds the maximum number of tokens allowed (1048576).",
    }}]),
    "cohere": Fault(kind="http_error", status=400, body={
        "message": "too many tokens: size limit exceeded by 1100 tokens. Try using shorter or fewer inputs, "
        "or setting prompt_truncation='AUTO'.",
    }),
}
"""The answer each host gives a request longer than its window, as the scripted server serves it:
Z.ai's code 1261, the stream's ``model_context_window_exceeded``, and the HTTP 400/413/422 bodies
of OpenAI, vLLM, SGLang, llama.cpp, a proxy, Hugging Face TGI (`{"error": "…"}`, a string),
Gemini (an array) and Cohere."""
