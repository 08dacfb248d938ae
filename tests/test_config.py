"""Layered settings: flags > env > repo config > user config > preset defaults (DESIGN.md §2, §3, §7)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from glmcode.config import ConfigError, load_config, load_settings, user_config_path


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in list(os.environ):
        if name.startswith(("GLMCODE_", "ZAI_")) or name in ("API_KEY", "XDG_CONFIG_HOME"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("GLMCODE_CONFIG_DIR", str(tmp_path / "user"))


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    path = tmp_path / "repo"
    path.mkdir()
    return path


def write_user(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "user" / "config.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def write_repo(repo: Path, text: str) -> Path:
    path = repo / ".glmcode" / "config.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_user_config_path(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    assert user_config_path() == tmp_path / "user" / "config.toml"
    monkeypatch.delenv("GLMCODE_CONFIG_DIR")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    assert user_config_path() == tmp_path / "xdg" / "glmcode" / "config.toml"


def test_preset_defaults(repo: Path) -> None:
    config = load_config(repo, {"api_key": "k"})
    assert (config.provider.name, config.base_url, config.model, config.context_window) == (
        "zai", "https://api.z.ai/api/paas/v4", "glm-5.2", 1_000_000,
    )
    assert config.prices == (1.40, 4.40, 0.26), "cost_usd is never null on the default provider"
    assert config.provider.price_source and "DESIGN.md" in config.provider.price_source
    s = config.settings
    assert (s.permission_mode, s.thinking, s.effort, s.max_tokens, s.temperature, s.top_p) == (None, True, None, 65_536, None, None)


def test_precedence_field_by_field(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, repo: Path) -> None:
    write_user(tmp_path, """
model = "user-model"
effort = "low"
max_tokens = 1000
temperature = 0.1
top_p = 0.5
max_turns = 11
""")
    write_repo(repo, """
