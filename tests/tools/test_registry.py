"""The registry: order, schemas, prompts, argument parsing, and safe execution."""

from __future__ import annotations

import json
import re

import pytest

from glmcode import output_budget, prompts
from glmcode.errors import Refusal
from glmcode.rules.permissions import CallInfo
from glmcode.tools.base import Tool, ToolArgs, ToolContext, ToolResult
from glmcode.tools.edit_file import EditFile
from glmcode.tools.git_status import GitStatus
from glmcode.tools.list_files import ListFiles
from glmcode.tools.read_file import ReadFile
from glmcode.tools.registry import (
    MAX_TOOLS,
    BoundCall,
    InvalidArguments,
    RegistryError,
    ToolRegistry,
    parse_arguments,
)
from glmcode.tools.update_plan import UpdatePlan
from glmcode.tools.write_file import WriteFile

DESIGN_ORDER = [
    "read_file",
    "write_file",
    "edit_file",
    "read_files",
    "list_files",
    "search",
    "run_shell",
    "git_status",
    "git_diff",
    "lint",
    "run_tests",
    "update_plan",
    "shell_output",
    "shell_stop",
]
REQUIRED = {
    "read_file": ["path"],
    "write_file": ["path", "content"],
    "edit_file": ["path", "old_string", "new_string"],
    "read_files": ["paths"],
    "list_files": [],
    "search": ["pattern"],
    "run_shell": ["command"],
    "git_status": [],
    "git_diff": [],
    "lint": [],
    "run_tests": [],
    "update_plan": ["steps"],
    "shell_output": [],
    "shell_stop": ["id"],
}


def test_tools_in_design_order_with_lookup(registry: ToolRegistry) -> None:
    assert registry.names == DESIGN_ORDER and [tool.name for tool in registry] == DESIGN_ORDER
    for tool in registry:
        assert registry.get(tool.name) is tool
        assert tool.kind in ("read", "edit", "exec", "check", "plan")
    assert registry.get("rm_rf") is None
    assert len(registry) == len(DESIGN_ORDER)


def test_schemas_are_stable_valid_and_described(registry: ToolRegistry) -> None:
    first = json.dumps(registry.schemas())
    assert registry.schemas() is registry.schemas() and json.dumps(registry.schemas()) == first
    assert registry.schemas_json() is registry.schemas_json()
    assert registry.schemas_json() == json.dumps(registry.schemas(), ensure_ascii=False, separators=(",", ":"))
    assert ToolRegistry().schemas_json() == registry.schemas_json()
    for schema, name in zip(registry.schemas(), DESIGN_ORDER, strict=True):
        function = schema["function"]
        assert schema["type"] == "function"
        assert function["name"] == name and re.fullmatch(r"[a-zA-Z0-9_-]{1,64}", name)
        assert function["description"] == prompts.load(f"tools/{name}.md")
        parameters = function["parameters"]
        assert parameters["type"] == "object"
        assert sorted(parameters.get("required", [])) == sorted(REQUIRED[name])
        text = json.dumps(parameters)
        assert "$ref" not in text and "$defs" not in text and '"title"' not in text and "anyOf" not in text
        for field, spec in parameters["properties"].items():
            assert spec.get("description"), f"{name}.{field} has no description"


def test_every_tool_has_a_clean_prompt_file() -> None:
    for name in DESIGN_ORDER:
        path = prompts.prompts_dir() / "tools" / f"{name}.md"
        text = path.read_text(encoding="utf-8")
        assert 200 < len(text) < 2000, name
        assert text.endswith("\n") and not text.endswith("\n\n"), name
        assert not any(line != line.rstrip() for line in text.split("\n")), name


def test_path_and_command_fields_have_length_limits(registry: ToolRegistry) -> None:
    by_name = {s["function"]["name"]: s["function"]["parameters"]["properties"] for s in registry.schemas()}
    for name, properties in by_name.items():
        if "path" in properties:
            assert properties["path"]["maxLength"] == 4096, name
    assert by_name["run_shell"]["command"]["maxLength"] == 100_000


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ('{"path": "a.py", "offset": 3}', {"path": "a.py", "offset": 3, "limit": 2000}),
        ({"path": "a.py"}, {"path": "a.py", "offset": 1, "limit": 2000}),
        ('  {"path": "a.py"}\n', {"path": "a.py", "offset": 1, "limit": 2000}),
        ('{"path": "a.py"}{"path": "a.py"}', {"path": "a.py", "offset": 1, "limit": 2000}),
        ('{"path": "a.py", "offset": "7"}', {"path": "a.py", "offset": 7, "limit": 2000}),
    ],
)
def test_parse_arguments_accepts(raw: object, expected: dict) -> None:
    assert parse_arguments(ReadFile(), raw).model_dump() == expected


