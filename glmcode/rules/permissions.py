"""Who may do what: the permission mode, per-session approvals, and the goal stage's limits.

`Permissions.check` answers one call, described by a `CallInfo` (what the call is, not which
tool class makes it): it returns when the call may run and raises `Refusal` with the message the
model reads when it may not. In `ask` mode the question goes to an `Approver` (the TUI's modal,
or a terminal prompt); with no one to ask, the call is refused with a message that says how to
allow it.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from pydantic import BaseModel

from glmcode.errors import Refusal

Kind = Literal["read", "edit", "exec", "check", "plan"]
"""What a call does. read: no side effects; edit: writes files; exec: runs commands; check: runs
only the commands the repo itself declares (lint, tests), so `auto-edit` allows it; plan: only
updates the plan."""

Decision = Literal["once", "always", "deny"]
"""once: allow this call; always: allow every call of this tool for the rest of the session; deny."""
Approver = Callable[[str, str, str], Decision]
"""Called with (tool name, one-line description of the call, preview); returns the decision.

The preview (see `CallInfo.preview`) is what the call will do, in a few lines of plain text or a
unified diff; an approver shows it as it is and never needs the tool or its arguments."""


@dataclass(frozen=True)
class CallInfo:
    """One call as the rules see it: everything a permission decision may look at."""

    name: str
    """The tool's name, e.g. `run_shell`."""
    kind: Kind
    """What the tool does (see `Kind`)."""
    mutates: bool
    """Whether this call, with these arguments, may change the workspace."""
    description: str
    """One line naming the tool and its key argument, as shown in approvals."""
    args: BaseModel
    """The validated arguments."""
    previewer: Callable[[], str] | None = field(default=None, compare=False, repr=False)
    """Computes `preview()`; set by whoever can run the tool (the registry, which has its context)."""

    def preview(self) -> str:
        """What the call will do, for an approval: a unified diff, `$ command`, or plain lines.

        Computed on each call (it may read a file), so it is asked for only when an approval is;
        without a `previewer` it is the `description`.
        """
        return self.previewer() if self.previewer is not None else self.description


READ_ONLY_PROGRAMS = frozenset({
    "ls", "cat", "head", "tail", "grep", "egrep", "fgrep", "rg", "find", "wc", "pwd", "file",
    "stat", "du", "df", "which", "echo", "printf", "cut", "diff", "basename", "dirname",
    "realpath", "readlink", "nl", "true", "date", "uname", "whoami", "id",
})
"""Programs that only read, when used without output redirection. Programs that can write or
run others through an option or operand (sed, sort -o, uniq, tree -o, env, xargs) are left out."""
_WRITING_OPTIONS = ("--output", "-fprint", "-fls", "--pre")
"""Options of listed programs (git diff, find, rg) that write files or run programs."""
READ_ONLY_GIT = frozenset({
    "status", "log", "diff", "show", "branch", "ls-files", "grep", "blame", "rev-parse", "describe", "shortlog", "tag",
})
_SAFE_REDIRECTS = re.compile(r"\d?>&\d|\d?>\s*/dev/null")
_FIND_ACTIONS = frozenset({"-delete", "-exec", "-execdir", "-ok", "-okdir", "-fprint", "-fprintf", "-fls"})


def is_read_only_command(command: str) -> bool:
    """True when every part of a shell command only reads (`ls`, `git diff`, `grep`, ...).

    Conservative: any output redirection, command substitution, or program not known to be
    read-only makes the answer False.
    """
    text = _SAFE_REDIRECTS.sub(" ", command)
    if ">" in text or "`" in text or "$(" in text or "<(" in text:
        return False
    for segment in re.split(r"\|\||&&|[;|&\n]", text):
        try:
            words = shlex.split(segment)
        except ValueError:
            return False
        if not words:
            continue
        program, rest = words[0], words[1:]
        if program == "git":
            sub = next((w for w in rest if not w.startswith("-")), "")
            if sub not in READ_ONLY_GIT or (sub in ("branch", "tag") and len(rest) > 1):
                return False
            if any(w.startswith(_WRITING_OPTIONS) for w in rest):
                return False
        elif any(w.startswith(_WRITING_OPTIONS) for w in rest):
            return False
        elif program == "find":
            if any(w in _FIND_ACTIONS for w in rest):
                return False
        elif program not in READ_ONLY_PROGRAMS:
            return False
    return True


@dataclass
class Permissions:
    """The permission mode of a session, and the approvals given during it."""

    mode: str = "ask"
    approver: Approver | None = None
    read_only_reason: str | None = None
    """When set (e.g. by the goal plan stage), every mutating call is refused with this reason."""
    always_allowed: set[str] = field(default_factory=set)

    def check(self, call: CallInfo) -> None:
        """Return if `call` may run; raise `Refusal` with the message for the model if not."""
        if not call.mutates:
            return
        if self.read_only_reason:
            raise Refusal(self.read_only_reason)
        if self.mode == "read-only":
            raise Refusal(f"refused: {call.name} changes the workspace and this session is in read-only permission mode")
        if self.mode == "full-auto" or call.name in self.always_allowed:
            return
        if self.mode == "auto-edit" and call.kind in ("edit", "check"):
            return
        if self.approver is None:
            allowing = "--permission-mode auto-edit or full-auto, or --yes" if call.kind in ("edit", "check") else "--permission-mode full-auto, or --yes"
            raise Refusal(
                f"refused: {call.name} needs the user's approval in {self.mode} mode and nobody can be asked "
                f"in this run (the user can allow it with {allowing})"
            )
        decision = self.approver(call.name, call.description, call.preview())
        if decision == "always":
            self.always_allowed.add(call.name)
        if decision == "deny":
            raise Refusal(f"refused: the user denied this {call.name} call")
