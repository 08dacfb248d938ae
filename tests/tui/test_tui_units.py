"""The TUI's parts on their own: the event bridge, Markdown block cutting, slash commands, completion,
history, tool cards, the status bar and what an exchange's outcome line counts."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import threading
from pathlib import Path

import pytest
from textual.app import App
from textual.widgets import Static
from tui_support import make_app, make_repo, screen_text, tui_env, until, wait_idle  # noqa: F401

from glmcode.engine.events import (
    ReasoningDelta,
    Result,
    Stage,
    TextDelta,
    ToolCall,
    ToolResultEvent,
    Usage,
    UsageTotals,
)
from glmcode.engine.transcript import read_session
from glmcode.ui.tui import slash_commands
from glmcode.ui.tui.app import GlmcodeApp
from glmcode.ui.tui.blocks import split_finished
from glmcode.ui.tui.bridge import EventBridge, coalesce
from glmcode.ui.tui.completion import PathIndex, context_at
from glmcode.ui.tui.history import PromptHistory
from glmcode.ui.tui.replay import replay_text
from glmcode.ui.tui.widgets.exchange import ExchangeView, outcome_line
from glmcode.ui.tui.widgets.status_bar import StatusInfo, info_text
from glmcode.ui.tui.widgets.tool_card import ToolCard


def test_coalesce_joins_runs_of_deltas_and_keeps_other_events_in_place():
    stage = Stage(name="plan")
    items = [ReasoningDelta(text="a"), ReasoningDelta(text="b"), TextDelta(text="c"), TextDelta(text="d"), stage, TextDelta(text="e")]
    out = coalesce(items)
    assert [(type(i).__name__, getattr(i, "text", None)) for i in out] == [
        ("ReasoningDelta", "ab"), ("TextDelta", "cd"), ("Stage", None), ("TextDelta", "e"),
    ]
    assert out[2] is stage


def test_bridge_wakes_once_per_batch_from_another_thread_and_loses_nothing():
    wakes = []
    bridge = EventBridge(lambda: wakes.append(1))

    def produce():
        for i in range(10_000):
            bridge.put(TextDelta(text=str(i % 10)))

    threads = [threading.Thread(target=produce) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(wakes) == 1, "no wake-up while one is pending"
    taken = bridge.take()
    assert len(taken) == 1 and len(taken[0].text) == 40_000
    bridge.put(TextDelta(text="x"))
    assert len(wakes) == 2, "after a take, the next put wakes the UI again"


def test_bridge_take_stops_at_the_character_budget():
    bridge = EventBridge(lambda: None)
    for _ in range(100):
        bridge.put(ReasoningDelta(text="0123456789"))
    first = bridge.take(max_chars=250)
    assert len(first[0].text) == 250 and bridge.pending == 75
    assert len(bridge.take()[0].text) == 750


@pytest.mark.parametrize(
    ("text", "finished", "rest"),
    [
        ("para", [], "para"),
        ("para\n\nnext", [], "para\n\nnext"),
        ("para\n\nnext\n", ["para\n\n"], "next\n"),
        ("- a\n\n- b\n\nafter\n", ["- a\n\n- b\n\n"], "after\n"),
        ("p\n- x\n", ["p\n"], "- x\n"),
        ("```py\nx\n\ny\n", [], "```py\nx\n\ny\n"),
        ("```py\nx\n```\n\nz\n", ["```py\nx\n```\n\n"], "z\n"),
        ("Title\n---\n", [], "Title\n---\n"),
        ("a\n\nb\n\nc\n\nd", ["a\n\n", "b\n\n"], "c\n\nd"),
        ("# H\n\npara\n\n- a\n- b\n\n```\nx\n\ny\n```\n\nz\n", ["# H\n\n", "para\n\n", "- a\n- b\n\n", "```\nx\n\ny\n```\n\n"], "z\n"),
    ],
)
def test_split_finished_keeps_the_last_top_level_block_open(text, finished, rest):
    assert split_finished(text) == (finished, rest)


def test_command_parsing_validates_names_and_arguments():
    assert slash_commands.parse("/goal make add correct").arg == "make add correct"
    assert slash_commands.parse("/EFFORT high").command.name == "effort"
    assert slash_commands.parse("/model").arg == ""
    with pytest.raises(slash_commands.CommandError, match=r"unknown command /frob\..*/goal.*/quit"):
        slash_commands.parse("/frob now")
    with pytest.raises(slash_commands.CommandError, match="needs <text>"):
        slash_commands.parse("/goal")
    with pytest.raises(slash_commands.CommandError, match="unknown effort 'huge'"):
        slash_commands.parse("/effort huge")
    with pytest.raises(slash_commands.CommandError, match="takes no argument"):
        slash_commands.parse("/clear everything")
    assert not slash_commands.is_command("/etc/hosts is odd")
    assert slash_commands.is_command("/help")


def test_command_completion_and_help_list_every_command():
    assert [c.name for c in slash_commands.complete("c")] == ["clear", "compact", "cost"]
    assert [c.name for c in slash_commands.complete("u")] == ["undo"]
    for command in slash_commands.COMMANDS:
        assert f"/{command.name}" in slash_commands.help_markdown()
    assert "Ctrl+J" in slash_commands.help_markdown()


def test_completion_context_at_the_cursor():
    assert context_at("/ef", 3, 0).kind == "command"
    assert context_at("/ef", 3, 0).prefix == "ef"
    assert context_at("/effort ", 8, 0) is None
    assert context_at("/ef", 3, 1) is None, "commands only on the first line"
    context = context_at("look at @src/ma please", 15, 0)
    assert (context.kind, context.prefix, context.start, context.end) == ("path", "src/ma", 8, 15)
    assert context_at("no at here", 5, 0) is None


def test_path_index_honours_gitignore_and_ranks_prefix_matches_first(tmp_path: Path):
    repo = make_repo(tmp_path / "repo", {
        ".gitignore": "build/\n", "src/main.py": "", "src/util/maths.py": "", "build/out.txt": "", "main.md": "",
    })
    index = PathIndex(repo)
    index.refresh(wait=True)
    labels = [c.label for c in index.match("ma", limit=10)]
    assert labels[0] == "main.md"
    assert "src/main.py" in labels and "src/util/maths.py" in labels
    assert not any(c.label.startswith("build") for c in index.match("", limit=100)), "ignored folders stay out"
    folder = index.match("src/ut")[0]
    assert folder.insert == "@src/util/" and folder.keep_open


def test_path_completion_quotes_what_a_bare_mention_would_cut(tmp_path: Path):
    from glmcode.engine.mentions import find

    (tmp_path / "my notes").mkdir()
    (tmp_path / "my notes" / "todo list.md").write_text("x\n")
    (tmp_path / "plain.md").write_text("x\n")
    (tmp_path / 'say "hi".md').write_text("x\n")
    (tmp_path / "say-hi.md").write_text("x\n")
    index = PathIndex(tmp_path)
    index.refresh(wait=True)
    spaced = index.match("todo")[0]
    assert spaced.insert == '@"my notes/todo list.md" '
    assert find(f"read {spaced.insert}now") == ["my notes/todo list.md"], "the engine reads back what was inserted"
    assert index.match("my")[0].insert == '@"my notes/" '
    assert index.match("plain")[0].insert == "@plain.md "
    assert [c.label for c in index.match("say")] == ["say-hi.md"], "a name no mention can hold is not offered"


def test_history_browses_back_and_forth_and_keeps_the_draft(tmp_path: Path):
    path = tmp_path / "history.jsonl"
    history = PromptHistory(path)
    history.add("first")
    history.add("second")
    history.add("second")
    assert history.previous("draft") == "second"
    assert history.previous("second") == "first"
    assert history.previous("first") is None
    assert history.next() == "second"
    assert history.next() == "draft"
    assert history.next() is None
    assert PromptHistory(path).entries == ["first", "second"], "kept across sessions"


class CardApp(App[None]):
    """Just a tool card."""

    def __init__(self, card: ToolCard) -> None:
        super().__init__()
        self.card = card

    def compose(self):
        yield self.card


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("result", "state", "header"),
    [
        (ToolResultEvent(id="c", name="run_shell", ok=True, output="exit code: 0", summary="exit 0", duration_ms=230), "ok", "✓ run_shell  pytest -q · exit 0 · 230ms"),
        (ToolResultEvent(id="c", name="run_shell", ok=True, output="exit code: 1\nFAILED", summary="exit 1", duration_ms=1500), "exited", "! run_shell  pytest -q · exit 1 · 1.5s"),
        (
            ToolResultEvent(id="c", name="run_shell", ok=False, output="refused: read-only mode\nmore", summary="refused", duration_ms=1),
            "failed", "✗ run_shell  pytest -q · refused: read-only mode · 1ms",
        ),
    ],
    ids=["ok", "exited", "failed"],
)
async def test_a_tool_card_shows_a_non_zero_exit_as_such_never_as_a_success(result: ToolResultEvent, state: str, header: str) -> None:
    card = ToolCard(ToolCall(id="c", name="run_shell", arguments={"command": "pytest -q"}))
    app = CardApp(card)
    async with app.run_test(size=(80, 5)) as pilot:
        card.finish(result)
        await pilot.pause()
        assert card.state == state
        assert card.has_class("-exited") is (state == "exited") and card.has_class("-ok") is (state == "ok")
        assert card.query_one(".tool-header", Static).content.plain.startswith(header + "  ▸")


def test_the_status_bar_shows_session_totals_with_units_share_and_cost() -> None:
    usage = UsageTotals(requests=4, prompt_tokens=1_200_000, completion_tokens=30_000, cached_tokens=900_000, cost_usd=0.5)
    line = info_text(StatusInfo(model="glm-5.2", provider="zai", effort="high", usage=usage, last_prompt_tokens=100_000, context_window=1_000_000)).plain
    assert line == "glm-5.2 · zai · effort high · 1.2M tokens · 75% cached · $0.5000 · ctx 10%"
    assert info_text(StatusInfo(model="glm-5.2", provider="zai")).plain == "glm-5.2 · zai · effort default · 0 tokens · cost —"
    narrow = info_text(StatusInfo(model="glm-5.2", provider="zai", usage=usage), width=31).plain
    assert narrow == "glm-5.2 · 1.2M tokens · $0.5000", "the least useful parts go first"


def test_the_outcome_line_says_what_it_counts() -> None:
    result = Result(status="success", exit_code=0, summary="ok", turns=1, duration_s=4.2, usage=UsageTotals(requests=1, prompt_tokens=900, completion_tokens=100))
    assert outcome_line(result).plain == "this prompt: 1 request · 1.0k tokens · 0% cached · cost — · 4.2s"
    assert outcome_line(result, "goal").plain.startswith("this goal: 1 request")


def test_replay_counts_earlier_prompts_in_the_singular_and_titles_calls_like_the_cards() -> None:
    messages = []
    for number in range(13):
        messages.append({"role": "user", "content": f"prompt {number}"})
        messages.append({"role": "assistant", "content": "", "tool_calls": [{"id": "c", "type": "function", "function": {"name": "read_file", "arguments": '{"path": "a.py"}'}}]})
    text = replay_text(messages).plain
    assert text.startswith("… 1 earlier prompt\n")
    assert "  → read_file a.py" in text


@pytest.mark.asyncio
@pytest.mark.usefixtures("tui_env")
async def test_each_outcome_counts_its_own_prompt_while_the_status_bar_counts_the_session(tmp_path: Path) -> None:
    app = make_app(make_repo(tmp_path / "repo"), "http://127.0.0.1:9/v1")
    async with app.run_test(size=(120, 30)) as pilot:
        await until(pilot, lambda: app.session is not None and not app.busy, what="the session")
        exchanges: list[ExchangeView] = []
        for prompt, requests in (("first", 2), ("second", 1)):
            exchange = app.start_exchange(prompt)
            exchanges.append(exchange)
            usages = [Usage(prompt_tokens=1000, completion_tokens=100, cached_tokens=500, cost_usd=0.001) for _ in range(requests)]
            totals = UsageTotals()
            for usage in usages:
                totals.add(usage)
                app.bridge.put(usage)
            app.bridge.put(Result(status="success", exit_code=0, summary="ok", usage=totals, turns=requests, duration_s=1.5))
            await until(pilot, lambda exchange=exchange: exchange.result is not None, what=f"the result of {prompt!r}")
        await wait_idle(pilot)
        shown = screen_text(app)
        assert "this prompt: 2 requests · 2.2k tokens · 50% cached · $0.0020 · 1.5s" in shown
        assert "this prompt: 1 request · 1.1k tokens · 50% cached · $0.0010 · 1.5s" in shown
        assert app.usage.requests == 3
        assert "3.3k tokens · 50% cached · $0.0030" in shown, "the status bar keeps the whole session's totals"


@pytest.mark.asyncio
@pytest.mark.usefixtures("tui_env")
async def test_a_resumed_session_keeps_counting_from_its_saved_usage(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    first = make_app(repo, "http://127.0.0.1:9/v1")
    async with first.run_test(size=(120, 30)) as pilot:
        await until(pilot, lambda: first.session is not None and not first.busy, what="the session")
        for _ in range(2):
            first.session.emit(Usage(prompt_tokens=1000, completion_tokens=100, cached_tokens=500, cost_usd=0.001))
        session_id = first.session.id
    first.close_session()
    record = read_session(repo, session_id)
    resumed = GlmcodeApp(first.config, repo, resume=record, history_path=tmp_path / "history.jsonl", warm_up=False)
    async with resumed.run_test(size=(120, 30)) as pilot:
        await until(pilot, lambda: resumed.session is not None and not resumed.busy, what="the resumed session")
        await wait_idle(pilot)
        assert (resumed.usage.requests, resumed.usage.prompt_tokens, resumed.usage.cost_usd) == (2, 2000, 0.002)
        assert "2.2k tokens · 50% cached · $0.0020" in screen_text(resumed)
    resumed.close_session()


def _tui_classes() -> list[type]:
    """Every Textual node class (widget, screen, app) defined in `glmcode.ui.tui`."""
    from textual.dom import DOMNode

    import glmcode.ui.tui as package

    classes = []
    for module_info in pkgutil.walk_packages(package.__path__, f"{package.__name__}."):
        module = importlib.import_module(module_info.name)
        classes += [c for c in vars(module).values() if inspect.isclass(c) and c.__module__ == module.__name__ and issubclass(c, DOMNode)]
    return classes


def test_no_tui_method_replaces_a_textual_method_by_accident():
    """A method named like a Textual one replaces it: `PromptInput._on_enter()` (the Enter key)
    was also called when the mouse entered the prompt, and sent it. An override must keep the
    parameters of the method it replaces; anything else is a name clash.
    """
    clashes = []
    for cls in _tui_classes():
        for name, ours in vars(cls).items():
            if name.startswith("__") or not inspect.isfunction(ours):
                continue
            for base in cls.__mro__[1:]:
                theirs = vars(base).get(name)
                if base.__module__.startswith("textual.") and inspect.isfunction(theirs):
                    if list(inspect.signature(ours).parameters) != list(inspect.signature(theirs).parameters):
                        clashes.append(f"{cls.__qualname__}.{name} replaces {base.__qualname__}.{name}{inspect.signature(theirs)}")
                    break
    assert len(_tui_classes()) > 10, "the TUI's classes were found"
    assert not clashes, clashes
