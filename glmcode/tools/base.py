"""What every tool is made of: a pydantic arguments model, a kind, and a `run` function.

A tool never knows about the UI or the permission mode. It receives validated arguments and a
`ToolContext` (the workspace root, the repo's rules, the plan, the output budget, the session's
background commands) and returns a
`ToolResult`, or raises `ToolError` (or `Refusal`, when a rule forbids the call) with a message
the model can read and act on. What the permission rules need to know about a call — whether it
changes the workspace, a one-line description, what it will do for an approval — the tool answers
itself (`mutates`, `describe`, `preview`), so nothing elsewhere branches on tool names.
"""

from __future__ import annotations

import abc
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict

from glmcode import output_budget, prompts
from glmcode.rules.permissions import CallInfo, Kind
from glmcode.tools.processes import BackgroundProcesses

if TYPE_CHECKING:
    from glmcode.rules.agent_md import Rules
    from glmcode.tools.saved_outputs import OutputStore

ToolKind = Kind
"""read: no side effects; edit: writes files; exec: runs commands; check: runs only the repo's
declared commands (lint, tests); plan: only updates the plan."""

PlanStatus = Literal["pending", "in_progress", "completed"]


class ToolError(Exception):
    """A tool could not do what was asked; the message goes back to the model as the result."""


class PlanStep(BaseModel):
    """One step of the plan kept by `update_plan`."""

    step: str
    status: PlanStatus


class ToolResult(BaseModel):
    """What a tool returns. `output` is what the model reads; the rest is for renderers."""

    ok: bool = True
    output: str
    summary: str = ""
    """A few words for a one-line display (e.g. "42 lines", "exit 1")."""
    diff: str | None = None
    """A unified diff of what an edit changed, for renderers that show it."""
    plan: list[PlanStep] | None = None
    """The new plan, set by `update_plan` only."""
    waiting: bool = False
    """True when the result reports on something still running (a background command read by
    `shell_output`): the same call returning the same thing again is waiting, not a loop, so the
    loop guard does not count it (the turn and time budgets still bound it)."""


class ToolArgs(BaseModel):
    """Base of every tool's arguments: unknown keys are refused so typos reach the model."""

    model_config = ConfigDict(extra="forbid")


@dataclass
class ToolContext:
    """What tools may use besides their arguments."""

    root: Path
    """The workspace root, fully resolved. Nothing outside it is read or written."""
    rules: Rules
    """The repo's AGENT.md rules: declared commands and enforced constraints."""
    shell_timeout: float = 120.0
    """Default timeout of `run_shell` when the model gives none (the tool caps any value at 1800 s)."""
    plan: list[PlanStep] = field(default_factory=list)
    """The current plan, replaced by each `update_plan` call."""
    plan_explanation: str | None = None
    """The plan's note (in goal mode: how the result will be verified), kept until replaced."""
    cancel: threading.Event = field(default_factory=threading.Event)
    """Set when the user interrupts: long-running tools stop early."""
    output_chars: int = output_budget.DEFAULT_LIMIT
    """The output budget: characters of one tool result the model reads at most (see `glmcode.output_budget`)."""
    outputs: OutputStore | None = None
    """Where whole outputs are saved when a result is cut (the session's `outputs/` folder; see
    `glmcode.tools.saved_outputs`); None saves nothing. `read_file` may read that folder."""
    processes: BackgroundProcesses = field(default_factory=BackgroundProcesses)
    """The session's background commands (`run_shell` with `background`, `shell_output`, `shell_stop`);
    whoever owns the context closes it (`Session.close`), or interpreter exit does."""


ArgsT = TypeVar("ArgsT", bound=ToolArgs)
"""The `Args` model a `Tool` subclass's `run` receives (`class ReadFile(Tool[ReadFileArgs])`)."""


