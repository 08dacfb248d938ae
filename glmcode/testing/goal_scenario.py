"""A small goal for tests: make `calc.add` correct, checked by `python check.py` (AGENT.md declares it).

Shared by the in-process goal tests and the end-to-end CI-recipe test, so both script the same model.
"""

from __future__ import annotations

from pathlib import Path

from glmcode.testing.glm_script import ScriptedToolCall, ScriptedTurn
from glmcode.testing.repos import make_repo

CHECK = "import calc, sys\nsys.exit(0 if calc.add(2, 3) == 5 else print('add(2, 3) returned', calc.add(2, 3)) or 1)\n"
"""Exits 0 when add(2, 3) == 5, else prints what it returned and exits 1."""
AGENT_MD = "# Demo\n\n## Commands\n- test: `python check.py`\n- setup: `echo never run as a check`\n"
"""Declares the check (`test`) and a command goal mode must not run as one (`setup`)."""


def _call(name: str, **arguments: object) -> ScriptedToolCall:
    return ScriptedToolCall(name=name, arguments=arguments)


def calc_repo(tmp_path: Path, agent_md: str = AGENT_MD, **extra: str) -> Path:
    """A git repo at `tmp_path/goal-repo` with a broken `calc.add` (it subtracts), the check and AGENT.md."""
    return make_repo(tmp_path / "goal-repo", {
        "AGENT.md": agent_md, "calc.py": "def add(a, b):\n    return a - b\n", "check.py": CHECK, **extra,
    })


PLAN = [
    ScriptedTurn(reasoning="Look first.", tool_calls=[_call("read_file", path="calc.py")]),
    ScriptedTurn(tool_calls=[_call("update_plan", steps=[{"step": "Fix add", "status": "pending"}], explanation="python check.py")]),
    ScriptedTurn(content="Plan: fix add; verify with python check.py."),
]
"""The plan stage: read calc.py, submit a one-step plan, stop."""


def fix(old: str, new: str) -> list[ScriptedTurn]:
    """An implement round: one edit of calc.py from `old` to `new`, then stop."""
    return [
        ScriptedTurn(tool_calls=[_call("edit_file", path="calc.py", old_string=old, new_string=new)]),
        ScriptedTurn(content="Changed add."),
    ]


REPORT = ScriptedTurn(content="## What changed\n- calc.py: add now adds.\n\n## Verification\n- PASS `python check.py`")
"""The report stage's answer."""
