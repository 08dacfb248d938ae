"""The terminal approver (headless `ask` mode): the call's preview is printed above the question.

Run through an in-process session, so what is printed is the preview the tool made, passed
through the session's redaction, exactly as `glmcode run --permission-mode ask` shows it.
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from glmcode.testing import ScriptedTurn
from glmcode.testing.engine import API_KEY, Engine, call
from glmcode.ui.approve import terminal_approver


def answer(monkeypatch: pytest.MonkeyPatch, *lines: str) -> None:
    """What the user types, one answer a line."""
    monkeypatch.setattr("sys.stdin", io.StringIO("".join(f"{line}\n" for line in lines)))


def test_the_preview_is_printed_above_each_question(glm_server, engine: Engine, repo: Path, monkeypatch, capsys) -> None:
    (repo / "settings.py").write_text(f"KEY = 'old'\nTOKEN = '{API_KEY}'\n")
    glm_server.script([
        ScriptedTurn(tool_calls=[call("edit_file", path="settings.py", old_string="KEY = 'old'", new_string="KEY = 'new'")]),
        ScriptedTurn(tool_calls=[call("run_shell", command="touch made.txt", timeout=7)]),
        ScriptedTurn(content="done"),
    ])
    answer(monkeypatch, "n", "y")
    run = engine.run("go", approver=terminal_approver, permission_mode="ask")
    err = capsys.readouterr().err
    edit_question = err.index("allow edit_file settings.py?")
    diff = err.index("--- a/settings.py\n+++ b/settings.py\n@@ -1,2 +1,2 @@\n-KEY = 'old'\n+KEY = 'new'\n TOKEN = '[redacted:api_key]'\n")
    assert diff < edit_question, "the diff comes before the question it belongs to"
    assert err.index("$ touch made.txt\ntimeout 7 s\n") > edit_question
    assert err.index("allow run_shell touch made.txt?") > err.index("$ touch made.txt")
    assert API_KEY not in err, "a preview passes the session's redaction"
    assert (repo / "settings.py").read_text() == f"KEY = 'old'\nTOKEN = '{API_KEY}'\n", "denied: nothing written"
    assert (repo / "made.txt").exists()
    assert [r["ok"] for r in run.of_type("tool_result")] == [False, True]


def test_control_characters_are_shown_and_a_bare_description_is_not_repeated(monkeypatch, capsys) -> None:
    answer(monkeypatch, "a", "")
    assert terminal_approver("run_shell", "run_shell printf x", "$ printf '\x1b[2Kx'\ntimeout 120 s") == "always"
    assert terminal_approver("lint", "lint", "lint") == "deny"
    err = capsys.readouterr().err
    assert "\x1b" not in err and "$ printf '␛[2Kx'\ntimeout 120 s\n" in err
    assert err.count("lint") == 1 and "allow lint?" in err
