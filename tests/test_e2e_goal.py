"""Goal mode end to end: the CI recipe (`glmcode run --goal ... --output-format json --yes`) as a real process.

The goal stages themselves are tested in-process (`tests/engine/test_goal.py`).
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from glmcode.testing.command import GLMCODE_BIN, base_env
from glmcode.testing.goal_scenario import PLAN, REPORT, calc_repo, fix


def test_ci_recipe_json_output_and_step_summary(glm_server, tmp_path: Path):
    repo = calc_repo(tmp_path)
    glm_server.script([*PLAN, *fix("a - b", "a + b"), REPORT])
    summary = tmp_path / "step-summary.md"
    env = base_env(glm_server, tmp_path, CI="true", GITHUB_STEP_SUMMARY=str(summary))
    proc = subprocess.run(
        [GLMCODE_BIN, "run", "--goal", "make add correct", "--output-format", "json", "--yes", "--verify", "python -c 'print(1)'"],
        cwd=repo, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.strip().splitlines()
    assert len(lines) == 1
    result = json.loads(lines[0])
    assert result["type"] == "result" and result["verified"] is True and result["summary"] == "all 2 verify commands passed"
    assert "# Goal report" in summary.read_text() and "calc.py: add now adds." in summary.read_text()
    workflow = (Path(__file__).parent.parent / "examples" / "github-actions-goal.yml").read_text()
    assert "glmcode run --goal" in workflow and "--output-format json" in workflow and "--yes" in workflow
    assert "secrets.ZAI_API_KEY" in workflow
