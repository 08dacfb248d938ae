"""AGENT.md constraints enforced by the tools: protected globs, dependency manifests, commits."""

from __future__ import annotations

from pathlib import Path

import pytest

from glmcode.rules.agent_md import Rules, parse_into
from glmcode.tools.base import ToolContext

AGENT_MD = """# Rules

## Constraints

- Do not modify `migrations/**` or `*.lock`
- Do not add dependencies
- Do not commit
"""


@pytest.fixture
def strict(repo: Path) -> ToolContext:
    (repo / "migrations").mkdir()
    (repo / "migrations" / "0001.sql").write_text("create table t (id int);\n")
    (repo / "pyproject.toml").write_text('[project]\nname = "demo"\ndependencies = []\n')
    rules = Rules()
    parse_into(rules, AGENT_MD, repo)
    return ToolContext(root=repo, rules=rules)


def test_write_to_a_protected_glob_is_refused_and_file_unchanged(call, repo: Path, strict: ToolContext) -> None:
    result = call("write_file", {"path": "migrations/0001.sql", "content": "drop table t;\n"}, ctx=strict)
    assert not result.ok and result.summary == "refused"
    assert "refused by the AGENT.md rule" in result.output and "migrations/0001.sql is protected" in result.output
    assert (repo / "migrations" / "0001.sql").read_text() == "create table t (id int);\n"
    created = call("write_file", {"path": "migrations/0002.sql", "content": "x"}, ctx=strict)
    assert not created.ok and not (repo / "migrations" / "0002.sql").exists()


def test_edit_of_a_protected_glob_is_refused(call, repo: Path, strict: ToolContext) -> None:
    result = call("edit_file", {"path": "migrations/0001.sql", "old_string": "int", "new_string": "text"}, ctx=strict)
    assert not result.ok and "is protected" in result.output
    assert (repo / "migrations" / "0001.sql").read_text() == "create table t (id int);\n"


def test_dependency_manifest_is_refused(call, repo: Path, strict: ToolContext) -> None:
    before = (repo / "pyproject.toml").read_text()
    edit = call(
        "edit_file",
        {"path": "pyproject.toml", "old_string": "dependencies = []", "new_string": 'dependencies = ["requests"]'},
        ctx=strict,
    )
    assert not edit.ok and "pyproject.toml is a dependency manifest" in edit.output
    write = call("write_file", {"path": "requirements.txt", "content": "requests\n"}, ctx=strict)
    assert not write.ok and "dependency manifest" in write.output
    assert (repo / "pyproject.toml").read_text() == before
    assert not (repo / "requirements.txt").exists()


def test_other_files_are_still_writable(call, repo: Path, strict: ToolContext) -> None:
    assert call("write_file", {"path": "src/new.py", "content": "x = 1\n"}, ctx=strict).ok
    assert call("edit_file", {"path": "src/app.py", "old_string": "1", "new_string": "2"}, ctx=strict).ok


def test_git_commit_via_run_shell_is_refused(call, repo: Path, strict: ToolContext, run_git) -> None:
    (repo / "README.md").write_text("changed\n")
    head = run_git(repo, "rev-parse", "HEAD")
    for command in ("git commit -am 'sneaky'", "git add -A && git commit -m x", "git -c user.name=x commit -m y"):
        result = call("run_shell", {"command": command}, ctx=strict)
        assert not result.ok and result.summary == "refused", command
        assert "refused by the AGENT.md rule" in result.output and "commits or pushes" in result.output
    assert run_git(repo, "rev-parse", "HEAD") == head
    assert call("run_shell", {"command": "git status --short"}, ctx=strict).ok


def test_adding_a_dependency_via_run_shell_is_refused(call, strict: ToolContext) -> None:
    result = call("run_shell", {"command": "uv add requests"}, ctx=strict)
    assert not result.ok and "adds a dependency" in result.output


def test_declared_commands_are_checked_too(call, repo: Path) -> None:
    rules = Rules()
    parse_into(rules, "## Commands\n\n- test: `git commit -m wip; true`\n\n## Constraints\n\n- Do not commit\n", repo)
    result = call("run_tests", {}, ctx=ToolContext(root=repo, rules=rules))
    assert not result.ok and result.summary == "refused" and "commits or pushes" in result.output


def test_protection_follows_symlinks_to_the_real_file(call, repo: Path, strict: ToolContext) -> None:
    (repo / "alias.sql").symlink_to(repo / "migrations" / "0001.sql")
    result = call("write_file", {"path": "alias.sql", "content": "drop table t;\n"}, ctx=strict)
    assert not result.ok and "migrations/0001.sql is protected" in result.output
    assert (repo / "migrations" / "0001.sql").read_text() == "create table t (id int);\n"
