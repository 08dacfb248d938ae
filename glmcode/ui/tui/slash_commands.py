"""Slash commands of the interactive session: the list, parsing, validation, completion, help.

Only the words live here; what each command does is the app's business (`GlmcodeApp.command_*`).
A line is a command when its first word is `/name` with nothing but letters after the slash, so
a prompt that starts with a path (`/etc/hosts looks odd`) is still sent to the model.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from glmcode.providers import EFFORT_LEVELS


@dataclass(frozen=True)
class SlashCommand:
    """One command: its name, its argument's shape, one line of help."""

    name: str
    args: str
    """`<x>` required, `[x]` optional, empty for none."""
    help: str
    needs_session: bool = True
    """Whether it touches the session (so it waits for a running prompt or goal to end)."""

    @property
    def usage(self) -> str:
        return f"/{self.name} {self.args}".rstrip()


COMMANDS: tuple[SlashCommand, ...] = (
    SlashCommand("goal", "<text>", "goal mode: plan → implement → verify → report"),
    SlashCommand("plan", "<text>", "read-only planning: the model explores and proposes a plan"),
    SlashCommand("effort", "<level>", f"reasoning effort: {', '.join(EFFORT_LEVELS)}"),
    SlashCommand("model", "[id]", "show the model, or switch to another"),
    SlashCommand("clear", "", "close this session and start a fresh one"),
    SlashCommand("compact", "", "summarise the conversation to free context"),
    SlashCommand("undo", "", "put the workspace back as it was before the last prompt that changed files"),
    SlashCommand("cost", "", "tokens and cost of this session", needs_session=False),
    SlashCommand("diff", "", "git diff of the workspace", needs_session=False),
    SlashCommand("sessions", "", "the saved sessions of this repo", needs_session=False),
    SlashCommand("resume", "[id]", "switch to a saved session (the latest other one without an id)"),
    SlashCommand("help", "", "keys and commands", needs_session=False),
    SlashCommand("quit", "", "leave glmcode", needs_session=False),
)

_BY_NAME = {command.name: command for command in COMMANDS}
_COMMAND_WORD = re.compile(r"^/([A-Za-z][A-Za-z_-]*)(?:\s|$)")


class CommandError(ValueError):
    """A slash command that cannot run as typed; the message says what to type instead."""


@dataclass(frozen=True)
class Invocation:
    """A parsed command line."""

    command: SlashCommand
    arg: str


def is_command(text: str) -> bool:
    """Whether `text` is meant as a slash command rather than a prompt."""
    return bool(_COMMAND_WORD.match(text.strip()))


def parse(text: str) -> Invocation:
    """The command and argument of `text` (which `is_command`); raises `CommandError`."""
    stripped = text.strip()
    match = _COMMAND_WORD.match(stripped)
    if match is None:
        raise CommandError(f"not a command: {stripped!r}")
    name = match.group(1).lower()
    command = _BY_NAME.get(name)
    if command is None:
        raise CommandError(f"unknown command /{name}. The commands are: {', '.join('/' + c.name for c in COMMANDS)} (/help explains them)")
    arg = stripped[match.end():].strip()
    _check(command, arg)
    return Invocation(command, arg)


def _check(command: SlashCommand, arg: str) -> None:
    if command.args.startswith("<") and not arg:
        raise CommandError(f"/{command.name} needs {command.args}: {command.usage} — {command.help}")
    if not command.args and arg:
        raise CommandError(f"/{command.name} takes no argument (got {arg!r})")
    if command.name == "effort" and arg.lower() not in EFFORT_LEVELS:
        raise CommandError(f"unknown effort {arg!r}; choose one of: {', '.join(EFFORT_LEVELS)}")


def complete(prefix: str) -> list[SlashCommand]:
    """Commands whose name starts with `prefix` (the text after the slash), in list order."""
    prefix = prefix.lower()
    return [command for command in COMMANDS if command.name.startswith(prefix)]


KEYS: tuple[tuple[str, str], ...] = (
    ("Enter", "send the prompt (or run the command)"),
    ("Ctrl+J", "new line (also Shift+Enter where the terminal reports it, and `\\` then Enter)"),
    ("Up / Down", "earlier prompts, when the cursor is on the first / last line"),
    ("@", "complete a file path of the workspace (Tab or Enter to pick)"),
    ("/", "complete a command"),
    ("Esc", "interrupt the running prompt or goal (the partial answer is kept)"),
    ("Ctrl+C twice", "quit"),
    ("PageUp / PageDown", "scroll the conversation"),
    ("click or Enter on a card", "show a tool's output; on “Thinking” to show the reasoning"),
)


def help_markdown() -> str:
    """The `/help` text, as Markdown."""
    keys = "\n".join(f"| {key} | {what} |" for key, what in KEYS)
    commands = "\n".join(f"| `{c.usage}` | {c.help} |" for c in COMMANDS)
    return (
        "**Keys**\n\n| key | does |\n|---|---|\n" + keys + "\n\n"
        "**Commands**\n\n| command | does |\n|---|---|\n" + commands + "\n\n"
        "While a prompt runs you can keep typing: a prompt sent then waits and runs when the one before ends "
        "(Esc interrupts the running one and puts waiting prompts back into the input)."
    )
