"""read_file on real files: numbering, paging, long lines, binaries, encodings, bad paths."""

from __future__ import annotations

import os
import time
import tracemalloc
from pathlib import Path

import pytest

from glmcode import output_budget
from glmcode.rules.agent_md import Rules
from glmcode.tools import read_file
from glmcode.tools.base import ToolContext


def test_numbered_lines_like_cat_n(call, repo: Path) -> None:
    result = call("read_file", {"path": "src/app.py"})
    assert result.ok
    assert result.output == "     1\tdef main():\n     2\t    return 1"
    assert result.summary == "2 lines"


def test_window_and_continuation_footer(call, repo: Path) -> None:
    (repo / "big.txt").write_text("".join(f"line {i}\n" for i in range(1, 5001)))
    first = call("read_file", {"path": "big.txt"})
    lines = first.output.split("\n")
    assert lines[0] == "     1\tline 1" and lines[1999] == "  2000\tline 2000"
    assert lines[-1] == "[lines 1-2000 of 5,000; call again with offset=2001 to read more]"
    page = call("read_file", {"path": "big.txt", "offset": 4990, "limit": 5})
    assert page.output.split("\n") == [
        *(f"{n:>6}\tline {n}" for n in range(4990, 4995)),
        "[lines 4990-4994 of 5,000; call again with offset=4995 to read more]",
    ]
    last = call("read_file", {"path": "big.txt", "offset": 4999})
    assert last.output.split("\n")[-1] == "[lines 4999-5000 of 5,000; end of file]"


def test_offset_past_the_end_states_the_line_count(call, repo: Path) -> None:
    result = call("read_file", {"path": "src/app.py", "offset": 3})
    assert not result.ok
    assert result.output == "offset 3 is past the end of src/app.py: the file has 2 lines"


def test_last_line_without_newline_and_crlf(call, repo: Path) -> None:
    (repo / "win.txt").write_bytes(b"one\r\ntwo\r\nthree")
    assert call("read_file", {"path": "win.txt"}).output == (
        "[file: CRLF line endings; no newline at end; edit_file and write_file keep these: write plain \\n]\n"
        "     1\tone\n     2\ttwo\n     3\tthree"
    )
    assert call("read_file", {"path": "win.txt", "offset": 4}).output.endswith("the file has 3 lines")


def test_empty_file(call, repo: Path) -> None:
    (repo / "empty.txt").write_bytes(b"")
    result = call("read_file", {"path": "empty.txt"})
    assert result.ok and result.output == "empty.txt is empty (0 lines)"


def test_long_lines_are_cut_with_the_budget_note_in_characters(call, repo: Path) -> None:
    (repo / "min.js").write_text("x" * 5000 + "\nshort\n" + "é" * 3000 + "\n" + "€" * 9000 + "\n")
    lines = call("read_file", {"path": "min.js"}).output.split("\n")
    assert lines[0] == "     1\t" + "x" * 2000 + " [... 3,000 characters cut ...]"
    assert lines[1] == "     2\tshort"
    assert lines[2] == "     3\t" + "é" * 2000 + " [... 1,000 characters cut ...]"
    assert lines[3] == "     4\t" + "€" * 2000 + " [... 7,000 characters cut ...]"


def test_huge_single_line_is_not_loaded(call, repo: Path) -> None:
    with open(repo / "one-line.txt", "wb") as f:
        f.write(b"a" * 50_000_000 + b"\nsecond\n")
    tracemalloc.start()
    try:
        result = call("read_file", {"path": "one-line.txt"})
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 5_000_000
    assert result.output.split("\n")[0].endswith("a [... 49,998,000 characters cut ...]")
    assert result.output.split("\n")[1] == "     2\tsecond"


@pytest.mark.slow
def test_large_file_is_paged_lazily(call, repo: Path) -> None:
    path = repo / "large.log"
    with open(path, "wb") as f:
        f.write(b"".join(b"entry %d\n" % i for i in range(1, 2_000_001)))
    started = time.monotonic()
    result = call("read_file", {"path": "large.log", "offset": 1_999_999, "limit": 10})
    assert time.monotonic() - started < 3
    assert (
        result.output
        == "1999999\tentry 1999999\n2000000\tentry 2000000\n[lines 1999999-2000000 of 2,000,000; end of file]"
    )


