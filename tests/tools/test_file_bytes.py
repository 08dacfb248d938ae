"""The file-bytes contract (DESIGN.md §4): what a tool was not asked to change stays byte-identical.

Each case starts from exact bytes on disk, runs one real tool call and asserts the exact bytes
after it: line endings (LF, CRLF, mixed, lone CR), encodings and byte-order marks, the trailing
newline, the mode. Files that cannot be written back faithfully are refused and left alone.
"""

from __future__ import annotations

import codecs
import stat
from pathlib import Path

import pytest

from glmcode.tools import _files

U16LE = codecs.BOM_UTF16_LE
U16BE = codecs.BOM_UTF16_BE
U8BOM = codecs.BOM_UTF8
MIXED_PY = b"alpha = 1\r\nbeta = 2\r\ngamma = 3\ndelta = 4\r\n"
"""The issue's example."""


def le(text: str) -> bytes:
    return U16LE + text.encode("utf-16-le")


def be(text: str) -> bytes:
    return U16BE + text.encode("utf-16-be")


EDITS = [
    # (case, bytes before, old_string, new_string, replace_all, bytes after)
    ("lf", b"a = 1\nb = 2\n", "a = 1\nb", "a = 9\nb", False, b"a = 9\nb = 2\n"),
    ("crlf", b"a = 1\r\nb = 2\r\n", "a = 1\nb = 2", "x\ny\nz", False, b"x\r\ny\r\nz\r\n"),
    ("mixed.py", MIXED_PY, "alpha = 1\nbeta = 2", "alpha = 10\nbeta = 20", False,
     b"alpha = 10\r\nbeta = 20\r\ngamma = 3\ndelta = 4\r\n"),
    ("mixed.py, a line added", MIXED_PY, "alpha = 1\nbeta = 2", "alpha = 1\nbeta = 2\nzeta = 0", False,
     b"alpha = 1\r\nbeta = 2\r\nzeta = 0\r\ngamma = 3\ndelta = 4\r\n"),
    ("mixed.py, across the LF line", MIXED_PY, "beta = 2\ngamma = 3\ndelta", "beta = 2\ngamma = 30\ndelta", False,
     b"alpha = 1\r\nbeta = 2\r\ngamma = 30\ndelta = 4\r\n"),
    ("mixed, a line deleted keeps the others' endings", b"a\r\nb\nc\r\n", "a\nb\nc", "a\nc", False, b"a\r\nc\r\n"),
    ("mixed, strings written with CRLF", MIXED_PY, "gamma = 3\r\ndelta", "gamma = 33\r\ndelta", False,
     b"alpha = 1\r\nbeta = 2\r\ngamma = 33\ndelta = 4\r\n"),
    ("a lone CR that would meet an LF", b"a\rb\n\nc", "a\nb", "a\nb\n", False, None),
    ("an absent old_string", MIXED_PY, "gamma = 3\r\nbeta", "x", False, None),
    ("lone CR endings", b"one\rtwo\rthree\r", "two\nthree", "2\n3\n4", False, b"one\r2\r3\r4\r"),
    ("CRLF new_string into an LF file", b"a\nb\n", "a\n", "x\r\ny\r\n", False, b"x\ny\nb\n"),
    ("lone CR in new_string into an LF file", b"a\nb\n", "a", "x\ry", False, b"x\ny\nb\n"),
    ("UTF-8 BOM", U8BOM + b"a\r\nb\r\n", "a", "A", False, U8BOM + b"A\r\nb\r\n"),
    ("UTF-16 LE with BOM, CRLF", le("x = 1\r\ny = 2\r\n"), "x = 1\ny = 2", "x = 1\ny = 3\nz = é", False,
     le("x = 1\r\ny = 3\r\nz = é\r\n")),
    ("UTF-16 BE with BOM", be("naïve\n"), "naïve", "naïf", False, be("naïf\n")),
    ("no trailing newline stays so", b"a\r\nb", "b", "c", False, b"a\r\nc"),
    ("no trailing newline, a line added at the end", b"a\r\nb", "b", "b\nc", False, b"a\r\nb\r\nc"),
    ("a final newline asked for", b"a\r\nb", "b", "b\n", False, b"a\r\nb\r\n"),
    ("replace_all across mixed endings", b"x = 1\r\ny = 2\nx = 1\ny = 2\r\n", "x = 1\ny", "x = 0\ny", True,
     b"x = 0\r\ny = 2\nx = 0\ny = 2\r\n"),
    ("replace_all, each occurrence its own endings", b"k\r\nv\nk\nv\r\n", "k\nv", "k\nw\nv", True,
     b"k\r\nw\r\nv\nk\nw\nv\r\n"),
]


