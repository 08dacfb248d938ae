"""The approval modal on a real edit: the engine asks, the modal shows the edit_file tool's own diff."""

from __future__ import annotations

from pathlib import Path

import pytest
from tui_support import SIZE, make_app, make_repo, screen_text, settle, submit, tui_env, until, wait_idle  # noqa: F401

from glmcode.testing import GLMServer, ScriptedToolCall, ScriptedTurn
from glmcode.ui.tui.screens.approval import ApprovalScreen

pytestmark = [pytest.mark.asyncio, pytest.mark.usefixtures("tui_env")]


async def test_ask_mode_shows_the_tools_diff_and_nothing_is_written_until_allowed(tmp_path: Path):
    repo = make_repo(tmp_path / "repo", {"src/app.py": "def greet():\r\n    print('hi')\r\n"})
    edit = ScriptedToolCall(name="edit_file", arguments={"path": "src/app.py", "old_string": "print('hi')", "new_string": "print('hello')"})
    with GLMServer([ScriptedTurn(tool_calls=[edit]), ScriptedTurn(content="Done.")]) as server:
        app = make_app(repo, server.url)
        async with app.run_test(size=SIZE) as pilot:
            await submit(pilot, "say hello")
            await until(pilot, lambda: isinstance(app.screen, ApprovalScreen), what="the approval modal")
            await settle(pilot)
            shown = screen_text(app)
            assert "--- a/src/app.py" in shown and "+++ b/src/app.py" in shown
            assert "- print('hi')" in shown and "+ print('hello')" in shown  # spaces normalised
            assert "line endings: CRLF" in shown
            assert (repo / "src/app.py").read_bytes() == b"def greet():\r\n    print('hi')\r\n", "asking must not write"
            await pilot.press("y")
            await until(pilot, lambda: app.conversation.exchanges[-1].result, what="the result")
            await wait_idle(pilot)
    assert (repo / "src/app.py").read_bytes() == b"def greet():\r\n    print('hello')\r\n"
