"""The interactive app driven with Textual's pilot against the scripted GLM server; the engine runs for real."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from tui_support import SIZE, make_app, make_repo, press, screen_text, settle, submit, tui_env, until, wait_idle  # noqa: F401

from glmcode.testing import GLMServer, Scenario, ScriptedToolCall, ScriptedTurn
from glmcode.ui.tui.screens.approval import ApprovalScreen
from glmcode.ui.tui.widgets.answer import AnswerPane
from glmcode.ui.tui.widgets.reasoning import ReasoningPane
from glmcode.ui.tui.widgets.tool_card import ToolCard

pytestmark = [pytest.mark.asyncio, pytest.mark.usefixtures("tui_env")]

CHECK = "import calc, sys\nsys.exit(0 if calc.add(2, 3) == 5 else 1)\n"
AGENT_MD = "# Demo\n\n## Commands\n- test: `python check.py`\n"


def call(name: str, **arguments) -> ScriptedToolCall:
    return ScriptedToolCall(name=name, arguments=arguments)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return make_repo(tmp_path / "repo", {"README.md": "# demo\n", "src/app.py": "print('hi')\n"})


async def test_reasoning_and_answer_stream_into_their_own_regions(repo: Path):
    reasoning = "The user asks for the answer.\nIt is 42."
    answer = "## Answer\n\nThe **result** is 42.\n\n- first point\n- second point\n"
    with GLMServer([ScriptedTurn(reasoning=reasoning, content=answer)]) as server:
        app = make_app(repo, server.url)
        async with app.run_test(size=SIZE) as pilot:
            await until(pilot, lambda: app.session is not None)
            await submit(pilot, "what is the answer?")
            await until(pilot, lambda: app.conversation.exchanges and app.conversation.exchanges[-1].result, what="the result")
            await wait_idle(pilot)
            turn = app.conversation.exchanges[-1]
            assert turn.prompt == "what is the answer?"
            assert turn.reasoning_text == reasoning
            assert turn.answer_text == answer
            pane = turn.query_one(ReasoningPane)
            assert pane.collapsed and pane.title.startswith("Thought · ")
            assert turn.query_one(AnswerPane).text == answer
            assert turn.result.status == "success"
            shown = screen_text(app)
            assert "The result is 42." in shown and "• first point" in shown
            assert "## Answer" not in shown, "the answer is rendered as Markdown, not shown raw"
            assert "It is 42." not in shown, "the reasoning is collapsed once the answer came"
        user = server.requests[0].json["messages"][-1]
        assert user == {"role": "user", "content": "what is the answer?"}


async def test_tool_call_card_runs_completes_and_expands(repo: Path):
    turns = [
        ScriptedTurn(reasoning="Read it.", tool_calls=[call("read_file", path="README.md")]),
        ScriptedTurn(content="It is a demo."),
    ]
    with GLMServer(turns) as server:
        app = make_app(repo, server.url)
        async with app.run_test(size=SIZE) as pilot:
            await submit(pilot, "read the readme")
            await until(pilot, lambda: app.conversation.exchanges and app.conversation.exchanges[-1].result)
            await wait_idle(pilot)
            card = app.query_one(ToolCard)
            assert card.call.name == "read_file" and card.state == "ok"
            assert "# demo" in card.result.output
            assert not card.expanded
            assert "read_file README.md" in screen_text(app)
            card.focus()
            await press(pilot, "enter")
            assert card.expanded
            assert "# demo" in screen_text(app)


async def test_edit_card_shows_the_diff(repo: Path):
    turns = [
        ScriptedTurn(tool_calls=[call("edit_file", path="src/app.py", old_string="print('hi')", new_string="print('hello')")]),
        ScriptedTurn(content="Changed the greeting."),
    ]
    with GLMServer(turns) as server:
        app = make_app(repo, server.url, permission_mode="auto-edit")
        async with app.run_test(size=SIZE) as pilot:
            await submit(pilot, "greet better")
            await until(pilot, lambda: app.conversation.exchanges and app.conversation.exchanges[-1].result)
            await wait_idle(pilot)
            card = app.query_one(ToolCard)
            assert card.state == "ok" and card.expanded, "a diff is shown without asking"
            shown = screen_text(app)
            assert "-print('hi')" in shown and "+print('hello')" in shown
    assert (repo / "src/app.py").read_text() == "print('hello')\n"


@pytest.mark.parametrize(("key", "ran"), [("y", True), ("n", False)])
async def test_ask_mode_approval_allows_or_denies_the_command(repo: Path, key: str, ran: bool):
    turns = [
        ScriptedTurn(tool_calls=[call("run_shell", command="touch approved.txt")]),
        ScriptedTurn(content="Done."),
    ]
    with GLMServer(turns) as server:
        app = make_app(repo, server.url)
        async with app.run_test(size=SIZE) as pilot:
            await submit(pilot, "make the file")
            await until(pilot, lambda: isinstance(app.screen, ApprovalScreen), what="the approval modal")
            await settle(pilot)
            assert "$ touch approved.txt" in screen_text(app)
            assert app.query_one(ToolCard).state == "approval"
            await pilot.press(key)
            await until(pilot, lambda: app.conversation.exchanges[-1].result)
            await wait_idle(pilot)
            assert not isinstance(app.screen, ApprovalScreen)
            card = app.query_one(ToolCard)
            assert card.state == ("ok" if ran else "failed")
        tool_message = server.requests[1].json["messages"][-1]
    assert (repo / "approved.txt").exists() is ran
    if not ran:
        assert "denied" in tool_message["content"]


async def test_escape_interrupts_a_slow_turn_and_the_session_goes_on(repo: Path):
    slow = ScriptedTurn(reasoning="thinking " * 20, content="word " * 400, chunk_chars=4)
    scenario = Scenario(turns=[slow, ScriptedTurn(content="Second answer.")], chunk_delay_s=0.02)
    with GLMServer(scenario) as server:
        app = make_app(repo, server.url)
        async with app.run_test(size=SIZE) as pilot:
            await submit(pilot, "talk a lot")
            await until(pilot, lambda: app.exchange is not None and len(app.exchange.answer_text) > 20, what="some answer text")
            await pilot.press("escape")
            await until(pilot, lambda: app.conversation.exchanges[0].result, what="the interrupted result")
            await wait_idle(pilot)
            first = app.conversation.exchanges[0]
            assert first.result.status == "interrupted"
            assert first.has_class("-interrupted")
            partial = first.answer_text
            assert partial.startswith("word ") and len(partial) < len("word " * 400)
            assert "interrupted" in screen_text(app)
            await submit(pilot, "go on")
            await until(pilot, lambda: len(app.conversation.exchanges) == 2 and app.conversation.exchanges[1].result)
            await wait_idle(pilot)
            assert app.conversation.exchanges[1].answer_text == "Second answer."
            assert app.conversation.exchanges[1].result.status == "success"
        second_request = server.requests[-1].json["messages"]
        assert any(m["role"] == "assistant" and m.get("content", "").startswith("word ") for m in second_request), "the partial turn stays in the transcript"


async def test_goal_runs_to_completion_with_stages_plan_and_checks(tmp_path: Path):
    repo = make_repo(tmp_path / "goal-repo", {"AGENT.md": AGENT_MD, "calc.py": "def add(a, b):\n    return a - b\n", "check.py": CHECK})
    turns = [
        ScriptedTurn(reasoning="Look first.", tool_calls=[call("read_file", path="calc.py")]),
        ScriptedTurn(tool_calls=[call("update_plan", steps=[{"step": "Fix add", "status": "pending"}])]),
        ScriptedTurn(content="Plan: fix add; verify with python check.py."),
        ScriptedTurn(tool_calls=[call("edit_file", path="calc.py", old_string="a - b", new_string="a + b")]),
        ScriptedTurn(tool_calls=[call("update_plan", steps=[{"step": "Fix add", "status": "completed"}])]),
        ScriptedTurn(content="Changed add."),
        ScriptedTurn(content="## What changed\n- calc.py: add adds.\n\n## Verification\n- PASS `python check.py`"),
    ]
    with GLMServer(turns) as server:
        app = make_app(repo, server.url, permission_mode="full-auto")
        async with app.run_test(size=SIZE) as pilot:
            await submit(pilot, "/goal make add correct")
            await until(pilot, lambda: app.conversation.exchanges and app.conversation.exchanges[-1].result, what="the goal's result")
            await wait_idle(pilot)
            turn = app.conversation.exchanges[-1]
            assert turn.label == "goal" and turn.prompt == "make add correct"
            assert turn.result.status == "success" and turn.result.verified
            panel = app.plan_panel
            assert panel.display
            assert [(s.step, s.status) for s in panel.steps] == [("Fix add", "completed")]
            assert panel.stage == ("report", 0)
            assert [(c.command, c.passed) for c in panel.checks] == [("python check.py", True)]
            shown = screen_text(app)
            assert "✓ verify python check.py (exit 0)" in shown
            assert "Plan 1/1" in shown
            assert "── report ──" in shown
    assert (repo / "calc.py").read_text().endswith("a + b\n")


async def test_unknown_slash_command_gets_a_message_listing_the_commands(repo: Path):
    with GLMServer([]) as server:
        app = make_app(repo, server.url)
        async with app.run_test(size=SIZE) as pilot:
            await submit(pilot, "/frobnicate now")
            await wait_idle(pilot)
            shown = screen_text(app)
            assert "unknown command /frobnicate" in shown and "/goal" in shown and "/resume" in shown
            assert not server.requests


async def test_effort_command_changes_the_status_bar_and_the_next_request(repo: Path):
    with GLMServer([ScriptedTurn(content="ok")]) as server:
        app = make_app(repo, server.url)
        async with app.run_test(size=SIZE) as pilot:
            await until(pilot, lambda: app.session is not None)
            await wait_idle(pilot)
            assert "effort default" in screen_text(app)
            await submit(pilot, "/effort high")
            await wait_idle(pilot)
            assert app.status.info.effort == "high"
            assert "effort high" in screen_text(app)
            await submit(pilot, "hello")
            await until(pilot, lambda: app.conversation.exchanges and app.conversation.exchanges[-1].result)
        assert server.requests[-1].json["reasoning_effort"] == "high"


async def test_up_recalls_the_previous_prompt(repo: Path):
    with GLMServer([ScriptedTurn(content="ok")]) as server:
        app = make_app(repo, server.url)
        async with app.run_test(size=SIZE) as pilot:
            await submit(pilot, "first prompt")
            await until(pilot, lambda: app.conversation.exchanges and app.conversation.exchanges[-1].result)
            await wait_idle(pilot)
            assert app.prompt_input.text == ""
            await press(pilot, "up")
            assert app.prompt_input.text == "first prompt"
            await press(pilot, "down")
            assert app.prompt_input.text == ""


async def test_completion_of_commands_and_file_paths(repo: Path):
    with GLMServer([]) as server:
        app = make_app(repo, server.url)
        async with app.run_test(size=SIZE) as pilot:
            app.paths.refresh(wait=True)
            await press(pilot, "/", "e", "f")
            menu = app.query_one("#completion-menu")
            assert menu.display and [c.label for c in menu.candidates] == ["/effort <level>"]
            await press(pilot, "tab")
            assert app.prompt_input.text == "/effort "
            assert not menu.display
            app.prompt_input.load_text("")
            await press(pilot, *"see @src/a")
            assert [c.label for c in menu.candidates] == ["src/app.py"]
            await press(pilot, "enter")
            assert app.prompt_input.text == "see @src/app.py "
            assert not app.conversation.exchanges and app.prompts_taken == 0, "Enter picked the completion, it did not send"


async def test_hovering_the_prompt_neither_sends_nor_clears_it(repo: Path):
    with GLMServer([]) as server:
        app = make_app(repo, server.url)
        async with app.run_test(size=SIZE) as pilot:
            await until(pilot, lambda: app.session is not None)
            await press(pilot, *"half a thought")
            await pilot.hover("#conversation")
            await pilot.hover("#prompt")
            await settle(pilot)
            assert app.prompt_input.mouse_hover, "the mouse is over the prompt"
            assert app.prompt_input.text == "half a thought"
            assert app.prompts_taken == 0 and not app.conversation.exchanges
        assert not server.requests


async def test_newline_keys_and_sending_while_busy_is_queued(repo: Path):
    release = threading.Event()

    def held_turn(_request: dict) -> ScriptedTurn:
        """The first answer, held back until the test has queued the second prompt."""
        release.wait(30)
        return ScriptedTurn(content="first answer")

    with GLMServer([held_turn, ScriptedTurn(content="queued answer")]) as server:
        app = make_app(repo, server.url)
        try:
            async with app.run_test(size=SIZE) as pilot:
                await press(pilot, "a", "ctrl+j", "b")
                assert app.prompt_input.text == "a\nb"
                app.prompt_input.load_text("")
                await submit(pilot, "first")
                await until(pilot, lambda: app.busy and app.exchange is not None, what="the first exchange to start")
                await submit(pilot, "second")
                assert app.status.queued == 1
                assert [t.prompt for t in app.conversation.exchanges] == ["first"], "the second prompt waits"
                release.set()
                await until(pilot, lambda: len(app.conversation.exchanges) == 2 and app.conversation.exchanges[1].result)
                assert [t.prompt for t in app.conversation.exchanges] == ["first", "second"]
                assert app.conversation.exchanges[0].answer_text == "first answer"
                assert app.conversation.exchanges[1].answer_text == "queued answer"
        finally:
            release.set()


async def test_ctrl_c_twice_quits(repo: Path):
    with GLMServer([]) as server:
        app = make_app(repo, server.url)
        async with app.run_test(size=SIZE) as pilot:
            await until(pilot, lambda: app.session is not None)
            await press(pilot, "ctrl+c")
            assert app.is_running and app.return_code is None
            await pilot.press("ctrl+c")
            await until(pilot, lambda: app.return_code is not None, what="the app to exit")
        assert app.return_code == 0
    app.close_session()
    assert app.session.transcript.path.is_file()


async def test_clear_diff_sessions_and_resume(repo: Path):
    with GLMServer([ScriptedTurn(content="First session answer.")]) as server:
        app = make_app(repo, server.url)
        async with app.run_test(size=SIZE) as pilot:
            await submit(pilot, "remember this")
            await until(pilot, lambda: app.conversation.exchanges and app.conversation.exchanges[-1].result)
            first_id = app.session.id
            (repo / "README.md").write_text("# demo\nchanged\n")
            await submit(pilot, "/diff")
            await until(pilot, lambda: "+changed" in screen_text(app), what="the diff")
            await submit(pilot, "/clear")
            await until(pilot, lambda: app.session is not None and app.session.id != first_id and not app.busy)
            assert not app.conversation.exchanges
            await submit(pilot, "/sessions")
            await until(pilot, lambda: "/resume ID switches to one" in screen_text(app), what="the session list")
            await wait_idle(pilot)
            assert first_id in screen_text(app)
            await submit(pilot, f"/resume {first_id}")
            await until(pilot, lambda: app.session.id == first_id and not app.busy)
            await wait_idle(pilot)
            shown = screen_text(app)
            assert f"resumed session {first_id}" in shown
            assert "› remember this" in shown and "First session answer." in shown
            await submit(pilot, "/cost")
            await wait_idle(pilot)
            assert "prompt tokens" in screen_text(app)


async def test_quitting_during_a_run_stops_it_and_exits_130(repo: Path):
    scenario = Scenario(turns=[ScriptedTurn(content="word " * 400, chunk_chars=4)], chunk_delay_s=0.02)
    with GLMServer(scenario) as server:
        app = make_app(repo, server.url)
        async with app.run_test(size=SIZE) as pilot:
            await submit(pilot, "talk")
            await until(pilot, lambda: app.exchange is not None and app.exchange.answer_text)
            app.simulate_key("ctrl+c")
            app.simulate_key("ctrl+c")
            await until(pilot, lambda: not app.is_running, what="the app to exit")
        assert app.return_code == 130
    app.close_session()
    events = [line for line in app.session.transcript.path.read_text().splitlines() if '"type":"result"' in line]
    assert len(events) == 1 and '"status":"interrupted"' in events[0], "the run ended cleanly and the transcript has its result"


async def test_help_and_compact(repo: Path):
    turns = [ScriptedTurn(content="First answer."), ScriptedTurn(reasoning="Summarise.", content="Summary: the user said hi.")]
    with GLMServer(turns) as server:
        app = make_app(repo, server.url)
        async with app.run_test(size=SIZE) as pilot:
            await submit(pilot, "/compact")
            await wait_idle(pilot)
            assert "nothing to compact yet" in screen_text(app)
            await submit(pilot, "hi")
            await until(pilot, lambda: app.conversation.exchanges and app.conversation.exchanges[-1].result)
            await submit(pilot, "/compact")
            await until(pilot, lambda: "summarised" in screen_text(app), what="the compaction note")
            await wait_idle(pilot)
            assert "Summary: the user said hi." not in screen_text(app), "the summary is not shown as an answer"
            assert not app.conversation.exchanges[-1].answer_text
            await submit(pilot, "/help")
            await until(pilot, lambda: "While a prompt runs you can keep typing" in screen_text(app), what="the help")
            await wait_idle(pilot)
            shown = screen_text(app)
            assert "/quit" in shown and "While a prompt runs you can keep typing" in shown
        assert len(server.requests) == 2, "compaction is one more request"


async def test_undo_puts_back_the_last_prompts_changes_and_tells_the_model(repo: Path):
    turns = [
        ScriptedTurn(tool_calls=[call("edit_file", path="src/app.py", old_string="print('hi')", new_string="print('bye')"), call("write_file", path="new.txt", content="x\n")]),
        ScriptedTurn(content="Changed it."),
        ScriptedTurn(content="Understood."),
    ]
    with GLMServer(turns) as server:
        app = make_app(repo, server.url, permission_mode="full-auto")
        async with app.run_test(size=SIZE) as pilot:
            await submit(pilot, "change the greeting")
            await wait_idle(pilot)
            assert (repo / "src/app.py").read_text() == "print('bye')\n" and (repo / "new.txt").exists()
            await submit(pilot, "/undo")
            await until(pilot, lambda: "undone:" in screen_text(app), what="the undo note")
            assert "restored src/app.py" in screen_text(app) and "removed new.txt" in screen_text(app)
            assert (repo / "src/app.py").read_text() == "print('hi')\n" and not (repo / "new.txt").exists()
            await submit(pilot, "what now?")
            await wait_idle(pilot)
            told = [m["content"] for m in server.requests[-1].json["messages"] if m["role"] == "user"]
            assert "undid the file changes" in told[-2] and "restored src/app.py" in told[-2] and told[-1] == "what now?"
            await submit(pilot, "/undo")
            await until(pilot, lambda: "nothing to undo" in screen_text(app), what="the second undo to find nothing more")
            assert (repo / "src/app.py").read_text() == "print('hi')\n"
