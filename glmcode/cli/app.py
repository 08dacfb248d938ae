"""The `glmcode` commands (DESIGN.md §3), as a Typer app.

Each command turns its options into config flags, builds a `Session` and a renderer, and maps
the outcome to an exit code. No engine logic lives here.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from typer._click.exceptions import UsageError  # typer >= 0.29 vendors click

from glmcode import __version__
from glmcode.errors import ConfigError

app = typer.Typer(
    add_completion=False,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
    help="glmcode: a terminal coding agent for long-horizon work with GLM-5.2.",
    context_settings={"help_option_names": ["-h", "--help"]},
)

CwdOpt = Annotated[Path | None, typer.Option("-C", "--cwd", help="Work in DIR instead of the current folder.")]
ProviderOpt = Annotated[str | None, typer.Option("--provider", help="Provider preset: zai, zai-coding, cloudflare, nvidia, hyperstack, openai-compatible.")]
ModelOpt = Annotated[str | None, typer.Option("--model", help="Model id (default: the preset's).")]
BaseUrlOpt = Annotated[str | None, typer.Option("--base-url", help="Endpoint URL (default: the preset's).")]
ApiKeyOpt = Annotated[str | None, typer.Option("--api-key", help="API key (prefer GLMCODE_API_KEY).")]
EffortOpt = Annotated[str | None, typer.Option("--effort", help="Reasoning effort: max, xhigh, high, medium, low, minimal, none.")]
ThinkingOpt = Annotated[bool | None, typer.Option("--thinking/--no-thinking", help="Let the model think before answering.")]
PermissionOpt = Annotated[str | None, typer.Option("--permission-mode", help="read-only, ask, auto-edit or full-auto.")]
YesOpt = Annotated[bool, typer.Option("--yes", "-y", help="Same as --permission-mode full-auto.")]
MaxTurnsOpt = Annotated[int | None, typer.Option("--max-turns", help="Stop after N model turns (exit 4).")]
MaxCostOpt = Annotated[float | None, typer.Option("--max-cost", help="Stop when the cost reaches USD (exit 4).")]
TimeoutOpt = Annotated[float | None, typer.Option("--timeout", help="Stop after SECONDS of wall time (exit 4).")]
OutputOpt = Annotated[str, typer.Option("--output-format", "-o", help="text, json (the result only) or stream-json (every event).")]
ResumeOpt = Annotated[str | None, typer.Option("--resume", help="Continue session ID (see `glmcode sessions`).")]

OUTPUT_FORMATS = ("text", "json", "stream-json")
PERMISSION_MODES = ("read-only", "ask", "auto-edit", "full-auto")


SUBCOMMANDS = ("run", "resume", "sessions", "doctor", "undo", "chat")


def run_app(args: list[str]) -> int:
    """Run the Typer app on `args` and return the exit code; usage errors are one line.

    `glmcode [OPTIONS] [PROMPT]` (no subcommand) is the interactive session: it runs `chat`.
    """
    if not args or (args[0] not in SUBCOMMANDS and args[0] not in ("-h", "--help", "-V", "--version")):
        args = ["chat", *args]
    try:
        result = typer.main.get_command(app).main(args, prog_name="glmcode", standalone_mode=False)
    except typer.Exit as exc:
        return exc.exit_code
    except typer.Abort:
        return 130
    except UsageError as exc:
        hint = f" (see `{exc.ctx.command_path} --help`)" if exc.ctx else ""
        sys.stderr.write(f"error: {exc.format_message()}{hint}\n")
        return 2
    except ConfigError as exc:
        sys.stderr.write(f"error: {exc}\n")
        return 2
    except Exception as exc:  # a bug outside a run (a run turns its own into its `result`)
        message = " ".join(str(exc).split()) or "(no message)"
        sys.stderr.write(f"error: internal error (a bug in glmcode): {type(exc).__name__}: {message}\n")
        return 70
    return result if isinstance(result, int) else 0


def _root(cwd: Path | None, *, check_state: bool = True) -> Path:
    """The workspace: `--cwd` or the current folder, resolved. Raises `ConfigError` when it is
    not a folder, or (with `check_state`; `doctor` reports it as a failed check instead) when
    its `.glmcode` is a symlink or not a folder (`config.check_state_dir`)."""
    from glmcode.config import check_state_dir

    root = (cwd or Path.cwd()).expanduser()
    if not root.is_dir():
        raise ConfigError(f"--cwd {root}: no such folder")
    root = root.resolve()
    if check_state:
        check_state_dir(root)
    return root


def _flags(**options: Any) -> dict[str, Any]:
    """Config flags from options, checked for the choices Typer does not check."""
    if options.get("yes"):
        options["permission_mode"] = "full-auto"
    options.pop("yes", None)
    mode = options.get("permission_mode")
    if mode is not None and mode not in PERMISSION_MODES:
        raise ConfigError(f"--permission-mode must be one of {', '.join(PERMISSION_MODES)} (got {mode!r})")
    return {k: v for k, v in options.items() if v is not None}


@app.command()
def run(
    prompt: Annotated[str | None, typer.Argument(help="The task. `-` (or a pipe) reads it from stdin.")] = None,
    cwd: CwdOpt = None,
    provider: ProviderOpt = None,
    model: ModelOpt = None,
    base_url: BaseUrlOpt = None,
    api_key: ApiKeyOpt = None,
    effort: EffortOpt = None,
    thinking: ThinkingOpt = None,
    permission_mode: PermissionOpt = None,
    yes: YesOpt = False,
    max_turns: MaxTurnsOpt = None,
    max_cost: MaxCostOpt = None,
    timeout: TimeoutOpt = None,
    output_format: OutputOpt = "text",
    resume: ResumeOpt = None,
    goal: Annotated[str | None, typer.Option("--goal", help="Goal mode: plan, implement, verify (the harness runs the checks), report.")] = None,
    verify: Annotated[list[str] | None, typer.Option("--verify", help="A verify command for goal mode (repeatable), besides AGENT.md's and config's.")] = None,
    max_fix_rounds: Annotated[int | None, typer.Option("--max-fix-rounds", help="Goal mode: fix rounds after a failed verify (default 3).")] = None,
) -> int:
    """Run a task headless: the agent works until the model stops calling tools.

    With --goal, the run goes through plan → implement → verify → report and exits 0 only
    when every verify command passed.
    """
    from glmcode.config import load_config, with_default_mode
    from glmcode.engine.transcript import read_session

    if output_format not in OUTPUT_FORMATS:
        raise ConfigError(f"--output-format must be one of {', '.join(OUTPUT_FORMATS)} (got {output_format!r})")
    root = _root(cwd)
    flags = _flags(
        provider=provider, model=model, base_url=base_url, api_key=api_key, effort=effort, thinking=thinking,
        permission_mode=permission_mode, yes=yes, max_turns=max_turns, max_cost=max_cost, timeout=timeout,
        max_fix_rounds=max_fix_rounds,
    )
    config = with_default_mode(load_config(root, flags), "auto-edit")
    if not config.provider.function_calling:  # refused before any request: every run works with tools
        from glmcode.providers import no_function_calling

        raise ConfigError(no_function_calling(config.provider, "`glmcode run` (it reads, edits and runs with tools)"))
    if config.settings.max_cost is not None and config.prices[0] is None:
        raise ConfigError(f"--max-cost needs prices, and provider {config.provider.name!r} has none: set price_input and price_output in config.toml")
    if goal is not None and prompt is not None:
        raise ConfigError("give either a PROMPT or --goal GOAL, not both")
    if goal is not None and not goal.strip():
        raise ConfigError("--goal needs the goal's text")
    prompt = None if goal else _read_prompt(prompt)
    record = None
    if resume:
        if goal:
            raise ConfigError("--resume continues the session's own goal; do not pass --goal with it")
        record = read_session(root, resume)
    elif not prompt and not goal:
        raise ConfigError("no prompt: give the task as an argument, `-` to read it from stdin, --goal GOAL, or --resume ID")
    return _run_session(config, root, record, prompt, output_format, goal=goal, verify=verify or [])


@app.command(hidden=True)
def chat(
    prompt: Annotated[str | None, typer.Argument(help="A first prompt to send.")] = None,
    cwd: CwdOpt = None,
    provider: ProviderOpt = None,
    model: ModelOpt = None,
    base_url: BaseUrlOpt = None,
    api_key: ApiKeyOpt = None,
    effort: EffortOpt = None,
    thinking: ThinkingOpt = None,
    permission_mode: PermissionOpt = None,
    yes: YesOpt = False,
    max_turns: MaxTurnsOpt = None,
    max_cost: MaxCostOpt = None,
    timeout: TimeoutOpt = None,
    resume: ResumeOpt = None,
) -> int:
    """The interactive session (what `glmcode [PROMPT]` runs)."""
    from glmcode.config import load_config, with_default_mode
    from glmcode.engine.transcript import read_session

    root = _root(cwd)
    flags = _flags(
        provider=provider, model=model, base_url=base_url, api_key=api_key, effort=effort, thinking=thinking,
        permission_mode=permission_mode, yes=yes, max_turns=max_turns, max_cost=max_cost, timeout=timeout,
    )
    config = with_default_mode(load_config(root, flags), "ask")
    record = None
    if resume:
        record = read_session(root, resume)
    from glmcode.ui.tui.app import run_tui

    return run_tui(config, root, prompt=prompt, resume=record)


@app.command()
def resume(
    session_id: Annotated[str | None, typer.Argument(help="Session to continue (default: the latest).")] = None,
    cwd: CwdOpt = None,
    permission_mode: PermissionOpt = None,
    yes: YesOpt = False,
) -> int:
    """Continue a session in the interactive session (the latest if no id is given).

    Headless: `glmcode run --resume ID [PROMPT]`.
    """
    from glmcode.config import load_config, with_default_mode
    from glmcode.engine.transcript import latest_session_id, read_session

    root = _root(cwd)
    session_id = session_id or latest_session_id(root)
    if session_id is None:
        raise ConfigError(f"no sessions in {root}")
    record = read_session(root, session_id)
    config = with_default_mode(load_config(root, _flags(permission_mode=permission_mode, yes=yes)), "ask")
    from glmcode.ui.tui.app import run_tui

    return run_tui(config, root, prompt=None, resume=record)


@app.command()
def undo(
    cwd: CwdOpt = None,
    list_: Annotated[bool, typer.Option("--list", help="List the checkpoints, newest first, numbered.")] = False,
    to: Annotated[int | None, typer.Option("--to", help="Restore checkpoint N of --list instead.")] = None,
) -> int:
    """Restore the workspace to where it was before the last run (edits and shell side effects)."""
    import datetime

    from glmcode.tools import checkpoints, snapshot

    root = _root(cwd)
    if snapshot.repo_at(root) is None:
        raise ConfigError(f"{root} is not in a git repository: there are no checkpoints")
    saved = checkpoints.list_all(root)
    if list_:
        for number, point in enumerate(saved, 1):
            when = datetime.datetime.fromtimestamp(point.time).strftime("%Y-%m-%d %H:%M:%S")
            sys.stdout.write(f"{number:>3}  {when}  {point.commit[:10]}  {point.session:<24} {point.label}\n")
        if not saved:
            sys.stdout.write("no checkpoints yet\n")
        return 0
    if to is not None:
        if not 1 <= to <= len(saved):
            raise ConfigError(f"--to {to}: there are {len(saved)} checkpoints (see `glmcode undo --list`)")
        target = saved[to - 1]
    else:
        latest = checkpoints.last_run_start(saved)
        if latest is None:
            raise ConfigError("nothing to undo: no run has changed files here yet")
        target = latest
    changes = checkpoints.restore(root, target)
    sys.stdout.write(f"restored the workspace to {target.commit[:10]} ({target.label})\n")
    for line in changes or ["nothing differed"]:
        sys.stdout.write(f"  {line}\n")
    return 0


@app.command()
def sessions(cwd: CwdOpt = None, output_format: OutputOpt = "text") -> int:
    """List the sessions of this repo, newest first."""
    import json

    from glmcode.engine.transcript import list_sessions

    rows = []
    for record in list_sessions(_root(cwd)):
        result = record.last_result or {}
        rows.append({
            "id": record.id,
            "created": record.meta.get("created", ""),
            "model": record.meta.get("model", ""),
            "status": "unreadable" if record.meta.get("unreadable") else result.get("status", "unfinished"),
            "messages": len(record.messages),
            "prompt": record.first_prompt.splitlines()[0][:80] if record.first_prompt else "",
        })
    if output_format != "text":
        sys.stdout.write(json.dumps(rows, indent=None) + "\n")
    elif not rows:
        sys.stdout.write("no sessions yet\n")
    for row in rows if output_format == "text" else ():
        sys.stdout.write(f"{row['id']}  {row['status']:<16} {row['messages']:>4} msgs  {row['prompt']}\n")
    return 0


@app.command()
def doctor(
    cwd: CwdOpt = None,
    provider: ProviderOpt = None,
    base_url: BaseUrlOpt = None,
    api_key: ApiKeyOpt = None,
    offline: Annotated[bool, typer.Option("--offline", help="Do not contact the endpoint.")] = False,
) -> int:
    """Check config, key, endpoint, git, AGENT.md and the sandbox."""
    from glmcode.cli.doctor import run_checks

    root = _root(cwd, check_state=False)
    ok = True
    for passed, line in run_checks(root, _flags(provider=provider, base_url=base_url, api_key=api_key), offline=offline):
        sys.stdout.write(("ok    " if passed else "FAIL  ") + line + "\n")
        ok = ok and passed
    return 0 if ok else 1


def _read_prompt(prompt: str | None) -> str | None:
    if prompt == "-" or (prompt is None and not sys.stdin.isatty()):
        return sys.stdin.read().strip() or None
    return prompt


def _renderer(output_format: str) -> Any:
    if output_format == "stream-json":
        from glmcode.ui.jsonl import JsonLinesRenderer

        return JsonLinesRenderer()
    if output_format == "json":
        from glmcode.ui.jsonl import ResultOnlyRenderer

        return ResultOnlyRenderer()
    from glmcode.ui.text import TextRenderer, use_color

    if sys.stdout.isatty() and use_color(sys.stdout):
        from glmcode.ui.rich_text import RichTextRenderer

        return RichTextRenderer()
    return TextRenderer()


def _run_session(
    config: Any, root: Path, record: Any, prompt: str | None, output_format: str,
    *, goal: str | None = None, verify: list[str] | None = None,
) -> int:
    """Run one headless session (a task, a goal, or a resumed session) to its `Result`, then leave at once.

    Everything from the session's start to its end — restoring a transcript included — ends
    in the session's one `result` (exit code in it). A new goal nobody could approve edits for
    is refused before anything is written. Leaving with `os._exit` after flushing skips the
    interpreter's slow shutdown (DESIGN.md §8); the transcript is closed before. (The other
    `os._exit` is the TUI's, after SIGHUP: `GlmcodeApp._hang_up`.)
    """
    from glmcode.engine.session import Session, goal_refusal

    approver = None
    if output_format == "text" and sys.stdin.isatty() and sys.stderr.isatty():
        from glmcode.ui.approve import terminal_approver

        approver = terminal_approver
    if goal is not None:
        refusal = goal_refusal(config.settings.permission_mode, approver is not None)
        if refusal:
            raise ConfigError(refusal)
    output = _ClosedOutputGuard(_renderer(output_format))
    session = Session(config, root, output, approver=approver, resume=record)
    output.stop = session.interrupt
    _install_signal_handlers(session)
    try:
        if record is not None:
            result = session.run_resumed(prompt)
        elif goal is not None:
            result = session.run_goal(goal, verify)
        else:
            result = session.run(prompt)
    finally:
        session.close()
        from glmcode.tools.spawn import stop_everything

        stop_everything()  # `os._exit` skips the sweep at interpreter exit: anything marked and left goes now
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError):
            stream.flush()
    os._exit(result.exit_code)


class _ClosedOutputGuard:
    """Hands events to the renderer; when whoever reads stdout has gone (`BrokenPipeError`, e.g.
    `glmcode run … | head`; `EIO` from a terminal that was closed), the run is stopped — `interrupted`, exit 130, the transcript kept and
    resumable — and the rest of the output is dropped. Not a bug of glmcode, so never exit 70."""

    def __init__(self, render: Any) -> None:
        self.render = render
        self.stop: Any = lambda: None
        """Called once when the output closes (the session's `interrupt`)."""
        self.closed = False

    def __call__(self, event: Any) -> None:
        if self.closed:
            return
        try:
            self.render(event)
        except OSError:  # BrokenPipeError, or EIO from a hung-up terminal
            self.closed = True
            with contextlib.suppress(OSError):  # later writes and the final flush go nowhere, quietly
                devnull = os.open(os.devnull, os.O_WRONLY)
                os.dup2(devnull, sys.stdout.fileno())
            self.stop()


def _install_signal_handlers(session: Any) -> None:
    """First SIGINT/SIGTERM/SIGHUP stops the run cleanly (`interrupted`, exit 130, one `result`,
    transcript kept, every command stopped); a second one forces it.

    SIGHUP is what a closed terminal or a dropped ssh connection sends: left to its default, it
    would kill glmcode on the spot — no `result`, and commands outside the parent-death signal's
    reach left running."""
    state = {"count": 0}

    def handle(signum: int, frame: Any) -> None:
        state["count"] += 1
        if state["count"] > 1:
            raise KeyboardInterrupt
        session.interrupt()

    signal.signal(signal.SIGINT, handle)
    signal.signal(signal.SIGTERM, handle)
    if hasattr(signal, "SIGHUP"):  # not on Windows
        signal.signal(signal.SIGHUP, handle)


def version_callback(value: bool) -> None:
    if value:
        typer.echo(f"glmcode {__version__}")
        raise typer.Exit()


@app.callback()
def main_callback(
    version: Annotated[bool, typer.Option("--version", "-V", callback=version_callback, is_eager=True, help="Show the version.")] = False,
) -> None:
    """glmcode: a terminal coding agent for long-horizon work with GLM-5.2."""


__all__ = ["app", "run_app"]
