"""The shape rules of AGENT.md, checked: one direction of flow, lazy heavy imports."""

from __future__ import annotations

import subprocess
import sys


def modules_after(code: str) -> set[str]:
    probe = f"import sys\n{code}\nprint('\\n'.join(sorted(sys.modules)))"
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    return set(result.stdout.split())


def test_the_engine_imports_neither_textual_nor_rich_nor_openai_up_front():
    loaded = modules_after("import glmcode.engine.session, glmcode.engine.goal, glmcode.engine.agent, glmcode.model.client, glmcode.ui.jsonl, glmcode.ui.text")
    assert not {"textual", "rich", "openai", "git"} & loaded


def test_version_imports_nothing_heavy():
    loaded = modules_after("from glmcode.cli import main\nmain(['--version'])")
    assert not {"typer", "pydantic", "openai", "textual", "rich"} & loaded
