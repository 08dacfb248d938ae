"""edit_file on real files: exact match, uniqueness, replace_all, CRLF, BOM, refusals."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

SOURCE = "def add(a, b):\n    return a + b\n\n\ndef sub(a, b):\n    return a - b\n"


@pytest.fixture
def calc(repo: Path) -> Path:
    path = repo / "calc.py"
    path.write_text(SOURCE)
    return path


def test_replaces_one_exact_occurrence(call, calc: Path) -> None:
    result = call("edit_file", {"path": "calc.py", "old_string": "return a + b", "new_string": "return b + a"})
    assert result.ok
    assert calc.read_text() == SOURCE.replace("a + b", "b + a")
    assert result.output == "Edited calc.py: replaced 1 occurrence (+1 -1 lines)."
    assert result.summary == "updated, +1 -1"
    assert "-    return a + b\n+    return b + a\n" in result.diff


def test_absent_string_explains_and_points_at_lines(call, calc: Path) -> None:
    result = call("edit_file", {"path": "calc.py", "old_string": "\treturn a + b", "new_string": "x"})
    assert not result.ok
    assert result.output.startswith("old_string was not found in calc.py.")
    assert "at line(s) 2" in result.output and "indentation" in result.output
    nowhere = call("edit_file", {"path": "calc.py", "old_string": "def mul", "new_string": "x"})
    assert "Re-read the file with read_file" in nowhere.output
    assert calc.read_text() == SOURCE


def test_ambiguous_string_is_refused_with_count_and_lines(call, calc: Path) -> None:
    result = call("edit_file", {"path": "calc.py", "old_string": "(a, b):", "new_string": "(x, y):"})
    assert not result.ok
    assert "occurs 2 times in calc.py (at lines 1, 5)" in result.output
    assert "replace_all" in result.output
    assert calc.read_text() == SOURCE


def test_replace_all(call, calc: Path) -> None:
    result = call("edit_file", {"path": "calc.py", "old_string": "a, b", "new_string": "x, y", "replace_all": True})
    assert result.ok
    assert calc.read_text() == SOURCE.replace("a, b", "x, y")
    assert result.output == "Edited calc.py: replaced 2 occurrences (+2 -2 lines)."


def test_multiline_edit_and_deletion(call, calc: Path) -> None:
    result = call(
        "edit_file", {"path": "calc.py", "old_string": "\n\ndef sub(a, b):\n    return a - b\n", "new_string": ""}
    )
    assert result.ok
    assert calc.read_text() == "def add(a, b):\n    return a + b\n"


def test_crlf_file_keeps_crlf(call, repo: Path) -> None:
    path = repo / "win.txt"
    path.write_bytes(b"first line\r\nsecond line\r\nthird line\r\n")
    result = call(
        "edit_file", {"path": "win.txt", "old_string": "first line\nsecond line", "new_string": "one\ntwo\nmore"}
    )
    assert result.ok
    assert path.read_bytes() == b"one\r\ntwo\r\nmore\r\nthird line\r\n"
    crlf_strings = call("edit_file", {"path": "win.txt", "old_string": "more\r\nthird", "new_string": "3rd"})
    assert crlf_strings.ok
    assert path.read_bytes() == b"one\r\ntwo\r\n3rd line\r\n"


def test_mixed_line_endings_match_exactly(call, repo: Path) -> None:
    path = repo / "mixed.txt"
    path.write_bytes(b"a\r\nb\nc\n")
    assert call("edit_file", {"path": "mixed.txt", "old_string": "b\nc", "new_string": "B\nC"}).ok
    assert path.read_bytes() == b"a\r\nB\nC\n"


def test_bom_is_kept(call, repo: Path) -> None:
    path = repo / "bom.txt"
    path.write_bytes(b"\xef\xbb\xbfhello\n")
    assert call("edit_file", {"path": "bom.txt", "old_string": "hello", "new_string": "bye"}).ok
    assert path.read_bytes() == b"\xef\xbb\xbfbye\n"


def test_mode_is_kept(call, calc: Path) -> None:
    calc.chmod(0o700)
    call("edit_file", {"path": "calc.py", "old_string": "a - b", "new_string": "b - a"})
    assert stat.S_IMODE(calc.stat().st_mode) == 0o700


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"path": "calc.py", "old_string": "", "new_string": "x"}, "old_string is empty"),
        ({"path": "calc.py", "old_string": "add", "new_string": "add"}, "identical"),
        ({"path": "missing.py", "old_string": "a", "new_string": "b"}, "missing.py does not exist; use write_file"),
        ({"path": "src", "old_string": "a", "new_string": "b"}, "src is a directory"),
        ({"path": "calc.py", "old_string": "a"}, "new_string: Field required"),
        (
            {"path": "calc.py", "old_string": "a", "new_string": "b", "replace_all": "maybe"},
            "replace_all: Input should be a valid boolean",
        ),
        (
            {"path": "calc.py", "old_string": "a", "new_string": "b", "count": 2},
            "count: Extra inputs are not permitted",
        ),
        ({"path": "../calc.py", "old_string": "a", "new_string": "b"}, "outside the workspace root"),
        ({"path": ".git/HEAD", "old_string": "ref", "new_string": "x"}, "inside a .git folder"),
    ],
)
def test_bad_arguments(call, calc: Path, arguments: dict, message: str) -> None:
    result = call("edit_file", arguments)
    assert not result.ok
    assert message in result.output
    assert calc.read_text() == SOURCE


def test_binary_file_is_refused_and_untouched(call, repo: Path) -> None:
    data = b"abc\x00def old"
    (repo / "blob.bin").write_bytes(data)
    result = call("edit_file", {"path": "blob.bin", "old_string": "old", "new_string": "new"})
    assert not result.ok and "binary file (11 bytes)" in result.output
    assert (repo / "blob.bin").read_bytes() == data


def test_non_utf8_file_is_refused_and_untouched(call, repo: Path) -> None:
    data = "café = 1\n".encode("latin-1")
    (repo / "latin1.py").write_bytes(data)
    result = call("edit_file", {"path": "latin1.py", "old_string": "= 1", "new_string": "= 2"})
    assert not result.ok and "not valid UTF-8" in result.output
    assert (repo / "latin1.py").read_bytes() == data


def test_symlink_escape_is_refused(call, repo: Path, outside: Path) -> None:
    (repo / "leakdir").symlink_to(outside)
    result = call("edit_file", {"path": "leakdir/secret.txt", "old_string": "top", "new_string": "no"})
    assert not result.ok and "outside the workspace root" in result.output
    assert (outside / "secret.txt").read_text() == "top secret\n"


def test_a_hard_linked_file_is_edited_in_place_so_every_link_sees_it(call, calc: Path) -> None:
    twin = calc.parent / "twin.py"
    os.link(calc, twin)
    result = call("edit_file", {"path": "calc.py", "old_string": "a + b", "new_string": "b + a"})
    assert result.ok, result.output
    assert twin.read_text() == SOURCE.replace("a + b", "b + a") == calc.read_text()
    assert calc.stat().st_nlink == 2 and calc.stat().st_ino == twin.stat().st_ino


def test_a_read_only_file_is_not_edited(call, calc: Path) -> None:
    calc.chmod(0o444)
    result = call("edit_file", {"path": "calc.py", "old_string": "a + b", "new_string": "b + a"})
    assert not result.ok and "read-only file: change its mode first" in result.output
    assert calc.read_text() == SOURCE
