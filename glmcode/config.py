"""Settings, layered: flags > environment > repo `.glmcode/config.toml` > user config > defaults.

`pydantic-settings` does the layering; `load_config` adds the provider preset on top and turns
every problem (bad TOML, bad value, missing key, unknown provider) into one `ConfigError` line.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import AliasChoices, Field, SecretStr, ValidationError
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict, TomlConfigSettingsSource

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


def repo_config_path(cwd: Path) -> Path:
    return cwd / ".glmcode" / "config.toml"


class Settings(BaseSettings):
    """Every setting glmcode reads, with its default."""

    model_config = SettingsConfigDict(
        env_prefix="GLMCODE_", extra="ignore", populate_by_name=True, validate_default=True
    )

    provider: str = "zai"
    """A preset name from providers.PRESETS."""
    model: str | None = None
    """Model id; defaults to the preset's."""
    base_url: str | None = None
    """Endpoint; defaults to the preset's."""
    api_key: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices(*API_KEY_VARIABLES)
    )
    effort: Effort | None = None
    """`reasoning_effort`; unset leaves the provider's default (max)."""
    thinking: bool = True
    permission_mode: PermissionMode = "ask"
    max_turns: int | None = Field(default=None, ge=1)
    max_cost: float | None = Field(default=None, gt=0)
    timeout: float | None = Field(default=None, gt=0)
    """Wall-clock budget of one run, in seconds."""
    max_tokens: int = Field(default=65_536, ge=1, le=131_072)
    temperature: float | None = Field(default=None, ge=0, le=1)
    top_p: float | None = Field(default=None, ge=0.01, le=1)
    context_window: int | None = Field(default=None, ge=1024)
    price_input: float | None = None
    price_output: float | None = None
    price_cached: float | None = None
    retry_attempts: int = Field(default=6, ge=1, le=20)
    """Attempts per model request (first try included)."""
    retry_initial_s: float = Field(default=1.0, ge=0)
    retry_max_s: float = Field(default=60.0, ge=0)
    request_timeout_s: float = Field(default=300.0, gt=0)
    """Longest silence tolerated on a streaming response."""
    shell_timeout_s: float = Field(default=120.0, gt=0)
    verify: list[str] = Field(default_factory=list)
    """Extra verify commands for goal mode."""
    max_fix_rounds: int = Field(default=3, ge=0)

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


def load_settings(cwd: Path, flags: dict[str, Any]) -> Settings:
    """Settings from every layer; `flags` holds only the options given on the command line.

    The TOML files are listed user first, repo second: pydantic-settings merges them with the
    later file winning.
    """
    files = [p for p in (user_config_path(), repo_config_path(cwd)) if p.is_file()]
    for path in files:
        _check_toml(path)
    layered = type("Settings", (Settings,), {"model_config": {**Settings.model_config, "toml_file": files}})
    try:
        return layered(**{k: v for k, v in flags.items() if v is not None})
    except ValidationError as exc:
        raise ConfigError(_describe(exc)) from None


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
    api_key = settings.api_key.get_secret_value() if settings.api_key else ""
    if require_key and not api_key:
        raise ConfigError("no API key: set GLMCODE_API_KEY (or ZAI_API_KEY), pass --api-key, or add api_key to config.toml")
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
