"""A session: one conversation in one workspace, its transcript, and how a run of it ends.

The session wires the parts together — config, rules, tools' context, permissions, budget,
client, conversation, transcript — and turns the ways a run can end into one `Result` event
with the exit code of DESIGN.md §3. Front ends give it an `Emit` callback and read events.
"""

from __future__ import annotations

import platform
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from glmcode import __version__, prompts
from glmcode.config import Config
from glmcode.engine.agent import Agent, Interrupted, ModelGaveUp
from glmcode.engine.budget import Budget, BudgetExhausted
from glmcode.engine.events import (
    Emit,
    Error,
    Event,
    ReasoningDelta,
    Result,
    ResultStatus,
    Retry,
    SessionStart,
    TextDelta,
)
from glmcode.engine.transcript import SavedSession, Transcript, new_session_id, sessions_dir
from glmcode.model.client import APIFailure, GLMClient, request_head
from glmcode.model.conversation import Conversation
from glmcode.redaction import Redactor
from glmcode.rules.agent_md import Rules, load_rules
from glmcode.rules.permissions import Approver, Permissions
from glmcode.tools.base import ToolContext
from glmcode.tools.registry import ToolRegistry

if TYPE_CHECKING:
    from glmcode.engine.goal_state import GoalState

_DELTAS: dict[str, type[TextDelta | ReasoningDelta]] = {"text": TextDelta, "reasoning": ReasoningDelta}
"""Delta event class by its `type`, to rebuild the fragments `RedactingStream` passes on."""

EXIT_CODES: dict[ResultStatus, int] = {"success": 0, "failed": 1, "error": 3, "budget_exhausted": 4, "interrupted": 130}


