"""list_files and search over a real tree with root and nested .gitignore files."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from glmcode import output_budget
from glmcode.rules.agent_md import Rules
from glmcode.tools import list_files, search
from glmcode.tools.base import ToolContext


@pytest.fixture
def tree(repo: Path) -> Path:
    """A repo with ignored build output, a nested .gitignore with a re-include, a binary and a big file."""
    files = {
        ".gitignore": "build/\n*.log\n/local.txt\n",
        "docs/guide.md": "# Guide\nUse `main()` to start.\n",
        "src/util.py": "def helper():\n    return 'TODO: tidy'\n",
        "src/pkg/core.py": "class Core:\n    pass\n# todo lower\n",
        "src/pkg/.gitignore": "*.tmp\n!keep.log\n",
        "src/pkg/scratch.tmp": "TODO ignored\n",
        "src/pkg/keep.log": "TODO kept log\n",
        "src/pkg/deep/local.txt": "not anchored here, TODO listed\n",
        "build/out.py": "TODO generated\n",
        "debug.log": "TODO ignored log\n",
        "local.txt": "TODO ignored local\n",
    }
    for name, text in files.items():
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        (repo / name).write_text(text)
    (repo / "src" / "logo.bin").write_bytes(b"TODO\x00\x01binary")
    (repo / ".git" / "info").mkdir(exist_ok=True)
    (repo / ".git" / "info" / "exclude").write_text("secret-notes.md\n")
    (repo / "secret-notes.md").write_text("TODO excluded\n")
    return repo


def test_lists_everything_git_sees(call, tree: Path) -> None:
    result = call("list_files", {})
    assert result.ok
    assert result.output.split("\n") == [
        ".gitignore",
        "README.md",
        "docs/",
        "docs/guide.md",
        "src/",
        "src/app.py",
        "src/logo.bin",
        "src/pkg/",
        "src/pkg/.gitignore",
        "src/pkg/core.py",
        "src/pkg/deep/",
        "src/pkg/deep/local.txt",
        "src/pkg/keep.log",
        "src/util.py",
    ]
    assert result.summary == "14 entries"


def test_lists_a_subfolder_with_paths_from_the_root(call, tree: Path) -> None:
    assert call("list_files", {"path": "src/pkg"}).output.split("\n") == [
        "src/pkg/.gitignore",
        "src/pkg/core.py",
        "src/pkg/deep/",
        "src/pkg/deep/local.txt",
        "src/pkg/keep.log",
    ]


def test_pattern_lists_matching_files_only(call, tree: Path) -> None:
    assert call("list_files", {"pattern": "*.py"}).output.split("\n") == [
        "src/app.py",
        "src/pkg/core.py",
        "src/util.py",
    ]
    assert call("list_files", {"pattern": "src/*.py"}).output.split("\n") == ["src/app.py", "src/util.py"]
    assert call("list_files", {"path": "src", "pattern": "pkg/**/*.txt"}).output == "src/pkg/deep/local.txt"
    nothing = call("list_files", {"pattern": "*.rs"})
    assert nothing.ok and nothing.output == "No files matching '*.rs' in . (ignored files are not listed)."


def test_empty_pattern_or_glob_means_no_filter(call, tree: Path) -> None:
    assert call("list_files", {"pattern": ""}).output == call("list_files", {}).output
    assert call("search", {"pattern": "Core", "glob": " "}).output == "src/pkg/core.py:1: class Core:"


def test_ignored_folder_named_explicitly_is_listed(call, tree: Path) -> None:
    assert call("list_files", {"path": "build"}).output == "build/out.py"


def test_single_file_path(call, tree: Path) -> None:
    assert call("list_files", {"path": "src/util.py"}).output == "src/util.py"


def test_listing_keeps_the_shallowest_entries_within_the_output_budget(call, repo: Path) -> None:
    for i in range(4):
        (repo / "deep" / "er").mkdir(parents=True, exist_ok=True)
        (repo / "deep" / "er" / f"f{i}.txt").write_text("x")
    shallow = ["README.md", "deep/", "deep/er/", "src/", "src/app.py"]
    room = sum(len(line) + 1 for line in shallow)
    small = ToolContext(root=repo, rules=Rules(), output_chars=list_files.NOTE_ROOM + room)
    lines = call("list_files", {}, ctx=small).output.split("\n")
    assert lines[:5] == shallow
    assert lines[5:] == ["[... 60 characters (4 lines) cut; deeper entries left out: list a subfolder or use a pattern ...]"]
    assert len(call("list_files", {}).output.split("\n")) == 9


def test_symlinks_are_listed_not_followed(call, repo: Path, outside: Path) -> None:
    (repo / "link").symlink_to(outside)
    output = call("list_files", {}).output.split("\n")
    assert "link" in output
    assert not any("secret" in line for line in output)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"path": "nope"}, "nope does not exist"),
        ({"path": "../outside"}, "outside the workspace root"),
        ({"path": "/"}, "outside the workspace root"),
        ({"pattern": "!*.py"}, "the glob '!*.py' is not usable"),
        ({"pattern": 3}, "pattern: Input should be a valid string"),
        ({"recursive": True}, "recursive: Extra inputs are not permitted"),
    ],
)
def test_list_bad_arguments(call, tree: Path, outside: Path, arguments: dict, message: str) -> None:
    result = call("list_files", arguments)
    assert not result.ok and message in result.output


def test_search_honours_gitignore_and_skips_binaries(call, tree: Path) -> None:
    result = call("search", {"pattern": "TODO"})
    assert result.ok
    assert sorted(result.output.split("\n")) == [
        "src/pkg/deep/local.txt:1: not anchored here, TODO listed",
        "src/pkg/keep.log:1: TODO kept log",
        "src/util.py:2:     return 'TODO: tidy'",
    ]
    assert result.summary == "3 matches in 3 files"


def test_search_regex_flags_path_and_glob(call, tree: Path) -> None:
    assert call("search", {"pattern": "(?i)todo", "path": "src/pkg", "glob": "*.py"}).output == (
        "src/pkg/core.py:3: # todo lower"
    )
    assert call("search", {"pattern": r"^\s+return\b"}).output.split("\n") == [
        "src/app.py:2:     return 1",
        "src/util.py:2:     return 'TODO: tidy'",
    ]
    assert call("search", {"pattern": "Core", "path": "src/pkg/core.py"}).output == "src/pkg/core.py:1: class Core:"
    assert call("search", {"pattern": r"\(\)", "path": "docs"}).output == "docs/guide.md:2: Use `main()` to start."


def test_search_line_anchors_work_on_crlf_files(call, repo: Path) -> None:
    (repo / "win.txt").write_bytes(b"alpha\r\nbeta\r\n")
    assert call("search", {"pattern": "^beta$"}).output == "win.txt:2: beta"
    assert call("search", {"pattern": r"alpha\Z"}).output == "win.txt:1: alpha"


def test_search_matches_are_cut_by_the_output_budget(call, repo: Path) -> None:
    (repo / "many.txt").write_text("hit\n" * 1000)
    result = call("search", {"pattern": "hit"}, ctx=ToolContext(root=repo, rules=Rules(), output_chars=300))
    whole = "\n".join(f"many.txt:{n}: hit" for n in range(1, 1001))
    assert result.output == output_budget.cut(whole, 300, "narrow the pattern, path or glob")
    assert result.output.startswith("many.txt:1: hit\nmany.txt:2: hit\n")
    assert result.output.endswith("\nmany.txt:1000: hit")
    assert re.search(r"\n\[\.\.\. [\d,]+ characters \([\d,]+ lines\) cut; narrow the pattern, path or glob \.\.\.\]\n", result.output)
    assert len(result.output) <= 300 and result.summary == "1,000 matches in 1 file"


def test_search_skips_big_files_with_a_note(call, repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(search, "MAX_FILE_BYTES", 100)
    (repo / "big.txt").write_text("needle\n" * 50)
    (repo / "small.txt").write_text("needle\n")
    assert call("search", {"pattern": "needle"}).output.split("\n") == [
        "small.txt:1: needle",
        "[1 file over 100 bytes not searched]",
    ]


def test_search_cuts_long_lines(call, repo: Path) -> None:
    (repo / "min.js").write_text("var a=1;" * 1000 + "needle\n")
    line = call("search", {"pattern": "var"}).output
    assert line == "min.js:1: " + ("var a=1;" * 1000)[: search.MAX_LINE_CHARS] + " [... 7,706 characters cut ...]"


def test_search_no_match_is_ok(call, tree: Path) -> None:
    result = call("search", {"pattern": "zebra", "glob": "*.md"})
    assert result.ok and result.summary == "0 matches"
    assert result.output.startswith("No matches for 'zebra' in . in files matching '*.md'")


def test_search_does_not_follow_symlinks_out(call, repo: Path, outside: Path) -> None:
    (repo / "leak").symlink_to(outside)
    (repo / "leak.txt").symlink_to(outside / "secret.txt")
    result = call("search", {"pattern": "top secret"})
    assert result.ok and result.summary == "0 matches"
    escaped = call("search", {"pattern": "secret", "path": "leak"})
    assert not escaped.ok and "outside the workspace root" in escaped.output


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"pattern": "foo("}, "invalid regular expression 'foo(': missing ), unterminated subpattern at position 3"),
        ({"pattern": "[z-a]"}, "bad character range z-a"),
        ({"pattern": ""}, "pattern: String should have at least 1 character"),
        ({}, "pattern: Field required"),
        ({"pattern": "x", "path": "../outside"}, "outside the workspace root"),
        ({"pattern": "x", "path": "missing"}, "missing does not exist"),
        ({"pattern": "x", "case": "i"}, "case: Extra inputs are not permitted"),
        ({"pattern": ["x"]}, "pattern: Input should be a valid string"),
        ({"pattern": "x", "glob": "#comment"}, "the glob '#comment' is not usable"),
        ({"pattern": "(?i"}, "invalid regular expression '(?i': "),
        ({"pattern": "a(?i)b"}, "global flags not at the start of the expression"),
    ],
)
def test_search_bad_arguments(call, tree: Path, outside: Path, arguments: dict, message: str) -> None:
    result = call("search", arguments)
    assert not result.ok
    assert message in result.output
