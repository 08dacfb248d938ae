"""The interactive session: `GlmcodeApp` and `run_tui`, what `glmcode [PROMPT]` runs.

The engine is blocking, so everything that touches the session runs as a job (`jobs.Job`) on a
thread worker, one job at a time in the order asked (prompts sent during a run wait their turn);
slash commands are handled in `slash.SlashCommandHandlers`. The engine's
`emit` is `EventBridge.put`: events reach the UI thread in frame-sized batches and are applied
by `_apply`. Markers the app itself sends from the engine thread (a job finished, an approval
is needed, the session opened) travel in the same queue, so they keep their place among events.
"""

from __future__ import annotations

import asyncio
import gc
import os
import signal
import threading
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from functools import partial
from pathlib import Path
from time import monotonic
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import ValidationError
from rich.text import Text
from textual.app import App
from textual.await_remove import AwaitRemove
from textual.binding import Binding, BindingType
from textual.containers import Container
from textual.message import Message
from textual.timer import Timer
from textual.widgets import Static

from glmcode.config import API_KEY_VARIABLES
from glmcode.engine.events import (
    Compaction,
    Error,
    Plan,
    ReasoningDelta,
    Result,
    Retry,
    SessionStart,
    Stage,
    TextDelta,
    ToolCall,
    ToolResultEvent,
    Usage,
    UsageTotals,
    Verify,
)
from glmcode.ui import present
from glmcode.ui.tui import slash_commands
from glmcode.ui.tui.bridge import EventBridge
from glmcode.ui.tui.completion import PathIndex
from glmcode.ui.tui.history import PromptHistory, default_path
from glmcode.ui.tui.jobs import Job, UiCall
from glmcode.ui.tui.markdown import MARKDOWN_THEME
from glmcode.ui.tui.replay import replay_text
from glmcode.ui.tui.screens.approval import ApprovalScreen
from glmcode.ui.tui.slash import SlashCommandHandlers
from glmcode.ui.tui.widgets.conversation import ConversationView, Welcome, welcome_text
from glmcode.ui.tui.widgets.exchange import ExchangeView
from glmcode.ui.tui.widgets.plan_panel import PlanPanel
from glmcode.ui.tui.widgets.prompt_input import PromptArea, PromptInput
from glmcode.ui.tui.widgets.status_bar import StatusBar

if TYPE_CHECKING:
    from glmcode.config import Config
    from glmcode.engine.session import Decision, Session
    from glmcode.engine.transcript import SavedSession

QUIT_WINDOW_S = 3.0
FRAME_S = 1 / 60
FREEZE_EVERY_S = 0.5
MAX_CHARS_PER_FRAME = 8_000
"""Streamed text applied per frame at most; a burst beyond it is spread over the next frames."""


class EventsPending(Message):
    """The bridge holds events for the UI (posted at most once per batch)."""


def pick_theme() -> str:
    """`GLMCODE_THEME` if set; else the ANSI theme matching the terminal's background (`COLORFGBG`)."""
    chosen = os.environ.get("GLMCODE_THEME")
    if chosen:
        return chosen
    background = os.environ.get("COLORFGBG", "").rsplit(";", 1)[-1]
    return "ansi-light" if background in ("7", "15") else "ansi-dark"


HANGUP_WAIT_S = 10.0
"""After SIGHUP, how long the engine may take to stop the run before the session is closed anyway (seconds)."""