model = "repo-model"
effort = "medium"
max_tokens = 2000
top_p = 0.6
""")
    monkeypatch.setenv("GLMCODE_MODEL", "env-model")
    monkeypatch.setenv("GLMCODE_EFFORT", "high")
    flags = {"model": "flag-model", "effort": None, "max_turns": None}  # None means "flag not given"
    s = load_settings(repo, flags)
    assert s.model == "flag-model"  # flag > env > repo > user
    assert s.effort == "high"  # env > repo > user (flag absent)
    assert s.max_tokens == 2000 and s.top_p == 0.6  # repo > user
    assert s.temperature == 0.1 and s.max_turns == 11  # user only
    assert s.permission_mode is None  # default: each front end picks its own (DESIGN §3)


def test_flags_beat_config_files_and_resolve_against_the_preset(tmp_path: Path, repo: Path) -> None:
    write_repo(repo, 'provider = "hyperstack"\nbase_url = "https://repo.example/v1/"\napi_key = "repo-key-123456"\n')
    config = load_config(repo, {"base_url": "https://flag.example/v1/"})
    assert config.provider.name == "hyperstack"
    assert config.base_url == "https://flag.example/v1"  # trailing slash stripped
    assert config.api_key == "repo-key-123456"
    assert config.model == "zai-org/GLM-5.2"
    assert config.context_window == 1_048_576


def test_env_provider_beats_user_config(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, repo: Path) -> None:
    write_user(tmp_path, 'provider = "nvidia"\n')
    assert load_config(repo, {"api_key": "k"}).provider.name == "nvidia"
    monkeypatch.setenv("GLMCODE_PROVIDER", "zai-coding")
    config = load_config(repo, {"api_key": "k"})
    assert (config.provider.name, config.base_url) == ("zai-coding", "https://api.z.ai/api/coding/paas/v4")


def test_zai_api_key_is_the_fallback(monkeypatch: pytest.MonkeyPatch, repo: Path) -> None:
    monkeypatch.setenv("ZAI_API_KEY", "zai-key")
    assert load_config(repo, {}).api_key == "zai-key"
    monkeypatch.setenv("GLMCODE_API_KEY", "glmcode-key")
    assert load_config(repo, {}).api_key == "glmcode-key"
    assert load_config(repo, {"api_key": "flag-key"}).api_key == "flag-key"


def test_env_key_beats_a_key_in_config_files(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, repo: Path) -> None:
    write_user(tmp_path, 'api_key = "user-file-key"\n')
    assert load_config(repo, {}).api_key == "user-file-key"
    monkeypatch.setenv("ZAI_API_KEY", "zai-key")
    assert load_config(repo, {}).api_key == "zai-key"


def test_an_unrelated_api_key_variable_is_never_used(monkeypatch: pytest.MonkeyPatch, repo: Path) -> None:
    # `API_KEY` may belong to any other service: it must not be sent to the GLM provider.
    monkeypatch.setenv("API_KEY", "someone-elses-key")
    with pytest.raises(ConfigError, match="no API key"):
        load_config(repo, {})
    monkeypatch.setenv("GLMCODE_API_KEY", "glmcode-key")
    assert load_config(repo, {}).api_key == "glmcode-key"


def test_missing_key(repo: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(repo, {})
    assert str(caught.value) == (
        "no API key: set GLMCODE_API_KEY (or ZAI_API_KEY), pass --api-key, or add api_key to config.toml"
    )
    assert load_config(repo, {}, require_key=False).api_key == ""


@pytest.mark.parametrize("where", ["user", "repo"])
def test_bad_toml_names_the_file(tmp_path: Path, repo: Path, where: str) -> None:
    path = write_user(tmp_path, "model = \n") if where == "user" else write_repo(repo, "[unclosed\n")
    with pytest.raises(ConfigError) as caught:
        load_config(repo, {"api_key": "k"})
    message = str(caught.value)
    assert message.startswith(f"{path}: not valid TOML (")
    assert "\n" not in message


@pytest.mark.parametrize(
    ("flags", "field"),
    [({"temperature": 2}, "temperature"), ({"top_p": 0}, "top_p"), ({"max_tokens": 200_000}, "max_tokens"), ({"max_turns": 0}, "max_turns")],
)
def test_out_of_range_flags(repo: Path, flags: dict, field: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(repo, {"api_key": "k", **flags})
    message = str(caught.value)
    assert message.startswith(f"invalid setting: {field}: ")
    assert f"(got {next(iter(flags.values()))!r})" in message
    assert "\n" not in message


def test_out_of_range_values_from_env_and_files(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, repo: Path) -> None:
    write_repo(repo, "temperature = 2\n")
    with pytest.raises(ConfigError, match=r"^invalid setting: temperature: "):
        load_config(repo, {"api_key": "k"})
    write_repo(repo, "")
    monkeypatch.setenv("GLMCODE_MAX_TOKENS", "200000")
    with pytest.raises(ConfigError, match=r"^invalid setting: max_tokens: .*\(got '200000'\)$"):
        load_config(repo, {"api_key": "k"})


def test_limits_are_inclusive(repo: Path) -> None:
    s = load_config(repo, {"api_key": "k", "temperature": 1, "top_p": 0.01, "max_tokens": 131_072}).settings
    assert (s.temperature, s.top_p, s.max_tokens) == (1, 0.01, 131_072)


def test_bad_effort_lists_the_levels(repo: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(repo, {"api_key": "k", "effort": "extreme"})
    assert str(caught.value) == "invalid setting: effort: must be one of max, xhigh, high, medium, low, minimal, none"


def test_unknown_provider(repo: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(repo, {"api_key": "k", "provider": "openrouter"})
    assert str(caught.value) == (
        "unknown provider 'openrouter'; choose one of: zai, zai-coding, cloudflare, nvidia, hyperstack, openai-compatible"
    )


def test_cloudflare_needs_the_account_id_in_the_base_url(repo: Path) -> None:
    with pytest.raises(ConfigError, match="placeholder"):
        load_config(repo, {"api_key": "k", "provider": "cloudflare"})
    config = load_config(
        repo, {"api_key": "k", "provider": "cloudflare", "base_url": "https://api.cloudflare.com/client/v4/accounts/abc123/ai/v1"}
    )
    assert config.model == "@cf/zai-org/glm-5.2"
    assert config.context_window == 262_144
    assert config.prices == (1.40, 4.40, 0.26)


def test_openai_compatible_needs_a_base_url(repo: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(repo, {"api_key": "k", "provider": "openai-compatible"})
    assert str(caught.value) == "provider 'openai-compatible' needs --base-url (or GLMCODE_BASE_URL)"


@pytest.mark.parametrize("url", ["not-a-url", "localhost:8000/v1", "ftp://host/v1", "http:///v1", "https://host:99999/v1", "http://host:port/v1", "http://[::1/v1"])
def test_a_malformed_base_url_is_a_configuration_error(repo: Path, url: str) -> None:
    with pytest.raises(ConfigError, match="base URL"):
        load_config(repo, {"api_key": "k", "base_url": url})


@pytest.mark.parametrize("url", ["http://127.0.0.1:8000/v1", "https://api.z.ai/api/paas/v4", "http://[::1]:9/v1"])
def test_well_formed_base_urls_pass(repo: Path, url: str) -> None:
    assert load_config(repo, {"api_key": "k", "base_url": url}).base_url == url


def test_prices_from_config_override_the_preset_one_by_one(repo: Path) -> None:
    write_repo(repo, 'provider = "cloudflare"\nbase_url = "https://cf.example/v1"\nprice_input = 2.0\n')
    assert load_config(repo, {"api_key": "k"}).prices == (2.0, 4.40, 0.26)
    write_repo(repo, "price_input = 0.5\nprice_output = 1.5\n")
    assert load_config(repo, {"api_key": "k"}).prices == (0.5, 1.5, 0.26)


def test_context_window_from_env_and_config(monkeypatch: pytest.MonkeyPatch, repo: Path) -> None:
    write_repo(repo, "context_window = 300000\n")
    assert load_config(repo, {"api_key": "k"}).context_window == 300_000
    monkeypatch.setenv("GLMCODE_CONTEXT_WINDOW", "200000")
    assert load_config(repo, {"api_key": "k"}).context_window == 200_000


def test_model_override_keeps_the_preset_endpoint(monkeypatch: pytest.MonkeyPatch, repo: Path) -> None:
    monkeypatch.setenv("GLMCODE_MODEL", "glm-4.7")
    config = load_config(repo, {"api_key": "k", "provider": "nvidia"})
    assert (config.model, config.base_url) == ("glm-4.7", "https://integrate.api.nvidia.com/v1")


def test_env_booleans_and_lists(monkeypatch: pytest.MonkeyPatch, repo: Path) -> None:
    monkeypatch.setenv("GLMCODE_THINKING", "false")
    monkeypatch.setenv("GLMCODE_VERIFY", '["make lint", "make test"]')
    s = load_settings(repo, {})
    assert s.thinking is False
    assert s.verify == ["make lint", "make test"]


def settings_docstrings() -> dict[str, str]:
    """Each `Settings` field's attribute docstring (the string right after it), read from the source.

    Read with `ast` because pydantic keeps attribute docstrings only with
    `use_attribute_docstrings=True`, which re-reads and parses config.py each time the class (or
    `load_settings`' per-call subclass) is built: ~15-25 ms a run, measured, for no runtime use.
    """
    import ast
    import inspect

    import glmcode.config

    tree = ast.parse(inspect.getsource(glmcode.config))
    body = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "Settings").body
    found = {}
    for statement, following in zip(body, [*body[1:], None], strict=True):
        if isinstance(statement, ast.AnnAssign) and isinstance(statement.target, ast.Name):
            is_doc = isinstance(following, ast.Expr) and isinstance(following.value, ast.Constant)
            found[statement.target.id] = following.value.value.strip() if is_doc else ""
    return found


def test_every_setting_has_a_docstring():
    from glmcode.config import Settings

    docs = settings_docstrings()
    assert set(docs) == set(Settings.model_fields), "fields declared some other way than `name: type = default`"
    missing = sorted(name for name, doc in docs.items() if not doc)
    assert not missing, f"Settings fields without a docstring (unit, range, default, source): {missing}"


def test_each_front_end_fills_in_its_own_default_permission_mode(tmp_path: Path) -> None:
    """DESIGN §3: `ask` in the interactive session, `auto-edit` for `glmcode run`; a mode set by
    any layer (flag, environment, config file) is kept."""
    from glmcode.config import load_config, with_default_mode

    unset = load_config(tmp_path, {"api_key": "k"})
    assert unset.settings.permission_mode is None
    assert with_default_mode(unset, "auto-edit").settings.permission_mode == "auto-edit"
    assert with_default_mode(unset, "ask").settings.permission_mode == "ask"
    chosen = load_config(tmp_path, {"api_key": "k", "permission_mode": "read-only"})
    assert with_default_mode(chosen, "auto-edit") is chosen


def test_every_priced_preset_names_its_source() -> None:
    from glmcode.providers import PRESETS

    priced = {name for name, p in PRESETS.items() if p.price_input is not None}
    assert {"zai", "zai-coding", "cloudflare", "hyperstack"} <= priced
    for name in priced:
        preset = PRESETS[name]
        assert preset.price_output is not None and preset.price_source, name
    assert (PRESETS["hyperstack"].price_input, PRESETS["hyperstack"].price_output, PRESETS["hyperstack"].price_cached) == (0.97, 3.06, None)