class Session:
    """One conversation with the model in one workspace."""

    def __init__(
        self,
        config: Config,
        root: Path,
        emit: Emit,
        *,
        approver: Approver | None = None,
        resume: SavedSession | None = None,
    ) -> None:
        self.config = config
        self.root = root.resolve()
        self.id = resume.id if resume else new_session_id()
        self._emit_out = emit
        self.rules: Rules = load_rules(self.root)
        self.redactor = Redactor.for_session(config.api_key)
        """Hides the API key and secret-looking environment values from every event, message and report."""
        self._deltas = self.redactor.stream()
        self.transcript = Transcript(sessions_dir(self.root) / f"{self.id}.jsonl", self.redactor)
        settings = config.settings
        self.tools = ToolRegistry()
        """This session's tools: the built-ins, then any added at run time."""
        self.ctx = ToolContext(
            root=self.root, rules=self.rules, shell_timeout=settings.shell_timeout_s, output_chars=settings.tool_output_chars
        )
        self.permissions = Permissions(mode=settings.permission_mode, approver=approver)
        self.budget = Budget(settings.max_turns, settings.max_cost, settings.timeout)
        self.conversation = Conversation(request_head(config, self.tools.schemas()))
        self.agent = Agent(
            client=GLMClient(config, on_retry=self._on_retry),
            conversation=self.conversation,
            tools=self.tools,
            ctx=self.ctx,
            permissions=self.permissions,
            budget=self.budget,
            emit=self.emit,
            record=self.transcript.message,
            prices=config.prices,
            redactor=self.redactor,
            context_window=config.context_window,
            record_reset=self.transcript.reset,
            checkpoint=self._checkpoint,
        )
        self._run_started = 0
        self._undone_runs: set[int] = set()
        if resume is None:
            self.transcript.write(self._meta())
            self.agent.append({"role": "system", "content": self.system_prompt()})
        else:
            self._restore(resume)
        self.emit(SessionStart(model=config.model, provider=config.provider.name, cwd=str(self.root), resumed=resume is not None))

    def emit(self, event: Event) -> None:
        """Redact the event, stamp the session id, write it to the transcript, pass it to the front end.

        The one redaction step of DESIGN.md §6: what goes on is a redacted copy (`event` itself is
        left as it is). Streamed deltas go through `RedactingStream`, so a secret split across
        fragments is caught too; text it holds back is released before the next other event.
        """
        if isinstance(event, (TextDelta, ReasoningDelta)):
            for channel, text in self._deltas.feed(event.type, event.text):
                self._emit_redacted(event.model_copy(update={"text": text}) if channel == event.type else _DELTAS[channel](text=text))
            return
        for channel, text in self._deltas.flush():
            self._emit_redacted(_DELTAS[channel](text=text))
        self._emit_redacted(self.redactor.value(event))

    def _emit_redacted(self, event: Event) -> None:
        event.session_id = self.id
        self.transcript.event(event)
        self._emit_out(event)

    def system_prompt(self) -> str:
        """The system prompt: fixed for the session, so the provider's cache keeps it."""
        if self.rules.sources:
            declared = "".join(f"\n- `{name}`: `{command}`" for name, command in self.rules.commands.items())
            rules = prompts.render(
                "rules_header.md",
                commands=f"\n\nCommands it declares (lint and run_tests run `lint` and `test`):{declared}" if declared else "",
                text=self.rules.text,
            )
        else:
            rules = prompts.load("no_rules.md")
        return prompts.render("system.md", cwd=self.root, system=f"{platform.system()} {platform.machine()}", rules=rules)

    def run(self, prompt: str | None) -> Result:
        """Send `prompt` (or continue a resumed session) until the model stops; emit the `Result`."""

        def work() -> tuple[ResultStatus, str, dict[str, Any]]:
            if prompt:
                self.agent.say(prompt)
            return "success", self.agent.run_until_idle().content.strip(), {}

        return self._guarded(work)

    def run_goal(self, state: GoalState) -> Result:
        """Run (or continue) a goal through its stages; emit the `Result`."""
        from glmcode.engine.goal import GoalRunner

        return self._guarded(GoalRunner(self, state).run)

    def _guarded(self, work: Callable[[], tuple[ResultStatus, str, dict[str, Any]]]) -> Result:
        """Run `work`, turning every way it can end into one `Result` with its exit code."""
        self.agent.begin_run()
        self._run_started = time.time_ns()
        timer = self._start_timeout()
        extra: dict[str, Any] = {}
        try:
            status, summary, extra = work()
        except ModelGaveUp as exc:
            status, summary = "failed", f"the model gave up: {exc}"
        except BudgetExhausted as exc:
            status, summary = "budget_exhausted", f"{exc}; resume with `glmcode run --resume {self.id}`"
        except APIFailure as exc:
            status, summary = "error", exc.describe(self.config.provider.name)
            self.emit(Error(kind=exc.kind, message=summary))
        except (Interrupted, KeyboardInterrupt):
            status, summary = "interrupted", f"interrupted; resume with `glmcode run --resume {self.id}`"
        finally:
            if timer:
                timer.cancel()
        return self.finish(status, summary, **extra)

    def finish(self, status: ResultStatus, summary: str, **extra: Any) -> Result:
        """Emit the one `Result` of this run and flush the transcript."""
        usage = self.agent.run_usage
        result = Result(
            status=status,
            exit_code=EXIT_CODES[status],
            summary=summary,
            usage=usage.model_copy(),
            cached_share=round(usage.cached_share, 4),
            turns=self.agent.run_turns,
            duration_s=round(self.budget.elapsed(), 3),
            transcript_path=str(self.transcript.path),
            **extra,
        )
        self.emit(result)
        return result

    def run_plan(self, task: str) -> Result:
        """A read-only planning turn (the TUI's /plan): the model may explore and submit a plan."""
        self.permissions.read_only_reason = prompts.load("goal/plan_read_only.md")
        try:
            return self.run(prompts.render("plan_command.md", task=task))
        finally:
            self.permissions.read_only_reason = None

    def reconfigure(self, **changes: Any) -> None:
        """Change settings mid-session (effort, model, thinking): the request head is rebuilt.

        This is the one change that breaks the provider's prefix cache, so the next request
        pays for the whole history again.
        """
        from glmcode.config import resolve

        settings = self.config.settings.model_copy(update=changes)
        self.config = resolve(settings)
        self.agent.client.reconfigure(self.config)
        self.conversation.set_head(request_head(self.config, self.tools.schemas()))

    def undo_last_run(self) -> list[str] | None:
        """Put the workspace back as it was before this session's last run that changed files.

        Returns the changes taken back (None if there was nothing to undo) and tells the model,
        so it does not go on believing its edits are there. Each undo goes one run further back.
        """
        from glmcode.tools import checkpoints

        saved = [c for c in checkpoints.list_all(self.root) if c.run not in self._undone_runs]
        target = checkpoints.last_run_start(saved, session=self.id)
        if target is None:
            return None
        changes = checkpoints.restore(self.root, target)
        self._undone_runs.add(target.run)
        listed = "\n".join(f"- {line}" for line in changes) or "- nothing differed"
        self.agent.say(prompts.render("undone.md", label=target.label, changes=listed))
        return changes

    def new_goal(self, goal: str, verify: list[str] | None = None) -> GoalState:
        """A fresh goal state: verify commands from AGENT.md, then config, then `verify`, deduplicated."""
        from glmcode.engine.goal_state import GoalState

        settings = self.config.settings
        commands = [*self.rules.verify_commands, *settings.verify, *(verify or [])]
        return GoalState(goal=goal, max_fix_rounds=settings.max_fix_rounds, verify_commands=list(dict.fromkeys(commands)))

    def interrupt(self) -> None:
        """Stop the running turn and tools (SIGINT/SIGTERM, Esc)."""
        self.agent.interrupt()

    def close(self) -> None:
        self.transcript.close()

    def _checkpoint(self, label: str) -> None:
        """Save the work tree before a change, so `glmcode undo` can take it back (best effort)."""
        from glmcode.tools import checkpoints

        try:
            checkpoints.create(self.root, self.id, self._run_started, label)
        except Exception as exc:  # a checkpoint failing must never stop the work
            self.emit(Error(kind="checkpoint", message=f"could not save a checkpoint: {exc}"))

    def _on_retry(self, attempt: int, reason: str, wait_s: float) -> None:
        self.emit(Retry(attempt=attempt, reason=reason, wait_s=wait_s))

    def _start_timeout(self) -> threading.Timer | None:
        remaining = self.budget.remaining_s()
        if remaining is None:
            return None
        message = f"the time budget ran out (--timeout {self.budget.timeout_s:.0f} s)"
        timer = threading.Timer(remaining, self.agent.interrupt, args=(BudgetExhausted, message))
        timer.daemon = True
        timer.start()
        return timer

    def _meta(self) -> dict[str, Any]:
        return {
            "kind": "session",
            "id": self.id,
            "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "cwd": str(self.root),
            "provider": self.config.provider.name,
            "model": self.config.model,
            "base_url": self.config.base_url,
            "version": __version__,
        }

    def _restore(self, record: SavedSession) -> None:
        """Replay a transcript's messages (redacted with this session's secrets: the transcript
        may be older than a key); tool calls left without a result get one saying so."""
        pending: list[str] = []
        for message in map(self.redactor.value, record.messages):
            if message.get("role") == "tool" and message.get("tool_call_id") in pending:
                pending.remove(message["tool_call_id"])
            elif pending:
                self._close_pending(pending)
            self.conversation.append(message)
            if message.get("role") == "assistant":
                pending = [call["id"] for call in message.get("tool_calls") or ()]
        self._close_pending(pending)

    def _close_pending(self, pending: list[str]) -> None:
        for call_id in pending:
            self.agent.append({"role": "tool", "tool_call_id": call_id, "content": "Error: not run: the session stopped before this tool ran"})
        pending.clear()

    @property
    def needs_prompt(self) -> bool:
        """True when the conversation ended with the model's answer, so continuing needs a new prompt."""
        return self.conversation.last_role in (None, "system", "assistant")
