"""End to end: the audit scenario of examples/audit.md, read-only, with read_files and the project map."""

from __future__ import annotations

from pathlib import Path

from glmcode.testing import ScriptedTurn
from glmcode.testing.engine import call, messages_of
from glmcode.testing.repos import make_repo

AUDIT = Path(__file__).resolve().parents[1] / "examples" / "audit.md"


def test_audit_runs_read_only_on_the_whole_project(glm_server, run_glmcode, tmp_path: Path) -> None:
    module = '"""The {0} module."""\n\n\nclass {1}:\n    def handle(self):\n        return "{0}"\n'
    files = {f"shop/{name}.py": module.format(name, name.title()) for name in ("cart", "orders", "payment", "stock")}
    files |= {"shop/__init__.py": "", "tests/test_cart.py": "def test_cart():\n    assert True\n", "README.md": "# Shop\n"}
    project = make_repo(tmp_path / "shop", files)
    prompt = AUDIT.read_text()
    assert prompt.startswith("Audit this project") and "Technical debt" in prompt and "Call chains" in prompt
    glm_server.script([
        ScriptedTurn(reasoning="Read it all at once.", tool_calls=[call("read_files", paths=["."])]),
        ScriptedTurn(tool_calls=[call("write_file", path="AUDIT.md", content="# Audit\n")]),
        ScriptedTurn(content="# Audit\n\n## Architecture map\nshop/ holds four modules, one class each."),
    ])
    run = run_glmcode("run", "--permission-mode", "read-only", prompt, cwd=project)

    assert run.returncode == 0, run.stderr
    assert run.result["status"] == "success" and run.result["refused_calls"] == 1
    assert run.result["summary"].startswith("# Audit")
    assert not (project / "AUDIT.md").exists()
    first = messages_of(glm_server.requests[0])
    assert "# Project map" in first[0]["content"]
    assert "\n  payment.py 90B: class Payment [handle]\n" in first[0]["content"]
    assert first[1]["role"] == "user" and first[1]["content"].startswith(prompt.strip())
    read, write = run.of_type("tool_result")
    assert read["name"] == "read_files" and read["ok"] and read["summary"] == "7 files"
    for name in files:
        assert f"==> {name} (" in read["output"]
    assert 'return "payment"' in read["output"]
    assert write["name"] == "write_file" and not write["ok"] and "read-only" in write["output"]
    second = messages_of(glm_server.requests[1])
    assert second[:2] == first[:2]
    assert 'return "payment"' in second[-1]["content"]
