"""The append-only session transcript: `.glmcode/sessions/<id>.jsonl`.

One JSON object a line, written and flushed as things happen, so a crash loses at most the line
being written. Kinds: `session` (first line: who, where, which model — never the API key),
`message` (every message sent to the model, as sent but for redaction), `event` (every event except the
streamed text deltas, which the assistant message holds in full), `compaction` (the conversation
was compacted: the record holds the whole new history and the task, so the switch is one line —
a kill before it or a torn line leaves the old history; `reset`, from older versions, restarted
from the messages that follow). Resume reads the messages back.

A tool's output is stored once: the `tool_result` event holds it, and the `tool` message that
follows (same `tool_call_id`, content equal to the output or to `Error: ` and the output) is
written without `content` (its last key), with `"content_from": "tool_result"` and the `prefix` to put before
the event's output. Reading back restores the exact content from the latest `tool_result` event of
that id before the message. Transcripts written before this (content in both) read as ever.

No secret reaches the file: records pass the session's `Redactor`; events arrive already
redacted (`Session.emit` is the one step every event passes).
"""

from __future__ import annotations

import json
import os
import re
import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from glmcode.config import STATE_DIR, check_state_dir
from glmcode.engine.events import Event, ReasoningDelta, TextDelta, ToolResultEvent
from glmcode.errors import ConfigError
from glmcode.redaction import Redactor

GLMCODE_DIR = STATE_DIR
_GITIGNORE = "# written by glmcode: its sessions and runs stay out of git\n*\n!config.toml\n"
_ID = re.compile(r"^[0-9]{8}-[0-9]{6}-[0-9a-f]{6}$")
_PREFIXES = ("", "Error: ")
"""What may stand before a tool's output in its `tool` message (the agent's `_for_model`)."""


class TranscriptError(ConfigError):
    """A session could not be found or read: a usage error (exit 2) wherever the CLI meets it."""


def glmcode_dir(root: Path) -> Path:
    """`<root>/.glmcode`, created with a .gitignore that keeps sessions and runs out of git.

    Raises `ConfigError` when it is a symlink or not a folder (`config.check_state_dir`): a
    transcript is never written through a link.
    """
    check_state_dir(root)
    folder = root / GLMCODE_DIR
    folder.mkdir(exist_ok=True)
    ignore = folder / ".gitignore"
    if not ignore.exists():
        ignore.write_text(_GITIGNORE, encoding="utf-8")
    return folder


def sessions_dir(root: Path) -> Path:
    folder = glmcode_dir(root) / "sessions"
    folder.mkdir(exist_ok=True)
    return folder


def new_session_id() -> str:
    """Sortable by time, unique by a random suffix: `20261122-013000-a1b2c3`."""
    return time.strftime("%Y%m%d-%H%M%S") + "-" + secrets.token_hex(3)


