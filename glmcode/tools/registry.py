"""The tools of one session: their order, their schemas, and the one way a call is run.

A `ToolRegistry` is made when a session starts, from the built-in tools in the fixed order of
DESIGN.md §4; tools that arrive at run time (MCP) are `add`ed after them, never before, so the
tool list — part of the provider's cached request prefix — only ever grows at its end. The agent
loop needs four things from here: `schemas()` for the request, `bind` to find a call's tool and
validate its arguments, `run` to gate and run it, and `call` for all of that at once. Nothing
here raises on a bad call: every failure becomes a `ToolResult(ok=False)` the model can act on,
and every output is cut to the session's output budget (`glmcode.output_budget`).
GitPython and other heavy modules are imported by the tools that need them, when they run.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from typing import Any

from pydantic import ValidationError

from glmcode import output_budget
from glmcode.errors import Refusal
from glmcode.rules.permissions import CallInfo
from glmcode.tools import saved_outputs
from glmcode.tools.base import Tool, ToolArgs, ToolContext, ToolError, ToolResult
from glmcode.tools.edit_file import EditFile
from glmcode.tools.git_diff import GitDiff
from glmcode.tools.git_status import GitStatus
from glmcode.tools.lint import Lint
from glmcode.tools.list_files import ListFiles
from glmcode.tools.read_file import ReadFile
from glmcode.tools.read_files import ReadFiles
from glmcode.tools.run_shell import RunShell
from glmcode.tools.run_tests import RunTests
from glmcode.tools.search import Search
from glmcode.tools.shell_output import ShellOutput
from glmcode.tools.shell_stop import ShellStop
from glmcode.tools.update_plan import UpdatePlan
from glmcode.tools.write_file import WriteFile

MAX_TOOLS = 128
"""The most tools one request may carry (GLM's limit, DESIGN.md §2 rule 7)."""
NAME_PATTERN = re.compile(r"[a-zA-Z0-9_-]{1,64}")
"""What a tool name must match in full (GLM's limit, DESIGN.md §2 rule 7)."""
_SNIPPET_CHARS = 200

Gate = Callable[[CallInfo], None]
"""Asked before a call runs: returns to let it run, raises `Refusal` (the message the model reads) to stop it."""


class RegistryError(ValueError):
    """A tool cannot join the registry: a bad or duplicate name, or the registry is full."""


class UnknownTool(ToolError):
    """The model called a tool that is not in the registry."""


class InvalidArguments(ToolError):
    """A call's arguments are not JSON, not an object, or fail the tool's `Args` validation."""


def builtin_tools() -> list[Tool]:
    """A fresh instance of every built-in tool, in the fixed order of DESIGN.md §4, then the
    background-command tools (`shell_output`, `shell_stop`) appended after it."""
    return [
        ReadFile(), WriteFile(), EditFile(), ReadFiles(), ListFiles(), Search(), RunShell(),
        GitStatus(), GitDiff(), Lint(), RunTests(), UpdatePlan(), ShellOutput(), ShellStop(),
    ]


@dataclass(frozen=True)
class BoundCall:
    """A call whose tool was found and whose arguments are valid: ready to be gated and run."""

    tool: Tool
    args: ToolArgs
    info: CallInfo
    """What the permission rules see: name, kind, whether it mutates, the one-line description."""


class ToolRegistry:
    """The tools one session offers the model, in request order."""

    def __init__(self, tools: list[Tool] | None = None) -> None:
        """The built-in tools (or `tools`, in their order); raises `RegistryError` like `add`."""
        self._tools: dict[str, Tool] = {}
        self._schemas: list[dict] | None = None
        self._schemas_json: str | None = None
        for tool in builtin_tools() if tools is None else tools:
            self.add(tool)

    def add(self, tool: Tool) -> None:
        """Append `tool` after those already present (the earlier ones keep their places).

        Raises `RegistryError` if the name does not match `NAME_PATTERN`, is already taken, or
        the registry already holds `MAX_TOOLS` tools. Adding changes `schemas()`: the request
        head must be rebuilt, which costs the provider's prefix cache once.
        """
        name = getattr(tool, "name", "")
        if not isinstance(name, str) or not NAME_PATTERN.fullmatch(name):
            raise RegistryError(f"the tool name {name!r} is not allowed: names match ^[a-zA-Z0-9_-]{{1,64}}$")
        if name in self._tools:
            raise RegistryError(f"a tool named {name!r} is already registered")
        if len(self._tools) >= MAX_TOOLS:
            raise RegistryError(f"cannot add {name!r}: a request carries at most {MAX_TOOLS} tools")
        self._tools[name] = tool
        self._schemas = self._schemas_json = None

    def __iter__(self) -> Iterator[Tool]:
        return iter(list(self._tools.values()))

    def __len__(self) -> int:
        return len(self._tools)

    @property
    def names(self) -> list[str]:
        """The tools' names, in request order."""
        return list(self._tools)

    def get(self, name: str) -> Tool | None:
        """The tool called `name`, or None."""
        return self._tools.get(name)

    def schemas(self) -> list[dict]:
        """The `tools` list for a request: the same list object, in the same order, until `add`.

        The list is shared: callers must not mutate it (the provider's prompt cache depends on it).
        """
        if self._schemas is None:
            self._schemas = [tool.schema() for tool in self._tools.values()]
        return self._schemas

    def schemas_json(self) -> str:
        """`schemas()` as compact JSON text, byte-identical on every call until `add`."""
        if self._schemas_json is None:
            self._schemas_json = json.dumps(self.schemas(), ensure_ascii=False, separators=(",", ":"))
        return self._schemas_json

    def bind(self, name: str, raw: str | dict | None) -> BoundCall:
        """Find the tool `name` and validate `raw` into its arguments.

        Raises `UnknownTool` or `InvalidArguments` (both `ToolError`s) with a message for the model.
        """
        tool = self._tools.get(name)
        if tool is None:
            raise UnknownTool(f"there is no tool named {name!r}; the tools are: {', '.join(self._tools)}")
        args = parse_arguments(tool, raw)
        try:
            info = tool.info(args)
        except Exception:  # a tool that cannot describe a call is treated as one that may change anything
            info = CallInfo(name=tool.name, kind=tool.kind, mutates=True, description=tool.name, args=args)
        return BoundCall(tool=tool, args=args, info=info)

    def preview(self, call: BoundCall, ctx: ToolContext) -> str:
        """What `call` will do, for an approval: the tool's `preview`, cut to `ctx.output_chars`.

        Never raises: a tool whose preview crashes gets its description and a line saying so.
        """
        try:
            text = call.tool.preview(call.args, ctx)
        except Exception as e:  # a preview is a courtesy: its failure must not stop the question
            text = f"{call.info.description}\n(no preview: {type(e).__name__}: {e})"
        return output_budget.cut(text, ctx.output_chars)

    def run(self, call: BoundCall, ctx: ToolContext, gate: Gate | None = None, call_id: str | None = None) -> ToolResult:
        """Ask `gate`, then run the call; a refusal, a `ToolError` or a crash becomes ok=False.

        The `CallInfo` the gate sees can compute the call's `preview` (on demand: it may read a file).

        The output is cut to `ctx.output_chars` (head and tail kept, one note of what was cut);
        with a `call_id` and `ctx.outputs`, a cut output is saved whole there and the note says
        how to read it (`glmcode.tools.saved_outputs`), the tool's own cuts included.
        A `Refusal` — from the gate, or from a rule the tool enforces — has the summary
        `refused`. KeyboardInterrupt and other BaseExceptions propagate: they are the user's.
        """
        try:
            if gate is not None:
                gate(dataclasses.replace(call.info, previewer=partial(self.preview, call, ctx)))
            with saved_outputs.saving_for(ctx.outputs, call_id):
                result = call.tool.run(call.args, ctx)
                output = _cut(result.output, ctx.output_chars)
        except Refusal as e:
            result = ToolResult(ok=False, output=str(e) or f"{call.tool.name} was refused", summary="refused")
        except ToolError as e:
            result = ToolResult(ok=False, output=str(e) or f"{call.tool.name} failed", summary="error")
        except Exception as e:  # a tool's crash is a result the model reads, never the loop's end
            result = ToolResult(ok=False, output=f"{type(e).__name__}: {e}", summary="error")
        else:
            return result if output is result.output else result.model_copy(update={"output": output})
        output = output_budget.cut(result.output, ctx.output_chars)
        return result if output is result.output else result.model_copy(update={"output": output})

    def call(self, name: str, raw: str | dict | None, ctx: ToolContext, gate: Gate | None = None) -> ToolResult:
        """Find, validate, gate and run one call; every failure becomes an ok=False result.

        Summaries of failures: `unknown tool`, `invalid arguments`, `refused`, `error`.
        """
        try:
            bound = self.bind(name, raw)
        except (UnknownTool, InvalidArguments) as e:
            return unbound_result(e, ctx)
        return self.run(bound, ctx, gate)


def _cut(text: str, limit: int) -> str:
    """`text` cut to `limit`; when cut, saved whole for the running call and the note says where."""
    if len(text) <= limit:
        return text
    return output_budget.cut(text, limit, saved_outputs.hint_for(lambda: [text]))


def unbound_result(error: UnknownTool | InvalidArguments, ctx: ToolContext) -> ToolResult:
    """The failed result of a call `bind` refused: summary `unknown tool` or `invalid arguments`."""
    summary = "unknown tool" if isinstance(error, UnknownTool) else "invalid arguments"
    return ToolResult(ok=False, output=output_budget.cut(str(error), ctx.output_chars), summary=summary)


def parse_arguments(tool: Tool, raw: str | dict | None) -> ToolArgs:
    """Validate a call's arguments (JSON text or an already decoded object) into `tool.Args`.

    Empty, None and JSON `null` mean no arguments. Two identical JSON objects back to back (a
    known streaming quirk) count as one. The right data in the wrong shape is coerced first when
    that is unambiguous (`coerce_to_schema`). Raises `InvalidArguments` with a message for the
    model naming each wrong field: its path, what it must be, and what came.
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
        raise InvalidArguments(
            f'the arguments of {tool.name} must be a JSON object like {{"name": value}}, '
            f"not a JSON {_json_type(data)}; {_expected(tool)}"
        )
    schema = _args_schema(tool.Args)
    data = coerce_to_schema(data, schema, schema.get("$defs", {}))
    try:
        return tool.Args.model_validate(data)
    except ValidationError as e:
        problems = "\n".join(_problem(err) for err in e.errors(include_url=False))
        raise InvalidArguments(f"invalid arguments for {tool.name}:\n{problems}\n{_expected(tool)}") from None


_SCHEMAS: dict[type, dict] = {}


def _args_schema(args: type[ToolArgs]) -> dict:
    """The JSON schema of an `Args` model, computed once per class."""
    schema = _SCHEMAS.get(args)
    if schema is None:
        schema = _SCHEMAS[args] = args.model_json_schema()
    return schema


def coerce_to_schema(value: object, schema: dict, defs: dict) -> object:
    """`value` with the right data in the wrong shape put right, where only one reading exists.

    A JSON string holding an array or object where the schema wants one is decoded; a string
    holding a JSON number or `true`/`false` where a number or boolean is wanted is decoded
    (`"5.0"` for an integer: 5). Objects and arrays are walked
    (`$ref`s resolved against `defs`). Anything else is left as it came, for validation to name.
    """
    schema = _resolve(schema, defs)
    types = _types(schema, defs)
    if isinstance(value, str) and types and "string" not in types:
        decoded = _json_or_none(value)
        kind = _schema_type(decoded)
        if kind in types or (kind == "integer" and "number" in types):
            value = decoded
        elif isinstance(decoded, float) and "integer" in types and decoded.is_integer():
            value = int(decoded)
    if isinstance(value, dict):
        properties = _object_properties(schema, defs)
        if properties:
            return {key: coerce_to_schema(item, properties[key], defs) if key in properties else item for key, item in value.items()}
    if isinstance(value, list):
        items = _array_items(schema, defs)
        if items is not None:
            return [coerce_to_schema(item, items, defs) for item in value]
    return value


def _resolve(schema: dict, defs: dict) -> dict:
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/$defs/"):
        return defs.get(ref.removeprefix("#/$defs/"), {})
    return schema


def _options(schema: dict, defs: dict) -> list[dict]:
    """The schema itself, or each branch of its `anyOf`/`oneOf`, `$ref`s resolved."""
    branches = schema.get("anyOf") or schema.get("oneOf")
    if isinstance(branches, list):
        return [_resolve(b, defs) for b in branches if isinstance(b, dict)]
    return [schema]


def _types(schema: dict, defs: dict) -> set[str]:
    found: set[str] = set()
    for option in _options(schema, defs):
        kind = option.get("type")
        found |= set(kind) if isinstance(kind, list) else {kind} if isinstance(kind, str) else set()
    found.discard("null")
    return found


def _object_properties(schema: dict, defs: dict) -> dict:
    for option in _options(schema, defs):
        if isinstance(option.get("properties"), dict):
            return option["properties"]
    return {}


def _array_items(schema: dict, defs: dict) -> dict | None:
    for option in _options(schema, defs):
        if option.get("type") == "array" and isinstance(option.get("items"), dict):
            return option["items"]
    return None


def _json_or_none(text: str) -> object:
    stripped = text.strip()
    if not stripped or stripped[0] not in '[{-0123456789tf':
        return None
    try:
        return json.loads(stripped)
    except (ValueError, RecursionError):
        return None


_EXPECTED = {
    "int_type": "an integer", "int_parsing": "an integer", "int_from_float": "an integer",
    "float_type": "a number", "float_parsing": "a number",
    "bool_type": "a boolean (true or false)", "bool_parsing": "a boolean (true or false)",
    "string_type": "a string", "list_type": "an array", "dict_type": "an object", "model_type": "an object",
    "model_attributes_type": "an object",
}


def _problem(err: Any) -> str:
    """One line for the model: the field's path, pydantic's words, then what it must be and what came."""
    where, kind, message = _location(err["loc"]), err["type"], err["msg"]
    if kind == "missing":
        return f"- {where}: {message} (required, and missing)"
    if kind == "extra_forbidden":
        return f"- {where}: {message} (not an argument of this tool)"
    value = err["input"]
    if value is None or isinstance(value, bool):
        got = f"got {json.dumps(value)}"
    elif isinstance(value, str):
        got = f"got the string {_snippet(value)}"
    else:
        got = f"got {_json_type(value)} {json.dumps(value, ensure_ascii=False, default=str)[:_SNIPPET_CHARS]}"
    expected = f"expected {_EXPECTED[kind]}, " if kind in _EXPECTED else ""
    return f"- {where}: {message} ({expected}{got})"


def _decode(tool: Tool, raw: str) -> object:
    text = raw.strip()
    decoder = json.JSONDecoder()
    try:
        value, end = decoder.raw_decode(text)
    except json.JSONDecodeError as e:
        raise InvalidArguments(
            f"the arguments of {tool.name} are not valid JSON ({e.msg} at line {e.lineno} column {e.colno}): "
            f"{_snippet(raw)}"
        ) from None
    except (ValueError, RecursionError) as e:  # a number past Python's digit limit, nesting past the stack
        raise InvalidArguments(f"the arguments of {tool.name} cannot be decoded ({type(e).__name__}): {_snippet(raw)}") from None
    rest = text[end:].strip()
    if rest:
        try:
            second, second_end = decoder.raw_decode(rest)
        except (ValueError, RecursionError):
            second, second_end = None, 0
        if second_end == 0 or rest[second_end:].strip() or second != value:
            raise InvalidArguments(
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
    if isinstance(value, str):
        return "string"
    if value is None:
        return "null"
    return "array" if isinstance(value, list) else "object" if isinstance(value, dict) else type(value).__name__


def _schema_type(value: object) -> str:
    """The JSON Schema type name of a decoded JSON value (`integer` for a whole number)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return "integer"
    return _json_type(value)


def _location(loc: tuple) -> str:
    return ".".join(str(part) for part in loc) or "(arguments)"


def _expected(tool: Tool) -> str:
    """`read_file takes: path (required), offset, limit`."""
    fields = tool.Args.model_fields
    if not fields:
        return f"{tool.name} takes no arguments: send {{}}."
    names = [f"{name} (required)" if info.is_required() else name for name, info in fields.items()]
    return f"{tool.name} takes: {', '.join(names)}."
