"""Prompt history for Up/Down in the input, kept across sessions in the user's config folder."""

from __future__ import annotations

import json
from pathlib import Path

LIMIT = 500


def default_path() -> Path:
    """`prompt_history.jsonl` beside the user's `config.toml` (so `GLMCODE_CONFIG_DIR` moves it too)."""
    from glmcode.config import user_config_path

    return user_config_path().parent / "prompt_history.jsonl"


class PromptHistory:
    """Sent prompts, oldest first, with a cursor for browsing; the draft being typed is kept aside."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path
        self.entries: list[str] = self._load()
        self._index = len(self.entries)
        self._draft = ""

    def _load(self) -> list[str]:
        if self.path is None or not self.path.is_file():
            return []
        entries = []
        try:
            for line in self.path.read_text(encoding="utf-8").splitlines()[-LIMIT:]:
                try:
                    value = json.loads(line)
                except ValueError:
                    continue
                if isinstance(value, str) and value:
                    entries.append(value)
        except OSError:
            return []
        return entries

    def add(self, text: str) -> None:
        """Remember a sent prompt (not twice in a row) and reset browsing."""
        if text and (not self.entries or self.entries[-1] != text):
            self.entries.append(text)
            del self.entries[:-LIMIT]
            self._save(text)
        self._index = len(self.entries)
        self._draft = ""

    def _save(self, text: str) -> None:
        if self.path is None:
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with open(self.path, "a", encoding="utf-8") as handle:
                handle.write(json.dumps(text, ensure_ascii=False) + "\n")
        except OSError:
            self.path = None

    def previous(self, current: str) -> str | None:
        """The entry before the one shown, or None at the oldest; `current` is kept as the draft."""
        if self._index == 0:
            return None
        if self._index == len(self.entries):
            self._draft = current
        self._index -= 1
        return self.entries[self._index]

    def next(self) -> str | None:
        """The entry after the one shown, the draft after the newest, or None when not browsing."""
        if self._index >= len(self.entries):
            return None
        self._index += 1
        return self.entries[self._index] if self._index < len(self.entries) else self._draft
