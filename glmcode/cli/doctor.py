"""`glmcode doctor`: check what a run needs, one line per check."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from glmcode.config import ConfigError, load_config, load_settings, resolve
from glmcode.rules.agent_md import load_rules
from glmcode.wording import plural

Check = tuple[bool, str]


def key_hint(key: str) -> str:
    """What of the key `doctor` shows: its first 3 and last 2 characters when that is at most a
    quarter of it (a key of 20+ characters), else nothing of it."""
    return f"{key[:3]}…{key[-2:]}" if len(key) >= 20 else "hidden: too short to show any of it"


def run_checks(root: Path, flags: dict[str, Any], *, offline: bool = False) -> Iterator[Check]:
    """Yield (passed, line) for config, key, endpoint, git, rules and sandbox."""
    try:
        settings = load_settings(root, flags)
        config = resolve(settings, require_key=False)
    except ConfigError as exc:
        yield False, f"config: {exc}"
        return
    yield True, f"config: provider {config.provider.name}, model {config.model}, {config.base_url}"
    if not config.provider.function_calling:
        from glmcode.providers import no_function_calling

        yield False, "tools: " + no_function_calling(config.provider, "`glmcode run` and goal mode") + "; the TUI chats without tools"
    if config.api_key:
        yield True, f"API key: set ({key_hint(config.api_key)}, {plural(len(config.api_key), 'character')})"
    else:
        yield False, "API key: missing (set GLMCODE_API_KEY or ZAI_API_KEY)"
    if not offline and config.api_key:
        yield _check_endpoint(root, flags)
    yield from _check_git(root)
    rules = load_rules(root)
    if rules.sources:
        commands = ", ".join(f"{k}: {v}" for k, v in rules.commands.items()) or "none declared"
        yield True, f"rules: {', '.join(str(p) for p in rules.sources)} (commands: {commands})"
        for rule in rules.unenforced:
            yield True, f"rules: not enforced by the harness (the model reads it): {rule}"
    else:
        yield True, "rules: no AGENT.md, AGENTS.md or CLAUDE.md found"
    bwrap = shutil.which("bwrap")
    yield bwrap is not None, f"sandbox: bubblewrap {'at ' + bwrap if bwrap else 'not installed (apt-get install bubblewrap)'}"


def _check_endpoint(root: Path, flags: dict[str, Any]) -> Check:
    config = load_config(root, flags)
    try:
        import openai

        client = openai.OpenAI(api_key=config.api_key, base_url=config.base_url, max_retries=0, timeout=10.0)
        models = [m.id for m in client.models.list()]
    except Exception as exc:  # any failure is the check's answer, reported in one line
        return False, f"endpoint: {config.base_url} did not answer /models: {type(exc).__name__}: {exc}"
    listed = "listed" if config.model in models else "not listed (it may still work)"
    return True, f"endpoint: {config.base_url} answers; model {config.model} {listed}"


def _check_git(root: Path) -> Iterator[Check]:
    git = shutil.which("git")
    if git is None:
        yield False, "git: not installed"
        return
    inside = subprocess.run(["git", "-C", str(root), "rev-parse", "--show-toplevel"], capture_output=True, text=True)
    if inside.returncode != 0:
        yield False, f"git: {root} is not inside a git repository (undo and diffs need one)"
    else:
        yield True, f"git: repository at {inside.stdout.strip()}"
