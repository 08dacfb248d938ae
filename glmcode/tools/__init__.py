"""The registry of the tools the model sees: lookup, schemas, argument parsing and safe execution.

The agent loop needs four things from here: `schemas()` for the request, `get(name)` to find
the tool a call names, `parse_arguments` to validate the call's arguments, and `execute` to run
it. `call` does the last three at once. Nothing here raises on a bad call: every failure becomes
a `ToolResult(ok=False)` (or a `ToolError` from `parse_arguments`) whose text the model can act on.
GitPython and other heavy modules are imported by the tools that need them, when they run.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable

from pydantic import ValidationError

from glmcode.tools.base import Tool, ToolArgs, ToolContext, ToolError, ToolResult
from glmcode.tools.edit_file import EditFile
from glmcode.tools.git_diff import GitDiff
from glmcode.tools.git_status import GitStatus
from glmcode.tools.lint import Lint
from glmcode.tools.list_files import ListFiles
from glmcode.tools.read_file import ReadFile
from glmcode.tools.run_shell import RunShell
from glmcode.tools.run_tests import RunTests
from glmcode.tools.search import Search
from glmcode.tools.update_plan import UpdatePlan
from glmcode.tools.write_file import WriteFile

__all__ = [
    "ALL_TOOLS",
    "MAX_RESULT_CHARS",
    "Tool",
    "ToolArgs",
    "ToolContext",
    "ToolError",
    "ToolResult",
    "call",
    "execute",
    "get",
    "parse_arguments",
    "schemas",
    "schemas_json",
]

ALL_TOOLS: tuple[type[Tool], ...] = (
    ReadFile,
    WriteFile,
    EditFile,
    ListFiles,
    Search,
    RunShell,
    GitStatus,
    GitDiff,
    Lint,
    RunTests,
    UpdatePlan,
)
"""Every tool, in the fixed order of DESIGN.md §4 (the order of `schemas()`)."""

MAX_RESULT_CHARS = 50_000
"""A tool's output is cut to about this many characters (head and tail kept) before the model sees it."""
_SNIPPET_CHARS = 200

_BY_NAME: dict[str, type[Tool]] = {tool.name: tool for tool in ALL_TOOLS}


def get(name: str) -> type[Tool] | None:
    """The tool called `name`, or None."""
    return _BY_NAME.get(name)


@functools.cache
def _schemas() -> tuple[str, list[dict]]:
    built = [tool.schema() for tool in ALL_TOOLS]
    return json.dumps(built, ensure_ascii=False, separators=(",", ":")), built


def schemas() -> list[dict]:
    """The `tools` list for a request, built once: same objects, same order, every call.

    The list is shared: callers must not mutate it (the provider's prompt cache depends on it).
    """
    return _schemas()[1]


def schemas_json() -> str:
    """`schemas()` as compact JSON text, byte-identical on every call."""
    return _schemas()[0]


def parse_arguments(tool: type[Tool], raw: str | dict | None) -> ToolArgs:
    """Validate a call's arguments (JSON text or an already decoded object) into `tool.Args`.

    Empty, None and JSON `null` mean no arguments. Two identical JSON objects back to back (a
    known streaming quirk) count as one. Raises `ToolError` with a message for the model.
    """
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        data: object = {}
    elif isinstance(raw, str):
        data = _decode(tool, raw)
    else:
        data = raw
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ToolError(
            f'the arguments of {tool.name} must be a JSON object like {{"name": value}}, '
            f"not a JSON {_json_type(data)}; {_expected(tool)}"
        )
    try:
        return tool.Args.model_validate(data)
    except ValidationError as e:
        problems = "\n".join(f"- {_location(err['loc'])}: {err['msg']}" for err in e.errors(include_url=False))
        raise ToolError(f"invalid arguments for {tool.name}:\n{problems}\n{_expected(tool)}") from None


def _decode(tool: type[Tool], raw: str) -> object:
    text = raw.strip()
    decoder = json.JSONDecoder()
    try:
        value, end = decoder.raw_decode(text)
    except json.JSONDecodeError as e:
        raise ToolError(
            f"the arguments of {tool.name} are not valid JSON ({e.msg} at line {e.lineno} column {e.colno}): "
            f"{_snippet(raw)}"
        ) from None
    rest = text[end:].strip()
    if rest:
        try:
            second, second_end = decoder.raw_decode(rest)
        except json.JSONDecodeError:
            second, second_end = None, 0
        if second_end == 0 or rest[second_end:].strip() or second != value:
            raise ToolError(
                f"the arguments of {tool.name} hold more than one JSON value; send exactly one JSON object: "
                f"{_snippet(raw)}"
            )
    return value


def _snippet(raw: str) -> str:
    return json.dumps(raw[:_SNIPPET_CHARS], ensure_ascii=False) + ("…" if len(raw) > _SNIPPET_CHARS else "")


def _json_type(value: object) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    names: dict[type, str] = {str: "string", list: "array"}
    return names.get(type(value), type(value).__name__)


def _location(loc: tuple) -> str:
    return ".".join(str(part) for part in loc) or "(arguments)"


def _expected(tool: type[Tool]) -> str:
    """`read_file takes: path (required), offset, limit`."""
    fields = tool.Args.model_fields
    if not fields:
        return f"{tool.name} takes no arguments: send {{}}."
    names = [f"{name} (required)" if info.is_required() else name for name, info in fields.items()]
    return f"{tool.name} takes: {', '.join(names)}."


def execute(tool: type[Tool], args: ToolArgs, ctx: ToolContext) -> ToolResult:
    """Run `tool` and always return a result: `ToolError` and any other exception become ok=False.

    The output is cut to `MAX_RESULT_CHARS` (head and tail kept, with a note of what was cut).
    KeyboardInterrupt and other BaseExceptions propagate: they are the user's, not the tool's.
    """
    try:
        result = tool().run(args, ctx)
    except ToolError as e:
        result = ToolResult(ok=False, output=str(e) or f"{tool.name} failed", summary="error")
    except Exception as e:
        result = ToolResult(ok=False, output=f"{type(e).__name__}: {e}", summary="error")
    if len(result.output) > MAX_RESULT_CHARS:
        result = result.model_copy(update={"output": _cap(result.output)})
    return result


Gate = Callable[[type[Tool], ToolArgs], "str | None"]
"""Asked before a call runs: None lets it run, a string is the refusal the model reads."""


def call(name: str, raw: str | dict | None, ctx: ToolContext, gate: Gate | None = None) -> ToolResult:
    """Find, validate, gate and run one call; every failure becomes an ok=False result."""
    tool = get(name)
    if tool is None:
        return ToolResult(
            ok=False, output=f"there is no tool named {name!r}; the tools are: {', '.join(_BY_NAME)}", summary="unknown tool"
        )
    try:
        args = parse_arguments(tool, raw)
    except ToolError as e:
        return ToolResult(ok=False, output=str(e), summary="invalid arguments")
    refusal = gate(tool, args) if gate else None
    if refusal:
        return ToolResult(ok=False, output=refusal, summary="refused")
    return execute(tool, args, ctx)


def _cap(text: str) -> str:
    head = MAX_RESULT_CHARS * 2 // 5
    tail = MAX_RESULT_CHARS - head
    cut = len(text) - head - tail
    return f"{text[:head]}\n[... {cut:,} characters cut ...]\n{text[-tail:]}"
