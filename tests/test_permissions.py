"""Permission modes × tool kinds, per-session approvals, and the goal plan stage's read-only reason.

Permissions decide from a `CallInfo` (what a call is), never from tool classes: the matrix runs
through the real tools' `info`, and the same decisions come from bare `CallInfo`s.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from pydantic import BaseModel

from glmcode.errors import Refusal
from glmcode.rules.permissions import CallInfo, Permissions, is_read_only_command
from glmcode.tools.registry import ToolRegistry

TOOLS = ToolRegistry()

ARGS: dict[str, dict[str, Any]] = {
    "read_file": {"path": "a.py"},
    "update_plan": {"steps": [{"step": "s", "status": "pending"}]},
    "write_file": {"path": "a.py", "content": "x"},
    "edit_file": {"path": "a.py", "old_string": "x", "new_string": "y"},
    "run_shell": {"command": "touch a.py"},
    "lint": {},
    "run_tests": {},
}


class Approver:
    """Records every question and answers with a fixed decision."""

    def __init__(self, decision: str = "once") -> None:
        self.decision = decision
        self.asked: list[tuple[str, str, str]] = []

    def __call__(self, name: str, description: str, preview: str) -> str:
        self.asked.append((name, description, preview))
        return self.decision


def info(name: str, **override: Any) -> CallInfo:
    """The `CallInfo` the registry builds for a call of the real tool `name`."""
    tool = TOOLS.get(name)
    assert tool is not None
    return tool.info(tool.Args.model_validate({**ARGS[name], **override}))


def refusal(permissions: Permissions, call: CallInfo) -> str | None:
    """None if `call` may run, else the `Refusal` message."""
    try:
        permissions.check(call)
    except Refusal as refused:
        return str(refused)
    return None


def check(permissions: Permissions, name: str, **override: Any) -> str | None:
    return refusal(permissions, info(name, **override))


ALLOW, ASK, REFUSE = "allow", "ask", "refuse"
MATRIX = {
    #              read   plan   write   edit    shell   lint    tests
    "read-only": (ALLOW, ALLOW, REFUSE, REFUSE, REFUSE, REFUSE, REFUSE),
    "ask": (ALLOW, ALLOW, ASK, ASK, ASK, ASK, ASK),
    "auto-edit": (ALLOW, ALLOW, ALLOW, ALLOW, ASK, ALLOW, ALLOW),
    "full-auto": (ALLOW, ALLOW, ALLOW, ALLOW, ALLOW, ALLOW, ALLOW),
}
TOOL_ORDER = ("read_file", "update_plan", "write_file", "edit_file", "run_shell", "lint", "run_tests")


@pytest.mark.parametrize(
    ("mode", "name", "expected"),
    [(mode, name, row[i]) for mode, row in MATRIX.items() for i, name in enumerate(TOOL_ORDER)],
)
def test_mode_by_tool_matrix(mode: str, name: str, expected: str) -> None:
    approver = Approver("once")
    outcome = check(Permissions(mode=mode, approver=approver), name)
    if expected == ALLOW:
        assert outcome is None and approver.asked == []
    elif expected == ASK:
        assert outcome is None
        assert [(n, d) for n, d, _ in approver.asked] == [(name, info(name).description)]
        assert approver.asked[0][2] == info(name).description, "without a previewer the preview is the description"
    else:
        assert outcome == f"refused: {name} changes the workspace and this session is in read-only permission mode"
        assert approver.asked == []


def test_always_is_remembered_for_the_session_per_tool() -> None:
    approver = Approver("always")
    permissions = Permissions(mode="ask", approver=approver)
    assert check(permissions, "run_shell") is None
    assert check(permissions, "run_shell", command="make build") is None
    assert check(permissions, "run_shell", command="rm -rf build") is None
    assert [n for n, _, _ in approver.asked] == ["run_shell"]
    assert permissions.always_allowed == {"run_shell"}
    assert check(permissions, "write_file") is None  # another tool is asked about again
    assert [n for n, _, _ in approver.asked] == ["run_shell", "write_file"]


def test_once_is_not_remembered() -> None:
    approver = Approver("once")
    permissions = Permissions(mode="auto-edit", approver=approver)
    assert check(permissions, "run_shell") is None
    assert check(permissions, "run_shell") is None
    assert len(approver.asked) == 2
    assert permissions.always_allowed == set()


def test_deny_refuses_with_a_clear_message() -> None:
    permissions = Permissions(mode="ask", approver=Approver("deny"))
    assert check(permissions, "edit_file") == "refused: the user denied this edit_file call"
    assert permissions.always_allowed == set()


@pytest.mark.parametrize(
    ("mode", "name", "allowing"),
    [
        ("ask", "write_file", "--permission-mode auto-edit or full-auto, or --yes"),
        ("ask", "lint", "--permission-mode auto-edit or full-auto, or --yes"),
        ("ask", "run_shell", "--permission-mode full-auto, or --yes"),
        ("auto-edit", "run_shell", "--permission-mode full-auto, or --yes"),
    ],
)
def test_nobody_to_ask_refuses_and_names_only_the_modes_that_would_allow_it(mode: str, name: str, allowing: str) -> None:
    assert check(Permissions(mode=mode), name) == (
        f"refused: {name} needs the user's approval in {mode} mode and nobody can be asked in this run "
        f"(the user can allow it with {allowing})"
    )


@pytest.mark.parametrize("name", ["write_file", "edit_file", "run_shell", "lint", "run_tests"])
def test_read_only_reason_wins_over_full_auto_and_always(name: str) -> None:
    reason = "refused: the plan stage is read-only; only read tools and update_plan may run"
    approver = Approver("once")
    permissions = Permissions(mode="full-auto", approver=approver, read_only_reason=reason, always_allowed={name})
    assert check(permissions, name) == reason
    assert approver.asked == []


@pytest.mark.parametrize(("mode", "asks"), [("ask", True), ("auto-edit", False), ("full-auto", False), ("read-only", False)])
def test_the_preview_is_computed_only_when_an_approval_is_asked(mode: str, asks: bool) -> None:
    computed: list[str] = []

    def previewer() -> str:
        computed.append("preview")
        return "--- a/a.py\n+++ b/a.py\n@@ -1 +1 @@\n-x\n+y\n"

    call = dataclasses.replace(info("edit_file"), previewer=previewer)
    approver = Approver("once")
    refusal(Permissions(mode=mode, approver=approver), call)
    assert computed == (["preview"] if asks else [])
    assert approver.asked == ([("edit_file", "edit_file a.py", previewer())] if asks else [])


def test_read_only_reason_still_allows_reading_and_planning() -> None:
    permissions = Permissions(mode="ask", read_only_reason="plan stage")
    assert check(permissions, "read_file") is None
    assert check(permissions, "update_plan") is None


# --- read-only shell commands ----------------------------------------------------------------


@pytest.mark.parametrize(
    "command", ["ls -la", "git status", "git log --oneline | head -5", "grep -rn TODO src 2>/dev/null", "head -20 a.py"]
)
def test_read_only_shell_commands_run_even_in_read_only_mode(command: str) -> None:
    assert is_read_only_command(command) is True
    assert check(Permissions(mode="read-only"), "run_shell", command=command) is None
    assert check(Permissions(mode="full-auto", read_only_reason="plan stage"), "run_shell", command=command) is None


@pytest.mark.parametrize(
    "command",
    ["touch a", "cat a > b", "cat a >> b", "echo $(touch x)", "ls `touch x`", "git commit -m x", "git branch new",
     "sed -i s/a/b/ f", "find . -delete", "find . -exec rm {} +", "ls & touch x", "ls\ntouch x", "python -c 1", "cd a && ls"],
)
def test_commands_that_may_write_are_not_read_only(command: str) -> None:
    assert is_read_only_command(command) is False
    assert check(Permissions(mode="read-only"), "run_shell", command=command) == (
        "refused: run_shell changes the workspace and this session is in read-only permission mode"
    )


@pytest.mark.parametrize(
    "command",
    [
        pytest.param("env touch x"),
        pytest.param("sed 'e touch x' a.py"),
        pytest.param("sed -n 'w out.txt' a.py"),
        pytest.param("sort -o out.txt a.txt"),
        pytest.param("uniq a.txt out.txt"),
        pytest.param("tree -o out.txt"),
        pytest.param("git diff --output=out.txt"),
        pytest.param("find . -fprint0 out.txt"),
        pytest.param("rg --pre ./x.sh foo"),
    ],
)
def test_commands_that_write_or_run_programs_through_options_are_not_read_only(command: str) -> None:
    assert is_read_only_command(command) is False


# --- decisions from what a call is, not from tool classes ----------------------------------------


class Thing(BaseModel):
    what: str = "thing"


def bare(name: str, kind: str, mutates: bool) -> CallInfo:
    return CallInfo(name=name, kind=kind, mutates=mutates, description=f"{name} thing", args=Thing())


@pytest.mark.parametrize(
    ("call", "auto_edit"),
    [
        (bare("mcp__db__query", "read", False), ALLOW),
        (bare("mcp__fs__write", "edit", True), ALLOW),
        (bare("mcp__ci__check", "check", True), ALLOW),
        (bare("mcp__sh__exec", "exec", True), ASK),
        (bare("mcp__sh__exec", "exec", False), ALLOW),
    ],
)
def test_call_info_alone_decides(call: CallInfo, auto_edit: str) -> None:
    approver = Approver("deny")
    outcome = refusal(Permissions(mode="auto-edit", approver=approver), call)
    if auto_edit == ALLOW:
        assert outcome is None and approver.asked == []
    else:
        assert outcome == f"refused: the user denied this {call.name} call"
        assert approver.asked == [(call.name, f"{call.name} thing", f"{call.name} thing")]
    read_only = refusal(Permissions(mode="read-only"), call)
    assert (read_only is None) == (not call.mutates)


def test_tools_say_what_they_are() -> None:
    assert [(t.name, t.kind) for t in TOOLS] == [
        ("read_file", "read"), ("write_file", "edit"), ("edit_file", "edit"), ("read_files", "read"),
        ("list_files", "read"), ("search", "read"), ("run_shell", "exec"), ("git_status", "read"), ("git_diff", "read"),
        ("lint", "check"), ("run_tests", "check"), ("update_plan", "plan"),
        ("shell_output", "read"), ("shell_stop", "exec"),
    ]
    assert info("run_shell", command="git log --oneline | head -3").mutates is False
    assert info("run_shell", command="make build").mutates is True
    assert info("lint").mutates is True and info("read_file").mutates is False
