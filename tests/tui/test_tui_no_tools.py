"""The interactive session on a host without function calling (issue 11): it says so at start,
chats without tools, and refuses /goal and /plan before any request."""

from __future__ import annotations

from pathlib import Path

import pytest
from tui_support import SIZE, make_app, make_repo, screen_text, submit, tui_env, until, wait_idle  # noqa: F401

from glmcode.testing import GLMServer, ScriptedTurn

pytestmark = [pytest.mark.asyncio, pytest.mark.usefixtures("tui_env")]


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return make_repo(tmp_path / "repo", {"README.md": "# demo\n"})


async def test_a_host_without_function_calling_is_named_at_start_and_chats_without_tools(repo: Path):
    with GLMServer([ScriptedTurn(content="Hello from a host without tools.")]) as server:
        app = make_app(repo, server.url, provider="nvidia")
        async with app.run_test(size=SIZE) as pilot:
            await until(pilot, lambda: app.session is not None)
            await wait_idle(pilot)
            shown = " ".join(screen_text(app).split())
            assert "nvidia does not support function calling: this session chats without tools" in shown
            await submit(pilot, "/goal fix everything")
            await wait_idle(pilot)
            shown = " ".join(screen_text(app).split())
            assert "so goal mode cannot run there" in shown and "zai" in shown
            assert not server.requests, "a refused goal sends nothing"
            await submit(pilot, "hi")
            await until(pilot, lambda: app.conversation.exchanges and app.conversation.exchanges[-1].result, what="the result")
            await wait_idle(pilot)
        assert len(server.requests) == 1 and "tools" not in server.requests[0].json


async def test_streamed_text_cannot_drive_the_terminal(repo: Path):
    turn = ScriptedTurn(reasoning="think\x1b]0;owned\x07 hard", content="done\x1b[2J and \u202esdrawkcab\u202c\r\nnext", chunk_chars=3)
    with GLMServer([turn]) as server:
        app = make_app(repo, server.url)
        async with app.run_test(size=SIZE) as pilot:
            await until(pilot, lambda: app.session is not None)
            await submit(pilot, "go")
            await until(pilot, lambda: app.conversation.exchanges and app.conversation.exchanges[-1].result, what="the result")
            await wait_idle(pilot)
            exchange = app.conversation.exchanges[-1]
            assert exchange.reasoning_text == "think␛]0;owned␇ hard"
            assert exchange.answer_text == "done␛[2J and ⟨U+202E⟩sdrawkcab⟨U+202C⟩\nnext"


async def test_a_fatal_error_is_shown_once(repo: Path):
    from glmcode.testing import Fault

    turn = ScriptedTurn(content="never", faults=[Fault(kind="http_error", status=401, code="1000", message="bad key")])
    with GLMServer([turn]) as server:
        app = make_app(repo, server.url)
        async with app.run_test(size=SIZE) as pilot:
            await until(pilot, lambda: app.session is not None)
            await submit(pilot, "hi")
            await until(pilot, lambda: app.conversation.exchanges and app.conversation.exchanges[-1].result, what="the result")
            await wait_idle(pilot)
            assert app.conversation.exchanges[-1].result.exit_code == 3
            assert " ".join(screen_text(app).split()).count("bad key") == 1
