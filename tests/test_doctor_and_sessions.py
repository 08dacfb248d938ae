"""`glmcode doctor` and `glmcode sessions` run as the real command."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

from glmcode.testing import ScriptedTurn
from glmcode.testing.command import GLMCODE_BIN, base_env
from glmcode.testing.engine import Engine
from glmcode.testing.repos import make_repo


def test_doctor_checks_config_key_endpoint_git_and_rules(glm_server, tmp_path: Path):
    repo = make_repo(tmp_path / "r", {"AGENT.md": "## Commands\n- test: `pytest -q`\n\n## Constraints\n- Be kind\n"})
    proc = subprocess.run([GLMCODE_BIN, "doctor"], cwd=repo, env=base_env(glm_server, tmp_path), capture_output=True, text=True, timeout=60)
    lines = proc.stdout.splitlines()
    assert lines[0].startswith("ok    config: provider zai, model glm-5.2, " + glm_server.url)
    assert any(line.startswith("ok    API key: set") and "test-key" not in line for line in lines), "the key must be masked"
    assert any(line.startswith("ok    endpoint:") and "glm-5.2 listed" in line for line in lines)
    assert any(line.startswith("ok    git: repository at") for line in lines)
    assert any("rules:" in line and "test: pytest -q" in line for line in lines)
    assert any("not enforced by the harness" in line and "Be kind" in line for line in lines)
    assert [r.path for r in glm_server.requests] == ["/v1/models"]
    assert proc.returncode == (0 if all(line.startswith("ok") for line in lines) else 1)


def test_doctor_reports_a_missing_key_and_a_bad_endpoint(tmp_path: Path):
    env = base_env(None, tmp_path)
    env.pop("GLMCODE_API_KEY")
    proc = subprocess.run([GLMCODE_BIN, "doctor"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1
    assert "FAIL  API key: missing (set GLMCODE_API_KEY or ZAI_API_KEY)" in proc.stdout
    assert "not inside a git repository" in proc.stdout

    env = base_env(None, tmp_path, GLMCODE_BASE_URL="http://127.0.0.1:9/v1")
    proc = subprocess.run([GLMCODE_BIN, "doctor"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1 and "FAIL  endpoint: http://127.0.0.1:9/v1 did not answer /models" in proc.stdout


def test_sessions_lists_runs_newest_first(glm_server, engine: Engine, repo: Path, tmp_path: Path):
    glm_server.script([ScriptedTurn(content="one"), ScriptedTurn(content="two")])
    first = engine.run("first task").result["session_id"]
    time.sleep(1.01)  # ids sort by the second they were made in
    second = engine.run("second task\nwith more lines").result["session_id"]
    proc = subprocess.run([GLMCODE_BIN, "sessions", "--output-format", "json"], cwd=repo, env=base_env(glm_server, tmp_path), capture_output=True, text=True)
    rows = json.loads(proc.stdout)
    assert [r["id"] for r in rows] == [second, first]
    assert {r["prompt"] for r in rows} == {"first task", "second task"}
    assert all(r["status"] == "success" for r in rows)
    text = subprocess.run([GLMCODE_BIN, "sessions"], cwd=repo, env=base_env(glm_server, tmp_path), capture_output=True, text=True).stdout
    assert first in text and "success" in text


def test_resume_without_sessions_or_with_a_bad_id_is_one_clear_line(repo: Path, tmp_path: Path):
    for args, message in ((["resume"], "no sessions in"), (["resume", "20990101-000000-abcdef"], "no session 20990101-000000-abcdef")):
        proc = subprocess.run([GLMCODE_BIN, *args], cwd=repo, env=base_env(None, tmp_path), capture_output=True, text=True, stdin=subprocess.DEVNULL)
        assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and message in proc.stderr
