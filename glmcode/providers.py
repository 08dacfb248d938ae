"""Provider presets as data (DESIGN.md §2): where GLM-5.2 is served and how to talk to it.

Every preset speaks OpenAI Chat Completions. Differences are fields of `Provider`, never
subclasses: the auth header, the model id, the context window, prices, and which GLM extras the
host understands.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Provider:
    """One way to reach GLM: endpoint, auth style, model id, window and prices."""

    name: str
    base_url: str
    model: str
    context_window: int
    auth: str = "bearer"
    """`bearer` (Authorization: Bearer KEY) or `api_key_header` (Hyperstack's `api_key: KEY`)."""
    price_input: float | None = None
    """USD per 1M uncached input tokens."""
    price_output: float | None = None
    """USD per 1M output tokens (reasoning included)."""
    price_cached: float | None = None
    """USD per 1M cached input tokens."""
    price_source: str | None = None
    """Where the prices come from (a public page, as DESIGN.md §2 lists them), listed in
    the README; None when the preset is unpriced."""
    zai_extras: bool = True
    """Send Z.ai's `thinking` and `tool_stream` body fields."""
    chat_template_kwargs: bool = False
    """Send thinking switches as vLLM-style `chat_template_kwargs` (NVIDIA, self-hosted)."""
    function_calling: bool = True
    """Whether the host runs GLM's function calling. Without it no tools are sent: `glmcode run`
    and goal mode are refused before the first request (exit 2), the TUI chats without tools."""
    stream_usage: bool = False
    """Send `stream_options: {"include_usage": true}`: hosts that follow OpenAI's streaming
    semantics (vLLM, SGLang, llama.cpp, NIM, most gateways) send usage only when asked. Off for
    Z.ai and BigModel: they put usage on the final chunk unasked, and the field is not in their
    spec (research/glm-api.md §2)."""
    notes: tuple[str, ...] = field(default=())


ZAI_PRICE_SOURCE = (
    "glm-5.2 as listed publicly by third parties (wolffi.sh, WaveSpeed, Together), the same as "
    "Cloudflare's page; cached input at about 1/5 of input per Z.ai's FAQ (docs.z.ai/help/faq); DESIGN.md §2"
)
"""The source of Z.ai's glm-5.2 prices (USD per 1M: 1.40 input, 4.40 output, 0.26 cached)."""

PRESETS: dict[str, Provider] = {
    p.name: p
    for p in (
        Provider(
            "zai", "https://api.z.ai/api/paas/v4", "glm-5.2", 1_000_000,
            price_input=1.40, price_output=4.40, price_cached=0.26, price_source=ZAI_PRICE_SOURCE,
        ),
        Provider(
            "zai-coding", "https://api.z.ai/api/coding/paas/v4", "glm-5.2", 1_000_000,
            price_input=1.40, price_output=4.40, price_cached=0.26, price_source=ZAI_PRICE_SOURCE,
            notes=(
                "Z.ai GLM Coding Plan endpoint; a Coding Plan key does not work on `zai`.",
                "A Coding Plan is a subscription: the cost shown is what the same tokens cost at Z.ai's pay-as-you-go prices.",
            ),
        ),
        Provider(
            "cloudflare",
            "https://api.cloudflare.com/client/v4/accounts/{account_id}/ai/v1",
            "@cf/zai-org/glm-5.2",
            262_144,
            price_input=1.40, price_output=4.40, price_cached=0.26,
            price_source="Cloudflare Workers AI's public model page for @cf/zai-org/glm-5.2 (DESIGN.md §2)",
            zai_extras=False, stream_usage=True,
            notes=("Set the account id in the base URL (--base-url or config base_url).",),
        ),
        Provider(
            "nvidia", "https://integrate.api.nvidia.com/v1", "z-ai/glm-5.2", 1_000_000,
            zai_extras=False, chat_template_kwargs=True, function_calling=False, stream_usage=True,
            notes=("NVIDIA lists function calling as not supported for this model.",),
        ),
        Provider(
            "hyperstack", "https://console.hyperstack.cloud/ai/api/v1", "zai-org/GLM-5.2", 1_048_576,
            auth="api_key_header", price_input=0.97, price_output=3.06,
            price_source="Hyperstack AI Studio's public price list; no cached-input price is listed (DESIGN.md §2)",
            zai_extras=False, stream_usage=True,
        ),
        Provider("openai-compatible", "", "glm-5.2", 1_000_000, zai_extras=False, stream_usage=True),
    )
}

DEFAULT_PROVIDER = "zai"


def tool_hosts() -> list[str]:
    """The presets whose host runs function calling (the ones tool-using work can go to), in table order."""
    return [name for name, preset in PRESETS.items() if preset.function_calling]


def no_function_calling(provider: Provider, what: str) -> str:
    """One line saying that `provider` cannot do `what` (e.g. "`glmcode run` (it works with tools)")
    for want of function calling, and which presets can."""
    return (
        f"provider {provider.name!r} does not support function calling, so {what} cannot run there; "
        f"use a host that does: {', '.join(tool_hosts())} (--provider NAME)"
    )

EFFORT_LEVELS = ("max", "xhigh", "high", "medium", "low", "minimal", "none")
"""GLM-5.2's `reasoning_effort` values; on 5.2 low/medium act as high, xhigh as max."""


def cost_usd(provider_prices: tuple[float | None, float | None, float | None], prompt: int, cached: int, completion: int) -> float | None:
    """The cost of one request in USD, rounded to 6 decimals (a millionth of a dollar), from
    (input, output, cached) USD-per-1M prices, or None if unpriced."""
    price_in, price_out, price_cached = provider_prices
    if price_in is None or price_out is None:
        return None
    cached_price = price_in if price_cached is None else price_cached
    uncached = max(prompt - cached, 0)
    return round((uncached * price_in + cached * cached_price + completion * price_out) / 1_000_000, 6)