@pytest.mark.parametrize("raw", [None, "", "   ", "{}", "null", {}])
def test_parse_arguments_empty_means_no_arguments(raw: object) -> None:
    assert parse_arguments(GitStatus(), raw).model_dump() == {}
    assert parse_arguments(ListFiles(), raw).model_dump() == {"path": ".", "pattern": None}


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ('{"path": "a.py"', "are not valid JSON (Expecting ',' delimiter at line 1 column 16): "),
        ("path=a.py", 'are not valid JSON (Expecting value at line 1 column 1): "path=a.py"'),
        ('["a.py"]', 'must be a JSON object like {"name": value}, not a JSON array'),
        ('"a.py"', "not a JSON string"),
        ("42", "not a JSON number"),
        ("true", "not a JSON boolean"),
        ('{"path": "a.py"}{"path": "b.py"}', "hold more than one JSON value"),
        ('{"path": "a.py"} trailing', "hold more than one JSON value"),
        ("{}", "- path: Field required (required, and missing)"),
        ('{"path": null}', "- path: Input should be a valid string (expected a string, got null)"),
        ('{"path": "a", "offset": 1.5}', "- offset: Input should be a valid integer, got a number with a fractional part (expected an integer, got number 1.5)"),
        ('{"path": "a", "offset": "ten"}', '(expected an integer, got the string "ten")'),
        ('{"path": "a", "extra": 1, "other": 2}', "- extra: Extra inputs are not permitted (not an argument of this tool)\n- other: Extra inputs"),
    ],
)
def test_parse_arguments_refuses_with_readable_messages(raw: str, message: str) -> None:
    with pytest.raises(InvalidArguments) as info:
        parse_arguments(ReadFile(), raw)
    assert message in str(info.value)


def test_invalid_json_quotes_only_the_start_of_huge_arguments() -> None:
    with pytest.raises(InvalidArguments) as info:
        parse_arguments(ReadFile(), '{"path": "' + "x" * 100_000)
    message = str(info.value)
    assert "not valid JSON (Unterminated string" in message
    assert len(message) < 600 and message.endswith("…")


def test_validation_errors_list_the_expected_fields() -> None:
    with pytest.raises(InvalidArguments) as info:
        parse_arguments(EditFile(), {"path": 1})
    assert str(info.value) == (
        "invalid arguments for edit_file:\n"
        "- path: Input should be a valid string (expected a string, got number 1)\n"
        "- old_string: Field required (required, and missing)\n"
        "- new_string: Field required (required, and missing)\n"
        "edit_file takes: path (required), old_string (required), new_string (required), replace_all."
    )


class _Boom(Tool):
    name = "boom"
    kind = "read"
    Args = ToolArgs

    def run(self, args: ToolArgs, ctx: ToolContext) -> ToolResult:
        raise KeyError("missing")


class _Loud(Tool):
    name = "loud"
    kind = "read"
    Args = ToolArgs

    def run(self, args: ToolArgs, ctx: ToolContext) -> ToolResult:
        return ToolResult(output="a" * 30_000 + "b" * 40_000)


class _Ruled(Tool):
    name = "ruled"
    kind = "exec"
    Args = ToolArgs

    def run(self, args: ToolArgs, ctx: ToolContext) -> ToolResult:
        raise Refusal("refused by the AGENT.md rule “Do not”")


class _Interrupted(Tool):
    name = "interrupted"
    kind = "read"
    Args = ToolArgs

    def run(self, args: ToolArgs, ctx: ToolContext) -> ToolResult:
        raise KeyboardInterrupt


def run(registry: ToolRegistry, tool: Tool, ctx: ToolContext, gate=None) -> ToolResult:
    """Run `tool` (no arguments) through `registry.run`, as the agent does after `bind`."""
    args = tool.Args()
    return registry.run(BoundCall(tool=tool, args=args, info=tool.info(args)), ctx, gate)


def test_run_turns_crashes_into_failed_results(registry: ToolRegistry, ctx: ToolContext) -> None:
    result = run(registry, _Boom(), ctx)
    assert not result.ok and result.output == "KeyError: 'missing'" and result.summary == "error"


def test_run_turns_tool_errors_into_failed_results(call) -> None:
    result = call("read_file", {"path": "nope.txt"})
    assert not result.ok and result.output.startswith("nope.txt does not exist") and result.summary == "error"


