""".glmcode must be a real folder: a symlink or a file there is refused before anything runs.

A symlinked `.glmcode` would write transcripts wherever it points (outside the workspace, or
into a folder git tracks where the tools read and write them as ordinary files); the tools'
protection of `.glmcode` compares resolved paths, so the folder it leads to is refused under
any name.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from glmcode.config import check_state_dir
from glmcode.engine.transcript import glmcode_dir
from glmcode.errors import ConfigError
from glmcode.testing import ScriptedTurn
from glmcode.tools import workspace
from glmcode.tools.base import ToolError


def test_a_real_folder_or_none_is_fine(tmp_path: Path) -> None:
    check_state_dir(tmp_path)
    (tmp_path / ".glmcode").mkdir()
    check_state_dir(tmp_path)


@pytest.mark.parametrize("target", ["state", "outside"])
def test_a_symlink_is_refused_and_nothing_is_made_through_it(tmp_path: Path, target: str) -> None:
    root = tmp_path / "repo"
    root.mkdir()
    where = root / "state" if target == "state" else tmp_path / "outside"
    where.mkdir()
    (root / ".glmcode").symlink_to(where)
    with pytest.raises(ConfigError, match="is a symlink"):
        check_state_dir(root)
    with pytest.raises(ConfigError, match="is a symlink"):
        glmcode_dir(root)
    assert list(where.iterdir()) == []


def test_a_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / ".glmcode").write_text("not a folder\n")
    with pytest.raises(ConfigError, match="is not a folder"):
        check_state_dir(tmp_path)


def test_the_folder_a_glmcode_link_leads_to_is_protected_under_its_own_name(tmp_path: Path) -> None:
    root = tmp_path.resolve()
    (root / "state" / "sessions").mkdir(parents=True)
    (root / "state" / "sessions" / "other.jsonl").write_text("{}\n")
    (root / ".glmcode").symlink_to("state")
    for write in (False, True):
        with pytest.raises(ToolError, match="glmcode's own folder"):
            workspace.resolve(root, "state/sessions/other.jsonl", write=write)
        with pytest.raises(ToolError, match="glmcode's own folder"):
            workspace.resolve(root, "state", write=write)
    (root / "statement.txt").write_text("x\n")
    assert workspace.resolve(root, "statement.txt", write=True) == root / "statement.txt"


@pytest.mark.parametrize("kind", ["symlink_inside", "symlink_outside", "file"])
def test_the_command_exits_2_before_any_request(glm_server, run_glmcode, repo: Path, tmp_path: Path, kind: str) -> None:
    glm_server.script([ScriptedTurn(content="should never be asked")])
    if kind == "file":
        (repo / ".glmcode").write_text("oops\n")
    else:
        target = repo / "state" if kind == "symlink_inside" else tmp_path / "outside"
        target.mkdir()
        (repo / ".glmcode").symlink_to(target)
    done = run_glmcode("run", "hello", "--output-format", "text", cwd=repo)
    assert done.returncode == 2, done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and ".glmcode" in lines[0], done.stderr
    assert ("is not a folder" if kind == "file" else "is a symlink") in lines[0]
    assert glm_server.requests == []
    if kind != "file":
        assert list(target.iterdir()) == []


@pytest.mark.parametrize("command", [["sessions"], ["resume"], ["undo"]])
def test_every_command_refuses_it_and_doctor_reports_it(run_glmcode, repo: Path, command: list[str]) -> None:
    (repo / "state").mkdir()
    (repo / ".glmcode").symlink_to("state")
    done = run_glmcode(*command, cwd=repo)
    assert done.returncode == 2 and "is a symlink" in done.stderr, done.stderr
    doctor = run_glmcode("doctor", "--offline", cwd=repo)
    assert doctor.returncode == 1 and "FAIL  config:" in doctor.stdout and "is a symlink" in doctor.stdout
