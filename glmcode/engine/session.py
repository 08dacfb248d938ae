"""A session: one conversation in one workspace, its transcript, and how a run of it ends.

The session wires the parts together — config, rules, tools' context, permissions, budget,
client, conversation, transcript — and turns the ways a run can end into one `Result` event
with the exit code of DESIGN.md §3. Front ends give it an `Emit` callback and read events.

Building a `Session` does no I/O (nothing read from or written to the workspace, no network, no
event; only glmcode's own prompt files and the environment's secret names are looked at): it
wires objects, so a front end can build one anywhere and a test can build one in-process.
The I/O happens in `start()` — reading the rules, opening the transcript, writing its first
lines or replaying a saved one, emitting `session_start` — which every run calls first.
"""

from __future__ import annotations

import contextlib
import platform
import threading
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from glmcode import __version__, prompts
from glmcode.config import Config
from glmcode.engine.agent import Agent, Interrupted, Looping, ModelGaveUp
from glmcode.engine.budget import Budget, BudgetExhausted
from glmcode.engine.compaction import Compactor, Kept, Window, render_state
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
from glmcode.engine.transcript import GLMCODE_DIR, SavedSession, Transcript, new_session_id, sessions_dir
from glmcode.errors import ConfigError
from glmcode.model.client import APIFailure, GLMClient, OnRetry, request_head
from glmcode.model.conversation import Conversation
from glmcode.model.tokens import TokenEstimator
from glmcode.redaction import Redactor
from glmcode.rules.agent_md import Rules, load_rules
from glmcode.rules.permissions import Approver as Approver  # re-exported: what a front end gives a session
from glmcode.rules.permissions import Decision as Decision  # re-exported: what its approver answers
from glmcode.rules.permissions import Permissions
from glmcode.tools.base import ToolContext
from glmcode.tools.registry import ToolRegistry
from glmcode.tools.saved_outputs import OutputStore

if TYPE_CHECKING:
    from glmcode.engine.goal import GoalRunner
    from glmcode.engine.goal_state import GoalState
    from glmcode.engine.project_map import ProjectMap, Scan

_DELTAS: dict[str, type[TextDelta | ReasoningDelta]] = {"text": TextDelta, "reasoning": ReasoningDelta}
"""Delta event class by its `type`, to rebuild the fragments `RedactingStream` passes on."""

EXIT_CODES: dict[ResultStatus, int] = {"success": 0, "failed": 1, "error": 3, "budget_exhausted": 4, "interrupted": 130}
"""The usual exit code of each status. `error` has three, told apart by `Result.exit_code`:
`EXIT_USAGE`, `EXIT_API` (the one listed here) and `EXIT_INTERNAL`."""
EXIT_USAGE = 2
"""A usage error the session found (nothing to continue, a goal nobody can approve edits for)."""
EXIT_API = 3
"""A model API error that retries could not overcome."""
EXIT_INTERNAL = 70
"""An unexpected exception inside glmcode: a bug (DESIGN.md §3)."""

ClientFactory = Callable[[Config, OnRetry], GLMClient]
"""Builds the session's model client from its config and the session's retry callback."""

Work = Callable[[], "tuple[ResultStatus, str, dict[str, Any]]"]
"""The body of a run: returns (status, summary, extra `Result` fields) or raises."""


PATHS_LIMIT = 20_000
"""`list_paths` stops after this many entries: a huge repo still lists its top levels (breadth first)."""


def list_paths(root: Path, limit: int = PATHS_LIMIT) -> list[tuple[str, bool]]:
    """The workspace's files and folders a user may mention (the TUI's `@path` completion).

    `(path relative to root in POSIX form, is a folder)`, as git sees them (`.gitignore`
    honoured, `.git` never entered; the tools' walker), minus glmcode's own `.glmcode/`;
    breadth first, at most `limit` entries, symlinks listed but not followed, unreadable
    folders skipped. Needs no session, so a front end can list before one is open.
    """
    from glmcode.tools._walk import walk

    entries: list[tuple[str, bool]] = []
    if limit <= 0:
        return entries
    root = root.resolve()
    for entry in walk(root, root):
        if entry.rel == GLMCODE_DIR or entry.rel.startswith(GLMCODE_DIR + "/"):
            continue
        entries.append((entry.rel, entry.is_dir))
        if len(entries) >= limit:
            break
    return entries