def test_refusals_from_a_rule_or_the_gate_are_refused_results(registry: ToolRegistry, ctx: ToolContext) -> None:
    ruled = run(registry, _Ruled(), ctx)
    assert not ruled.ok and ruled.output == "refused by the AGENT.md rule “Do not”" and ruled.summary == "refused"
    seen: list[CallInfo] = []

    def gate(info: CallInfo) -> None:
        seen.append(info)
        raise Refusal("refused: not now")

    gated = registry.call("write_file", {"path": "a.txt", "content": "x"}, ctx, gate)
    assert not gated.ok and gated.output == "refused: not now" and gated.summary == "refused"
    assert not (ctx.root / "a.txt").exists()
    assert [(i.name, i.kind, i.mutates, i.description) for i in seen] == [("write_file", "edit", True, "write_file a.txt")]


def test_run_cuts_output_by_the_budget_keeping_head_and_tail(registry: ToolRegistry, ctx: ToolContext) -> None:
    output = run(registry, _Loud(), ctx).output
    assert output == output_budget.cut("a" * 30_000 + "b" * 40_000, output_budget.DEFAULT_LIMIT)
    assert len(output) == output_budget.DEFAULT_LIMIT
    assert output.startswith("a" * 19_000) and output.endswith("b" * 29_000)
    assert "\n[... 20,033 characters cut ...]\n" in output
    ctx.output_chars = 1000
    assert run(registry, _Loud(), ctx).output == output_budget.cut("a" * 30_000 + "b" * 40_000, 1000)


def test_run_lets_keyboard_interrupt_through(registry: ToolRegistry, ctx: ToolContext) -> None:
    with pytest.raises(KeyboardInterrupt):
        run(registry, _Interrupted(), ctx)


def test_call_unknown_tool(call) -> None:
    result = call("delete_everything", "{}")
    assert not result.ok and result.summary == "unknown tool"
    assert result.output == (
        "there is no tool named 'delete_everything'; the tools are: read_file, write_file, edit_file, read_files, "
        "list_files, search, run_shell, git_status, git_diff, lint, run_tests, update_plan, shell_output, shell_stop"
    )


def test_call_invalid_arguments(call) -> None:
    result = call("read_file", '{"path": 3}')
    assert not result.ok and result.summary == "invalid arguments"
    assert result.output.startswith("invalid arguments for read_file:\n- path: Input should be a valid string (expected a string, got number 3)")


# --- adding tools at run time ------------------------------------------------------------------


class _Extra(Tool):
    """A tool that arrives at run time, as an MCP tool would: name and schema per instance."""

    kind = "read"
    Args = ToolArgs

    def __init__(self, name: str) -> None:
        self.name = name

    def schema(self) -> dict:
        return {"type": "function", "function": {"name": self.name, "description": "extra", "parameters": {"type": "object"}}}

    def run(self, args: ToolArgs, ctx: ToolContext) -> ToolResult:
        return ToolResult(output=f"{self.name} ran")


def test_added_tools_come_after_the_builtins_and_keep_their_prefix(registry: ToolRegistry, ctx: ToolContext) -> None:
    before = registry.schemas_json()
    registry.add(_Extra("mcp__docs__search"))
    registry.add(_Extra("mcp__docs__fetch"))
    assert registry.names == [*DESIGN_ORDER, "mcp__docs__search", "mcp__docs__fetch"]
    after = registry.schemas_json()
    assert after.startswith(before[:-1] + ",") and after != before
    assert [s["function"]["name"] for s in registry.schemas()][-2:] == ["mcp__docs__search", "mcp__docs__fetch"]
    assert registry.schemas_json() is after
    assert registry.call("mcp__docs__fetch", "{}", ctx).output == "mcp__docs__fetch ran"


@pytest.mark.parametrize("name", ["", "has space", "dot.ted", "x" * 65, "ünïcode", "a/b"])
def test_add_refuses_names_outside_the_allowed_pattern(registry: ToolRegistry, name: str) -> None:
    with pytest.raises(RegistryError, match="is not allowed: names match"):
        registry.add(_Extra(name))
    assert registry.names == DESIGN_ORDER
    registry.add(_Extra("x" * 64))


def test_add_refuses_a_duplicate_name(registry: ToolRegistry) -> None:
    with pytest.raises(RegistryError, match="a tool named 'read_file' is already registered"):
        registry.add(_Extra("read_file"))
    registry.add(_Extra("extra"))
    with pytest.raises(RegistryError, match="'extra' is already registered"):
        registry.add(_Extra("extra"))
    assert registry.names.count("extra") == 1