class Transcript:
    """Appends records to one session's JSONL file."""

    def __init__(self, path: Path, redactor: Redactor | None = None) -> None:
        """Open `path` for appending; `redactor` hides secrets in every record but events."""
        self.path = path
        torn = not _ends_cleanly(path)
        self._file = open(path, "a", encoding="utf-8")
        if torn:  # a crash cut the last line: end it, so the next record is not glued onto it
            self._file.write("\n")
            self._file.flush()
        self._redactor = redactor or Redactor({})
        self._outputs: dict[str, str] = {}
        """Output of each `tool_result` event written whose `tool` message has not come yet, by call id."""

    def write(self, record: dict[str, Any]) -> None:
        """Append one record (a JSON object), its secrets redacted, and flush it."""
        self._append(self._redactor.value(record))

    def message(self, message: dict[str, Any]) -> None:
        """Record a message as sent to the model (secrets redacted); a tool result whose content the
        `tool_result` event just written already holds refers to it instead of repeating it."""
        record: dict[str, Any] = self._redactor.value({"kind": "message", "message": message})
        saved: dict[str, Any] = record["message"]
        output = self._outputs.pop(str(saved.get("tool_call_id")), None) if saved.get("role") == "tool" else None
        content = saved.get("content")
        if output is not None and isinstance(content, str) and list(saved)[-1] == "content":
            prefix = content[: len(content) - len(output)] if content.endswith(output) else None
            if prefix in _PREFIXES:
                record["message"] = {k: v for k, v in saved.items() if k != "content"}
                record["content_from"] = "tool_result"
                if prefix:
                    record["prefix"] = prefix
        self._append(record)

    def compaction(self, messages: list[dict[str, Any]], task: str | None, instruction: str | None = None) -> None:
        """Record a compacted history as one line: resume replays `messages`, then what follows.
        `task` is the original task, `instruction` the latest instruction the compaction quoted
        (both kept for the next compaction; the task also for session listings)."""
        self.write({"kind": "compaction", "task": task, "instruction": instruction, "messages": messages})

    def event(self, event: Event) -> None:
        """Record an event, deltas excepted. The event must be redacted already (`Session.emit`
        does it, once for stdout, the TUI and this file alike)."""
        if not isinstance(event, (ReasoningDelta, TextDelta)):
            data = event.model_dump(mode="json")
            if isinstance(event, ToolResultEvent):
                self._outputs[event.id] = event.output
            self._append({"kind": "event", "event": data})

    def _append(self, record: dict[str, Any]) -> None:
        self._file.write(json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n")
        self._file.flush()

    def close(self) -> None:
        if not self._file.closed:
            self._file.flush()
            os.fsync(self._file.fileno())
            self._file.close()


@dataclass
class SavedSession:
    """What a transcript holds, read back."""

    id: str
    path: Path
    meta: dict[str, Any]
    messages: list[dict[str, Any]]
    events: list[dict[str, Any]]
    task: str | None = None
    """The original task as the last compaction recorded it (None: never compacted)."""
    instruction: str | None = None
    """The latest instruction the last compaction quoted (None: none, or never compacted)."""

    @property
    def first_prompt(self) -> str:
        """The task the session began with (its first user message, or the one a compaction kept)."""
        if self.task is not None:
            return self.task
        for message in self.messages:
            if message.get("role") == "user":
                return str(message.get("content", ""))
        return ""

    @property
    def stopped_on_overflow(self) -> bool:
        """Whether the provider's last word was a context overflow that no compaction followed
        (a resume compacts first instead of sending the same body again)."""
        pending = False
        for event in self.events:
            if event.get("type") == "compaction":
                pending = False
            elif event.get("type") == "error" and event.get("kind") == "context_overflow":
                pending = True
        return pending

    @property
    def last_result(self) -> dict[str, Any] | None:
        for event in reversed(self.events):
            if event.get("type") == "result":
                return event
        return None


def read_session(root: Path, session_id: str) -> SavedSession:
    """Read a session back; a torn last line (crash mid-write) is ignored.

    Lines that are not UTF-8 JSON objects are skipped (torn writes). Raises `TranscriptError` (a
    usage error, exit 2) naming the line for a record glmcode cannot trust: a record of the wrong
    shape, or a message the model API would refuse (no role, a tool call without an id).
    """
    if not _ID.match(session_id):
        raise TranscriptError(f"{session_id!r} is not a session id (like 20261122-013000-a1b2c3); see `glmcode sessions`")
    path = root / GLMCODE_DIR / "sessions" / f"{session_id}.jsonl"
    if not path.is_file():
        raise TranscriptError(f"no session {session_id} in {root}; see `glmcode sessions`")
    meta: dict[str, Any] = {}
    messages: list[dict[str, Any]] = []
    events: list[dict[str, Any]] = []
    task: str | None = None
    instruction: str | None = None
    outputs: dict[str, str] = {}
    for number, record in _records(path):
        kind = record.get("kind")
        if kind == "session":
            meta = record
        elif kind == "message":
            message = record.get("message")
            if record.get("content_from") == "tool_result":
                message = _with_output(record, outputs, path, number)
            messages.append(_checked_message(message, path, number))
        elif kind == "reset":
            messages.clear()
        elif kind == "compaction":
            history = record.get("messages")
            if not isinstance(history, list):
                raise TranscriptError(f"{path}:{number}: a compaction record without its messages")
            messages = [_checked_message(message, path, number) for message in history]
            task = record.get("task") if isinstance(record.get("task"), str) else None
            instruction = record.get("instruction") if isinstance(record.get("instruction"), str) else None
        elif kind == "event":
            event = record.get("event")
            if not isinstance(event, dict):
                raise TranscriptError(f"{path}:{number}: an event record without an event object")
            if event.get("type") == "tool_result" and isinstance(event.get("id"), str) and isinstance(event.get("output"), str):
                outputs[event["id"]] = event["output"]
            events.append(event)
    return SavedSession(session_id, path, meta, messages, events, task, instruction)


def list_sessions(root: Path) -> list[SavedSession]:
    """Every session of this workspace, newest first; one that cannot be read is listed with
    `meta["unreadable"]` set to the reason instead of breaking the whole list."""
    folder = root / GLMCODE_DIR / "sessions"
    if not folder.is_dir():
        return []
    ids = sorted((p.stem for p in folder.glob("*.jsonl") if _ID.match(p.stem)), reverse=True)
    sessions = []
    for session_id in ids:
        try:
            sessions.append(read_session(root, session_id))
        except TranscriptError as exc:
            path = folder / f"{session_id}.jsonl"
            sessions.append(SavedSession(session_id, path, {"unreadable": str(exc)}, [], []))
    return sessions


def latest_session_id(root: Path) -> str | None:
    folder = root / GLMCODE_DIR / "sessions"
    ids = sorted(p.stem for p in folder.glob("*.jsonl") if _ID.match(p.stem)) if folder.is_dir() else []
    return ids[-1] if ids else None


def _ends_cleanly(path: Path) -> bool:
    """True when `path` is missing, empty, or ends with a complete line."""
    try:
        with open(path, "rb") as handle:
            if handle.seek(0, os.SEEK_END) == 0:
                return True
            handle.seek(-1, os.SEEK_END)
            return handle.read(1) == b"\n"
    except FileNotFoundError:
        return True


def _with_output(record: dict[str, Any], outputs: dict[str, str], path: Path, number: int) -> dict[str, Any]:
    """A `tool` message stored without its content, its content put back from the `tool_result`
    event it refers to; `TranscriptError` when there is no such event before it."""
    message, prefix = record.get("message"), record.get("prefix", "")
    call_id = message.get("tool_call_id") if isinstance(message, dict) else None
    if not isinstance(message, dict) or not isinstance(call_id, str) or call_id not in outputs or prefix not in _PREFIXES:
        raise TranscriptError(f"{path}:{number}: a tool result that refers to a tool_result event the transcript does not hold")
    return {**message, "content": prefix + outputs[call_id]}


_ROLES = frozenset({"system", "user", "assistant", "tool"})


def _checked_message(message: object, path: Path, number: int) -> dict[str, Any]:
    """`message` if it has the shape the model API takes back; `TranscriptError` otherwise."""
    where = f"{path}:{number}"
    if not isinstance(message, dict) or message.get("role") not in _ROLES:
        raise TranscriptError(f"{where}: a message record without a message of role system, user, assistant or tool")
    if not isinstance(message.get("content", ""), (str, type(None))):
        raise TranscriptError(f"{where}: a message whose content is not text")
    if message["role"] == "tool" and not isinstance(message.get("tool_call_id"), str):
        raise TranscriptError(f"{where}: a tool result without a tool_call_id")
    calls = message.get("tool_calls")
    if calls is not None:
        if not isinstance(calls, list):
            raise TranscriptError(f"{where}: tool_calls is not a list")
        for call in calls:
            function = call.get("function") if isinstance(call, dict) else None
            if not (isinstance(call, dict) and isinstance(call.get("id"), str) and call["id"]
                    and isinstance(function, dict) and isinstance(function.get("name"), str)):
                raise TranscriptError(f"{where}: a tool call without an id or a function name")
    return message


def _records(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, record) for each line that is a UTF-8 JSON object.

    Other lines are skipped: a crash mid-write tears the last line, and a resumed session ends
    that line and goes on after it, so torn lines can stand anywhere.
    """
    for index, raw in enumerate(path.read_bytes().split(b"\n")):
        try:
            record = json.loads(raw.decode("utf-8")) if raw.strip() else None
        except ValueError:  # UnicodeDecodeError and JSONDecodeError are both ValueErrors
            continue
        if isinstance(record, dict):
            yield index + 1, record
