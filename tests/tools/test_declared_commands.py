"""lint and run_tests with and without commands declared in AGENT.md."""

from __future__ import annotations

from pathlib import Path

import pytest

from glmcode.rules.agent_md import Rules, parse_into
from glmcode.tools.base import ToolContext
from glmcode.tools.lint import with_paths

PRINT_ARGS = "python3 -c 'import sys; print(sys.argv[1:])'"


def declared(root: Path, **commands: str) -> ToolContext:
    bullets = "\n".join(f"- {name}: `{command}`" for name, command in commands.items())
    rules = Rules()
    parse_into(rules, f"# Repo\n\n## Commands\n\n{bullets}\n", root)
    return ToolContext(root=root, rules=rules)


def test_lint_runs_the_declared_command_with_quoted_paths(call, repo: Path) -> None:
    ctx = declared(repo, lint=PRINT_ARGS)
    (repo / "odd name.py").write_text("")
    result = call("lint", {"paths": ["src/app.py", "odd name.py"]}, ctx=ctx)
    assert result.ok and result.summary == "passed"
    assert result.output.split("\n") == [
        f"$ {PRINT_ARGS} src/app.py 'odd name.py'",
        "exit code: 0",
        "['src/app.py', 'odd name.py']",
    ]


def test_lint_without_paths_runs_the_command_as_declared(call, repo: Path) -> None:
    result = call("lint", {}, ctx=declared(repo, lint=PRINT_ARGS + " ."))
    assert result.output.split("\n")[-1] == "['.']"


def test_lint_paths_replace_a_trailing_dot() -> None:
    assert with_paths("ruff check .", ["a.py"]) == "ruff check a.py"
    assert with_paths("ruff check .", []) == "ruff check ."
    assert with_paths("make lint", ["x;rm -rf ~"]) == "make lint 'x;rm -rf ~'"


def test_lint_failure_is_ok_with_failed_summary(call, repo: Path) -> None:
    result = call("lint", {}, ctx=declared(repo, lint="echo 'E501 line too long'; false"))
    assert result.ok
    assert result.summary == "failed (exit 1)"
    assert result.output == "$ echo 'E501 line too long'; false\nexit code: 1\nE501 line too long"


def test_lint_paths_must_stay_inside(call, repo: Path, outside: Path) -> None:
    ctx = declared(repo, lint=PRINT_ARGS)
    for paths in (["../outside/secret.txt"], [str(outside)], ["src", "/etc"]):
        result = call("lint", {"paths": paths}, ctx=ctx)
        assert not result.ok and "outside the workspace root" in result.output


def test_lint_without_a_declared_command(call) -> None:
    result = call("lint")
    assert not result.ok
    assert "declares no lint command" in result.output
    assert "## Commands" in result.output and "- lint: `ruff check .`" in result.output


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"paths": "src"}, "paths: Input should be a valid list"),
        ({"paths": [1]}, "paths.0: Input should be a valid string"),
        ({"paths": [""]}, "paths.0: String should have at least 1 character"),
        ({"fix": True}, "fix: Extra inputs are not permitted"),
    ],
)
def test_lint_bad_arguments(call, repo: Path, arguments: dict, message: str) -> None:
    result = call("lint", arguments, ctx=declared(repo, lint="true"))
    assert not result.ok and message in result.output


def test_run_tests_appends_split_and_quoted_args(call, repo: Path) -> None:
    ctx = declared(repo, test=PRINT_ARGS)
    result = call("run_tests", {"args": "tests/test_x.py -k 'a and not b' ; touch pwned"}, ctx=ctx)
    assert result.ok and result.summary == "passed"
    assert result.output.split("\n")[-1] == "['tests/test_x.py', '-k', 'a and not b', ';', 'touch', 'pwned']"
    assert not (repo / "pwned").exists()


def test_run_tests_failure_and_tests_alias(call, repo: Path) -> None:
    result = call("run_tests", {}, ctx=declared(repo, tests="echo '1 failed'; exit 1"))
    assert result.ok
    assert result.summary == "failed (exit 1)"
    assert result.output.endswith("exit code: 1\n1 failed")


@pytest.mark.parametrize(("tool", "name"), [("lint", "lint"), ("run_tests", "test")])
def test_declared_command_output_is_cut_once_by_the_output_budget(call, repo: Path, split_cut, tool: str, name: str) -> None:
    ctx = declared(repo, **{name: "seq 1 3000"})
    ctx.output_chars = 400
    result = call(tool, {}, ctx=ctx)
    full = "".join(f"{n}\n" for n in range(1, 3001))
    head, chars, lines, hint, tail = split_cut(result.output)
    assert head.startswith("$ seq 1 3000\nexit code: 0\n1\n2\n") and tail.endswith("\n2999\n3000")
    body_head = head.removeprefix("$ seq 1 3000\nexit code: 0\n")
    assert chars == len(full) - len(body_head) - len(tail) - 1
    assert lines == full[len(body_head) : len(body_head) + chars].count("\n")
    assert hint == "" and result.ok and result.summary == "passed" and len(result.output) <= 400
    roomy = declared(repo, **{name: "seq 1 12000"})  # 63,894 characters: over the default budget
    roomy.output_chars = 100_000
    whole = call(tool, {}, ctx=roomy).output
    assert whole == "$ seq 1 12000\nexit code: 0\n" + "\n".join(str(n) for n in range(1, 12_001))


def test_run_tests_without_a_declared_command(call) -> None:
    result = call("run_tests", {"args": "-x"})
    assert not result.ok
    assert "declares no test command" in result.output and "- test: `pytest -q`" in result.output


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"args": ["-x"]}, "args: Input should be a valid string"),
        ({"args": "-k 'unbalanced"}, "cannot split args"),
        ({"argv": "-x"}, "argv: Extra inputs are not permitted"),
    ],
)
def test_run_tests_bad_arguments(call, repo: Path, arguments: dict, message: str) -> None:
    result = call("run_tests", arguments, ctx=declared(repo, test="true"))
    assert not result.ok and message in result.output
