"""Settings, layered: flags > environment > repo `.glmcode/config.toml` > user config > defaults.

`pydantic-settings` does the layering; `load_config` adds the provider preset on top and turns
every problem (bad TOML, bad value, missing key, unknown provider) into one `ConfigError` line.
"""

from __future__ import annotations

import dataclasses
import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import AliasChoices, Field, SecretStr, ValidationError
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict, TomlConfigSettingsSource

from glmcode import output_budget
from glmcode.errors import ConfigError
from glmcode.providers import EFFORT_LEVELS, PRESETS, Provider

API_KEY_VARIABLES = ("GLMCODE_API_KEY", "ZAI_API_KEY")
"""Where glmcode reads its API key from the environment, first found wins. The one list: the
shell runner removes these from commands' environment, and the redactor hides their values."""

PermissionMode = Literal["read-only", "ask", "auto-edit", "full-auto"]
Effort = Literal["max", "xhigh", "high", "medium", "low", "minimal", "none"]


def user_config_path() -> Path:
    """`$GLMCODE_CONFIG_DIR/config.toml`, else `$XDG_CONFIG_HOME/glmcode/config.toml`, else ~/.config."""
    base = os.environ.get("GLMCODE_CONFIG_DIR")
    if base:
        return Path(base) / "config.toml"
    xdg = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(xdg) / "glmcode" / "config.toml"


STATE_DIR = ".glmcode"
"""glmcode's own folder in a workspace: its config, sessions, runs, caches."""


def repo_config_path(cwd: Path) -> Path:
    """`<cwd>/.glmcode/config.toml`, the repo layer of the settings."""
    return cwd / STATE_DIR / "config.toml"


def check_state_dir(root: Path) -> None:
    """Raise `ConfigError` (exit 2) unless `<root>/.glmcode` is missing or a real folder.

    glmcode keeps other sessions' transcripts there and the tools are kept out of it by name: a
    symlink would write transcripts wherever it points (outside the workspace, or into a folder
    git tracks, where the tools read and write them as ordinary files), and a regular file there
    would fail on the first write. Both are refused before anything is read or sent.
    """
    path = root / STATE_DIR
    try:
        info = path.lstat()
    except FileNotFoundError:
        return
    except OSError as exc:
        raise ConfigError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    if os.path.islink(path):
        raise ConfigError(
            f"{path} is a symlink (to {os.readlink(path)}): glmcode keeps its sessions there and refuses a link; "
            "replace it with a real folder"
        )
    if not stat.S_ISDIR(info.st_mode):
        raise ConfigError(f"{path} is not a folder: glmcode keeps its config and sessions there; move the file away")


