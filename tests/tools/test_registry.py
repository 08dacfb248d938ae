"""The registry: order, schemas, prompts, argument parsing, and safe execution."""

from __future__ import annotations

import json
import re

import pytest

from glmcode import prompts, tools
from glmcode.tools.base import Tool, ToolArgs, ToolContext, ToolError, ToolResult
from glmcode.tools.read_file import ReadFile

DESIGN_ORDER = [
    "read_file",
    "write_file",
    "edit_file",
    "list_files",
    "search",
    "run_shell",
    "git_status",
    "git_diff",
    "lint",
    "run_tests",
    "update_plan",
]
REQUIRED = {
    "read_file": ["path"],
    "write_file": ["path", "content"],
    "edit_file": ["path", "old_string", "new_string"],
    "list_files": [],
    "search": ["pattern"],
    "run_shell": ["command"],
    "git_status": [],
    "git_diff": [],
    "lint": [],
    "run_tests": [],
    "update_plan": ["steps"],
}


def test_tools_in_design_order_with_lookup() -> None:
    assert [tool.name for tool in tools.ALL_TOOLS] == DESIGN_ORDER
    for tool in tools.ALL_TOOLS:
        assert tools.get(tool.name) is tool
        assert tool.kind in ("read", "edit", "exec", "plan")
    assert tools.get("rm_rf") is None


def test_schemas_are_stable_valid_and_described() -> None:
    first = json.dumps(tools.schemas())
    assert json.dumps(tools.schemas()) == first
    assert tools.schemas_json() == json.dumps(tools.schemas(), ensure_ascii=False, separators=(",", ":"))
    for schema, name in zip(tools.schemas(), DESIGN_ORDER, strict=True):
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
    assert len(tools.schemas()) <= 128


def test_every_tool_has_a_clean_prompt_file() -> None:
    for name in DESIGN_ORDER:
        path = prompts.prompts_dir() / "tools" / f"{name}.md"
        text = path.read_text(encoding="utf-8")
        assert 200 < len(text) < 2000, name
        assert text.endswith("\n") and not text.endswith("\n\n"), name
        assert not any(line != line.rstrip() for line in text.split("\n")), name


def test_path_and_command_fields_have_length_limits() -> None:
    by_name = {s["function"]["name"]: s["function"]["parameters"]["properties"] for s in tools.schemas()}
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
    assert tools.parse_arguments(ReadFile, raw).model_dump() == expected


@pytest.mark.parametrize("raw", [None, "", "   ", "{}", "null", {}])
def test_parse_arguments_empty_means_no_arguments(raw: object) -> None:
    assert tools.parse_arguments(tools.get("git_status"), raw).model_dump() == {}
    assert tools.parse_arguments(tools.get("list_files"), raw).model_dump() == {"path": ".", "pattern": None}


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
        ("{}", "- path: Field required"),
        ('{"path": null}', "- path: Input should be a valid string"),
        (
            '{"path": "a", "offset": 1.5}',
            "- offset: Input should be a valid integer, got a number with a fractional part",
        ),
        ('{"path": "a", "extra": 1, "other": 2}', "- extra: Extra inputs are not permitted\n- other: Extra inputs"),
    ],
)
def test_parse_arguments_refuses_with_readable_messages(raw: str, message: str) -> None:
    with pytest.raises(ToolError) as info:
        tools.parse_arguments(ReadFile, raw)
    assert message in str(info.value)


def test_invalid_json_quotes_only_the_start_of_huge_arguments() -> None:
    with pytest.raises(ToolError) as info:
        tools.parse_arguments(ReadFile, '{"path": "' + "x" * 100_000)
    message = str(info.value)
    assert "not valid JSON (Unterminated string" in message
    assert len(message) < 600 and message.endswith("…")


def test_validation_errors_list_the_expected_fields() -> None:
    with pytest.raises(ToolError) as info:
        tools.parse_arguments(tools.get("edit_file"), {"path": 1})
    assert str(info.value) == (
        "invalid arguments for edit_file:\n"
        "- path: Input should be a valid string\n"
        "- old_string: Field required\n"
        "- new_string: Field required\n"
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


class _Interrupted(Tool):
    name = "interrupted"
    kind = "read"
    Args = ToolArgs

    def run(self, args: ToolArgs, ctx: ToolContext) -> ToolResult:
        raise KeyboardInterrupt


def test_execute_turns_crashes_into_failed_results(ctx) -> None:
    result = tools.execute(_Boom, ToolArgs(), ctx)
    assert not result.ok and result.output == "KeyError: 'missing'"


def test_execute_turns_tool_errors_into_failed_results(ctx) -> None:
    result = tools.execute(ReadFile, tools.parse_arguments(ReadFile, {"path": "nope.txt"}), ctx)
    assert not result.ok and result.output.startswith("nope.txt does not exist")


def test_execute_caps_output_keeping_head_and_tail(ctx) -> None:
    output = tools.execute(_Loud, ToolArgs(), ctx).output
    assert len(output) < tools.MAX_RESULT_CHARS + 100
    assert output.startswith("a" * 1000) and output.endswith("b" * 1000)
    assert "[... 20,000 characters cut ...]" in output


def test_execute_lets_keyboard_interrupt_through(ctx) -> None:
    with pytest.raises(KeyboardInterrupt):
        tools.execute(_Interrupted, ToolArgs(), ctx)


def test_call_unknown_tool(ctx) -> None:
    result = tools.call("delete_everything", "{}", ctx)
    assert not result.ok
    assert result.output.startswith("there is no tool named 'delete_everything'; the tools are: read_file, write_file")
