"""Approvals asked on the terminal in headless `ask` mode (the TUI has its own modal)."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from glmcode.ui import present

if TYPE_CHECKING:
    from glmcode.engine.session import Decision


def terminal_approver(tool: str, description: str, preview: str) -> Decision:
    """Print the call's preview on stderr, then ask; read the answer from stdin.

    y = once, a = always for this session (`tool`), anything else (end of input included) = deny.
    The preview (a diff, `$ command`, ...) is printed as it is, control characters made visible;
    it is left out when it only repeats the one-line `description`.
    """
    shown = present.printable(preview).rstrip("\n")
    question = present.one_line(description)
    block = f"\n{shown}\n" if shown and shown != present.printable(description) else ""
    sys.stderr.write(f"{block}\nallow {question}?  [y] once  [a] always this session  [n] deny: ")
    sys.stderr.flush()
    answer = sys.stdin.readline().strip().lower()
    if answer in ("a", "always"):
        return "always"
    if answer in ("y", "yes"):
        return "once"
    return "deny"
