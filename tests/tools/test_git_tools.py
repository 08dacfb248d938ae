"""git_status and git_diff against a real repository."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from glmcode import output_budget
from glmcode.rules.agent_md import Rules
from glmcode.tools import git_diff
from glmcode.tools.base import ToolContext


def test_clean_status(call) -> None:
    result = call("git_status")
    assert result.ok
    assert result.output == "## main\nnothing to commit, working tree clean"
    assert result.summary == "clean"


def test_status_lists_changes(call, repo: Path, run_git) -> None:
    (repo / "README.md").write_text("# Changed\n")
    (repo / "new file é.txt").write_text("new\n")
    (repo / "src" / "app.py").unlink()
    (repo / "staged.py").write_text("x = 1\n")
    run_git(repo, "add", "staged.py")
    result = call("git_status", "{}")
    assert result.output.split("\n") == [
        "## main",
        " M README.md",
        " D src/app.py",
        "A  staged.py",
        '?? "new file é.txt"',
    ]
    assert result.summary == "4 changed"


def test_status_from_a_subfolder_workspace_is_limited_to_it(repo: Path, call) -> None:
    (repo / "README.md").write_text("# Changed\n")
    (repo / "src" / "app.py").write_text("changed\n")
    sub = ToolContext(root=repo / "src", rules=Rules())
    assert call("git_status", ctx=sub).output.split("\n") == ["## main", " M app.py"]
    assert call("git_diff", ctx=sub).output.startswith("diff --git a/app.py b/app.py")


def test_not_a_repository(call, tmp_path: Path) -> None:
    plain = (tmp_path / "plain").resolve()
    plain.mkdir()
    nowhere = ToolContext(root=plain, rules=Rules())
    for name in ("git_status", "git_diff"):
        result = call(name, ctx=nowhere)
        assert not result.ok
        assert "is not inside a git repository" in result.output


def test_long_status_is_cut_by_the_output_budget(call, repo: Path, run_git) -> None:
    for i in range(300):
        (repo / f"new-{i:03}.txt").write_text("x")
    result = call("git_status", ctx=ToolContext(root=repo, rules=Rules(), output_chars=400))
    whole = run_git(repo, "-c", "core.quotepath=false", "status", "--short", "--branch", "--", ".").rstrip("\n")
    assert result.output == output_budget.cut(whole, 400)
    assert result.output.startswith("## main\n?? new-000.txt\n") and result.output.endswith("\n?? new-299.txt")
    assert re.search(r"\n\[\.\.\. [\d,]+ characters \([\d,]+ lines\) cut \.\.\.\]\n", result.output)
    assert result.summary == "300 changed"


def test_status_takes_no_arguments(call) -> None:
    result = call("git_status", {"verbose": True})
    assert not result.ok
    assert "verbose: Extra inputs are not permitted" in result.output
    assert "git_status takes no arguments" in result.output


def test_diff_unstaged_staged_and_untracked(call, repo: Path, run_git) -> None:
    (repo / "src" / "app.py").write_text("def main():\n    return 2\n")
    (repo / "README.md").write_text("# Demo\nMore.\n")
    run_git(repo, "add", "README.md")
    (repo / "notes.txt").write_text("untracked\n")
    unstaged = call("git_diff")
    assert unstaged.ok and unstaged.summary == "1 file changed"
    assert "diff --git a/src/app.py b/src/app.py" in unstaged.output
    assert "-    return 1\n+    return 2" in unstaged.output
    assert "README.md" not in unstaged.output.split("Untracked files")[0]
    assert unstaged.output.endswith("Untracked files (new, not in the diff above):\n  notes.txt")
    staged = call("git_diff", {"staged": True})
    assert "diff --git a/README.md b/README.md" in staged.output and "+More." in staged.output
    assert "app.py" not in staged.output and "notes.txt" not in staged.output


def test_diff_limited_to_a_path(call, repo: Path) -> None:
    (repo / "src" / "app.py").write_text("changed\n")
    (repo / "README.md").write_text("changed\n")
    result = call("git_diff", {"path": "src"})
    assert "src/app.py" in result.output and "README.md" not in result.output
    assert call("git_diff", {"path": "README.md"}).output.startswith("diff --git a/README.md b/README.md")


def test_diff_without_changes(call) -> None:
    assert call("git_diff").output == "No unstaged changes."
    assert call("git_diff", {"staged": True}).output == "No staged changes."


def test_huge_diff_is_cut_by_the_output_budget_after_a_stat_overview(call, repo: Path, run_git) -> None:
    (repo / "src" / "app.py").write_text("".join(f"line {i}\n" for i in range(200)))
    (repo / "README.md").write_text("# Demo changed\n")
    (repo / "new.txt").write_text("new\n")
    small = ToolContext(root=repo, rules=Rules(), output_chars=600)
    result = call("git_diff", ctx=small)
    stat = run_git(repo, "diff", "--stat=120").rstrip("\n")
    diff = run_git(repo, "diff", "--no-color").rstrip("\n")
    whole = f"{stat}\n\n{diff}\n\nUntracked files (new, not in the diff above):\n  new.txt"
    assert result.output == output_budget.cut(whole, 600, git_diff.PATH_HINT)
    assert result.output.startswith(" README.md  |   2 +-\n src/app.py | 202 ")
    assert result.output.endswith("\n\nUntracked files (new, not in the diff above):\n  new.txt")
    assert re.search(
        r"\n\[\.\.\. [\d,]+ characters \([\d,]+ lines\) cut; call git_diff with a path to see one file in full \.\.\.\]\n",
        result.output,
    )
    assert len(result.output) <= 600
    assert call("git_diff").output.startswith("diff --git a/README.md b/README.md")  # fits: no overview


def test_diff_path_outside_is_refused(call, outside: Path) -> None:
    result = call("git_diff", {"path": "../outside"})
    assert not result.ok and "outside the workspace root" in result.output
    bad_type = call("git_diff", {"staged": "sometimes"})
    assert not bad_type.ok and "staged: Input should be a valid boolean" in bad_type.output


def test_git_is_imported_lazily() -> None:
    code = "import glmcode.tools, sys; assert 'git' not in sys.modules; print('ok')"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert done.stdout.strip() == "ok", done.stderr
