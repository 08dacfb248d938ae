"""A FIFO (or socket, or device) in the workspace is listed or refused, never opened.

Opening a FIFO for reading blocks until someone writes to it, and no timeout reaches a blocked
`open`: every tool that reads files must skip anything that is not a regular file. Each test has
a short timeout, so a regression fails instead of hanging the suite.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from glmcode.engine import mentions
from glmcode.engine.project_map import ProjectMap
from glmcode.tools import workspace
from glmcode.tools._walk import walk

pytestmark = pytest.mark.timeout(10)


@pytest.fixture
def fifo_repo(repo: Path) -> Path:
    """The template repo plus `sub/a.txt` and a FIFO nobody writes to, `sub/pipe.txt`."""
    (repo / "sub").mkdir()
    (repo / "sub" / "a.txt").write_text("alpha\n")
    os.mkfifo(repo / "sub" / "pipe.txt")
    return repo


@pytest.mark.parametrize("paths", [["sub"], ["sub/*.txt"], ["*.txt"]])
def test_read_files_lists_a_fifo_as_skipped(call, fifo_repo: Path, paths: list[str]) -> None:
    result = call("read_files", {"paths": paths})
    assert result.ok, result.output
    assert "==> sub/a.txt (1 line) <==" in result.output
    assert f"sub/pipe.txt ({workspace.NOT_REGULAR})" in result.output


def test_read_files_refuses_a_fifo_named_itself(call, fifo_repo: Path) -> None:
    result = call("read_files", {"paths": ["sub/pipe.txt", "sub/a.txt"]})
    assert result.ok, result.output
    assert "sub/pipe.txt: not a regular file or folder" in result.output


def test_search_skips_a_fifo(call, fifo_repo: Path) -> None:
    result = call("search", {"pattern": "alpha"})
    assert result.ok, result.output
    assert "sub/a.txt:1: alpha" in result.output


@pytest.mark.parametrize("tool", ["read_file", "write_file", "edit_file"])
def test_single_file_tools_refuse_a_fifo(call, fifo_repo: Path, tool: str) -> None:
    arguments = {"path": "sub/pipe.txt"}
    if tool == "write_file":
        arguments["content"] = "x\n"
    if tool == "edit_file":
        arguments |= {"old_string": "a", "new_string": "b"}
    result = call(tool, arguments)
    assert not result.ok
    assert "not a regular file" in result.output
    assert (fifo_repo / "sub" / "pipe.txt").is_fifo()


def test_list_files_lists_a_fifo_without_opening_it(call, fifo_repo: Path) -> None:
    result = call("list_files", {"path": "sub"})
    assert result.ok, result.output
    assert result.output.split("\n") == ["sub/a.txt", "sub/pipe.txt"]


def test_a_fifo_named_gitignore_does_not_stop_the_walk(fifo_repo: Path) -> None:
    os.mkfifo(fifo_repo / "sub" / ".gitignore")
    rels = [entry.rel for entry in walk(fifo_repo, fifo_repo)]
    assert "sub/a.txt" in rels


def test_mentions_skip_a_fifo(fifo_repo: Path) -> None:
    expanded = mentions.expand("look at @sub/ and @sub/*.txt", fifo_repo, 20_000)
    assert "==> sub/a.txt (1 line) <==" in expanded.text
    assert f"sub/pipe.txt ({workspace.NOT_REGULAR})" in expanded.text


def test_the_project_map_leaves_out_a_fifo_even_with_a_source_suffix(fifo_repo: Path) -> None:
    os.mkfifo(fifo_repo / "sub" / "pipe.py")
    scan = ProjectMap(fifo_repo).scan()
    assert "sub/a.txt" in scan.files
    assert "sub/pipe.py" not in scan.files and "sub/pipe.txt" not in scan.files


def test_open_regular_refuses_without_blocking(fifo_repo: Path) -> None:
    with pytest.raises(workspace.NotRegularFile):
        workspace.open_regular(fifo_repo / "sub" / "pipe.txt")
    with pytest.raises(workspace.NotRegularFile):
        workspace.open_regular(fifo_repo / "sub")
    with workspace.open_regular(fifo_repo / "sub" / "a.txt") as f:
        assert f.read() == b"alpha\n"
