"""Helpers for the TUI tests: the app against the scripted GLM server, and waiting for conditions."""

from __future__ import annotations

import asyncio
import html
import re
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from textual.widget import Widget

from glmcode.config import load_config
from glmcode.testing.repos import make_repo
from glmcode.ui.tui.app import GlmcodeApp
from glmcode.ui.tui.widgets.block_stack import BlockStack

API_KEY = "test-key-123"
SIZE = (100, 30)
GLMCODE_BIN = str(Path(sys.executable).with_name("glmcode"))
WAIT_S = 60.0
"""How long a wait lasts before it fails. Generous: on a loaded machine the first request (which
imports the HTTP client) alone can take over 15 s, and a limit is only reached when something is broken."""

__all__ = [
    "API_KEY", "GLMCODE_BIN", "SIZE", "WAIT_S", "make_app", "make_repo", "press", "screen_text", "settle", "settled",
    "submit", "tui_env", "until", "wait_idle",
]


@pytest.fixture
def tui_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """An empty user config folder, no keys or endpoints from the environment."""
    config_dir = tmp_path / "user-config"
    config_dir.mkdir()
    for name in ("GLMCODE_API_KEY", "ZAI_API_KEY", "GLMCODE_BASE_URL", "GLMCODE_MODEL", "GLMCODE_PROVIDER", "GLMCODE_THEME"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("GLMCODE_CONFIG_DIR", str(config_dir))
    return config_dir


def make_app(repo: Path, base_url: str, **flags: Any) -> GlmcodeApp:
    """The app on `repo`, talking to `base_url`; `flags` are config settings (permission_mode, ...)."""
    settings = {"base_url": base_url, "api_key": API_KEY, "retry_initial_s": 0.01, "retry_max_s": 0.05, **flags}
    config = load_config(repo, settings)
    return GlmcodeApp(config, repo, history_path=repo.parent / "prompt_history.jsonl", warm_up=False)


async def until(pilot: Any, predicate: Callable[[], object], timeout: float = WAIT_S, what: str = "") -> None:
    """Let the app run until `predicate()` is true; fail after `timeout` seconds.

    The predicate must be one that only the awaited change can make true (not one that may hold
    already). Polls rather than `pilot.pause()`, which also waits for the process to be idle —
    never, while a turn streams.
    """
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or predicate}")
        await asyncio.sleep(0.02)


def _has_work(node: Any) -> bool:
    """Whether a widget (or the app) has messages waiting, or is not mounted yet."""
    mounting = isinstance(node, Widget) and not node.is_mounted
    return mounting or node.message_queue_size > 0


def settled(app: GlmcodeApp) -> bool:
    """Whether every widget of every screen has handled all it was sent and no streamed text waits to be mounted."""
    nodes = [app, *(node for screen in app.screen_stack for node in screen.walk_children(with_self=True))]
    return not any(_has_work(node) for node in nodes) and not any(node.backlogged for node in nodes if isinstance(node, BlockStack))


async def settle(pilot: Any, timeout: float = WAIT_S) -> None:
    """Until the widgets have settled (see `settled`), and the layout is refreshed.

    Each round is Textual's own wait (`pilot.pause`: every widget handles what it had queued,
    then the screen lays out); rounds repeat until one finds nothing new, because a message
    handled can send others (a key → `Changed` → the completion menu → a mount).
    """
    app = pilot.app
    deadline = time.monotonic() + timeout
    while True:
        await pilot.pause()
        if settled(app):
            return
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for the widgets to settle")


async def wait_idle(pilot: Any, timeout: float = WAIT_S) -> None:
    """Until the app is idle (no job, worker or event left: `GlmcodeApp.idle`) and its widgets settled."""
    app = pilot.app
    await until(pilot, lambda: app.idle, timeout, "the app to be idle")
    await settle(pilot, timeout)


async def press(pilot: Any, *keys: str) -> None:
    """Press `keys`, then wait until everything they set off has settled (not for runs they start)."""
    await pilot.press(*keys)
    await settle(pilot)


async def submit(pilot: Any, text: str) -> None:
    """Type `text` into the prompt and press Enter; return once the app has taken it (`prompts_taken`).

    Its job is then queued or running, or its command has run; this does not wait for either to
    end. (`pilot.press` waits for the app to be idle, which a streaming turn is not.)
    """
    app = pilot.app
    taken = app.prompts_taken
    prompt = app.prompt_input
    prompt.focus()
    prompt.insert(text)
    app.simulate_key("enter")
    await until(pilot, lambda: app.prompts_taken > taken, what=f"the app to take {text!r}")


def screen_text(app: GlmcodeApp) -> str:
    """The text on the screen now (from the SVG screenshot), spaces normalised."""
    svg = app.export_screenshot()
    parts = re.findall(r"<text[^>]*>([^<]*)</text>", svg)
    return re.sub(r"\s+", " ", html.unescape("".join(parts)).replace("\xa0", " "))