class Settings(BaseSettings):
    """Every setting glmcode reads, with its default.

    Each field is also a `config.toml` key and a `GLMCODE_<NAME>` environment variable; the
    layering is DESIGN §3's (flags > environment > repo file > user file > defaults). A field
    left `None` falls back to the provider preset (DESIGN §2) or means "unlimited"/"not sent",
    as its docstring says. `tests/test_config.py` fails if a field has no docstring.
    """

    model_config = SettingsConfigDict(
        env_prefix="GLMCODE_", extra="ignore", populate_by_name=True, validate_default=True
    )

    provider: str = "zai"
    """Provider preset name, one of `providers.PRESETS` (DESIGN §2): zai (default), zai-coding,
    cloudflare, nvidia, hyperstack, zhipu, zhipu-coding, openai-compatible. `--provider`,
    `GLMCODE_PROVIDER`. An unknown name is a `ConfigError` (exit 2) when the config resolves."""
    model: str | None = None
    """Model id sent as `model`; None means the preset's (e.g. `glm-5.2`). `--model`, `GLMCODE_MODEL`."""
    base_url: str | None = None
    """Chat Completions endpoint URL (without `/chat/completions`); None means the preset's.
    Required for presets with a placeholder (cloudflare's `{account_id}`) or none
    (openai-compatible). `--base-url`, `GLMCODE_BASE_URL`."""
    api_key: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices(*API_KEY_VARIABLES)
    )
    """API key, kept as a `SecretStr` so it never shows in a repr or log. From `--api-key`,
    `GLMCODE_API_KEY`, then `ZAI_API_KEY` (DESIGN §3), or `api_key` in a config file. None is a
    `ConfigError` when a request needs a key (openai-compatible may run without one)."""
    effort: Effort | None = None
    """`reasoning_effort` (DESIGN §2 rule 2): max, xhigh, high, medium, low, minimal or none.
    None sends nothing, leaving the provider's default (max on GLM-5.2). Not sent while
    `thinking` is off. `--effort`."""
    thinking: bool = True
    """Let the model reason before answering: sent as `thinking.type` enabled/disabled (with
    `clear_thinking: false`, DESIGN §2 rule 1) or the host's equivalent. `--thinking/--no-thinking`."""
    permission_mode: PermissionMode | None = None
    """Which workspace-changing tool calls run without asking (DESIGN §3): read-only (refused),
    ask (each one asked; refused when nobody can be asked), auto-edit (file edits and AGENT.md's
    declared checks run, other commands are asked), full-auto (all run). Calls that only read
    always run. Unset (None), each front end uses its own default (DESIGN §3): `ask` in the
    interactive session, `auto-edit` for `glmcode run`. `--permission-mode`, `--yes` = full-auto."""
    max_turns: int | None = Field(default=None, ge=1)
    """Model requests allowed per run (≥ 1); None is unlimited. Running out ends the run with
    exit 4 (DESIGN §3). `--max-turns`."""
    max_cost: float | None = Field(default=None, gt=0)
    """Spend allowed per run, in USD (> 0), priced from `price_*`; None is unlimited. Needs
    prices (a `ConfigError` otherwise); running out is exit 4. `--max-cost`."""
    timeout: float | None = Field(default=None, gt=0)
    """Wall-clock budget of one run, in seconds (> 0); None is unlimited. Running out is exit 4.
    `--timeout`."""
    max_tokens: int = Field(default=65_536, ge=1, le=131_072)
    """`max_tokens` of each request, reasoning included: 1..131,072 (GLM's limit, DESIGN §2
    rule 7). The default 65,536 leaves room for long reasoning plus a big tool call."""
    temperature: float | None = Field(default=None, ge=0, le=1)
    """Sampling temperature, 0..1 (DESIGN §2 rule 7); None sends nothing (the provider's default)."""
    top_p: float | None = Field(default=None, ge=0.01, le=1)
    """Nucleus sampling, 0.01..1 (DESIGN §2 rule 7); None sends nothing (the provider's default)."""
    context_window: int | None = Field(default=None, ge=1024)
    """The model's context window in tokens (≥ 1024); None means the preset's (DESIGN §2 table).
    Every request is estimated before it is sent; past `compact_threshold` of the window minus
    `output_reserve_tokens` the history is compacted first. The TUI shows the share used.
    `GLMCODE_CONTEXT_WINDOW`."""
    compact_threshold: float = Field(default=0.85, ge=0.2, le=0.98)
    """Share (0.2..0.98) of the usable window — `context_window` minus `output_reserve_tokens` —
    that the next request's estimated tokens may reach; past it the history is compacted before
    the request is sent. Default 0.85."""
    output_reserve_tokens: int | None = Field(default=None, ge=0)
    """Tokens of the window kept free for the answer (reasoning included), ≥ 0; None means
    `max_tokens`, but never more than a quarter of the window (a small window still gets room
    for its input)."""
    compact_keep_share: float = Field(default=0.25, ge=0.0, le=0.6)
    """Share (0..0.6) of the usable window that the most recent turns, kept verbatim, may fill
    after a compaction (the rest is system prompt, task, plan, verify history and the summary).
    Default 0.25; 0 keeps no turn, only the summary."""
    price_input: float | None = None
    """Price of uncached input, USD per 1M tokens; None means the preset's (DESIGN §2 lists the
    known ones), and no price at all leaves cost unknown and `--max-cost` unusable."""
    price_output: float | None = None
    """Price of output (reasoning included), USD per 1M tokens; None means the preset's."""
    price_cached: float | None = None
    """Price of cached input, USD per 1M tokens; None means the preset's, else `price_input`."""
    stream_usage: bool | None = None
    """Ask for usage in streams (`stream_options: {"include_usage": true}`); None means the
    preset's (on for openai-compatible, cloudflare, nvidia, hyperstack; off for Z.ai and BigModel,
    which send it unasked). Turn it off for a server that rejects the field."""
    retry_attempts: int = Field(default=6, ge=1, le=20)
    """Attempts per model request, the first try included: 1..20. The default 6 is the first
    try plus 5 retries (DESIGN §2 rule 6 asks for at least 5) on retryable failures."""
    retry_initial_s: float = Field(default=1.0, ge=0)
    """First backoff wait between attempts, in seconds (≥ 0); it doubles each retry, plus up to
    this much random jitter. A `Retry-After` from the server replaces it (capped at 300 s)."""
    retry_max_s: float = Field(default=60.0, ge=0)
    """Longest backoff wait between attempts, in seconds (≥ 0)."""
    request_timeout_s: float = Field(default=300.0, gt=0)
    """Longest silence tolerated on a model request, in seconds (> 0): the read timeout of a
    streaming response (connecting has its own 15 s). A timeout is retried like a dropped stream."""
    shell_timeout_s: float = Field(default=120.0, gt=0)
    """Default timeout of a `run_shell` command, in seconds (> 0), used when the model gives
    none; a command's own `timeout` may go up to 1,800 s."""
    tool_output_chars: int = Field(default=output_budget.DEFAULT_LIMIT, ge=1000)
    """The output budget's cap: characters (not bytes) of one tool result the model reads at
    most, ≥ 1,000, default 50,000. The budget is `tool_output_share` of the context window or
    this, whichever is smaller (`Config.output_chars`); after a host refused a request as too long,
    the share is of the input it was found to accept instead. A longer result keeps its head and tail
    with one note of what was cut, and is saved whole under `.glmcode/sessions/<id>/outputs/`
    (`glmcode.output_budget`, `glmcode.tools.saved_outputs`); read_file pages within it. Config
    files and `GLMCODE_TOOL_OUTPUT_CHARS`."""
    tool_output_share: float = Field(default=output_budget.DEFAULT_WINDOW_SHARE, gt=0, le=0.5)
    """Share of the context window one tool result may fill, 0 < share ≤ 0.5, default 0.1:
    with a 16,000-token window a result is cut at 4,800 characters (3 characters a token),
    with GLM-5.2's 1,000,000 at the `tool_output_chars` cap. `GLMCODE_TOOL_OUTPUT_SHARE`."""
    project_map: bool = True
    """Give the model a map of the repository at the start of a task: the tree with sizes and each
    source file's top-level definitions, in the system prompt (cached with it), with a note of
    what changed added to a later task's prompt. `project_map = false` in a config file or
    `GLMCODE_PROJECT_MAP=false` turns it off."""
    project_map_chars: int = Field(default=32_000, ge=1000)
    """The project map's size bound in characters (≥ 1,000; default 32,000, about 8,000 tokens):
    past it, definitions are left out first, then deep folders are folded into one line each."""
    verify: list[str] = Field(default_factory=list)
    """Extra verify commands for goal mode (DESIGN §5), run after AGENT.md's and before
    `--verify`'s, duplicates dropped. Empty by default."""
    max_fix_rounds: int = Field(default=3, ge=0)
    """Goal mode: implement rounds after a failed verify before the report (≥ 0; DESIGN §5's
    default 3). `--max-fix-rounds`."""

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, TomlConfigSettingsSource(settings_cls))


