"""Approvals asked on the terminal in headless `ask` mode (the TUI has its own modal)."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from pydantic import BaseModel

if TYPE_CHECKING:
    from glmcode.engine.session import Decision


def terminal_approver(tool: str, description: str, args: BaseModel) -> Decision:
    """Ask on stderr, read stdin: y = once, a = always for this session, anything else = deny."""
    sys.stderr.write(f"\nallow {description}?  [y] once  [a] always this session  [n] deny: ")
    sys.stderr.flush()
    answer = sys.stdin.readline().strip().lower()
    if answer in ("a", "always"):
        return "always"
    if answer in ("y", "yes"):
        return "once"
    return "deny"
