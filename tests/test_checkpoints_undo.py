"""Checkpoints taken before changes, and `glmcode undo` restoring edits and shell side effects."""

from __future__ import annotations

import subprocess
from pathlib import Path

from glmcode.testing import ScriptedTurn
from glmcode.testing.command import GLMCODE_BIN, base_env
from glmcode.testing.engine import Engine, call
from glmcode.tools import checkpoints


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, check=True).stdout


def undo(repo: Path, tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([GLMCODE_BIN, "undo", *args], cwd=repo, env=base_env(None, tmp_path), capture_output=True, text=True, timeout=60)


def test_undo_takes_back_edits_and_shell_side_effects_of_the_last_run(glm_server, engine: Engine, repo: Path, tmp_path: Path):
    (repo / "keep.txt").write_text("uncommitted work\n")
    glm_server.script([
        ScriptedTurn(tool_calls=[call("read_file", path="README.md")]),
        ScriptedTurn(tool_calls=[call("edit_file", path="README.md", old_string="# demo", new_string="# changed"), call("run_shell", command="echo new > made.txt && rm keep.txt")]),
        ScriptedTurn(tool_calls=[call("write_file", path="second.txt", content="2\n")]),
        ScriptedTurn(content="done"),
    ])
    run = engine.run("change things", permission_mode="full-auto")
    assert run.returncode == 0, run.events
    assert (repo / "README.md").read_text() == "# changed\n" and (repo / "made.txt").exists() and not (repo / "keep.txt").exists()
    head_before = git(repo, "rev-parse", "HEAD")
    status_index = git(repo, "diff", "--cached", "--name-only")

    saved = checkpoints.list_all(repo)
    assert len(saved) == 2, "one checkpoint per turn that changed files, none for the read-only turn"
    assert saved[-1].label.startswith("before edit_file README.md")

    result = undo(repo, tmp_path)
    assert result.returncode == 0, result.stderr
    assert (repo / "README.md").read_text() == "# demo\n"
    assert (repo / "keep.txt").read_text() == "uncommitted work\n"
    assert not (repo / "made.txt").exists() and not (repo / "second.txt").exists()
    assert "removed made.txt" in result.stdout and "restored README.md" in result.stdout
    assert git(repo, "rev-parse", "HEAD") == head_before, "undo never touches the user's branch"
    assert git(repo, "diff", "--cached", "--name-only") == status_index, "nor the user's index"
    assert git(repo, "branch", "--list") == "* main\n"

    listing = undo(repo, tmp_path, "--list").stdout.splitlines()
    assert len(listing) == 3 and "before undo" in listing[0]
    redo = undo(repo, tmp_path, "--to", "1")
    assert redo.returncode == 0 and (repo / "README.md").read_text() == "# changed\n" and (repo / "second.txt").exists()


def test_undo_without_checkpoints_and_outside_git_is_a_clear_error(repo: Path, tmp_path: Path):
    result = undo(repo, tmp_path)
    assert result.returncode == 2 and "nothing to undo" in result.stderr
    outside = tmp_path / "plain"
    outside.mkdir()
    result = undo(outside, tmp_path)
    assert result.returncode == 2 and "not in a git repository" in result.stderr
    assert undo(repo, tmp_path, "--to", "5").returncode == 2