@pytest.mark.parametrize(("case", "before", "old", "new", "replace_all", "after"), EDITS, ids=[e[0] for e in EDITS])
def test_edit_keeps_every_byte_it_was_not_asked_to_change(
    call, repo: Path, case: str, before: bytes, old: str, new: str, replace_all: bool, after: bytes | None
) -> None:
    path = repo / "f.txt"
    path.write_bytes(before)
    result = call("edit_file", {"path": "f.txt", "old_string": old, "new_string": new, "replace_all": replace_all})
    if after is None:
        assert not result.ok
        assert path.read_bytes() == before
    else:
        assert result.ok, result.output
        assert path.read_bytes() == after


def test_the_issue_example_edit_succeeds_and_says_so(call, repo: Path) -> None:
    (repo / "mixed.py").write_bytes(MIXED_PY)
    result = call("edit_file", {"path": "mixed.py", "old_string": "alpha = 1\nbeta = 2", "new_string": "alpha = 1\nbeta = 3"})
    assert result.ok and result.output == "Edited mixed.py: replaced 1 occurrence (+1 -1 lines)."
    assert (repo / "mixed.py").read_bytes() == b"alpha = 1\r\nbeta = 3\r\ngamma = 3\ndelta = 4\r\n"
    assert "-beta = 2␍␊\n+beta = 3␍␊\n gamma = 3\n delta = 4␍␊\n" in result.diff


def test_an_edit_of_line_endings_only_is_refused_not_a_silent_no_op(call, repo: Path) -> None:
    path = repo / "f.txt"
    path.write_bytes(b"a\r\nb\r\n")
    result = call("edit_file", {"path": "f.txt", "old_string": "a\r\nb", "new_string": "a\nb"})
    assert not result.ok and "differ only in line endings" in result.output
    assert path.read_bytes() == b"a\r\nb\r\n"


WRITES = [
    # (case, bytes before or None for a new file, content, bytes after)
    ("new file, LF", None, "a\nb\n", b"a\nb\n"),
    ("new file, CRLF as given", None, "a\r\nb\r\n", b"a\r\nb\r\n"),
    ("new file, BOM asked for", None, "\ufeffhi\r\n", U8BOM + b"hi\r\n"),
    ("new file, no trailing newline", None, "a\nb", b"a\nb"),
    ("LF content over all-CRLF keeps CRLF", b"a\r\nb\r\n", "a\nB\nc\n", b"a\r\nB\r\nc\r\n"),
    ("CRLF content over all-CRLF", b"a\r\nb\r\n", "a\r\nB\r\n", b"a\r\nB\r\n"),
    ("CRLF content over LF sets CRLF", b"a\nb\n", "a\r\nb\r\n", b"a\r\nb\r\n"),
    ("LF content over lone-CR keeps CR", b"a\rb\r", "a\nb\nc\n", b"a\rb\rc\r"),
    ("LF content over mixed: kept lines keep theirs", MIXED_PY, "alpha = 1\nbeta = 2\ngamma = 3\nnew = 5\ndelta = 4\n",
     b"alpha = 1\r\nbeta = 2\r\ngamma = 3\nnew = 5\r\ndelta = 4\r\n"),
    ("UTF-8 BOM kept", U8BOM + b"a\n", "b\n", U8BOM + b"b\n"),
    ("UTF-8 BOM not doubled", U8BOM + b"a\n", "\ufeffb\n", U8BOM + b"b\n"),
    ("UTF-16 LE kept, with its CRLF", le("a\r\n"), "é\nb\n", le("é\r\nb\r\n")),
    ("UTF-16 BE kept", be("a\n"), "b\n", be("b\n")),
    ("the content's trailing newline, as given", b"a\r\nb", "a\nc\n", b"a\r\nc\r\n"),
    ("over an empty file", b"", "x\n", b"x\n"),
    ("empty content", b"a\r\n", "", b""),
]


@pytest.mark.parametrize(("case", "before", "content", "after"), WRITES, ids=[w[0] for w in WRITES])
def test_write_over_keeps_the_file_conventions(
    call, repo: Path, case: str, before: bytes | None, content: str, after: bytes
) -> None:
    path = repo / "f.txt"
    if before is not None:
        path.write_bytes(before)
    result = call("write_file", {"path": "f.txt", "content": content})
    assert result.ok, result.output
    assert path.read_bytes() == after


