"""What each slash command does in the running app (the words are in `glmcode.ui.tui.slash_commands`).

A mixin of `GlmcodeApp`: commands that touch the session run as jobs on the engine thread, in
order with prompts; the rest (/cost, /diff, /sessions, /help, /quit) answer at once.
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual.widgets import Markdown, Static

from glmcode.ui import present
from glmcode.ui.tui import slash_commands
from glmcode.ui.tui.jobs import Job, UiCall
from glmcode.ui.tui.widgets.diff_view import diff_text

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from glmcode.config import Config
    from glmcode.engine.events import UsageTotals
    from glmcode.engine.session import Session
    from glmcode.engine.transcript import SavedSession
    from glmcode.ui.tui.bridge import EventBridge
    from glmcode.ui.tui.widgets.conversation import ConversationView
    from glmcode.ui.tui.widgets.status_bar import StatusBar


class SlashCommandHandlers:
    """`command_<name>(arg)` for every command of `slash_commands.COMMANDS`."""

    if TYPE_CHECKING:
        # What the host class (`GlmcodeApp`) provides, declared so the type checker sees it.
        config: Config
        root: Path
        session: Session | None
        bridge: EventBridge
        usage: UsageTotals

        @property
        def conversation(self) -> ConversationView: ...
        @property
        def status(self) -> StatusBar: ...
        def run_worker(self, work: Any, *args: Any, **kwargs: Any) -> Any: ...
        def action_quit_now(self) -> None: ...
        def _enqueue(self, job: Job) -> None: ...
        def _needs_session(self, work: Callable[[Session], Any]) -> Callable[[], Any]: ...
        def _open_session(self, record: SavedSession | None = None, *, replace: bool = False) -> None: ...
        def _start_session(self, record: SavedSession | None, replace: bool) -> None: ...
        def _config_changed(self) -> None: ...

    def run_command(self, text: str) -> None:
        """Run a slash command line; unknown commands and bad arguments get a message."""
        try:
            invocation = slash_commands.parse(text)
        except slash_commands.CommandError as exc:
            self.conversation.add_note(str(exc), "error")
            return
        getattr(self, f"command_{invocation.command.name}")(invocation.arg)

    def _refused_without_tools(self, what: str) -> bool:
        """On a host without function calling, say why `what` cannot run and return True."""
        if self.config.provider.function_calling:
            return False
        from glmcode.providers import no_function_calling

        self.conversation.add_note(no_function_calling(self.config.provider, what), "error")
        return True

    def command_goal(self, goal: str) -> None:
        if self._refused_without_tools("goal mode"):
            return
        work = self._needs_session(lambda s: s.run_goal(goal))
        self._enqueue(Job("goal", work, exchange=(goal, "goal"), interruptible=True, text=f"/goal {goal}"))

    def command_plan(self, task: str) -> None:
        if self._refused_without_tools("/plan (it explores with tools)"):
            return
        self._enqueue(Job("planning", self._needs_session(lambda s: s.run_plan(task)), exchange=(task, "plan"), interruptible=True, text=f"/plan {task}"))

    def command_effort(self, level: str) -> None:
        level = level.lower()

        def done(_: object) -> None:
            self._config_changed()
            self.conversation.add_note(f"effort is now {level} (from the next request)")

        self._enqueue(Job("changing effort", self._needs_session(lambda s: s.reconfigure(effort=level)), done=done))

    def command_model(self, model: str) -> None:
        if not model:
            config = self.config
            self.conversation.add_note(f"model {config.model} via {config.provider.name} · context window {config.context_window:,} tokens · {config.base_url}")
            return

        def done(_: object) -> None:
            self._config_changed()
            self.conversation.add_note(f"model is now {model} (from the next request)")

        self._enqueue(Job("switching model", self._needs_session(lambda s: s.reconfigure(model=model)), done=done))

    def command_clear(self, _: str) -> None:
        self._open_session(replace=True)

    def command_compact(self, _: str) -> None:
        def work(session: Session) -> str | None:
            return None if session.compact() else "nothing to compact yet"

        def done(message: str | None) -> None:
            if message:
                self.conversation.add_note(message)

        self._enqueue(Job("compacting", self._needs_session(work), exchange=("", "compact"), interruptible=True, done=done))

    def command_undo(self, _: str) -> None:
        def done(changes: list[str] | None) -> None:
            if changes is None:
                self.conversation.add_note("nothing to undo: no prompt of this session has changed files yet")
            else:
                self.conversation.add_note(Text("undone:\n" + "\n".join(changes or ["nothing differed"])), "info")

        self._enqueue(Job("undoing", self._needs_session(lambda s: s.undo_last_run()), done=done))

    def command_cost(self, _: str) -> None:
        usage, info = self.usage, self.status.info
        lines = [
            "this session",
            f"requests        {usage.requests}",
            f"prompt tokens   {usage.prompt_tokens:,} ({usage.cached_tokens:,} cached, {present.share_label(usage.cached_share)})",
            f"output tokens   {usage.completion_tokens:,}",
            "cost            " + present.cost_label(usage.cost_usd) + (
                "" if usage.cost_usd is not None
                else " (no prices for this provider; set price_input / price_output in config.toml)"
            ),
        ]
        if info.context_window:
            lines.append(f"context         {info.last_prompt_tokens:,} of {info.context_window:,} tokens ({present.share_label(info.last_prompt_tokens / info.context_window)})")
        self.conversation.add_note(Text("\n".join(lines)), "info")

    def command_diff(self, _: str) -> None:
        session = self.session
        if session is None:
            self.conversation.add_note("no session yet", "error")
            return

        def work() -> None:
            ok, output = session.diff()
            self.bridge.put(UiCall(partial(self._show_diff, output, ok)))

        self.run_worker(work, thread=True, group="aux", exit_on_error=False)

    def _show_diff(self, output: str, ok: bool) -> None:
        self.conversation.add_note(Text("/diff", style="bold"), "stage")
        self.conversation.add_widget(Static(diff_text(output) if ok else Text(output), classes="diff-view"))

    def command_sessions(self, _: str) -> None:
        def work() -> None:
            from glmcode.engine.transcript import list_sessions

            rows = []
            for record in list_sessions(self.root)[:30]:
                status = (record.last_result or {}).get("status", "unfinished")
                prompt = record.first_prompt.split("\n", 1)[0][:60]
                rows.append((record.id, status, len(record.messages), prompt))
            self.bridge.put(UiCall(partial(self._show_sessions, rows)))

        self.run_worker(work, thread=True, group="aux", exit_on_error=False)

    def _show_sessions(self, rows: list[tuple[str, str, int, str]]) -> None:
        if not rows:
            self.conversation.add_note("no saved sessions in this repo yet")
            return
        current = self.session.id if self.session else ""
        text = Text()
        for session_id, status, messages, prompt in rows:
            text.append("● " if session_id == current else "  ", style="green")
            text.append(f"{session_id}  ", style="bold")
            text.append(f"{status:<16} {messages:>4} msgs  ", style="dim")
            text.append(prompt + "\n")
        text.append("/resume ID switches to one", style="dim")
        self.conversation.add_note(text, "info")

    def command_resume(self, session_id: str) -> None:
        def work() -> None:
            from glmcode.engine.transcript import list_sessions, read_session

            wanted = session_id
            if not wanted:
                current = self.session.id if self.session else None
                others = [record.id for record in list_sessions(self.root) if record.id != current]
                if not others:
                    raise LookupError("there is no other saved session to resume")
                wanted = others[0]
            record = read_session(self.root, wanted)
            if self.session is not None:
                self.session.close()
            self._start_session(record, True)

        self._enqueue(Job("resuming", work))

    def command_help(self, _: str) -> None:
        self.conversation.add_widget(Markdown(slash_commands.help_markdown(), classes="help"))

    def command_quit(self, _: str) -> None:
        self.action_quit_now()