@dataclass(frozen=True)
class Config:
    """Settings resolved against the provider preset: what the client and session use."""

    settings: Settings
    provider: Provider
    base_url: str
    model: str
    api_key: str
    context_window: int
    prices: tuple[float | None, float | None, float | None]

    @property
    def output_chars(self) -> int:
        """The output budget in characters: `tool_output_share` of the context window, at most
        `tool_output_chars` (`output_budget.budget_chars`)."""
        return self.output_chars_within(None)

    def output_chars_within(self, accepted_tokens: int | None) -> int:
        """The output budget in characters when the host accepts only `accepted_tokens` of input
        (tokens, learned from a refusal; None: the configured window holds): `tool_output_share`
        of the smaller of that and the context window, at most `tool_output_chars`."""
        settings = self.settings
        window = min(self.context_window, accepted_tokens) if accepted_tokens else self.context_window
        return output_budget.budget_chars(window, settings.tool_output_share, settings.tool_output_chars)


def load_settings(cwd: Path, flags: dict[str, Any]) -> Settings:
    """Settings from every layer; `flags` holds only the options given on the command line.

    The TOML files are listed user first, repo second: pydantic-settings merges them with the
    later file winning. Raises `ConfigError` for a bad setting or a `.glmcode` that is a symlink
    or not a folder (`check_state_dir`).
    """
    check_state_dir(cwd)
    files = [p for p in (user_config_path(), repo_config_path(cwd)) if p.is_file()]
    for path in files:
        _check_toml(path)
    layered = type("Settings", (Settings,), {"model_config": {**Settings.model_config, "toml_file": files}})
    try:
        return layered(**{k: v for k, v in flags.items() if v is not None})
    except ValidationError as exc:
        raise ConfigError(_describe(exc)) from None


