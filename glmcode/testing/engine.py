"""The engine in-process, for tests and benchmarks: a `Session` on the scripted server, its events kept.

Running the real `glmcode` command costs a process and the `openai` import (about a second) per
run; behaviour of the engine — the agent loop, goal stages, compaction, budgets, resume, retries,
permissions — is tested here instead, through the same `Session` the command uses::

    with GLMServer([ScriptedTurn(content="hi")]) as server:
        engine = Engine(repo, server.url)
        run = engine.run("say hi")
        assert run.returncode == 0 and run.result["summary"] == "hi"

Events are kept as the JSON objects `--output-format stream-json` prints, so a test reads them
the way a script reading glmcode's output would.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic_settings import BaseSettings, PydanticBaseSettingsSource

from glmcode import prompts
from glmcode.config import Config, Settings, resolve
from glmcode.engine.events import Event, Result
from glmcode.engine.session import ClientFactory, Session
from glmcode.engine.transcript import read_session
from glmcode.model.client import GLMClient
from glmcode.rules.permissions import Approver
from glmcode.testing.glm_http import RecordedRequest
from glmcode.testing.glm_script import ScriptedToolCall, ScriptedTurn

API_KEY = "test-key-5f3a9c1d"
"""The key test sessions send (long enough to be redacted wherever glmcode hides the key)."""

FAST_RETRIES: dict[str, Any] = {"retry_initial_s": 0.01, "retry_max_s": 0.05}
"""Retry waits short enough for tests (the real defaults wait a second and more)."""


def call(name: str, **arguments: Any) -> ScriptedToolCall:
    """A scripted tool call with these arguments (sent as compact JSON, the way GLM sends them)."""
    return ScriptedToolCall(name=name, arguments=arguments)


def messages_of(request: RecordedRequest) -> list[dict[str, Any]]:
    """The `messages` of a request the scripted server received."""
    return request.json["messages"]


def is_summary_request(request_json: Any) -> bool:
    """Whether a request (its parsed JSON) asks for a compaction summary: its last message
    carries the compaction instruction (`prompts/compact.md`)."""
    messages = request_json.get("messages") if isinstance(request_json, dict) else None
    if not messages:
        return False
    return prompts.load("compact.md") in str(messages[-1].get("content") or "")


def answer_summaries(text: str = "Summary: work so far recorded.") -> Callable[[dict[str, Any]], ScriptedTurn | None]:
    """A `GLMServer.side_answers` that answers every compaction summary request with `text`
    (numbered, so each summary is told apart) and leaves every other request to the queue."""
    count = 0

    def answer(request_json: dict[str, Any]) -> ScriptedTurn | None:
        nonlocal count
        if not is_summary_request(request_json):
            return None
        count += 1
        return ScriptedTurn(content=f"{text} (summary {count})")

    return answer


class _GivenSettings(Settings):
    """Settings from the arguments only: no environment variables, no config files."""

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings,)


def config_from(settings: dict[str, Any]) -> Config:
    """A `Config` from `settings` (field names of `Settings`) and the preset defaults only.

    Hermetic: the environment and config files are not read. Raises `ConfigError` like
    `load_config` for an unknown provider or a missing key, and pydantic's `ValidationError`
    for a bad value.
    """
    return resolve(_GivenSettings(**settings))


class EventLog:
    """An `Emit` callback that keeps every event as the JSON object stream-json would print."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []

    def __call__(self, event: Event) -> None:
        self.events.append(json.loads(event.to_json()))

    @property
    def types(self) -> list[str]:
        """The `type` of every event so far, in order."""
        return [event["type"] for event in self.events]

    def of_type(self, kind: str) -> list[dict[str, Any]]:
        """The events of one `type`, in order."""
        return [event for event in self.events if event["type"] == kind]

    @property
    def result(self) -> dict[str, Any]:
        """The one `result` event; AssertionError if there is not exactly one."""
        results = self.of_type("result")
        assert len(results) == 1, f"expected exactly one result event, got {len(results)}: {self.types}"
        return results[0]


@dataclass
class EngineRun:
    """What one run of a session did: its returned `Result`, its events, and the session (closed)."""

    returned: Result
    log: EventLog
    session: Session

    @property
    def returncode(self) -> int:
        """The exit code `glmcode run` would have left with."""
        return self.returned.exit_code

    @property
    def events(self) -> list[dict[str, Any]]:
        return self.log.events

    def of_type(self, kind: str) -> list[dict[str, Any]]:
        return self.log.of_type(kind)

    @property
    def result(self) -> dict[str, Any]:
        """The one `result` event, checked to be the last event and to match what `run` returned."""
        result = self.log.result
        assert self.log.types[-1] == "result", f"the result is not the last event: {self.log.types}"
        assert result == json.loads(self.returned.to_json()), "the emitted result differs from the returned one"
        return result


class Engine:
    """Builds sessions on one workspace that talk to one (scripted) server, as `glmcode run` would.

    `defaults` are settings every session gets (on top of the URL, the test key and fast
    retries); each call may add or override settings.
    """

    def __init__(self, root: Path, base_url: str, **defaults: Any) -> None:
        self.root = root
        self.defaults: dict[str, Any] = {"base_url": base_url, "api_key": API_KEY, **FAST_RETRIES, **defaults}

    def config(self, **settings: Any) -> Config:
        """The config a session of this engine gets with `settings` on top of the defaults."""
        return config_from({**self.defaults, **settings})

    def session(
        self,
        *,
        root: Path | None = None,
        resume: str | None = None,
        approver: Approver | None = None,
        emit: Callable[[Event], None] | None = None,
        client_factory: ClientFactory = GLMClient,
        **settings: Any,
    ) -> tuple[Session, EventLog]:
        """A new session (not started) and the log its events go to.

        `resume` is a saved session's id, read from the workspace's transcripts; `emit`, if
        given, is called with every event after the log has kept it (e.g. to inject a fault).
        """
        root = root or self.root
        log = EventLog()

        def both(event: Event) -> None:
            log(event)
            if emit is not None:
                emit(event)

        saved = read_session(root, resume) if resume else None
        session = Session(self.config(**settings), root, both, approver=approver, resume=saved, client_factory=client_factory)
        return session, log

    def run(self, prompt: str | None, **options: Any) -> EngineRun:
        """`glmcode run PROMPT`: a new session runs `prompt` to its result, then is closed."""
        session, log = self.session(**options)
        return self._finish(session, log, lambda: session.run(prompt))

    def run_goal(self, goal: str, verify: list[str] | None = None, **options: Any) -> EngineRun:
        """`glmcode run --goal GOAL [--verify CMD ...]`."""
        session, log = self.session(**options)
        return self._finish(session, log, lambda: session.run_goal(goal, verify))

    def resume(self, session_id: str, prompt: str | None = None, **options: Any) -> EngineRun:
        """`glmcode run --resume ID [PROMPT]`."""
        session, log = self.session(resume=session_id, **options)
        return self._finish(session, log, lambda: session.run_resumed(prompt))

    @staticmethod
    def _finish(session: Session, log: EventLog, run: Callable[[], Result]) -> EngineRun:
        try:
            returned = run()
        finally:
            session.close()
        return EngineRun(returned, log, session)


__all__ = [
    "API_KEY",
    "FAST_RETRIES",
    "Engine",
    "EngineRun",
    "EventLog",
    "answer_summaries",
    "call",
    "config_from",
    "is_summary_request",
    "messages_of",
]
