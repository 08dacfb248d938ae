"""read_files: many files in one result, confined, skipping what is not source, within the budget."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from glmcode.rules.agent_md import Rules
from glmcode.rules.permissions import Permissions
from glmcode.tools.base import ToolContext
from glmcode.tools.registry import ToolRegistry


@pytest.fixture
def project(repo: Path) -> Path:
    """The template repo plus a package, tests, vendored and generated folders, a binary and an ignored file."""
    files = {
        ".gitignore": "*.log\n",
        "src/pkg/__init__.py": "",
        "src/pkg/core.py": "class Core:\n    pass\n",
        "src/pkg/util.py": "def helper():\n    return 2\n",
        "tests/test_core.py": "def test_core():\n    assert True\n",
        "node_modules/left/index.js": "module.exports = 1;\n",
        "src/pkg/__pycache__/core.cpython-312.pyc": "compiled",
        ".venv/lib/site.py": "venv\n",
        "dist/pkg.tar": "archive\n",
        "debug.log": "ignored by .gitignore\n",
    }
    for name, text in files.items():
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        (repo / name).write_text(text)
    (repo / "src" / "logo.png").write_bytes(b"\x89PNG\x00\x01\x02")
    return repo


def blocks(output: str) -> list[str]:
    """The headers of the file blocks, in order."""
    return [line for line in output.split("\n") if line.startswith("==> ")]


def test_folder_file_and_glob_in_one_result(call, project: Path) -> None:
    result = call("read_files", {"paths": ["src/", "README.md", "tests/**/*.py", "src/pkg/core.py"]})
    assert result.ok, result.output
    assert blocks(result.output) == [
        "==> src/app.py (2 lines) <==",
        "==> src/pkg/__init__.py (empty) <==",
        "==> src/pkg/core.py (2 lines) <==",
        "==> src/pkg/util.py (2 lines) <==",
        "==> README.md (1 line) <==",
        "==> tests/test_core.py (2 lines) <==",
    ]
    assert "==> src/pkg/core.py (2 lines) <==\nclass Core:\n    pass\n\n" in result.output
    assert "[read_files: 6 files, 9 lines]" in result.output
    assert "src/pkg/__pycache__/ (vendored or generated folder)" in result.output
    assert "src/logo.png (binary)" in result.output
    assert "compiled" not in result.output
    assert result.summary == "6 files"


def test_root_skips_vendored_generated_and_ignored(call, project: Path) -> None:
    result = call("read_files", {"paths": ["."]})
    assert result.ok
    for folder in ("node_modules/", ".venv/", "dist/"):
        assert f"{folder} (vendored or generated folder)" in result.output
    assert "module.exports" not in result.output and "archive" not in result.output
    assert "debug.log" not in result.output and "ignored by" not in result.output
    assert "==> .gitignore (1 line) <==" in result.output


def test_a_vendored_folder_named_itself_is_read(call, project: Path) -> None:
    result = call("read_files", {"paths": ["node_modules/left"]})
    assert result.ok and "==> node_modules/left/index.js (1 line) <==\nmodule.exports = 1;\n" in result.output


def test_stable_output_for_the_same_tree(call, project: Path) -> None:
    first = call("read_files", {"paths": ["**/*.py", "README.md"]}).output
    assert call("read_files", {"paths": ["**/*.py", "README.md"]}).output == first


def test_budget_keeps_whole_files_and_names_those_left_out(project: Path) -> None:
    for index in range(8):
        (project / "many" / f"f{index}.txt").parent.mkdir(exist_ok=True)
        (project / "many" / f"f{index}.txt").write_text(f"file {index}\n" + "x" * 300 + "\n")
    ctx = ToolContext(root=project, rules=Rules(), output_chars=1400)
    result = ToolRegistry().call("read_files", {"paths": ["many"]}, ctx)
    assert result.ok and len(result.output) <= 1400
    read = [h.split()[1] for h in blocks(result.output)]
    assert read == ["many/f0.txt", "many/f1.txt", "many/f2.txt"]
    for name in read:
        index = name[len("many/f") : -len(".txt")]
        assert f"file {index}\n{'x' * 300}\n" in result.output
    assert (
        "[left out, over the output budget: 5 files: many/f3.txt, many/f4.txt, many/f5.txt, many/f6.txt, many/f7.txt; "
        "read them with read_files on fewer paths, or page a big one with read_file (offset, limit)]"
    ) in result.output
    assert result.summary == "3 files, 5 left out"


def test_a_file_bigger_than_the_budget_gives_its_head_and_where_to_go_on(project: Path) -> None:
    (project / "big.txt").write_text("".join(f"line {n}\n" for n in range(1, 2001)))
    ctx = ToolContext(root=project, rules=Rules(), output_chars=2000)
    result = ToolRegistry().call("read_files", {"paths": ["big.txt"]}, ctx)
    assert result.ok and len(result.output) <= 2000
    assert result.output.startswith("==> big.txt (2,000 lines) <==\nline 1\nline 2\n")
    last = int(result.output.split("read_file path=big.txt offset=")[1].split()[0])
    assert f"line {last - 1}\n[... big.txt continues" in result.output


def test_smaller_files_after_one_that_does_not_fit_still_come_in(project: Path) -> None:
    (project / "a_big.txt").write_text(("b" * 100 + "\n") * 50)
    (project / "b_small.txt").write_text("small\n")
    ctx = ToolContext(root=project, rules=Rules(), output_chars=3000)
    result = ToolRegistry().call("read_files", {"paths": ["a_big.txt", "b_small.txt"]}, ctx)
    assert blocks(result.output) == ["==> b_small.txt (1 line) <=="]
    assert "left out, over the output budget: 1 file: a_big.txt;" in result.output


def test_missing_paths_are_reported_and_all_missing_is_an_error(call, project: Path) -> None:
    result = call("read_files", {"paths": ["README.md", "nope.py", "*.rs"]})
    assert result.ok and "==> README.md" in result.output
    assert "nope.py: does not exist" in result.output and "*.rs: matches no file" in result.output
    failed = call("read_files", {"paths": ["nope.py"]})
    assert not failed.ok and "nothing to read: nope.py: does not exist" in failed.output
    assert not call("read_files", {"paths": []}).ok


def test_confined_to_the_workspace(call, project: Path, outside: Path) -> None:
    os.symlink(outside / "secret.txt", project / "src" / "leak.txt")
    os.symlink(outside, project / "linked")
    result = call(
        "read_files",
        {"paths": ["../outside/secret.txt", str(outside / "secret.txt"), "src/leak.txt", "linked", "README.md"]},
    )
    assert result.ok and "top secret" not in result.output
    assert result.output.count("is outside the workspace root") == 4
    walked = call("read_files", {"paths": ["src", "**/*.txt"]})
    assert "top secret" not in walked.output
    assert "src/leak.txt (symlink, not followed)" in walked.output


def test_allowed_read_only_and_in_the_plan_stage(registry: ToolRegistry) -> None:
    info = registry.bind("read_files", {"paths": ["src"]}).info
    assert info.kind == "read" and not info.mutates
    Permissions(mode="read-only").check(info)
    Permissions(mode="ask", read_only_reason="plan stage is read-only").check(info)


def test_long_lines_and_crlf(call, project: Path) -> None:
    (project / "min.js").write_bytes(b"a" * 2500 + b"\r\nend\r\n")
    result = call("read_files", {"paths": ["min.js"]})
    assert "==> min.js (2 lines) <==\n" + "a" * 2000 + " [... 500 characters cut ...]\nend\n" in result.output


def test_with_saved_outputs_the_whole_text_is_saved_and_named(project: Path) -> None:
    from glmcode.tools.saved_outputs import OutputStore

    for index in range(8):
        (project / "many" / f"f{index}.txt").parent.mkdir(exist_ok=True)
        (project / "many" / f"f{index}.txt").write_text(f"file {index}\n" + "x" * 300 + "\n")
    folder = project / ".glmcode" / "sessions" / "s1" / "outputs"
    ctx = ToolContext(root=project, rules=Rules(), output_chars=1400, outputs=OutputStore(folder, ".glmcode/sessions/s1/outputs"))
    registry = ToolRegistry()
    result = registry.run(registry.bind("read_files", {"paths": ["many"]}), ctx, call_id="c9")
    assert len(result.output) <= 1400
    assert '; the whole output is saved: read it with read_file path=".glmcode/sessions/s1/outputs/c9.txt"' in result.output
    saved = (folder / "c9.txt").read_text()
    assert [h.split()[1] for h in blocks(saved)] == [f"many/f{index}.txt" for index in range(8)]
    page = registry.run(registry.bind("read_file", {"path": ".glmcode/sessions/s1/outputs/c9.txt", "offset": 29}), ctx, call_id="c10")
    assert page.ok and "    29\t==> many/f7.txt (2 lines) <==\n    30\tfile 7\n" in page.output
    fits = registry.run(registry.bind("read_files", {"paths": ["README.md"]}), ctx, call_id="c11")
    assert fits.ok and not (folder / "c11.txt").exists()


@pytest.mark.parametrize("paths", [["src/pkg/", "src/pkg/*.py"], ["src/", "src/**/*.py"], ["src/pkg/*.py", "src/pkg/core.py", "src/**/core.py"]])
def test_a_glob_whose_files_were_already_selected_is_not_missing(call, project: Path, paths: list[str]) -> None:
    result = call("read_files", {"paths": paths})
    assert result.ok, result.output
    assert "not found" not in result.output and "matches no file" not in result.output
    headers = blocks(result.output)
    assert len(headers) == len(set(headers)) and "==> src/pkg/core.py (2 lines) <==" in headers


def test_a_glob_that_matches_nothing_is_still_missing_next_to_one_that_does(call, project: Path) -> None:
    result = call("read_files", {"paths": ["src/pkg/core.py", "*.rs"]})
    assert result.ok, result.output
    assert "[not found: *.rs: matches no file" in result.output


def test_a_path_with_glob_characters_that_exists_is_read_literally(call, project: Path) -> None:
    (project / "a[1].txt").write_text("REAL\n")
    (project / "a1.txt").write_text("DECOY\n")
    result = call("read_files", {"paths": ["a[1].txt"]})
    assert result.ok and "REAL" in result.output and "DECOY" not in result.output, result.output
    assert "DECOY" in call("read_files", {"paths": ["a[12].txt"]}).output
