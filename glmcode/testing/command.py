"""The real `glmcode` command in tests: where it is, the environment it runs in, what it did.

Shared by every test that runs the command as a subprocess (imported, never through
`conftest`, whose name several test folders use).
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from glmcode.testing.engine import API_KEY
from glmcode.testing.glm_server import GLMServer

__all__ = ["API_KEY", "GLMCODE_BIN", "Run", "base_env"]

GLMCODE_BIN = str(Path(sys.executable).with_name("glmcode"))
"""The console script of the interpreter running the tests (the venv's `glmcode`)."""


@dataclass
class Run:
    """What one `glmcode` process did."""

    returncode: int
    stdout: str
    stderr: str

    @property
    def events(self) -> list[dict[str, Any]]:
        """Every JSON line of stdout (lines end at LF only: an event may hold a raw U+2028)."""
        return [json.loads(line) for line in self.stdout.split("\n") if line.startswith("{")]

    def of_type(self, kind: str) -> list[dict[str, Any]]:
        return [e for e in self.events if e["type"] == kind]

    @property
    def result(self) -> dict[str, Any]:
        results = self.of_type("result")
        assert len(results) == 1, f"expected exactly one result event, got {len(results)}:\n{self.stdout}\n{self.stderr}"
        return results[0]


def base_env(server: GLMServer | None, tmp_path: Path, **extra: str) -> dict[str, str]:
    """This process's environment without glmcode's own variables, plus an empty user config,
    the test key, fast retries and the scripted server's URL; `extra` overrides any of them."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GLMCODE_", "ZAI_", "FORCE_COLOR", "NO_COLOR"))}
    env.update(
        GLMCODE_CONFIG_DIR=str(tmp_path / "user-config"),
        GLMCODE_API_KEY=API_KEY,
        GLMCODE_RETRY_INITIAL_S="0.01",
        GLMCODE_RETRY_MAX_S="0.05",
    )
    if server is not None:
        env["GLMCODE_BASE_URL"] = server.url
    env.update(extra)
    return env


