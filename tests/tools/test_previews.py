"""What a call will do, as its tool previews it for an approval: real files, nothing written.

Each preview comes from the tool (`Tool.preview`), through the registry (cut to the output
budget, handed to the gate on demand). The edit previews are checked against what the same
call then does, so a preview that differs from the run fails here.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from glmcode.errors import Refusal
from glmcode.rules.agent_md import Rules, parse_into
from glmcode.rules.permissions import CallInfo
from glmcode.tools.base import Tool, ToolArgs, ToolContext, ToolResult
from glmcode.tools.registry import ToolRegistry

SOURCE = "def add(a, b):\n    return a - b\n\n\ndef sub(a, b):\n    return a - b\n"


def preview(registry: ToolRegistry, name: str, arguments: dict, ctx: ToolContext) -> str:
    """The preview of one call, as an approval gets it."""
    return registry.preview(registry.bind(name, arguments), ctx)


def tree(root: Path) -> dict[str, tuple[bytes, int]]:
    """Every file and folder under `root` (`.git` included) with its bytes and mtime: any write shows."""
    found: dict[str, tuple[bytes, int]] = {}
    for folder, dirs, files in os.walk(root):
        for name in dirs:
            found[os.path.join(folder, name)] = (b"", 0)
        for name in files:
            path = Path(folder, name)
            found[str(path)] = (path.read_bytes(), path.stat().st_mtime_ns)
    return found


@pytest.fixture
def calc(repo: Path) -> Path:
    path = repo / "calc.py"
    path.write_text(SOURCE)
    return path


# --- edit_file ------------------------------------------------------------------------------------


def test_edit_preview_is_the_diff_the_run_then_makes(registry, call, ctx, calc: Path) -> None:
    arguments = {"path": "calc.py", "old_string": "def add(a, b):\n    return a - b", "new_string": "def add(a, b):\n    return a + b"}
    before = tree(ctx.root)
    shown = preview(registry, "edit_file", arguments, ctx)
    assert tree(ctx.root) == before, "a preview must write nothing"
    assert shown == (
        "--- a/calc.py\n+++ b/calc.py\n@@ -1,5 +1,5 @@\n def add(a, b):\n-    return a - b\n+    return a + b\n \n \n def sub(a, b):\n"
    )
    result = call("edit_file", arguments)
    assert result.ok and result.diff == shown


def test_edit_preview_of_every_occurrence(registry, ctx, calc: Path) -> None:
    shown = preview(registry, "edit_file", {"path": "calc.py", "old_string": "a - b", "new_string": "a + b", "replace_all": True}, ctx)
    assert shown.count("-    return a - b\n") == 2 and shown.count("+    return a + b\n") == 2
    assert calc.read_text() == SOURCE


def test_edit_preview_of_an_absent_old_string_says_why_briefly(registry, ctx, calc: Path) -> None:
    shown = preview(registry, "edit_file", {"path": "calc.py", "old_string": "\treturn a - b", "new_string": "x"}, ctx)
    assert shown == "edit_file calc.py would fail: old_string was not found in calc.py."
    ambiguous = preview(registry, "edit_file", {"path": "calc.py", "old_string": "return a - b", "new_string": "x"}, ctx)
    assert ambiguous.startswith("edit_file calc.py would fail: old_string occurs 2 times in calc.py (at lines 2, 6)")
    missing = preview(registry, "edit_file", {"path": "nope.py", "old_string": "a", "new_string": "b"}, ctx)
    assert missing == "edit_file nope.py would fail: nope.py does not exist; use write_file to create a new file"
    assert calc.read_text() == SOURCE and not (ctx.root / "nope.py").exists()


def test_edit_preview_of_a_crlf_file_shows_plain_lines_and_keeps_the_file(registry, call, ctx, repo: Path) -> None:
    path = repo / "win.txt"
    path.write_bytes(b"one\r\ntwo\r\nthree\r\n")
    arguments = {"path": "win.txt", "old_string": "two\nthree", "new_string": "2\n3"}
    shown = preview(registry, "edit_file", arguments, ctx)
    assert "\r" not in shown
    assert shown == "--- a/win.txt\n+++ b/win.txt\n@@ -1,3 +1,3 @@\n one\n-two\n-three\n+2\n+3\n\\ line endings: CRLF\n"
    assert path.read_bytes() == b"one\r\ntwo\r\nthree\r\n"
    assert call("edit_file", arguments).ok and path.read_bytes() == b"one\r\n2\r\n3\r\n"


def test_edit_preview_of_a_protected_file_says_it_would_be_refused(registry, repo: Path) -> None:
    (repo / "migrations").mkdir()
    (repo / "migrations" / "0001.sql").write_text("create table t (id int);\n")
    rules = Rules()
    parse_into(rules, "# Rules\n\n## Constraints\n\n- Do not modify `migrations/**`\n", repo)
    strict = ToolContext(root=repo, rules=rules)
    shown = preview(registry, "edit_file", {"path": "migrations/0001.sql", "old_string": "int", "new_string": "text"}, strict)
    assert shown.startswith("edit_file migrations/0001.sql would fail: refused by the AGENT.md rule")
    assert shown.endswith("migrations/0001.sql is protected")


# --- write_file -----------------------------------------------------------------------------------


def test_write_preview_of_an_existing_file_is_the_diff_the_run_then_makes(registry, call, ctx, calc: Path) -> None:
    arguments = {"path": "calc.py", "content": SOURCE.replace("def sub", "def minus")}
    before = tree(ctx.root)
    shown = preview(registry, "write_file", arguments, ctx)
    assert tree(ctx.root) == before
    assert "-def sub(a, b):\n+def minus(a, b):\n" in shown and shown.startswith("--- a/calc.py\n+++ b/calc.py\n")
    result = call("write_file", arguments)
    assert result.ok and result.diff == shown


def test_write_preview_of_a_new_file_names_it_and_shows_its_first_lines(registry, ctx, repo: Path) -> None:
    content = "".join(f"line {n}\n" for n in range(1, 26))
    before = tree(repo)
    shown = preview(registry, "write_file", {"path": "pkg/sub/new.py", "content": content}, ctx)
    assert tree(repo) == before, "no file and no parent folder is made by a preview"
    assert not (repo / "pkg").exists()
    lines = shown.split("\n")
    assert lines[0] == "create pkg/sub/new.py (25 lines)"
    assert lines[1:21] == [f"line {n}" for n in range(1, 21)]
    assert lines[21:] == ["… 5 more lines", ""]
    short = preview(registry, "write_file", {"path": "one.txt", "content": "only"}, ctx)
    assert short == "create one.txt (1 line)\nonly\n"


def test_write_preview_of_a_crlf_file_and_of_no_change(registry, ctx, repo: Path) -> None:
    shown = preview(registry, "write_file", {"path": "win.txt", "content": "a\r\nb\r\n"}, ctx)
    assert shown == "create win.txt (2 lines)\na\nb\n\\ line endings: CRLF\n"
    (repo / "same.txt").write_text("same\n")
    assert preview(registry, "write_file", {"path": "same.txt", "content": "same\n"}, ctx) == (
        "same.txt already has exactly this content: nothing would be written"
    )


def test_write_preview_of_a_call_that_would_fail_says_why(registry, ctx, repo: Path) -> None:
    assert preview(registry, "write_file", {"path": "src", "content": "x"}, ctx) == (
        "write_file src would fail: src is a directory; write_file writes files only"
    )
    outside = preview(registry, "write_file", {"path": "../escape.txt", "content": "x"}, ctx)
    assert outside.startswith("write_file ../escape.txt would fail: the path '../escape.txt' is outside the workspace root")
    assert not (repo.parent / "escape.txt").exists()


# --- run_shell and the default --------------------------------------------------------------------


def test_shell_preview_is_the_command_and_its_timeout(registry, ctx) -> None:
    assert preview(registry, "run_shell", {"command": "touch a.txt\necho done"}, ctx) == "$ touch a.txt\necho done\ntimeout 30 s"
    assert preview(registry, "run_shell", {"command": "make", "timeout": 2.5}, ctx) == "$ make\ntimeout 2.5 s"
    assert not (ctx.root / "a.txt").exists()


def test_shell_preview_of_a_command_a_rule_refuses(registry, repo: Path) -> None:
    rules = Rules()
    parse_into(rules, "# Rules\n\n## Constraints\n\n- Do not commit\n", repo)
    shown = preview(registry, "run_shell", {"command": "git commit -am wip"}, ToolContext(root=repo, rules=rules))
    assert shown.startswith("$ git commit -am wip\nwould fail: refused by the AGENT.md rule")


def test_other_tools_preview_their_description(registry, ctx) -> None:
    assert preview(registry, "read_file", {"path": "README.md"}, ctx) == "read_file README.md"
    assert preview(registry, "lint", {}, ctx) == "lint"


# --- through the registry -------------------------------------------------------------------------


class _Broken(Tool):
    name = "broken"
    kind = "edit"
    Args = ToolArgs

    def preview(self, args: ToolArgs, ctx: ToolContext) -> str:
        raise KeyError("no preview here")

    def run(self, args: ToolArgs, ctx: ToolContext) -> ToolResult:
        return ToolResult(output="ran")


def test_a_preview_that_crashes_becomes_the_description_and_why(ctx) -> None:
    registry = ToolRegistry([_Broken()])
    assert preview(registry, "broken", {}, ctx) == "broken\n(no preview: KeyError: 'no preview here')"


def test_previews_are_cut_to_the_output_budget(registry, repo: Path, split_cut) -> None:
    small = ToolContext(root=repo, rules=Rules(), output_chars=1_000)
    (repo / "big.txt").write_text("".join(f"old {n}\n" for n in range(2_000)))
    shown = preview(registry, "write_file", {"path": "big.txt", "content": "".join(f"new {n}\n" for n in range(2_000))}, small)
    assert len(shown) <= 1_000
    head, chars, _, _, tail = split_cut(shown)
    assert head.startswith("--- a/big.txt\n+++ b/big.txt\n") and chars > 10_000 and tail.endswith("+new 1999\n")


def test_the_gate_gets_the_preview_on_demand_before_anything_runs(registry, ctx, calc: Path) -> None:
    seen: list[str] = []

    def gate(info: CallInfo) -> None:
        seen.append(info.preview())
        raise Refusal("refused: the user denied this edit_file call")

    result = registry.call("edit_file", {"path": "calc.py", "old_string": "def sub", "new_string": "def minus"}, ctx, gate)
    assert not result.ok and result.summary == "refused" and calc.read_text() == SOURCE
    assert len(seen) == 1 and "-def sub(a, b):\n+def minus(a, b):\n" in seen[0]


def test_write_preview_of_an_empty_new_file(registry, ctx) -> None:
    assert preview(registry, "write_file", {"path": "empty.txt", "content": ""}, ctx) == "create empty.txt (0 lines)\n"
