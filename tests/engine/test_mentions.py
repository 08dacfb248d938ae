"""`@path` mentions: which `@`s are mentions, what gets attached, what is reported, in a real run."""

from __future__ import annotations

from pathlib import Path

import pytest

from glmcode.engine import mentions
from glmcode.testing import ScriptedTurn
from glmcode.testing.engine import Engine, messages_of
from glmcode.testing.repos import make_repo


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return make_repo(
        tmp_path / "project",
        {
            "README.md": "# Demo\n",
            "src/app.py": "def main():\n    return 1\n",
            "src/util.py": "def helper():\n    return 2\n",
            "my notes.txt": "spaced\n",
            "node_modules/x/index.js": "vendored\n",
        },
    )


def test_which_ats_are_mentions() -> None:
    prompt = (
        "Look at @src/ and @README.md, then @**/*.py. Mail bob@example.com or @alice.\n"
        "```python\n@decorator\ndef f(): ...\n```\n"
        "Also `@inline` and @\"my notes.txt\", and @README.md again; (@src/app.py)"
    )
    assert mentions.find(prompt) == ["src/", "README.md", "**/*.py", "alice", "my notes.txt", "src/app.py"]


def test_attaches_files_with_the_reader_and_leaves_the_prompt_as_written(project: Path) -> None:
    prompt = "Review @src/ and @\"my notes.txt\" please; @property is a decorator"
    expanded = mentions.expand(prompt, project.resolve(), 50_000)
    assert expanded.text.startswith(prompt + "\n\n---\nFiles the user attached with @src/, @my notes.txt")
    assert "==> src/app.py (2 lines) <==\ndef main():\n    return 1\n" in expanded.text
    assert "==> src/util.py (2 lines) <==" in expanded.text
    assert "==> my notes.txt (1 line) <==\nspaced\n" in expanded.text
    assert expanded.paths == ["src/", "my notes.txt"] and expanded.missing == []


def test_globs_skip_vendored_and_missing_paths_are_reported(project: Path) -> None:
    expanded = mentions.expand("all of @**/*.js and @docs/guide.md and @nope.py and @../etc/passwd", project.resolve(), 50_000)
    assert expanded.paths == []
    assert expanded.text == "all of @**/*.js and @docs/guide.md and @nope.py and @../etc/passwd"
    assert expanded.missing[:2] == ["@docs/guide.md: no such file or folder", "@nope.py: no such file or folder"]
    assert "outside the workspace" in expanded.missing[2]
    assert expanded.missing[3].startswith("@**/*.js: matches no file")


def test_nothing_to_attach_leaves_the_prompt_alone(project: Path) -> None:
    prompt = "email me at bob@example.com about @property"
    assert mentions.expand(prompt, project.resolve(), 50_000).text == prompt


def test_attachment_keeps_to_the_budget(project: Path) -> None:
    for index in range(20):
        (project / "many" / f"f{index:02}.txt").parent.mkdir(exist_ok=True)
        (project / "many" / f"f{index:02}.txt").write_text("y" * 200 + "\n")
    expanded = mentions.expand("@many", project.resolve(), 2000)
    attached = expanded.text.split("\n\n", 1)[1]
    assert len(attached) < 2000 + 200
    assert "[left out, over the output budget:" in attached and "many/f19.txt" in attached


def test_a_run_sends_the_attachment_and_reports_missing_mentions(glm_server, project: Path) -> None:
    glm_server.script([ScriptedTurn(content="done")])
    run = Engine(project, glm_server.url).run("Explain @src/app.py and @missing/file.py")
    assert run.returncode == 0
    user = [m for m in messages_of(glm_server.requests[0]) if m["role"] == "user"]
    assert len(user) == 1
    assert user[0]["content"].startswith("Explain @src/app.py and @missing/file.py\n\n---\nFiles the user attached")
    assert "==> src/app.py (2 lines) <==\ndef main():\n    return 1\n" in user[0]["content"]
    errors = run.of_type("error")
    assert [e["kind"] for e in errors] == ["mention"]
    assert errors[0]["message"] == "@missing/file.py: no such file or folder (nothing attached for it)"


def test_a_goal_attaches_its_mentions_in_the_plan_stage(glm_server, project: Path) -> None:
    glm_server.script([ScriptedTurn(content="plan"), ScriptedTurn(content="plan"), ScriptedTurn(content="did it"), ScriptedTurn(content="report")])
    Engine(project, glm_server.url).run_goal("Tidy @src/util.py", permission_mode="full-auto")
    first_user = next(m for m in messages_of(glm_server.requests[0]) if m["role"] == "user")
    assert "Tidy @src/util.py\n\n---\nFiles the user attached with @src/util.py" in first_user["content"]
    assert "def helper():" in first_user["content"]


def test_a_name_with_glob_characters_that_exists_is_that_file_not_a_pattern(project: Path) -> None:
    (project / "a[1].txt").write_text("REAL\n")
    (project / "a1.txt").write_text("DECOY\n")
    expanded = mentions.expand('look at @"a[1].txt"', project.resolve(), 50_000)
    assert "REAL" in expanded.text and "DECOY" not in expanded.text
    assert "DECOY" in mentions.expand("look at @\"a[12].txt\"", project.resolve(), 50_000).text, "a pattern that names no file still globs"