def test_write_says_what_it_kept(call, repo: Path) -> None:
    (repo / "win.txt").write_bytes(U8BOM + b"a\r\nb\r\n")
    result = call("write_file", {"path": "win.txt", "content": "a\nc\n"})
    assert result.output.endswith("Kept the file's byte-order mark and CRLF line endings.")
    assert result.diff == "--- a/win.txt\n+++ b/win.txt\n@@ -1,2 +1,2 @@\n a\n-b\n+c\n\\ line endings: CRLF\n"


UNFAITHFUL = [
    ("latin-1, not UTF-8", "café = 1\n".encode("latin-1"), "not valid UTF-8"),
    ("NUL past the binary sniff", b"x = 1\n" * 2000 + b"y\x00\n", "NUL character"),
    ("UTF-16 with a lone surrogate", U16LE + b"\x00\xd8a\x00\n\x00", "not valid UTF-16 LE"),
    ("binary", b"\x00\x01x = 1\n", "binary file"),
]


@pytest.mark.parametrize(("case", "before", "why"), UNFAITHFUL, ids=[u[0] for u in UNFAITHFUL])
def test_files_that_cannot_round_trip_are_refused_and_untouched(
    call, repo: Path, case: str, before: bytes, why: str
) -> None:
    path = repo / "f.txt"
    path.write_bytes(before)
    edit = call("edit_file", {"path": "f.txt", "old_string": "x = 1", "new_string": "x = 2"})
    write = call("write_file", {"path": "f.txt", "content": "x = 2\n"})
    for result in (edit, write):
        assert not result.ok and why in result.output
    assert path.read_bytes() == before
    read = call("read_file", {"path": "f.txt"})
    if case != "binary":
        assert read.ok and "refuse to change this file" in read.output.split("\n")[0]


def test_nul_characters_in_new_text_are_refused(call, repo: Path) -> None:
    (repo / "f.txt").write_bytes(b"a\n")
    assert "NUL character" in call("edit_file", {"path": "f.txt", "old_string": "a", "new_string": "a\x00"}).output
    assert "NUL character" in call("write_file", {"path": "f.txt", "content": "b\x00\n"}).output
    assert "NUL character" in call("write_file", {"path": "g.txt", "content": "\x00"}).output
    assert (repo / "f.txt").read_bytes() == b"a\n" and not (repo / "g.txt").exists()


@pytest.mark.parametrize("tool", ["edit_file", "write_file"])
def test_the_exec_bit_is_kept(call, repo: Path, tool: str) -> None:
    script = repo / "run.sh"
    script.write_bytes(b"#!/bin/sh\r\necho 1\r\n")
    script.chmod(0o755)
    arguments = {"old_string": "echo 1", "new_string": "echo 2"} if tool == "edit_file" else {"content": "#!/bin/sh\necho 2\n"}
    assert call(tool, {"path": "run.sh", **arguments}).ok
    assert script.read_bytes() == b"#!/bin/sh\r\necho 2\r\n"
    assert stat.S_IMODE(script.stat().st_mode) == 0o755