def test_file_over_the_count_limit_is_not_counted(call, repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(read_file, "COUNT_LIMIT_BYTES", 100)
    monkeypatch.setattr(read_file, "WHOLE_FILE_BYTES", 100)
    (repo / "many.txt").write_text("x\n" * 500)
    footer = call("read_file", {"path": "many.txt", "limit": 3}).output.split("\n")[-1]
    assert footer == "[lines 1-3 of a 1,000-byte file, more follow; call again with offset=4 to read more]"


def test_a_window_stops_at_a_line_within_the_output_budget(call, repo: Path) -> None:
    (repo / "wide.txt").write_text(("w" * 1500 + "\n") * 200)
    result = call("read_file", {"path": "wide.txt"}, ctx=ToolContext(root=repo, rules=Rules(), output_chars=5000))
    line = "\t" + "w" * 1500
    assert result.output == (
        f"     1{line}\n     2{line}\n     3{line}\n[lines 1-3 of 200; call again with offset=4 to read more]"
    )
    default = call("read_file", {"path": "wide.txt"}).output
    assert len(default) <= output_budget.DEFAULT_LIMIT and default.endswith("call again with offset=33 to read more]")


def test_a_line_longer_than_the_budget_is_cut_by_it(call, repo: Path) -> None:
    (repo / "wide.txt").write_text("0123456789" * 300 + "\nnext\n")
    result = call("read_file", {"path": "wide.txt"}, ctx=ToolContext(root=repo, rules=Rules(), output_chars=1000))
    whole = "     1\t" + "0123456789" * 200 + " [... 1,000 characters cut ...]\n[lines 1-1 of 2; call again with offset=2 to read more]"
    assert result.output == output_budget.cut(whole, 1000)
    assert len(result.output) == 1000
    assert "\n[... 1,126 characters cut ...]\n" in result.output


def test_binary_file_is_refused_with_its_size(call, repo: Path) -> None:
    (repo / "image.png").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(100))
    result = call("read_file", {"path": "image.png"})
    assert not result.ok
    assert result.output == "image.png is a binary file (116 bytes); read_file shows text files only"


def test_non_utf8_file_is_shown_with_a_note(call, repo: Path) -> None:
    (repo / "latin1.txt").write_bytes("café\nnaïve\n".encode("latin-1"))
    result = call("read_file", {"path": "latin1.txt"})
    assert result.ok
    assert result.output.split("\n") == [
        "[file: byte 3 is not valid UTF-8 (undecodable bytes are shown as \ufffd); "
        "edit_file and write_file refuse to change this file]",
        "     1\tcaf\ufffd",
        "     2\tna\ufffdve",
    ]


def test_missing_file_suggests_list_files(call) -> None:
    result = call("read_file", {"path": "src/nope.py"})
    assert not result.ok
    assert "src/nope.py does not exist" in result.output and "list_files" in result.output


def test_directory_suggests_list_files(call) -> None:
    result = call("read_file", {"path": "src"})
    assert not result.ok
    assert result.output == "src is a directory, not a file; use list_files to see what it contains"


def test_fifo_is_refused_without_hanging(call, repo: Path) -> None:
    os.mkfifo(repo / "pipe")
    result = call("read_file", {"path": "pipe"})
    assert not result.ok and "not a regular file" in result.output


def test_paths_outside_the_workspace_are_refused(call, repo: Path, outside: Path) -> None:
    (repo / "leak").symlink_to(outside / "secret.txt")
    (repo / "leakdir").symlink_to(outside)
    for path in ["../outside/secret.txt", str(outside / "secret.txt"), "leak", "leakdir/secret.txt"]:
        result = call("read_file", {"path": path})
        assert not result.ok, path
        assert "outside the workspace root" in result.output
        assert "top secret" not in result.output


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({}, "path: Field required"),
        ({"path": 7}, "path: Input should be a valid string"),
        ({"path": "README.md", "offset": 0}, "offset: Input should be greater than or equal to 1"),
        ({"path": "README.md", "offset": "ten"}, "offset: Input should be a valid integer"),
        ({"path": "README.md", "limit": 10**6}, "limit: Input should be less than or equal to 10000"),
        ({"path": "README.md", "lines": 3}, "lines: Extra inputs are not permitted"),
        ({"path": "p" * 5000}, "path: String should have at most 4096 characters"),
    ],
)
def test_bad_arguments(call, arguments: dict, message: str) -> None:
    result = call("read_file", arguments)
    assert not result.ok
    assert message in result.output
    assert "read_file takes: path (required), offset, limit." in result.output
