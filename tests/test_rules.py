"""AGENT.md discovery and parsing: commands, constraints, and the shell-command check."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from glmcode.errors import Refusal
from glmcode.rules.agent_md import Rules, find_rule_files, load_rules, parse_into


def git_init(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    subprocess.run(["git", "init", "-q", str(path)], check=True)
    return path


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


# --- discovery -------------------------------------------------------------------------------


def test_discovery_from_a_subfolder_up_to_the_git_root(tmp_path: Path) -> None:
    outside = write(tmp_path / "AGENT.md", "# above the repo: never used\n")
    root = git_init(tmp_path / "repo")
    write(root / "CLAUDE.md", "claude")
    root_agents = write(root / "AGENTS.md", "agents")
    write(root / "pkg" / "CLAUDE.md", "claude")
    write(root / "pkg" / "AGENTS.md", "agents")
    pkg_agent = write(root / "pkg" / "AGENT.md", "agent")
    start = root / "pkg" / "sub" / "deeper"
    start.mkdir(parents=True)
    write(root / "other" / "AGENT.md", "a sibling folder: not on the path")

    found = find_rule_files(start)
    assert found == [root_agents.resolve(), pkg_agent.resolve()]
    assert outside.resolve() not in found
    assert find_rule_files(root) == [root_agents.resolve()]


def test_discovery_outside_git_uses_only_the_start_folder(tmp_path: Path) -> None:
    write(tmp_path / "AGENT.md", "parent")
    start = tmp_path / "work"
    own = write(start / "CLAUDE.md", "own")
    assert find_rule_files(start) == [own.resolve()]
    child = start / "child"
    child.mkdir()
    assert find_rule_files(child) == []


def test_load_rules_joins_texts_and_records_sources(tmp_path: Path) -> None:
    root = git_init(tmp_path / "repo")
    write(root / "AGENT.md", "# Root rules\n")
    write(root / "app" / "AGENT.md", "# App rules\n")
    rules = load_rules(root / "app")
    assert rules.sources == [(root / "AGENT.md").resolve(), (root / "app" / "AGENT.md").resolve()]
    assert rules.text == f"# Root rules\n\n<!-- AGENT.md in {(root / 'app').resolve()} -->\n# App rules"


def test_no_rule_files(tmp_path: Path) -> None:
    root = git_init(tmp_path / "repo")
    rules = load_rules(root)
    assert (rules.text, rules.sources, rules.commands, rules.protected) == ("", [], {}, [])


# --- commands --------------------------------------------------------------------------------

COMMANDS_MD = """# Project

Some prose with a bullet that is not a command:
- lint: `not-a-command-outside-the-section`

## Commands
- **Lint**: `ruff check .`
- `test`: `pytest -q`
- build: `make build`
- a bullet without a command
- Format: not in backticks

## Checks
- typecheck: `mypy src`

### Verify ###
- E2E: `pytest tests/e2e`