@pytest.mark.parametrize("failing", ["replace", "chmod"])
def test_a_failed_edit_leaves_the_file_and_no_temp_file(call, repo: Path, monkeypatch, failing: str) -> None:
    path = repo / "f.txt"
    path.write_bytes(b"a\r\nb\r\n")

    def fail(*args: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(_files.os, failing, fail)
    result = call("edit_file", {"path": "f.txt", "old_string": "a", "new_string": "c"})
    assert not result.ok and "No space left on device" in result.output
    assert path.read_bytes() == b"a\r\nb\r\n"
    assert sorted(p.name for p in repo.iterdir() if p.is_file()) == ["README.md", "f.txt"]


# --- the diff shows bytes -------------------------------------------------------------------------


def test_an_ending_only_change_is_visible_in_the_diff(call, repo: Path) -> None:
    (repo / "f.txt").write_bytes(b"a\nb\n")
    result = call("write_file", {"path": "f.txt", "content": "a\r\nb\r\n"})
    assert result.summary == "updated, +2 -2"
    assert result.diff == (
        "--- a/f.txt\n+++ b/f.txt\n@@ -1,2 +1,2 @@\n-a\n-b\n+a␍␊\n+b␍␊\n"
        "\\ line endings: ␍␊ marks CRLF, ␍ a lone CR; unmarked lines end with LF\n"
    )


def test_same_bytes_no_diff_even_when_the_content_was_converted(call, repo: Path) -> None:
    (repo / "f.txt").write_bytes(b"a\r\nb\r\n")
    result = call("write_file", {"path": "f.txt", "content": "a\nb\n"})
    assert result.ok and result.summary == "unchanged" and result.diff == ""


def test_a_bom_is_shown_in_the_diff_of_a_new_file(call, repo: Path) -> None:
    result = call("write_file", {"path": "n.txt", "content": "\ufeffhi\n"})
    assert result.diff == "--- /dev/null\n+++ b/n.txt\n@@ -0,0 +1 @@\n+hi\n\\ encoding: UTF-8 with BOM\n"


def test_the_preview_is_the_diff_the_run_makes_on_a_mixed_file(registry, call, ctx, repo: Path) -> None:
    (repo / "mixed.py").write_bytes(MIXED_PY)
    arguments = {"path": "mixed.py", "old_string": "gamma = 3\ndelta = 4", "new_string": "gamma = 3\ndelta = 5"}
    shown = registry.preview(registry.bind("edit_file", arguments), ctx)
    assert (repo / "mixed.py").read_bytes() == MIXED_PY
    result = call("edit_file", arguments)
    assert result.diff == shown and "-delta = 4␍␊\n+delta = 5␍␊\n" in shown


# --- read_file shows what edits need --------------------------------------------------------------


READS = [
    ("mixed.py", MIXED_PY,
     "[file: mixed (3 CRLF, 1 LF) line endings; edit_file and write_file keep these: write plain \\n]\n"
     "     1\talpha = 1\n     2\tbeta = 2\n     3\tgamma = 3\n     4\tdelta = 4"),
    ("lone CR lines are lines", b"one\rtwo\r",
     "[file: CR line endings; edit_file and write_file keep these: write plain \\n]\n     1\tone\n     2\ttwo"),
    ("UTF-16 LE", le("x = 1\r\n"),
     "[file: UTF-16 LE with BOM; CRLF line endings; edit_file and write_file keep these: write plain \\n]\n     1\tx = 1"),
    ("UTF-8 BOM, no newline at end", U8BOM + b"hi",
     "[file: UTF-8 with BOM; no newline at end; edit_file and write_file keep these: write plain \\n]\n     1\thi"),
    ("plain", b"a\nb\n", "     1\ta\n     2\tb"),
    ("NUL", b"a\n" * 5000 + b"b\x00c\n",
     "[file: it contains a NUL character (at character 10,001) (shown as ␀); "
     "edit_file and write_file refuse to change this file]"),
]


@pytest.mark.parametrize(("case", "data", "shown"), READS, ids=[r[0] for r in READS])
def test_read_file_heads_the_lines_with_what_they_hide(call, repo: Path, case: str, data: bytes, shown: str) -> None:
    (repo / "f.txt").write_bytes(data)
    output = call("read_file", {"path": "f.txt", "limit": 10_000}).output
    if case == "NUL":
        lines = output.split("\n")
        assert lines[0] == shown and lines[-1] == "  5001\tb␀c"
    else:
        assert output == shown


def test_read_file_numbers_lines_as_edit_file_counts_them(call, repo: Path) -> None:
    (repo / "f.txt").write_bytes(b"x\ry\rz = 1\rz = 1\r")
    page = call("read_file", {"path": "f.txt", "offset": 3, "limit": 1}).output
    assert page.split("\n")[1:] == ["     3\tz = 1", "[lines 3-3 of 4; call again with offset=4 to read more]"]
    edit = call("edit_file", {"path": "f.txt", "old_string": "z = 1", "new_string": "w"})
    assert "(at lines 3, 4)" in edit.output


# --- end to end -----------------------------------------------------------------------------------


def test_the_real_command_edits_a_crlf_file_byte_for_byte(glm_server, run_glmcode, repo: Path) -> None:
    from glmcode.testing import ScriptedTurn
    from glmcode.testing.engine import call as tool_call
    from glmcode.testing.engine import messages_of

    (repo / "win.py").write_bytes(b"def f():\r\n    return 1\r\n\r\nprint(f())")
    (repo / "mixed.py").write_bytes(MIXED_PY)
    glm_server.script([
        ScriptedTurn(tool_calls=[tool_call("read_file", path="win.py")]),
        ScriptedTurn(tool_calls=[
            tool_call("edit_file", path="win.py", old_string="def f():\n    return 1", new_string="def f():\n    x = 2\n    return x"),
            tool_call("edit_file", path="mixed.py", old_string="alpha = 1\nbeta = 2", new_string="alpha = 1\nbeta = 3"),
            tool_call("write_file", path="new.py", content="a = 1\n"),
        ]),
        ScriptedTurn(content="done"),
    ])
    run = run_glmcode("run", "edit the files", "--permission-mode", "auto-edit", cwd=repo)
    assert run.returncode == 0, run.stderr
    assert (repo / "win.py").read_bytes() == b"def f():\r\n    x = 2\r\n    return x\r\n\r\nprint(f())"
    assert (repo / "mixed.py").read_bytes() == b"alpha = 1\r\nbeta = 3\r\ngamma = 3\ndelta = 4\r\n"
    assert (repo / "new.py").read_bytes() == b"a = 1\n"
    seen = messages_of(glm_server.requests[1])[-1]["content"]
    assert seen.startswith("[file: CRLF line endings; no newline at end; edit_file and write_file keep these")
    results = run.of_type("tool_result")
    assert [r["ok"] for r in results] == [True, True, True, True]
    assert results[1]["diff"].endswith(
        "+    x = 2\n+    return x\n \n print(f())\n\\ No newline at end of file\n\\ line endings: CRLF\n"
    )
    assert "-beta = 2␍␊\n+beta = 3␍␊\n" in results[2]["diff"]


# --- checkpoints and undo keep bytes too ----------------------------------------------------------


@pytest.mark.parametrize(
    ("attributes", "config"),
    [
        ("* text=auto\n", ()),
        ("* text eol=crlf\n", ()),
        ("* text eol=lf\n", ()),
        ("", ("core.autocrlf", "true")),
        ("", ("core.autocrlf", "input")),
    ],
    ids=["text=auto", "eol=crlf", "eol=lf", "autocrlf=true", "autocrlf=input"],
)
def test_undo_restores_the_exact_bytes_whatever_git_converts(repo: Path, run_git, attributes: str, config: tuple) -> None:
    from glmcode.tools import checkpoints

    if config:
        run_git(repo, "config", *config)
    (repo / ".gitattributes").write_text(attributes)
    files = {"win.txt": b"a\r\nb\r\n", "mixed.py": MIXED_PY, "cr.txt": b"a\rb\r", "u16.txt": le("x\r\ny\n")}
    for name, data in files.items():
        (repo / name).write_bytes(data)
    (repo / "run.sh").write_bytes(b"#!/bin/sh\r\n")
    (repo / "run.sh").chmod(0o755)
    saved = checkpoints.create(repo, "s", 1, "before")
    assert saved is not None
    for name in [*files, "run.sh"]:
        (repo / name).write_bytes(b"changed\n")
    (repo / "run.sh").chmod(0o644)
    checkpoints.restore(repo, saved)
    assert {name: (repo / name).read_bytes() for name in files} == files
    assert (repo / "run.sh").read_bytes() == b"#!/bin/sh\r\n"
    assert stat.S_IMODE((repo / "run.sh").stat().st_mode) == 0o755


def test_search_numbers_lines_as_read_file_and_reads_utf16(call, repo: Path) -> None:
    (repo / "cr.txt").write_bytes(b"one\rtwo = 1\r")
    (repo / "u16.txt").write_bytes(le("zero\r\ntwo = 1\r\n"))
    found = call("search", {"pattern": "two = 1"}).output.split("\n")
    assert found == ["cr.txt:2: two = 1", "u16.txt:2: two = 1"]


def test_read_files_decodes_as_read_file_does(call, repo: Path) -> None:
    (repo / "u16.txt").write_bytes(le("zero\r\none\r\n"))
    (repo / "cr.txt").write_bytes(b"a\rb\r")
    (repo / "latin.txt").write_bytes("café\n".encode("latin-1"))
    output = call("read_files", {"paths": ["u16.txt", "cr.txt", "latin.txt"]}).output
    assert "==> u16.txt (2 lines, UTF-16 LE with BOM) <==\nzero\none\n" in output
    assert "==> cr.txt (2 lines) <==\na\nb\n" in output
    assert "==> latin.txt (1 line, not valid UTF-8: undecodable bytes shown as \ufffd) <==\ncaf\ufffd\n" in output
