"""Permission modes × tool kinds, per-session approvals, and the goal plan stage's read-only reason."""

from __future__ import annotations

from typing import Any

import pytest

from glmcode import tools
from glmcode.rules.permissions import Permissions, is_read_only_command
from glmcode.tools.base import ToolArgs

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
        self.asked: list[tuple[str, str, ToolArgs]] = []

    def __call__(self, name: str, description: str, args: ToolArgs) -> str:
        self.asked.append((name, description, args))
        return self.decision


def check(permissions: Permissions, name: str, **override: Any) -> str | None:
    tool = tools.get(name)
    assert tool is not None
    args = tool.Args.model_validate({**ARGS[name], **override})
    return permissions.check(tool, args, f"{name} call")


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
        assert [(n, d) for n, d, _ in approver.asked] == [(name, f"{name} call")]
        assert approver.asked[0][2] == tools.get(name).Args.model_validate(ARGS[name])
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


@pytest.mark.parametrize(("mode", "name"), [("ask", "write_file"), ("ask", "lint"), ("auto-edit", "run_shell")])
def test_nobody_to_ask_refuses_and_says_how_to_allow(mode: str, name: str) -> None:
    assert check(Permissions(mode=mode), name) == (
        f"refused: {name} needs the user's approval in {mode} mode and nobody can be asked in this run "
        "(the user can allow it with --permission-mode auto-edit or full-auto, or --yes)"
    )


@pytest.mark.parametrize("name", ["write_file", "edit_file", "run_shell", "lint", "run_tests"])
def test_read_only_reason_wins_over_full_auto_and_always(name: str) -> None:
    reason = "refused: the plan stage is read-only; only read tools and update_plan may run"
    approver = Approver("once")
    permissions = Permissions(mode="full-auto", approver=approver, read_only_reason=reason, always_allowed={name})
    assert check(permissions, name) == reason
    assert approver.asked == []


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