def check_base_url(url: str) -> None:
    """Raise `ConfigError` unless `url` is an absolute `http://` or `https://` URL with a host
    (e.g. `https://api.z.ai/api/paas/v4`): a malformed one is a configuration error (exit 2), found
    before any request rather than after the retries of an API error."""
    try:
        parts = urlsplit(url)
    except ValueError as e:  # an unclosed IPv6 bracket, for one
        raise ConfigError(f"the base URL {url!r} cannot be parsed: {e}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(
            f"the base URL {url!r} is not an http:// or https:// URL with a host "
            "(e.g. https://api.z.ai/api/paas/v4); check --base-url, GLMCODE_BASE_URL or config base_url"
        )
    try:
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number in range
    except ValueError as e:
        raise ConfigError(f"the base URL {url!r} has a bad port: {e}") from None


def resolve(settings: Settings, *, require_key: bool = True) -> Config:
    """Apply the provider preset; raise `ConfigError` for an unknown provider or a missing key."""
    provider = PRESETS.get(settings.provider)
    if provider is None:
        raise ConfigError(f"unknown provider {settings.provider!r}; choose one of: {', '.join(PRESETS)}")
    base_url = (settings.base_url or provider.base_url).rstrip("/")
    if not base_url:
        raise ConfigError(f"provider {provider.name!r} needs --base-url (or GLMCODE_BASE_URL)")
    if "{" in base_url:
        raise ConfigError(f"the base URL {base_url!r} has a placeholder to fill in; pass --base-url")
    check_base_url(base_url)
    api_key = settings.api_key.get_secret_value() if settings.api_key else ""
    if require_key and not api_key:
        raise ConfigError("no API key: set GLMCODE_API_KEY (or ZAI_API_KEY), pass --api-key, or add api_key to config.toml")
    if settings.stream_usage is not None and settings.stream_usage != provider.stream_usage:
        provider = dataclasses.replace(provider, stream_usage=settings.stream_usage)
    return Config(
        settings=settings,
        provider=provider,
        base_url=base_url,
        model=settings.model or provider.model,
        api_key=api_key,
        context_window=settings.context_window or provider.context_window,
        prices=(
            settings.price_input if settings.price_input is not None else provider.price_input,
            settings.price_output if settings.price_output is not None else provider.price_output,
            settings.price_cached if settings.price_cached is not None else provider.price_cached,
        ),
    )


def with_default_mode(config: Config, mode: PermissionMode) -> Config:
    """`config` with `permission_mode` set to `mode` when no layer set one (DESIGN §3 defaults:
    `ask` for the interactive session, `auto-edit` for `glmcode run`)."""
    if config.settings.permission_mode is not None:
        return config
    return dataclasses.replace(config, settings=config.settings.model_copy(update={"permission_mode": mode}))


def load_config(cwd: Path, flags: dict[str, Any], *, require_key: bool = True) -> Config:
    """`resolve(load_settings(...))`: the one call the CLI makes."""
    return resolve(load_settings(cwd, flags), require_key=require_key)


def _check_toml(path: Path) -> None:
    import tomllib

    try:
        tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc})") from None


def _describe(exc: ValidationError) -> str:
    """One line naming each bad setting and what is wrong with it."""
    parts = []
    for err in exc.errors():
        name = ".".join(str(x) for x in err["loc"]) or "settings"
        if name == "effort":
            parts.append(f"effort: must be one of {', '.join(EFFORT_LEVELS)}")
        else:
            parts.append(f"{name}: {err['msg']} (got {err.get('input')!r})")
    return "invalid setting: " + "; ".join(parts)