def _window(config: Config) -> Window:
    """The compaction window of a config: its context window, output reserve, threshold, share kept."""
    settings = config.settings
    return Window.of(
        config.context_window, settings.max_tokens, settings.output_reserve_tokens, settings.compact_threshold, settings.compact_keep_share
    )


def goal_refusal(permission_mode: str, can_ask: bool) -> str | None:
    """Why a goal cannot run (None when it can): in `ask` or `read-only` mode with nobody to ask,
    every edit would be refused. `can_ask`: an approver is there (a terminal, the TUI)."""
    if can_ask or permission_mode not in ("ask", "read-only"):
        return None
    return (
        f"goal mode in {permission_mode} mode with nobody to approve would refuse every edit: "
        "pass --yes (full-auto) or --permission-mode auto-edit"
    )


class Session:
    """One conversation with the model in one workspace.

    Build it (no I/O), then run it: `run(prompt)`, `run_goal(goal)`, `run_plan(task)` or
    `run_resumed(prompt)`. Each run calls `start()` if nobody did, and ends with exactly one
    `Result` event (see `_guarded` for the exit codes). `close()` stops the background commands
    and flushes the transcript.
    """

    def __init__(
        self,
        config: Config,
        root: Path,
        emit: Emit,
        *,
        approver: Approver | None = None,
        resume: SavedSession | None = None,
        client_factory: ClientFactory = GLMClient,
    ) -> None:
        """Wire the session's parts; nothing is read from or written to the workspace, sent or emitted.

        `root` is the workspace (made absolute); `emit` receives every event, from the engine's
        thread; `approver` is asked before calls the permission mode does not allow on its own
        (None: such calls are refused); `resume` is a saved session to continue (its id is kept);
        `client_factory` builds the model client (the real `GLMClient` unless a test says otherwise).
        """
        self.config = config
        self.root = root.resolve()
        self.saved = resume
        """The saved session this one continues, if any."""
        self.id = resume.id if resume else new_session_id()
        self._emit_out = emit
        self.redactor = Redactor.for_session(config.api_key)
        """Hides the API key and secret-looking environment values from every event, message and report."""
        self._deltas = self.redactor.stream()
        self.rules = Rules()
        """The repo's rules: empty until `start()` reads them."""
        self.transcript: Transcript | None = None
        """Open from `start()` to `close()`."""
        settings = config.settings
        self.tools = ToolRegistry()
        """This session's tools: the built-ins, then any added at run time."""
        self.ctx = ToolContext(
            root=self.root, rules=self.rules, shell_timeout=settings.shell_timeout_s, output_chars=config.output_chars,
            outputs=OutputStore(
                self.root / GLMCODE_DIR / "sessions" / self.id / "outputs",
                f"{GLMCODE_DIR}/sessions/{self.id}/outputs",
                self.redactor,
            ),
        )
        self.permissions = Permissions(mode=settings.permission_mode or "ask", approver=self._redacting(approver))
        self.budget = Budget(settings.max_turns, settings.max_cost, settings.timeout)
        self.conversation = Conversation(request_head(config, self.tools.schemas()))
        self.agent = Agent(
            client=client_factory(config, self._on_retry),
            conversation=self.conversation,
            tools=self.tools,
            ctx=self.ctx,
            permissions=self.permissions,
            budget=self.budget,
            emit=self.emit,
            record=self._record_message,
            prices=config.prices,
            redactor=self.redactor,
            compactor=Compactor(_window(config), TokenEstimator()),
            record_compaction=self._record_compaction,
            kept=self._kept,
            checkpoint=self._checkpoint,
        )
        self._map: ProjectMap | None = None
        self._map_scan: Scan | None = None
        """The map the model was last given (None: not given in this process yet)."""
        self._map_fresh = False
        """True from a new session's start to its first task: the map was scanned just now."""
        self.task: str | None = resume.task if resume else None
        """The session's original task, verbatim: what compaction keeps (a goal's text instead while one runs)."""
        self._goal: GoalRunner | None = None
        self._state = "new"
        self._run_started = 0
        self._undone_runs: set[int] = set()

    def start(self) -> None:
        """Do the session's I/O, once: read the rules, open the transcript, then either write the
        first lines of a new session (meta, system prompt) or replay the saved one; emit
        `session_start`. Every run calls it first; calling it again does nothing.

        Raises what the I/O raises (OSError, a malformed saved session); a session whose start
        failed is unusable, and a later call raises RuntimeError saying so.
        """
        if self._state == "started":
            return
        if self._state == "failed":
            raise RuntimeError(f"session {self.id} failed to start earlier; open a new one")
        self._state = "failed"
        self.rules = self.ctx.rules = load_rules(self.root)
        self.transcript = Transcript(sessions_dir(self.root) / f"{self.id}.jsonl", self.redactor)
        if self.saved is None:
            self.transcript.write(self._meta())
            self._map_scan = self._scan_map()
            self._map_fresh = True
            self.agent.append({"role": "system", "content": self.redactor.text(self.system_prompt())})
            self._save_map_scan()
        else:
            self._restore(self.saved)
            if self.config.settings.project_map:
                from glmcode.engine.project_map import load_scan

                self._map_scan = load_scan(self._map_scan_path)
            if self.task is None:
                self.task = next((str(m.get("content") or "") for m in self.saved.messages if m.get("role") == "user"), None)
            self.agent.compact_first = self.saved.stopped_on_overflow
            if self.agent.compactor is not None:
                self.agent.compactor.instruction = self.saved.instruction
        self._state = "started"
        self.emit(SessionStart(model=self.config.model, provider=self.config.provider.name, cwd=str(self.root), resumed=self.saved is not None))

    @property
    def started(self) -> bool:
        """Whether `start()` has done its work."""
        return self._state == "started"

    def emit(self, event: Event) -> None:
        """Redact the event, stamp the session id, write it to the transcript (once open), pass it to the front end.

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

    def _redacting(self, approver: Approver | None) -> Approver | None:
        """`approver`, handed the call's description and preview with this session's secrets redacted
        (a preview shows a file's content or a command: what is shown passes the one redaction step)."""
        if approver is None:
            return None
        redact = self.redactor.text

        def ask(tool: str, description: str, preview: str) -> Decision:
            return approver(tool, redact(description), redact(preview))

        return ask

    def _emit_redacted(self, event: Event) -> None:
        event.session_id = self.id
        if self.transcript is not None:
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
        project_map = ""
        if self._map_scan is not None and self._map_scan.files:
            from glmcode.engine.project_map import render

            project_map = prompts.render("project_map.md", map=render(self._map_scan, self.config.settings.project_map_chars))
        return prompts.render(
            "system.md", cwd=self.root, system=f"{platform.system()} {platform.machine()}", rules=rules, project_map=project_map
        )

    def _scan_map(self) -> Scan | None:
        """The workspace's map now, or None when the setting `project_map` is off."""
        if not self.config.settings.project_map:
            return None
        if self._map is None:
            from glmcode.engine.project_map import ProjectMap

            self._map = ProjectMap(self.root, cache_path=self.root / GLMCODE_DIR / "cache" / "outline.json")
        return self._map.scan()

    @property
    def _map_scan_path(self) -> Path:
        """Where the scan behind the map the model was last given is kept: `.glmcode/sessions/<id>/map.json`."""
        return self.root / GLMCODE_DIR / "sessions" / self.id / "map.json"

    def _save_map_scan(self) -> None:
        """Keep the scan the model was just given (best effort: without it, a resume sends the whole map)."""
        if self._map_scan is None:
            return
        from glmcode.engine.project_map import save_scan

        with contextlib.suppress(OSError):
            save_scan(self._map_scan_path, self._map_scan)

    def task_text(self, text: str) -> str:
        """The first message of a task: `text` with its `@path` mentions attached, then, when the
        workspace changed since the model was given the project map, what changed.

        The map itself stays where it was (the system prompt is never rewritten): a change is a
        note in the new message, so the cached prefix holds. A mention that names nothing is
        reported with an `error` event (kind `mention`); it never stops the run.
        """
        from glmcode.engine import mentions

        expanded = mentions.expand(text, self.root, self.ctx.output_chars)
        for line in expanded.missing:
            self.emit(Error(kind="mention", message=f"{line} (nothing attached for it)"))
        return expanded.text + self._map_update()

    def _map_update(self) -> str:
        """The note on what changed in the map since the model last saw it, or ""."""
        if self._map_fresh:
            self._map_fresh = False
            return ""
        scan = self._scan_map()
        if scan is None or not scan.files:
            return ""
        from glmcode.engine import project_map

        limit = self.config.settings.project_map_chars
        previous, self._map_scan = self._map_scan, scan
        if previous is None:  # not given in this process, and no saved scan (a session from an older version)
            self._save_map_scan()
            text = project_map.render(scan, limit)
            if any(text in str(m.get("content") or "") for m in self.conversation.messages if m.get("role") in ("system", "user")):
                return ""
            return "\n\n" + prompts.render("project_map_new.md", map=text)
        changed = project_map.changes(previous, scan)
        if not changed:
            return ""
        self._save_map_scan()
        listed = "\n".join(changed)
        if len(listed) > limit // 2:
            return "\n\n" + prompts.render("project_map_new.md", map=project_map.render(scan, limit))
        return "\n\n" + prompts.render("project_map_changed.md", changes=listed)

    def run(self, prompt: str | None) -> Result:
        """Send `prompt` (or, with None, continue a session that stopped mid-run) until the model
        stops; emit the `Result` and return it. With None and nothing to continue, the result is a
        usage error (status `error`, exit 2)."""
        return self._guarded(lambda: self._converse(prompt))

    def run_goal(self, goal: str | GoalState, verify: list[str] | None = None) -> Result:
        """Run a goal through its stages (a new one from its text, with extra `verify` commands,
        or a saved `GoalState` from where it stopped); emit the `Result` and return it."""
        from glmcode.engine.goal import GoalRunner

        def work() -> tuple[ResultStatus, str, dict[str, Any]]:
            self.start()
            state = self.new_goal(goal, verify) if isinstance(goal, str) else goal
            return self._run_goal(GoalRunner(self, state))

        return self._guarded(work)

    def run_resumed(self, prompt: str | None = None) -> Result:
        """Continue the saved session headless (`glmcode run --resume ID [PROMPT]`); emit the `Result`.

        Without `prompt`: an unfinished goal goes on from the stage it stopped in, else the
        conversation goes on from where it stopped (a usage error, exit 2, if it had finished:
        it needs a new instruction). With `prompt`: the prompt is sent, a goal is left as it is.
        A goal that would need approvals nobody can give is a usage error too, found before
        anything is written.
        """
        from glmcode.engine import goal_state
        from glmcode.engine.goal import GoalRunner

        def work() -> tuple[ResultStatus, str, dict[str, Any]]:
            state = goal_state.load(self.root, self.id) if self.saved is not None and not prompt else None
            if state is None or state.stage == "done":
                return self._converse(prompt)
            refusal = goal_refusal(self.permissions.mode, self.permissions.approver is not None)
            if refusal:
                raise ConfigError(refusal)
            self.start()
            return self._run_goal(GoalRunner(self, state))

        return self._guarded(work)

    def _run_goal(self, runner: GoalRunner) -> tuple[ResultStatus, str, dict[str, Any]]:
        """Run a goal, known to compaction while it runs (its state is what compaction keeps)."""
        self._goal = runner
        try:
            return runner.run()
        finally:
            self._goal = None

    def run_plan(self, task: str) -> Result:
        """A read-only planning turn (the TUI's /plan): the model may explore and submit a plan."""
        self.permissions.read_only_reason = prompts.load("goal/plan_read_only.md")
        try:
            return self.run(prompts.render("plan_command.md", task=task))
        finally:
            self.permissions.read_only_reason = None

    def _converse(self, prompt: str | None) -> tuple[ResultStatus, str, dict[str, Any]]:
        if not prompt and self.needs_prompt:
            if self.saved is None:
                raise ConfigError("nothing to run: give a prompt")
            raise ConfigError(f"session {self.id} already finished; give a new instruction to continue it (glmcode run --resume {self.id} PROMPT)")
        self.start()
        if prompt:
            if self.task is None:
                self.task = self.redactor.text(prompt)
            self.agent.say(self.task_text(prompt))
        answer = self.agent.run_until_idle().content.strip()
        refused = self.agent.edits_all_refused()
        if refused:
            return "failed", refused + (f"; the model's answer: {answer}" if answer else ""), {}
        return "success", answer, {}

    def _guarded(self, work: Work) -> Result:
        """Run `work`, turning every way it can end into the run's one `Result`, emitted here.

        Status and exit code (`Result.exit_code`, DESIGN.md §3): `success` 0; `failed` 1 (the
        model gave up or was looping — `Looping`, the loop guard; every file edit it tried was
        refused and nothing else changed; in goal mode, verification failed); `budget_exhausted` 4; `interrupted`
        130; `error` has three: 2 for a usage error the session found (`ConfigError`: nothing
        to continue, a goal nobody can approve), 3 for a model API error retries could not
        overcome (`APIFailure`), 70 for any other exception — a bug in glmcode, the traceback
        kept in the transcript. Errors come with an `error` event first (kind `usage`, the
        failure's kind, or `internal`) saying the cause in one line.

        A front end that raises while it takes the `error` event is ignored (the result still
        goes out); one that raises while it takes the `Result` propagates, the result kept in
        the transcript.
        """
        self.agent.begin_run()
        self._run_started = time.time_ns()
        timer = self._start_timeout()
        extra: dict[str, Any] = {}
        exit_code: int | None = None
        error: Error | None = None
        try:
            status, summary, extra = work()
        except Looping as exc:
            status, summary = "failed", f"stopped: the model was looping: {exc}"
        except ModelGaveUp as exc:
            status, summary = "failed", f"the model gave up: {exc}"
        except BudgetExhausted as exc:
            status, summary = "budget_exhausted", f"{exc}; resume with `glmcode run --resume {self.id}`"
        except APIFailure as exc:
            status, summary, exit_code = "error", exc.describe(self.config.provider.name), EXIT_API
            error = Error(kind=exc.kind, message=summary)
        except ConfigError as exc:
            status, summary, exit_code = "error", str(exc), EXIT_USAGE
            error = Error(kind="usage", message=summary)
        except (Interrupted, KeyboardInterrupt):
            status, summary = "interrupted", f"interrupted; resume with `glmcode run --resume {self.id}`"
        except Exception as exc:  # a bug: it must still end in one result, never a bare traceback
            status, summary, exit_code = "error", self._crashed(exc), EXIT_INTERNAL
            error = Error(kind="internal", message=summary)
        finally:
            if timer:
                timer.cancel()
        if error is not None:
            with contextlib.suppress(Exception):
                self.emit(error)
        return self._finish(status, summary, exit_code, extra)

    def _finish(self, status: ResultStatus, summary: str, exit_code: int | None, extra: dict[str, Any]) -> Result:
        """Build and emit the one `Result` of this run (`exit_code` None: the status's usual one)."""
        usage = self.agent.run_usage
        transcript = self.transcript.path if self.transcript else self.saved.path if self.saved else None
        result = Result(
            status=status,
            exit_code=EXIT_CODES[status] if exit_code is None else exit_code,
            summary=summary,
            usage=usage.model_copy(),
            cached_share=round(usage.cached_share, 4),
            turns=self.agent.run_turns,
            duration_s=round(self.budget.elapsed(), 3),
            refused_calls=self.agent.run_refused,
            transcript_path=str(transcript) if transcript else None,
            **extra,
        )
        result = self.redactor.value(result)
        result.session_id = self.id
        self.emit(result)
        return result

    def _crashed(self, exc: Exception) -> str:
        """Keep the traceback in the transcript (if open); return one line naming the bug."""
        frames = traceback.extract_tb(exc.__traceback__)
        where = f" at {Path(frames[-1].filename).name}:{frames[-1].lineno}" if frames else ""
        message = " ".join(str(exc).split()) or "(no message)"
        line = f"internal error (a bug in glmcode): {type(exc).__name__}{where}: {message}"
        if self.transcript is not None:
            with contextlib.suppress(Exception):
                self.transcript.write({"kind": "crash", "traceback": "".join(traceback.format_exception(exc))})
                line += f" (traceback in {self.transcript.path})"
        return line

    def reconfigure(self, **changes: Any) -> None:
        """Change settings mid-session (effort, model, thinking): the request head is rebuilt.

        This is the one change that breaks the provider's prefix cache, so the next request
        pays for the whole history again.
        """
        from glmcode.config import resolve

        settings = self.config.settings.model_copy(update=changes)
        self.config = resolve(settings)
        if self.agent.compactor is not None:
            self.agent.compactor.window = _window(self.config)
        self.agent.client.reconfigure(self.config)
        self.agent.fit_output_budget()
        self.conversation.set_head(request_head(self.config, self.tools.schemas()))

    def compact(self) -> bool:
        """Compact the conversation now, as an automatic compaction would (the TUI's /compact):
        the model summarises, the new history keeps the task, the plan and the recent turns.

        Emits `compaction`; returns False, doing nothing, when there is no turn to drop yet.
        Raises what a model request raises (`APIFailure`, `Interrupted`, `BudgetExhausted`); it
        is not a run, so there is no `Result`.
        """
        self.start()
        return self.agent.compact()

    def diff(self) -> tuple[bool, str]:
        """The workspace's uncommitted changes (the TUI's /diff), as the `git_diff` tool sees them.

        Returns (True, a unified diff, empty when nothing changed), or (False, why not: e.g. not
        a git repository). Safe to call from another thread while a run goes on (read-only).
        """
        result = self.tools.call("git_diff", "{}", self.ctx)
        return result.ok, result.output

    def list_paths(self, limit: int = PATHS_LIMIT) -> list[tuple[str, bool]]:
        """The workspace's files and folders, for `@path` completion: see the module's `list_paths`."""
        return list_paths(self.root, limit)

    def undo_last_run(self) -> list[str] | None:
        """Put the workspace back as it was before this session's last run that changed files.

        Returns the changes taken back (None if there was nothing to undo) and tells the model,
        so it does not go on believing its edits are there. Each undo goes one run further back.
        """
        from glmcode.tools import checkpoints

        self.start()
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
        """A fresh goal state: verify commands from AGENT.md, then config, then `verify`, deduplicated.

        Starts the session first (the rules declare commands).
        """
        from glmcode.engine.goal_state import GoalState

        self.start()
        settings = self.config.settings
        commands = [*self.rules.verify_commands, *settings.verify, *(verify or [])]
        return GoalState(goal=goal, max_fix_rounds=settings.max_fix_rounds, verify_commands=list(dict.fromkeys(commands)))

    def interrupt(self) -> None:
        """Stop the running turn and tools (SIGINT/SIGTERM, Esc); safe from any thread."""
        self.agent.interrupt()

    def close(self) -> None:
        """Stop the session's background commands (every process group: SIGTERM, then SIGKILL after
        2 s), then flush and close the transcript (if `start()` opened it). Safe to call twice."""
        try:
            self.ctx.processes.close()
        finally:
            if self.transcript is not None:
                self.transcript.close()

    def _record_message(self, message: dict[str, Any]) -> None:
        if self.transcript is not None:
            self.transcript.message(message)

    def _record_compaction(self, messages: list[dict[str, Any]]) -> None:
        """Write a compacted history to the transcript as one record (the atomic switch)."""
        if self.transcript is not None:
            compactor = self.agent.compactor
            self.transcript.compaction(messages, self.task, compactor.instruction if compactor else None)

    def _kept(self) -> Kept:
        """What a compaction keeps besides the summary: the task, and the state of a running goal
        (saved to `goal.json` first, the plan as it is now, and re-read from there) or the plan."""
        if self._goal is not None:
            state = self._goal.save_for_compaction()
            return Kept(task=state.goal, state=render_state(state.plan, state.plan_explanation, state))
        return Kept(task=self.task, state=render_state(self.ctx.plan, self.ctx.plan_explanation, None))

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
        """True when the conversation ended with the model's answer, so continuing needs a new prompt.

        Before `start()`, read from the saved session (a fresh one needs a prompt): an answer
        that called tools does not count as the end, since those calls get results on restore.
        """
        if not self.started:
            messages = self.saved.messages if self.saved else []
            if not messages:
                return True
            last = messages[-1]
            return last.get("role") == "system" or (last.get("role") == "assistant" and not last.get("tool_calls"))
        return self.conversation.last_role in (None, "system", "assistant")
