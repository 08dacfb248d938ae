"""write_file on real files: create, update, atomicity, modes, diffs, limits, bad paths."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from glmcode.tools import _files
from glmcode.tools.registry import BoundCall
from glmcode.tools.write_file import WriteFile, WriteFileArgs


def test_creates_file_and_parent_folders(call, repo: Path) -> None:
    result = call("write_file", {"path": "pkg/sub/mod.py", "content": "a = 1\nb = 2\n"})
    assert result.ok
    assert (repo / "pkg" / "sub" / "mod.py").read_text() == "a = 1\nb = 2\n"
    assert result.summary == "created, 2 lines"
    assert result.output == "Created pkg/sub/mod.py (2 lines, 12 bytes)."
    assert result.diff == "--- /dev/null\n+++ b/pkg/sub/mod.py\n@@ -0,0 +1,2 @@\n+a = 1\n+b = 2\n"


def test_new_file_gets_the_umask_mode(call, repo: Path) -> None:
    call("write_file", {"path": "plain.txt", "content": "x"})
    umask = os.umask(0o022)
    os.umask(umask)
    assert stat.S_IMODE((repo / "plain.txt").stat().st_mode) == 0o666 & ~umask


def test_updates_with_diff_and_counts(call, repo: Path) -> None:
    result = call("write_file", {"path": "src/app.py", "content": "def main():\n    return 2\n\nmain()\n"})
    assert result.ok
    assert result.summary == "updated, +3 -1"
    assert result.output == "Updated src/app.py (+3 -1 lines, now 4 lines, 33 bytes)."
    assert "-    return 1\n+    return 2\n+\n+main()\n" in result.diff
    assert result.diff.startswith("--- a/src/app.py\n+++ b/src/app.py\n")


def test_same_content_is_reported_unchanged(call, repo: Path) -> None:
    before = (repo / "README.md").stat().st_mtime_ns
    result = call("write_file", {"path": "README.md", "content": "# Demo\n"})
    assert result.ok and result.summary == "unchanged"
    assert (repo / "README.md").stat().st_mtime_ns == before


def test_missing_final_newline_is_marked_in_the_diff(call, repo: Path) -> None:
    result = call("write_file", {"path": "README.md", "content": "# Demo"})
    assert result.diff.endswith("-# Demo\n+# Demo\n\\ No newline at end of file\n")


def test_keeps_the_mode_of_an_existing_file(call, repo: Path) -> None:
    script = repo / "run.sh"
    script.write_text("#!/bin/sh\necho 1\n")
    script.chmod(0o751)
    call("write_file", {"path": "run.sh", "content": "#!/bin/sh\necho 2\n"})
    assert stat.S_IMODE(script.stat().st_mode) == 0o751
    assert script.read_text().endswith("echo 2\n")


def test_write_is_atomic_and_leaves_no_temp_files(call, repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def failing_replace(src: str, dst: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(_files.os, "replace", failing_replace)
    result = call("write_file", {"path": "src/app.py", "content": "broken"})
    assert not result.ok and "No space left on device" in result.output
    assert (repo / "src" / "app.py").read_text() == "def main():\n    return 1\n"
    assert sorted(p.name for p in (repo / "src").iterdir()) == ["app.py"]


def test_writes_through_an_inner_symlink_to_its_target(call, repo: Path) -> None:
    (repo / "alias.py").symlink_to(repo / "src" / "app.py")
    call("write_file", {"path": "alias.py", "content": "x = 1\n"})
    assert (repo / "alias.py").is_symlink()
    assert (repo / "src" / "app.py").read_text() == "x = 1\n"


def test_writing_over_a_binary_file_is_refused_and_leaves_it(call, repo: Path) -> None:
    (repo / "blob.bin").write_bytes(b"\x00\x01\x02")
    result = call("write_file", {"path": "blob.bin", "content": "text now\n"})
    assert not result.ok
    assert result.output.startswith("blob.bin is a binary file; write_file does not write text over it.")
    assert (repo / "blob.bin").read_bytes() == b"\x00\x01\x02"


def test_directory_target_is_refused(call) -> None:
    result = call("write_file", {"path": "src", "content": "x"})
    assert not result.ok and result.output == "src is a directory; write_file writes files only"


def test_parent_that_is_a_file_is_refused(call, repo: Path) -> None:
    result = call("write_file", {"path": "README.md/inner.txt", "content": "x"})
    assert not result.ok
    assert "a parent path is a file" in result.output


def test_content_over_the_cap_is_refused(call, repo: Path) -> None:
    result = call("write_file", {"path": "huge.txt", "content": "x" * (_files.MAX_FILE_BYTES + 1)})
    assert not result.ok and "content: String should have at most 10485760 characters" in result.output
    multibyte = call("write_file", {"path": "huge.txt", "content": "é" * (_files.MAX_FILE_BYTES // 2 + 1)})
    assert not multibyte.ok and "write_file writes at most 10,485,760 bytes" in multibyte.output
    assert not (repo / "huge.txt").exists()


def test_lone_surrogate_is_refused(call, ctx, registry, repo: Path) -> None:
    from_json = call("write_file", '{"path": "s.txt", "content": "bad \\ud800 char"}')
    assert not from_json.ok and "content: Input should be a valid string" in from_json.output
    from_object = call("write_file", {"path": "s.txt", "content": "bad \ud800 char"})
    assert not from_object.ok and "content: Input should be a valid string" in from_object.output
    unvalidated = WriteFileArgs.model_construct(path="s.txt", content="bad \ud800 char")
    tool = WriteFile()
    direct = registry.run(BoundCall(tool=tool, args=unvalidated, info=tool.info(unvalidated)), ctx)
    assert not direct.ok and "cannot be written as UTF-8" in direct.output
    assert not (repo / "s.txt").exists()


def test_paths_outside_the_workspace_are_refused(call, repo: Path, outside: Path) -> None:
    (repo / "leakdir").symlink_to(outside)
    (repo / "leak.txt").symlink_to(outside / "secret.txt")
    for path in ["../outside/secret.txt", str(outside / "new.txt"), "leakdir/new.txt", "leak.txt", ".git/config"]:
        result = call("write_file", {"path": path, "content": "pwned\n"})
        assert not result.ok, path
    assert (outside / "secret.txt").read_text() == "top secret\n"
    assert sorted(p.name for p in outside.iterdir()) == ["secret.txt"]
    assert "pwned" not in (repo / ".git" / "config").read_text()


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"path": "a.txt"}, "content: Field required"),
        ({"content": "x"}, "path: Field required"),
        ({"path": "a.txt", "content": ["x"]}, "content: Input should be a valid string"),
        ({"path": "a.txt", "content": None}, "content: Input should be a valid string"),
        ({"path": "a.txt", "content": "x", "mode": "w"}, "mode: Extra inputs are not permitted"),
        ({"path": "", "content": "x"}, "the path is empty"),
    ],
)
def test_bad_arguments(call, repo: Path, arguments: dict, message: str) -> None:
    result = call("write_file", arguments)
    assert not result.ok
    assert message in result.output
    assert not (repo / "a.txt").exists()


def test_counts_agree_with_their_nouns(call) -> None:
    """`1 line`, never `1 lines` (a newcomer's finding), in the summary and the output."""
    result = call("write_file", {"path": "one.txt", "content": "only line\n"})
    assert result.summary == "created, 1 line"
    assert result.output.startswith("Created one.txt (1 line, ")
    assert call("read_file", {"path": "one.txt"}).summary == "1 line"
    assert call("list_files", {"pattern": "one.txt"}).summary == "1 entry"


def test_a_hard_linked_file_is_written_in_place_so_every_link_sees_it(call, repo: Path) -> None:
    app, twin = repo / "src" / "app.py", repo / "twin.py"
    os.link(app, twin)
    inode = app.stat().st_ino
    result = call("write_file", {"path": "src/app.py", "content": "x = 2\n"})
    assert result.ok, result.output
    assert twin.read_text() == "x = 2\n" == app.read_text()
    assert app.stat().st_ino == inode and app.stat().st_nlink == 2
    assert sorted(p.name for p in (repo / "src").iterdir()) == ["app.py"], "the backup copy is removed"


def test_a_failed_in_place_write_puts_the_old_bytes_back(call, repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    app, twin = repo / "src" / "app.py", repo / "twin.py"
    os.link(app, twin)
    real = _files._overwrite
    calls = []

    def full_disk_once(target, fill):
        calls.append(target)
        if len(calls) == 1:
            target.seek(0)
            target.truncate(0)
            target.write(b"half")
            target.flush()
            raise OSError(28, "No space left on device")
        real(target, fill)

    monkeypatch.setattr(_files, "_overwrite", full_disk_once)
    result = call("write_file", {"path": "src/app.py", "content": "x = 2\n"})
    assert not result.ok and "No space left on device" in result.output
    assert len(calls) == 2, "the old bytes were written back from the backup"
    assert twin.read_text() == "def main():\n    return 1\n" == app.read_text()
    assert sorted(p.name for p in (repo / "src").iterdir()) == ["app.py"]


def test_a_read_only_file_is_refused_and_left_as_it_was(call, repo: Path) -> None:
    app = repo / "src" / "app.py"
    app.chmod(0o444)
    result = call("write_file", {"path": "src/app.py", "content": "x = 2\n"})
    assert not result.ok and "read-only file: change its mode first" in result.output and "src/app.py" in result.output
    assert app.read_text() == "def main():\n    return 1\n" and stat.S_IMODE(app.stat().st_mode) == 0o444
    app.chmod(0o644)
    assert call("write_file", {"path": "src/app.py", "content": "x = 2\n"}).ok, "a writable file is written as before"


def test_a_hard_linked_file_that_cannot_be_opened_is_left_untouched(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    app = repo / "src" / "app.py"
    os.link(app, repo / "twin.py")
    real_open = open

    def no_write_access(file, mode="r", *args, **kwargs):
        if str(file) == str(app) and "+" in mode:
            raise PermissionError(13, "Permission denied")
        return real_open(file, mode, *args, **kwargs)

    monkeypatch.setattr("builtins.open", no_write_access)
    with pytest.raises(PermissionError):
        _files.atomic_write(app, b"x = 2\n", refuse_read_only=False)
    assert app.read_text() == "def main():\n    return 1\n"
    assert sorted(p.name for p in (repo / "src").iterdir()) == ["app.py"], "no backup was made"
