"""Limits of one run (a headless invocation, or one prompt or goal in the TUI): turns, cost and
wall time. Running out ends the run with exit code 4."""

from __future__ import annotations

import time
from dataclasses import dataclass, field


class BudgetExhausted(Exception):
    """A budget ran out; the message says which and by how much."""


@dataclass
class Budget:
    """The three budgets of `--max-turns`, `--max-cost` and `--timeout`; None means unlimited."""

    max_turns: int | None = None
    max_cost: float | None = None
    timeout_s: float | None = None
    started: float = field(default_factory=time.monotonic)

    def check(self, turns: int, cost: float | None) -> None:
        """Raise `BudgetExhausted` if another model request would exceed a budget."""
        if self.max_turns is not None and turns >= self.max_turns:
            raise BudgetExhausted(f"the turn budget ran out ({turns} of --max-turns {self.max_turns})")
        if self.max_cost is not None and cost is not None and cost >= self.max_cost:
            raise BudgetExhausted(f"the cost budget ran out (${cost:.4f} of --max-cost ${self.max_cost:.4f})")
        if self.timeout_s is not None and self.elapsed() >= self.timeout_s:
            raise BudgetExhausted(f"the time budget ran out ({self.elapsed():.0f} s of --timeout {self.timeout_s:.0f} s)")

    def restart(self) -> None:
        """A new run starts now: the time budget counts from here."""
        self.started = time.monotonic()

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def remaining_s(self) -> float | None:
        return None if self.timeout_s is None else max(self.timeout_s - self.elapsed(), 0.0)
