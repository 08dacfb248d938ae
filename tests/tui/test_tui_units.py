"""The TUI's pure parts: the event bridge, Markdown block cutting, slash commands, completion, history."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from tui_support import make_repo

from glmcode.engine.events import ReasoningDelta, Stage, TextDelta
from glmcode.ui.tui import slash_commands
from glmcode.ui.tui.blocks import split_finished
from glmcode.ui.tui.bridge import EventBridge, coalesce
from glmcode.ui.tui.completion import PathIndex, context_at
from glmcode.ui.tui.history import PromptHistory


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
