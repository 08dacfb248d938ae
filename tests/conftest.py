"""Shared fixtures: a throwaway git repo, the scripted GLM server, the engine in-process, and the real `glmcode` command."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from glmcode.testing import GLMServer
from glmcode.testing.command import GLMCODE_BIN, Run, base_env
from glmcode.testing.engine import API_KEY, Engine
from glmcode.testing.repos import make_repo

__all__ = ["API_KEY", "GLMCODE_BIN", "Run", "base_env", "make_repo"]


@pytest.fixture(autouse=True)
def _no_ci_step_summary(monkeypatch: pytest.MonkeyPatch) -> None:
    """Goal reports append to `$GITHUB_STEP_SUMMARY` when it is set: never to the page of the CI job running the tests."""
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return make_repo(tmp_path / "repo")


@pytest.fixture
def glm_server():
    with GLMServer() as server:
        yield server


@pytest.fixture
def engine(glm_server: GLMServer, repo: Path) -> Engine:
    """Sessions in-process on `repo` against the scripted server, with `glmcode run`'s default settings."""
    return Engine(repo, glm_server.url)


@pytest.fixture
def run_glmcode(glm_server: GLMServer, tmp_path: Path):
    """Run the real `glmcode` command against the scripted server; stream-json unless told otherwise."""

    def run(*args: str, cwd: Path, env: dict[str, str] | None = None, input: str | None = None, timeout: float = 60) -> Run:
        argv = [GLMCODE_BIN, *args]
        if args and args[0] == "run" and "--output-format" not in args and "-o" not in args:
            argv += ["--output-format", "stream-json"]
        proc = subprocess.run(
            argv, cwd=cwd, env=env or base_env(glm_server, tmp_path), input=input if input is not None else "",
            capture_output=True, text=True, timeout=timeout,
        )
        return Run(proc.returncode, proc.stdout, proc.stderr)

    return run