class GlmcodeApp(SlashCommandHandlers, App[int]):
    """One interactive session in one workspace."""

    CSS_PATH = "glmcode.tcss"
    TITLE = "glmcode"
    ENABLE_COMMAND_PALETTE = False
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (100, "-wide")]  # noqa: RUF012 -- Textual types it as an instance variable; ClassVar would clash (mypy misc)
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+c", "ctrl_c", "Quit", priority=True, show=False),
        Binding("escape", "interrupt", "Interrupt", show=False),
        Binding("pageup", "scroll_conversation(-1)", show=False, priority=True),
        Binding("pagedown", "scroll_conversation(1)", show=False, priority=True),
    ]

    def __init__(
        self,
        config: Config,
        root: Path,
        *,
        prompt: str | None = None,
        resume: SavedSession | None = None,
        history_path: Path | None = None,
        warm_up: bool = True,
        handle_signals: bool = False,
    ) -> None:
        """`handle_signals`: SIGTERM quits the app as Ctrl+C twice does (`action_quit_now`), SIGHUP
        (the terminal closed, ssh dropped) as `_hang_up` says, instead of either killing it on the
        spot; `run_tui` sets it."""
        super().__init__()
        self._handle_signals = handle_signals
        self.config = config
        self.root = root.resolve()
        self.initial_prompt = prompt
        self.resume_record = resume
        self.session: Session | None = None
        self.bridge = EventBridge(lambda: self.post_message(EventsPending()))
        self.history = PromptHistory(history_path)
        self.paths = PathIndex(self.root)
        self.usage = UsageTotals()
        self.exit_code = 0
        self._warm_up_enabled = warm_up
        self._jobs: deque[Job] = deque()
        self._job: Job | None = None
        self._exchange: ExchangeView | None = None
        self._cleaners = {"reasoning": present.StreamCleaner(), "text": present.StreamCleaner()}
        """Streamed reasoning and answer text made printable (escape sequences, CR, bidi controls), per channel."""
        self._approvals: set[Future] = set()
        self._exiting = threading.Event()
        self._last_drain = 0.0
        self._drain_timer: Timer | None = None
        self._frozen_at = 0.0
        self._ctrl_c_at = -QUIT_WINDOW_S
        self.prompts_taken = 0
        """How many prompts sent from the input the app has taken: its job queued or its command run."""
        self.theme = pick_theme()

    def compose(self):
        with Container(id="main"):
            yield ConversationView()
            yield PlanPanel()
        yield PromptArea(self.history, self.paths)
        yield StatusBar()

    @property
    def conversation(self) -> ConversationView:
        return self.query_one(ConversationView)

    @property
    def plan_panel(self) -> PlanPanel:
        return self.query_one(PlanPanel)

    @property
    def prompt_input(self) -> PromptInput:
        return self.query_one(PromptInput)

    @property
    def status(self) -> StatusBar:
        return self.query_one(StatusBar)

    @property
    def busy(self) -> bool:
        """Whether a job is running on the engine thread."""
        return self._job is not None

    @property
    def exchange(self) -> ExchangeView | None:
        """The exchange (a prompt and what was done for it) events go to now."""
        return self._exchange

    @property
    def idle(self) -> bool:
        """Whether nothing is left to do: no job running or waiting, no worker running, no event waiting in the bridge.

        Widgets may still be mounting what the last events added; a test waits for them after this.
        """
        return self._job is None and not self._jobs and not self.bridge.pending and all(worker.is_finished for worker in self.workers)

    def on_mount(self) -> None:
        if self._handle_signals:
            loop = asyncio.get_running_loop()
            loop.add_signal_handler(signal.SIGTERM, self.action_quit_now)
            loop.add_signal_handler(signal.SIGHUP, self._hang_up)
        self.console.push_theme(MARKDOWN_THEME)
        self.prompt_input.focus()
        self._show_config()
        self._open_session(self.resume_record)
        if self.initial_prompt:
            self._submit_prompt(self.initial_prompt)
        if self._warm_up_enabled:
            self.set_timer(0.3, self._warm_up)

    def _warm_up(self) -> None:
        """After the first paint: import the HTTP client and list the workspace, off the UI thread."""
        threading.Thread(target=_warm_up_imports, name="glmcode-warm-up", daemon=True).start()
        self.paths.refresh()

    # -- events from the engine ------------------------------------------------------------

    def on_events_pending(self, _: EventsPending) -> None:
        """Drain now, or at the next frame if the last drain was less than a frame ago."""
        wait = self._last_drain + FRAME_S - monotonic()
        if wait > 0:
            if self._drain_timer is None:
                self._drain_timer = self.set_timer(wait, self.drain)
            return
        self.drain()

    def drain(self) -> None:
        """Apply everything the bridge holds (UI thread)."""
        if self._drain_timer is not None:
            self._drain_timer.stop()
            self._drain_timer = None
        self._last_drain = monotonic()
        items = self.bridge.take(MAX_CHARS_PER_FRAME)
        if not self._exiting.is_set():
            self._apply(items)
        self._freeze_survivors()
        if self.bridge.pending:
            self._drain_timer = self.set_timer(FRAME_S, self.drain)

    def _freeze_survivors(self) -> None:
        """Keep garbage-collector pauses short while text streams in.

        A full collection scans every object not frozen, and a long exchange creates many that stay
        (widgets, rendered lines): left alone, the collector pauses the UI for 100 ms and more
        mid-stream. So every half second of streaming the young generations are collected and
        what survived is frozen; a full collection then only scans what is new. Removing exchanges
        (`ConversationView.clear`) unfreezes, so they can be collected.
        """
        now = monotonic()
        if now - self._frozen_at >= FREEZE_EVERY_S:
            self._frozen_at = now
            gc.collect(1)
            gc.freeze()

    def _apply(self, items: list[object]) -> None:
        for item in items:
            handler = _HANDLERS.get(type(item))
            if handler is not None:
                handler(self, item)

    def start_exchange(self, prompt: str | None = None, label: str = "") -> ExchangeView:
        """Open a new exchange in the conversation; events go to it from now on."""
        self._exchange = self.conversation.add_exchange(prompt, label)
        for cleaner in self._cleaners.values():
            cleaner.flush()
        return self._exchange

    def clear_conversation(self) -> AwaitRemove:
        """Remove every exchange and note from the view (a new session)."""
        self._exchange = None
        return self.conversation.clear()

    def _current_exchange(self) -> ExchangeView:
        return self._exchange if self._exchange is not None else self.start_exchange()

    def _on_reasoning(self, event: ReasoningDelta) -> None:
        text = self._cleaners["reasoning"].feed(event.text)
        if text:
            self._current_exchange().append_reasoning(text)

    def _on_text(self, event: TextDelta) -> None:
        text = self._cleaners["text"].feed(event.text)
        if text:
            self._current_exchange().append_text(text)

    def _on_tool_call(self, event: ToolCall) -> None:
        self._current_exchange().add_tool_call(event)

    def _on_tool_result(self, event: ToolResultEvent) -> None:
        self._current_exchange().finish_tool(event)

    def _on_usage(self, event: Usage) -> None:
        """Every request's usage adds to the session's totals (the status bar); a run's own are in its result."""
        self.usage.add(event)
        self.status.info.usage = self.usage
        self.status.info.last_prompt_tokens = event.prompt_tokens
        self.status.refresh_text()
        if self._exchange is not None:
            self._exchange.end_request()

    def _on_stage(self, event: Stage) -> None:
        stage = present.stage_line(event)
        self.plan_panel.show_stage(event.name, event.round)
        self.status.stage = stage.label
        self.status.refresh_text()
        self._current_exchange().add_note(f"── {stage.label} ──", "stage")

    def _on_plan(self, event: Plan) -> None:
        self.plan_panel.show_plan(event.steps)

    def _on_verify(self, event: Verify) -> None:
        self.plan_panel.add_check(event)
        check = present.verify_line(event)
        line = Text(str(check))
        if check.tail:
            line.append("\n" + check.tail, style="dim")
        self._current_exchange().add_note(line, "ok" if check.passed else "error")

    def _on_compaction(self, event: Compaction) -> None:
        self._current_exchange().add_note(present.compaction_line(event))
        self.status.info.last_prompt_tokens = event.tokens_after
        self.status.refresh_text()

    def _on_retry(self, event: Retry) -> None:
        self.status.notice = present.retry_line(event, reason=False)
        self.status.refresh_text()
        self._current_exchange().add_note(f"↻ {present.retry_line(event)}", "warning")

    def _on_error(self, event: Error) -> None:
        exchange = self._current_exchange()
        exchange.errors_said.add(event.message)
        exchange.add_note(f"✗ {present.error_line(event)}", "error")

    def _on_result(self, event: Result) -> None:
        self._current_exchange().finish(event)
        self.status.notice = ""

    def _on_session_start(self, event: SessionStart) -> None:
        self.status.info.model, self.status.info.provider = event.model, event.provider
        self.status.refresh_text()

    def _on_ui_call(self, item: UiCall) -> None:
        item.callback()

    # -- jobs on the engine thread ---------------------------------------------------------

    def _enqueue(self, job: Job) -> None:
        self._jobs.append(job)
        if self.busy and job.interruptible:
            self.notify("Queued: it runs when the current prompt ends (Esc interrupts it).", timeout=4)
        self._next_job()

    def _next_job(self) -> None:
        self.status.queued = sum(1 for job in self._jobs if job.interruptible)
        if self._job is not None or not self._jobs or self._exiting.is_set():
            self.status.refresh_text()
            return
        job = self._jobs.popleft()
        self.status.queued = sum(1 for queued in self._jobs if queued.interruptible)
        self._job = job
        if job.exchange is not None:
            self.start_exchange(*job.exchange)
        self.status.set_busy(True, job.label)
        self.run_worker(partial(self._work, job), thread=True, group="engine", exit_on_error=False, name=job.label)

    def _work(self, job: Job) -> None:
        """Run a job on the engine thread; its end travels through the bridge like an event."""
        try:
            value, error = job.work(), None
        except Exception as exc:  # an engine failure must end the job, not the app
            value, error = None, exc
        self.bridge.put(UiCall(partial(self._job_finished, job, value, error)))

    def _job_finished(self, job: Job, value: Any, error: BaseException | None) -> None:
        self._job = None
        if error is not None:
            target = self._exchange or self.conversation
            if self._exchange is not None:
                self._exchange.stop()
            target.add_note(f"✗ {job.label} failed: {type(error).__name__}: {error}", "error")
        elif job.done is not None:
            job.done(value)
        if job.exchange is not None:
            self._exchange = None
        self.status.set_busy(False)
        self.status.refresh_text()
        self._next_job()

    def _needs_session(self, work: Callable[[Session], Any]) -> Callable[[], Any]:
        def run() -> Any:
            if self.session is None:
                raise RuntimeError("there is no open session (see the error above)")
            return work(self.session)

        return run

    # -- the session -------------------------------------------------------------------------

    def _open_session(self, record: SavedSession | None = None, *, replace: bool = False) -> None:
        """Open a session (a resumed one with `record`) on the engine thread; `replace` closes the current one."""

        def work() -> None:
            if replace and self.session is not None:
                self.session.close()
            self._start_session(record, replace)

        self._enqueue(Job("opening the session", work))

    def _start_session(self, record: SavedSession | None, replace: bool) -> None:
        """Build and start a session (engine thread: it reads the rules and the transcript), then show it."""
        from glmcode.engine.session import Session

        session = Session(self.config, self.root, self.bridge.put, approver=self.approve, resume=record)
        session.start()
        self.bridge.put(UiCall(partial(self._session_opened, session, record, replace)))

    def _session_opened(self, session: Session, record: SavedSession | None, replaced: bool) -> None:
        self.session = session
        self.config = session.config
        self.usage = saved_usage(record)
        if replaced:
            self.clear_conversation()
            self.plan_panel.reset()
            self.status.stage = ""
        self._show_config()
        self.conversation.add_widget(
            Welcome(welcome_text(session.config.model, session.config.provider.name, self.root, session.id, session.permissions.mode))
        )
        if not session.config.provider.function_calling:
            self.conversation.add_note(present.no_tools_notice(session.config.provider), "warning")
        if record is not None:
            self.conversation.add_note(Text(f"resumed session {record.id}", style="bold"), "info")
            earlier = replay_text(record.messages)
            if earlier.plain:
                self.conversation.add_widget(Static(earlier, classes="replay"))
            if not session.needs_prompt:
                self.conversation.add_note("This session stopped mid-run: press Enter on an empty prompt to let it go on, or type a new instruction.", "warning")

    def _config_changed(self) -> None:
        """The session was reconfigured: later sessions (/clear, /resume) keep the new settings."""
        if self.session is not None:
            self.config = self.session.config
        self._show_config()

    def _show_config(self) -> None:
        config = self.config
        info = self.status.info
        info.model, info.provider = config.model, config.provider.name
        info.effort = config.settings.effort
        info.context_window = config.context_window
        info.usage = self.usage
        self.status.refresh_text()

    # -- input ---------------------------------------------------------------------------------

    def on_prompt_input_submitted(self, message: PromptInput.Submitted) -> None:
        """Enter on the prompt: queue the prompt or run the command; counted in `prompts_taken` once done."""
        self._take_prompt(message.text)
        self.prompts_taken += 1

    def _take_prompt(self, text: str) -> None:
        """A prompt becomes a job, a slash command runs; an empty one lets a stopped run go on."""
        if not text:
            if self.session is not None and not self.session.needs_prompt and not self.busy:
                self._enqueue(Job("working", self._needs_session(lambda s: s.run(None)), exchange=("(continue)", ""), interruptible=True))
            return
        self.history.add(text)
        if slash_commands.is_command(text):
            self.run_command(text)
        else:
            self._submit_prompt(text)

    def _submit_prompt(self, text: str) -> None:
        self._enqueue(Job("thinking", self._needs_session(lambda s: s.run(text)), exchange=(text, ""), interruptible=True, text=text))

    # -- approvals -------------------------------------------------------------------------------

    def approve(self, tool: str, description: str, preview: str) -> Decision:
        """The session's approver: show the call's preview in a modal and wait for the answer (engine thread)."""
        future: Future[Decision] = Future()
        self.bridge.put(UiCall(partial(self._ask, tool, preview, future)))
        while True:
            try:
                return future.result(timeout=0.2)
            except FutureTimeout:
                if self._exiting.is_set():
                    return "deny"

    def _ask(self, tool: str, preview: str, future: Future) -> None:
        if self._exiting.is_set():
            future.set_result("deny")
            return
        self._approvals.add(future)
        card = self._exchange.running_card if self._exchange is not None else None
        if card is not None:
            card.state = "approval"

        def answered(decision: str | None) -> None:
            self._approvals.discard(future)
            if not future.done():
                future.set_result(decision or "deny")
            if card is not None and card.state == "approval":
                card.state = "running"

        self.push_screen(ApprovalScreen(tool, preview), answered)

    # -- keys ------------------------------------------------------------------------------------

    def action_interrupt(self) -> None:
        """Esc: stop the running prompt or goal; prompts that were waiting go back into the input."""
        job = self._job
        if job is None or not job.interruptible or self.session is None:
            return
        if self._exchange is not None and self._exchange.result is not None:
            return
        self.session.interrupt()
        self.status.notice = "interrupting"
        self.status.refresh_text()
        waiting = [queued.text for queued in self._jobs if queued.text]
        self._jobs = deque(queued for queued in self._jobs if not queued.interruptible)
        self.status.queued = 0
        if waiting and not self.prompt_input.text.strip():
            self.prompt_input.load_text("\n\n".join(waiting))

    def action_ctrl_c(self) -> None:
        """Ctrl+C: the first press warns (and clears the input), a second one within 3 s quits."""
        now = monotonic()
        if now - self._ctrl_c_at <= QUIT_WINDOW_S:
            self.action_quit_now()
            return
        self._ctrl_c_at = now
        if isinstance(self.focused, PromptInput) and self.focused.text:
            self.focused.load_text("")
        self.notify("Press Ctrl+C again to quit", timeout=QUIT_WINDOW_S)

    def action_quit_now(self) -> None:
        """Leave: stop the run (exit code 130 if one was active), refuse pending approvals."""
        active = self._job is not None and self._job.interruptible
        self.exit_code = 130 if active else 0
        self._shut_down()
        self.exit(self.exit_code, return_code=self.exit_code)

    def _hang_up(self) -> None:
        """SIGHUP: the terminal is gone. Stop the run and refuse pending approvals as quitting does,
        then, off the UI thread, wait up to `HANGUP_WAIT_S` for the engine to finish, close the
        session (its commands stopped, whatever they detached included; the transcript flushed) and
        leave at once: exit 130 if a run was cut, else 0. Textual's own shutdown is skipped: it
        writes to the terminal that is gone, and can hang there."""
        active = self._job is not None and self._job.interruptible
        self._shut_down()
        code = 130 if active else 0

        def close_and_leave() -> None:
            deadline = monotonic() + HANGUP_WAIT_S
            while monotonic() < deadline and self._job is not None:
                threading.Event().wait(0.05)
            try:
                self.close_session()
            finally:
                os._exit(code)

        threading.Thread(target=close_and_leave, name="glmcode-hangup", daemon=True).start()

    def _shut_down(self) -> None:
        self._exiting.set()
        self._jobs.clear()
        if self._job is not None and self.session is not None:
            self.session.interrupt()
        for future in list(self._approvals):
            if not future.done():
                future.set_result("deny")
        self._approvals.clear()

    def action_scroll_conversation(self, direction: int) -> None:
        conversation = self.conversation
        if direction < 0:
            conversation.scroll_page_up()
        else:
            conversation.scroll_page_down()

    def on_unmount(self) -> None:
        self._shut_down()

    def close_session(self) -> None:
        """Stop the session's commands (`Session.close`: everything they started, detached or not)
        and close the transcript (after the app has exited and the engine thread ended)."""
        if self.session is not None:
            self.session.close()