def test_at_most_128_tools(registry: ToolRegistry) -> None:
    for i in range(MAX_TOOLS - len(DESIGN_ORDER)):
        registry.add(_Extra(f"extra_{i}"))
    assert len(registry) == MAX_TOOLS == 128
    with pytest.raises(RegistryError, match="cannot add 'one_too_many': a request carries at most 128 tools"):
        registry.add(_Extra("one_too_many"))
    assert len(registry.schemas()) == 128


def test_registries_do_not_share_added_tools(ctx: ToolContext) -> None:
    first, second = ToolRegistry(), ToolRegistry()
    first.add(_Extra("only_here"))
    assert "only_here" in first.names and "only_here" not in second.names
    assert second.get("only_here") is None and second.call("only_here", "{}", ctx).summary == "unknown tool"
    assert ToolRegistry().names == DESIGN_ORDER
    assert first.get("read_file") is not second.get("read_file")


@pytest.mark.parametrize(
    ("name", "arguments", "title"),
    [
        ("read_file", {"path": "src/app.py"}, "read_file src/app.py"),
        ("read_file", {"path": "src/app.py", "offset": 40}, "read_file src/app.py from line 40"),
        ("write_file", {"path": "a.py", "content": "x\ny"}, "write_file a.py"),
        ("edit_file", {"path": "a.py", "old_string": "x", "new_string": "y"}, "edit_file a.py"),
        ("list_files", {}, "list_files ."),
        ("list_files", {"path": "src", "pattern": "*.py"}, "list_files src *.py"),
        ("search", {"pattern": "def main"}, "search def main"),
        ("search", {"pattern": "TODO", "path": "src", "glob": "*.py"}, "search TODO in src (*.py)"),
        ("run_shell", {"command": "pytest -q\necho done"}, "run_shell pytest -q⏎echo done"),
        ("git_status", {}, "git_status"),
        ("git_diff", {"path": "src", "staged": True}, "git_diff src --staged"),
        ("lint", {"paths": ["a.py", "b.py"]}, "lint a.py b.py"),
        ("run_tests", {"args": "-k slow"}, "run_tests -k slow"),
        ("run_tests", {}, "run_tests"),
        ("update_plan", {"steps": [{"step": "a", "status": "pending"}]}, "update_plan 1 step"),
    ],
)
def test_each_tool_describes_a_call_on_one_line(registry: ToolRegistry, name: str, arguments: dict, title: str) -> None:
    bound = registry.bind(name, arguments)
    assert bound.info.description == title and "\n" not in title
    assert bound.info.name == name and bound.info.args == bound.args


def test_the_default_description_shows_arguments_that_differ_from_their_defaults() -> None:
    class _Args(ToolArgs):
        query: str
        limit: int = 10

    class _Custom(_Extra):
        Args = _Args

    assert _Custom("custom").describe(_Args(query="a\nb", limit=10)) == "custom query=a⏎b"
    assert _Custom("custom").describe(_Args(query="q", limit=3)) == "custom query=q limit=3"


# --- issue 11: the right data in the wrong shape ------------------------------------------------


@pytest.mark.parametrize(
    ("tool", "raw", "expected"),
    [
        (ReadFile(), {"path": "a.py", "offset": "5", "limit": " 10 "}, {"offset": 5, "limit": 10}),
        (ReadFile(), {"path": "a.py", "offset": "5.0"}, {"offset": 5}),
        (EditFile(), {"path": "a", "old_string": "x", "new_string": "y", "replace_all": "true"}, {"replace_all": True}),
        (UpdatePlan(), {"steps": '[{"step": "read", "status": "pending"}]'}, {"steps": [{"step": "read", "status": "pending"}]}),
    ],
)
def test_right_data_in_the_wrong_shape_is_coerced(tool, raw: dict, expected: dict) -> None:
    args = parse_arguments(tool, json.dumps(raw)).model_dump(mode="json")
    assert {key: args[key] for key in expected} == expected


def test_strings_stay_strings_and_ambiguous_shapes_are_named_exactly() -> None:
    assert parse_arguments(WriteFile(), {"path": "n.json", "content": "[1, 2]"}).content == "[1, 2]"
    with pytest.raises(InvalidArguments) as info:
        parse_arguments(UpdatePlan(), {"steps": '[{"step": "read", "status": "pending"'})
    assert '- steps: Input should be a valid list (expected an array, got the string "[{\\"step\\"' in str(info.value)
    with pytest.raises(InvalidArguments) as info:
        parse_arguments(UpdatePlan(), {"steps": '[{"step": "read", "status": "later"}]'})
    assert "- steps.0.status: Input should be 'pending', 'in_progress' or 'completed' (got the string \"later\")" in str(info.value)