## Notes
- deploy: `./deploy.sh`
"""


def test_commands_are_parsed_from_their_sections_only(tmp_path: Path) -> None:
    rules = Rules()
    parse_into(rules, COMMANDS_MD, tmp_path)
    assert rules.commands == {
        "lint": "ruff check .",
        "test": "pytest -q",
        "build": "make build",
        "typecheck": "mypy src",
        "e2e": "pytest tests/e2e",
    }
    assert list(rules.commands) == ["lint", "test", "build", "typecheck", "e2e"]
    assert (rules.lint_command, rules.test_command) == ("ruff check .", "pytest -q")


def test_tests_is_an_alias_of_test(tmp_path: Path) -> None:
    rules = Rules()
    parse_into(rules, "## Commands\n- Tests: `npm test`\n", tmp_path)
    assert rules.test_command == "npm test"
    assert rules.lint_command is None


def test_bold_name_with_the_colon_inside(tmp_path: Path) -> None:
    rules = Rules()
    parse_into(rules, "## Commands\n- **Lint:** `ruff check .`\n- **Test:** `pytest -q`\n", tmp_path)
    assert rules.commands == {"lint": "ruff check .", "test": "pytest -q"}


def test_later_files_override_earlier_commands(tmp_path: Path) -> None:
    root = git_init(tmp_path / "repo")
    write(root / "AGENT.md", "## Commands\n- lint: `ruff check .`\n- test: `pytest`\n")
    write(root / "svc" / "AGENTS.md", "## Commands\n- test: `pytest svc -q`\n")
    rules = load_rules(root / "svc")
    assert rules.commands == {"lint": "ruff check .", "test": "pytest svc -q"}


# --- constraints -----------------------------------------------------------------------------

CONSTRAINTS_MD = """## Constraints
- Do not modify `generated/**` or `*.lock`
- Never commit
- Don't add new dependencies
- Keep functions short
- Do not delete things carelessly
"""


def test_constraints_are_parsed(tmp_path: Path) -> None:
    rules = Rules()
    parse_into(rules, CONSTRAINTS_MD, tmp_path)
    (protected,) = rules.protected
    assert (protected.globs, protected.rule, protected.base) == (
        ["generated/**", "*.lock"], "Do not modify `generated/**` or `*.lock`", tmp_path.resolve(),
    )
    assert rules.no_commit_rule == "Never commit"
    assert rules.no_dependencies_rule == "Don't add new dependencies"
    # bullets the harness cannot enforce are kept (a protect verb without a glob included)
    assert rules.unenforced == ["Keep functions short", "Do not delete things carelessly"]


def test_protected_globs_are_relative_to_the_declaring_file(tmp_path: Path) -> None:
    root = git_init(tmp_path / "repo").resolve()
    write(root / "AGENT.md", "## Constraints\n- Do not modify `*.lock`\n")
    write(root / "web" / "AGENT.md", "## Rules\n- Do not edit `data/*.csv`\n")
    rules = load_rules(root / "web")
    assert [p.base for p in rules.protected] == [root, root / "web"]

    rules.check_write(root / "data" / "a.csv", root)  # the web/ rule does not reach the root's data/
    with pytest.raises(Refusal) as caught:
        rules.check_write(root / "web" / "data" / "a.csv", root)
    assert str(caught.value) == "refused by the AGENT.md rule “Do not edit `data/*.csv`”: web/data/a.csv is protected"
    with pytest.raises(Refusal, match=r"web/package\.lock is protected"):
        rules.check_write(root / "web" / "package.lock", root)


def test_do_not_commit_and_push_variants(tmp_path: Path) -> None:
    for text in ("Do not commit", "don't git commit anything", "Never push to main"):
        rules = Rules()
        parse_into(rules, f"## Constraints\n- {text}\n", tmp_path)
        assert rules.no_commit_rule == text


# --- check_command ---------------------------------------------------------------------------


@pytest.fixture
def strict(tmp_path: Path) -> Rules:
    rules = Rules()
    parse_into(rules, "## Constraints\n- Do not commit\n- Do not add dependencies\n", tmp_path)
    return rules


@pytest.mark.parametrize(
    "command",
    [
        "git commit -m x",
        "git -C sub commit -am wip",
        "git -c user.name=x commit",
        "git push origin main",
        "cd a && git commit -m x",
        "make fmt; git commit -qm fmt",
        "(git commit -m x)",
    ],
)
def test_commits_are_refused(strict: Rules, command: str) -> None:
    with pytest.raises(Refusal) as caught:
        strict.check_command(command)
    assert str(caught.value) == "refused by the AGENT.md rule “Do not commit”: the command commits or pushes"


@pytest.mark.parametrize(
    "command",
    ["npm install left-pad", "npm i -D typescript", "poetry add requests", "uv add httpx", "cargo add serde",
     "pnpm add zod", "yarn add react", "go get example.com/x", "cd web && npm install @types/node"],
)
def test_dependency_adds_are_refused(strict: Rules, command: str) -> None:
    with pytest.raises(Refusal) as caught:
        strict.check_command(command)
    assert str(caught.value) == "refused by the AGENT.md rule “Do not add dependencies”: the command adds a dependency"


@pytest.mark.parametrize(
    "command",
    ["git status", "git log --oneline", "git diff HEAD", "npm install", "npm install && npm test", "npm ci",
     "pip install -e .", "pytest -q", "echo commit", "cargo build"],
)
def test_harmless_commands_pass(strict: Rules, command: str) -> None:
    strict.check_command(command)


def test_without_constraints_nothing_is_refused(tmp_path: Path) -> None:
    rules = Rules()
    rules.check_command("git commit -m x && npm install left-pad")
    rules.check_write(tmp_path / "package.json", tmp_path)