class Tool(abc.ABC, Generic[ArgsT]):
    """Base class: subclasses set `name`, `kind`, `Args` and implement `run`.

    The description the model reads is the file `prompts/tools/<name>.md` (tools made at run
    time, such as MCP tools, override `schema`). A registry holds one instance of each tool.
    """

    name: str
    """The name the model calls it by: `^[a-zA-Z0-9_-]{1,64}$`."""
    kind: ToolKind
    """What the tool does, for the permission rules."""
    Args: type[ToolArgs]
    """The pydantic model its arguments are validated into."""

    @abc.abstractmethod
    def run(self, args: ArgsT, ctx: ToolContext) -> ToolResult:
        """Do the work; raise `ToolError` (or `Refusal`) for anything the model should read as a failure."""

    def schema(self) -> dict:
        """The OpenAI `tools[]` entry: name, description from prompts/, parameters from `Args`."""
        return {
            "type": "function",
            "function": {
                "name": self.name,
                "description": prompts.load(f"tools/{self.name}.md"),
                "parameters": plain_schema(self.Args.model_json_schema()),
            },
        }

    def mutates(self, args: ArgsT) -> bool:
        """Whether this call may change the workspace: every call of an edit, exec or check tool."""
        return self.kind not in ("read", "plan")

    def describe(self, args: ArgsT) -> str:
        """One line for approvals and displays: the tool's name and its key argument.

        The default shows the arguments that differ from their defaults as `key=value`. Line
        breaks are shown as `⏎`; nothing is shortened (an approval must show the whole call).
        """
        given = args.model_dump(exclude_defaults=True)
        return one_line(" ".join([self.name, *(f"{key}={value}" for key, value in given.items())]))

    def preview(self, args: ArgsT, ctx: ToolContext) -> str:
        """What this call will do, shown when the user is asked to approve it; never writes anything.

        Plain text, or a unified diff (`--- a/PATH` / `+++ b/PATH` / hunks) for a change to a file.
        The default is `describe(args)`; tools whose effect is worth seeing first (edits, commands)
        override it, and say briefly why a call would fail instead of raising. Any length: the
        registry cuts it to the output budget (`ToolRegistry.preview`).
        """
        return self.describe(args)

    def info(self, args: ArgsT) -> CallInfo:
        """What the permission rules need to decide on this call."""
        return CallInfo(name=self.name, kind=self.kind, mutates=self.mutates(args), description=self.describe(args), args=args)


def one_line(text: str) -> str:
    """`text` on one line: each line break (CRLF, CR or LF) becomes `⏎`."""
    return text.replace("\r\n", "⏎").replace("\n", "⏎").replace("\r", "⏎")


def plain_schema(schema: dict) -> dict:
    """A pydantic JSON schema made plain for any OpenAI-compatible server.

    `$ref`s are replaced by their `$defs` (some servers cannot follow references); an optional
    field's `anyOf: [X, null]` with `default: null` becomes just `X` (leaving it out already
    means "none", and models fill in simple schemas more reliably); pydantic's generated
    `title`s and the top-level `additionalProperties` go (they cost tokens and tell the model
    nothing).
    """
    definitions = schema.get("$defs", {})

    def walk(node: object) -> object:
        if isinstance(node, list):
            return [walk(v) for v in node]
        if not isinstance(node, dict):
            return node
        if "$ref" in node:
            node = {**definitions[node["$ref"].rsplit("/", 1)[-1]], **{k: v for k, v in node.items() if k != "$ref"}}
        variants = node.get("anyOf")
        if isinstance(variants, list) and len(variants) == 2 and {"type": "null"} in variants:
            other = next(v for v in variants if v != {"type": "null"})
            node = {**{k: v for k, v in node.items() if k != "anyOf"}, **other}
            if node.get("default", 0) is None:
                del node["default"]
        return {k: walk(v) for k, v in node.items() if k != "$defs" and not (k == "title" and isinstance(v, str))}

    plain = walk(schema)
    assert isinstance(plain, dict)
    plain.pop("additionalProperties", None)
    return plain
