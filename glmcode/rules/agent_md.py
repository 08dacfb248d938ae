"""The repo's rules: AGENT.md (or AGENTS.md, CLAUDE.md) found, parsed and enforced.

The full text goes into the system prompt. Two sections are also read mechanically:

- a heading `Commands` (or `Checks`, `Verify`) with bullets ``- <Name>: `<command>` ``
  declares commands; `lint` and `test` feed the `lint` and `run_tests` tools. Goal mode's
  verify commands are every command under `Checks`/`Verify`, and those under `Commands` whose
  name says they check something (`VERIFY_NAMES`: lint, test, typecheck, build, ...), so a
  `setup` or `deploy` command is never run as a check;
- a heading `Constraints` with bullets such as ``Do not modify `<glob>` ``, `Do not commit`,
  `Do not add dependencies`, which the harness enforces: a tool call that would break one is
  refused with an error naming the rule.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import pathspec

from glmcode.errors import Refusal

RULE_FILENAMES = ("AGENT.md", "AGENTS.md", "CLAUDE.md")
"""Looked for in each folder, in this order of preference; the first one present is used."""

COMMAND_HEADINGS = {"commands", "checks", "verify", "verification"}
VERIFY_HEADINGS = {"checks", "verify", "verification"}
VERIFY_NAMES = frozenset({
    "lint", "test", "tests", "typecheck", "type-check", "types", "check", "checks", "build",
    "format-check", "fmt-check", "fmt", "format", "verify",
})
"""Names of commands under `Commands` that goal mode runs as verify commands."""
CONSTRAINT_HEADINGS = {"constraints", "rules"}

DEPENDENCY_MANIFESTS = pathspec.PathSpec.from_lines(
    "gitignore",
    [
        "pyproject.toml", "setup.py", "setup.cfg", "requirements*.txt", "requirements/*.txt",
        "requirements*.in", "Pipfile", "Pipfile.lock", "poetry.lock", "uv.lock", "pdm.lock",
        "environment.yml", "package.json", "package-lock.json", "yarn.lock", "pnpm-lock.yaml",
        "Cargo.toml", "Cargo.lock", "go.mod", "go.sum", "Gemfile", "Gemfile.lock",
        "composer.json", "composer.lock", "pom.xml", "build.gradle", "build.gradle.kts",
    ],
)
"""Files whose change counts as a dependency change under `Do not add dependencies`."""

_HEADING = re.compile(r"^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
_BULLET = re.compile(r"^\s*[-*+]\s+(.*\S)\s*$")
_COMMAND_BULLET = re.compile(r"^(?:\*\*|__)?`?([A-Za-z][\w .-]*?)`?\s*(?:(?:\*\*|__)\s*:|:\s*(?:\*\*|__)?)\s*`([^`]+)`")
_PROTECT = re.compile(r"\b(?:do not|don't|never)\s+(?:modify|edit|change|touch|write(?:\s+to)?|delete)\b", re.I)
_NO_COMMIT = re.compile(r"\b(?:do not|don't|never)\s+(?:git\s+)?(?:commit|push)\b", re.I)
_NO_DEPS = re.compile(r"\b(?:do not|don't|never)\s+add\s+(?:any\s+)?(?:new\s+)?(?:dependencies|dependency|deps|packages)\b", re.I)
_GIT_COMMIT = re.compile(r"(?:^|[\s;&|(])git(?:\s+-\S+(?:\s+[^\s-]\S*)?)*\s+(?:commit|push)\b")
_DEP_ADD = re.compile(
    r"(?:^|[\s;&|(])(?:poetry\s+add|uv\s+add|pdm\s+add|pipenv\s+install\s+\w|cargo\s+add|go\s+get|"
    r"yarn\s+add|pnpm\s+add|npm\s+(?:install|i|add)\s+(?:-\S+\s+)*[@\w])"
)


@dataclass
class ProtectedPaths:
    """Globs from one rule bullet, matched relative to the folder of the file that declared them."""

    base: Path
    globs: list[str]
    rule: str
    spec: pathspec.PathSpec = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.spec = pathspec.PathSpec.from_lines("gitignore", self.globs)

    def matches(self, path: Path) -> bool:
        try:
            rel = path.relative_to(self.base).as_posix()
        except ValueError:
            return False
        return self.spec.match_file(rel)


@dataclass
class Rules:
    """Everything read from the repo's rule files."""

    text: str = ""
    """The rule files' full text, joined, for the system prompt."""
    sources: list[Path] = field(default_factory=list)
    commands: dict[str, str] = field(default_factory=dict)
    """Declared commands by lower-case name, in declaration order (later files override)."""
    checks: set[str] = field(default_factory=set)
    """Names of declared commands that are verify commands."""
    protected: list[ProtectedPaths] = field(default_factory=list)
    no_commit_rule: str | None = None
    no_dependencies_rule: str | None = None
    unenforced: list[str] = field(default_factory=list)
    """Constraint bullets that name no rule the harness knows how to enforce."""

    @property
    def verify_commands(self) -> list[str]:
        """The commands goal mode runs to verify a change, in declaration order."""
        return [command for name, command in self.commands.items() if name in self.checks]

    @property
    def lint_command(self) -> str | None:
        return self.commands.get("lint")

    @property
    def test_command(self) -> str | None:
        return self.commands.get("test") or self.commands.get("tests")

    def broken_by_write(self, path: Path, root: Path) -> str | None:
        """Why writing `path` (absolute, resolved) breaks a constraint, or None if it does not."""
        for protected in self.protected:
            if protected.matches(path):
                return f"refused by the AGENT.md rule “{protected.rule}”: {_rel(path, root)} is protected"
        if self.no_dependencies_rule and is_dependency_manifest(path, root):
            return (
                f"refused by the AGENT.md rule “{self.no_dependencies_rule}”: "
                f"{_rel(path, root)} is a dependency manifest"
            )
        return None

    def check_write(self, path: Path, root: Path) -> None:
        """Raise `Refusal` if writing `path` (absolute, resolved) breaks a constraint."""
        reason = self.broken_by_write(path, root)
        if reason:
            raise Refusal(reason)

    def check_command(self, command: str) -> None:
        """Raise `Refusal` if a shell command would break a constraint (commits, new dependencies)."""
        if self.no_commit_rule and _GIT_COMMIT.search(command):
            raise Refusal(f"refused by the AGENT.md rule “{self.no_commit_rule}”: the command commits or pushes")
        if self.no_dependencies_rule and _DEP_ADD.search(command):
            raise Refusal(
                f"refused by the AGENT.md rule “{self.no_dependencies_rule}”: the command adds a dependency"
            )