_HANDLERS: dict[type, Callable[[GlmcodeApp, Any], None]] = {
    ReasoningDelta: GlmcodeApp._on_reasoning,
    TextDelta: GlmcodeApp._on_text,
    ToolCall: GlmcodeApp._on_tool_call,
    ToolResultEvent: GlmcodeApp._on_tool_result,
    Usage: GlmcodeApp._on_usage,
    Stage: GlmcodeApp._on_stage,
    Plan: GlmcodeApp._on_plan,
    Verify: GlmcodeApp._on_verify,
    Compaction: GlmcodeApp._on_compaction,
    Retry: GlmcodeApp._on_retry,
    Error: GlmcodeApp._on_error,
    Result: GlmcodeApp._on_result,
    SessionStart: GlmcodeApp._on_session_start,
    UiCall: GlmcodeApp._on_ui_call,
}


def saved_usage(record: SavedSession | None) -> UsageTotals:
    """The usage totals of a saved session's requests so far (from its `usage` events), so the
    status bar of a resumed session counts the whole session; empty totals for a new one."""
    totals = UsageTotals()
    for event in record.events if record is not None else ():
        if event.get("type") == "usage":
            try:
                totals.add(Usage.model_validate(event))
            except ValidationError:
                continue
    return totals


def _warm_up_imports() -> None:
    """Import the HTTP client and common code lexers now (off the UI thread), then freeze them.

    The first request then does not wait for `openai` (about a second), nor the first code
    block for its lexer's regular expressions; frozen, none of it is scanned by the collector.
    """
    import openai  # noqa: F401 - imported for its side effect

    from glmcode.ui.tui.markdown import lexer_for

    for language in ("python", "bash", "diff", "json", "text"):
        lexer_for(language)
    gc.freeze()


def run_tui(config: Config, root: Path, *, prompt: str | None = None, resume: SavedSession | None = None) -> int:
    """Run the interactive session until the user quits; return the exit code (130 if a run was cut)."""
    for name in API_KEY_VARIABLES:  # the key stays in `config`; nothing the app starts inherits it
        os.environ.pop(name, None)
    app = GlmcodeApp(config, root, prompt=prompt, resume=resume, history_path=default_path(), handle_signals=True)
    try:
        app.run()
    finally:  # also when restoring a terminal that hung up fails: the session's commands are stopped
        app.close_session()
    gc.freeze()
    return app.return_code if app.return_code is not None else app.exit_code
