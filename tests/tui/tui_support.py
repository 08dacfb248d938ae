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

from glmcode.config import load_config
from glmcode.testing.repos import make_repo
from glmcode.ui.tui.app import GlmcodeApp

API_KEY = "test-key-123"
SIZE = (100, 30)
GLMCODE_BIN = str(Path(sys.executable).with_name("glmcode"))

__all__ = ["API_KEY", "GLMCODE_BIN", "SIZE", "make_app", "make_repo", "screen_text", "submit", "tui_env", "until", "wait_idle"]


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


async def until(pilot: Any, predicate: Callable[[], object], timeout: float = 15.0, what: str = "") -> None:
    """Let the app run until `predicate()` is true; fail after `timeout` seconds.

    Sleeps rather than `pilot.pause()`, which also waits for the app to be idle — never, while
    a turn streams.
    """
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or predicate}")
        await asyncio.sleep(0.02)


async def wait_idle(pilot: Any, timeout: float = 15.0) -> None:
    """Until no job runs, no event waits in the bridge, and nothing is left to mount."""
    app = pilot.app

    def idle() -> bool:
        turns = app.conversation.exchanges
        return not app.busy and not app.bridge.pending and all(turn.settled for turn in turns)

    await until(pilot, idle, timeout, "the app to be idle")
    await pilot.pause(0.05)


async def submit(pilot: Any, text: str) -> None:
    """Type `text` into the prompt and press Enter, without waiting for what it starts to end.

    (`pilot.press` waits for the app to be idle, which a streaming turn is not.)
    """
    app = pilot.app
    prompt = app.prompt_input
    prompt.focus()
    prompt.insert(text)
    app.simulate_key("enter")
    await until(pilot, lambda: prompt.text == "", what=f"{text!r} to be sent")


def screen_text(app: GlmcodeApp) -> str:
    """The text on the screen now (from the SVG screenshot), spaces normalised."""
    svg = app.export_screenshot()
    parts = re.findall(r"<text[^>]*>([^<]*)</text>", svg)
    return re.sub(r"\s+", " ", html.unescape("".join(parts)).replace("\xa0", " "))