def is_dependency_manifest(path: Path, root: Path) -> bool:
    """True for files like pyproject.toml, requirements*.txt, package.json, Cargo.toml, go.mod."""
    return DEPENDENCY_MANIFESTS.match_file(_rel(path, root))


def _rel(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return path.as_posix()


def find_rule_files(start: Path) -> list[Path]:
    """Rule files from the git root (or `start` outside git) down to `start`, outermost first."""
    start = start.resolve()
    folders = [start]
    if not (start / ".git").exists():
        for parent in start.parents:
            folders.append(parent)
            if (parent / ".git").exists():
                break
        else:
            folders = [start]
    found = []
    for folder in reversed(folders):
        for name in RULE_FILENAMES:
            if (folder / name).is_file():
                found.append(folder / name)
                break
    return found


def load_rules(start: Path) -> Rules:
    """Find, read and parse the rule files that apply to the workspace at `start`."""
    rules = Rules()
    texts = []
    for path in find_rule_files(start):
        text = path.read_text(encoding="utf-8", errors="replace")
        rules.sources.append(path)
        texts.append(text if len(rules.sources) == 1 else f"<!-- {path.name} in {path.parent} -->\n{text}")
        parse_into(rules, text, path.parent)
    rules.text = "\n\n".join(t.strip() for t in texts)
    return rules


def parse_into(rules: Rules, text: str, base: Path) -> None:
    """Add the commands and constraints declared in one rule file's `text` to `rules`."""
    section = ""
    for line in text.splitlines():
        heading = _HEADING.match(line)
        if heading:
            section = heading.group(2).strip().strip("*_` ").lower()
            continue
        bullet = _BULLET.match(line)
        if not bullet:
            continue
        item = bullet.group(1)
        if section in COMMAND_HEADINGS:
            command = _COMMAND_BULLET.match(item)
            if command:
                name = command.group(1).strip().lower()
                rules.commands[name] = command.group(2).strip()
                if section in VERIFY_HEADINGS or name in VERIFY_NAMES:
                    rules.checks.add(name)
        elif section in CONSTRAINT_HEADINGS:
            _parse_constraint(rules, item, base)


def _parse_constraint(rules: Rules, item: str, base: Path) -> None:
    rule = item.strip()
    if _NO_DEPS.search(rule):
        rules.no_dependencies_rule = rule
    elif _NO_COMMIT.search(rule):
        rules.no_commit_rule = rule
    elif _PROTECT.search(rule) and (globs := re.findall(r"`([^`]+)`", rule)):
        rules.protected.append(ProtectedPaths(base=base.resolve(), globs=globs, rule=rule))
    else:
        rules.unenforced.append(rule)
