"""What the model is given unasked — the project map, folder and glob reads, `@` mentions — never
holds a git-ignored file, anything under `.glmcode/`, or a file reached through a symlink that
leads out of the workspace."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from glmcode.engine import mentions, project_map
from glmcode.engine.project_map import ProjectMap
from glmcode.testing.repos import make_repo
from glmcode.tools import _reader

HIDDEN = "hidden-0123456789"
"""Written into every file that must not reach the model."""


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    """A repo with ignored files (root, nested and .git/info/exclude), a session under .glmcode/,
    and symlinks (a file and a folder) that lead outside."""
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.py").write_text(f"def {HIDDEN.replace('-', '_')}(): '{HIDDEN}'\n")
    root = make_repo(tmp_path / "repo", {".gitignore": "*.log\n", "src/app.py": "def main():\n    pass\n", "src/.gitignore": "gen_*.py\n"})
    (root / "debug.log").write_text(HIDDEN)
    (root / "src" / "gen_table.py").write_text(f"def gen(): '{HIDDEN}'\n")
    (root / ".git" / "info").mkdir(parents=True, exist_ok=True)
    (root / ".git" / "info" / "exclude").write_text("local.py\n")
    (root / "local.py").write_text(f"X = '{HIDDEN}'\n")
    sessions = root / ".glmcode" / "sessions"
    sessions.mkdir(parents=True)
    (sessions / "20260101-000000-abcdef.jsonl").write_text(f'{{"kind":"session","note":"{HIDDEN}"}}\n')
    (root / ".glmcode" / "notes.py").write_text(f"X = '{HIDDEN}'\n")
    (root / "src" / "linked.py").symlink_to(outside / "secret.py")
    (root / "outdir").symlink_to(outside)
    assert subprocess.run(["git", "-C", str(root), "check-ignore", "-q", "src/gen_table.py"]).returncode == 0
    return root


def test_the_map_leaves_them_out(workspace: Path) -> None:
    scan = ProjectMap(workspace).scan()
    assert set(scan.files) == {".gitignore", "src/.gitignore", "src/app.py"}
    text = project_map.render(scan, 32_000)
    assert HIDDEN.replace("-", "_") not in text and ".glmcode" not in text and "outdir" not in text


@pytest.mark.parametrize("paths", [["."], ["src"], ["**/*.py"], ["*"], ["**/*.jsonl"], ["outdir/*.py"], ["outdir"], [".glmcode/**"]])
def test_folder_and_glob_reads_leave_them_out(workspace: Path, paths: list[str]) -> None:
    selection = _reader.collect(workspace, paths)
    assert all(not rel.startswith(".glmcode") and not rel.endswith((".log", "gen_table.py", "local.py", "linked.py")) for rel in selection.rels)
    assert HIDDEN not in _reader.render(selection, 50_000).text


def test_mentions_leave_them_out(workspace: Path) -> None:
    expanded = mentions.expand("see @src/ @**/*.py @.glmcode/sessions/ @outdir/secret.py @src/linked.py @**/*.jsonl", workspace, 50_000)
    assert HIDDEN not in expanded.text
    assert "==> src/app.py" in expanded.text
    assert any(line.startswith("@.glmcode/sessions/") for line in expanded.missing)
    assert any(line.startswith("@outdir/secret.py") and "outside the workspace" in line for line in expanded.missing)
