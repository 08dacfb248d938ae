"""A fast local estimate of a request's tokens: bytes of the encoded body divided by a ratio.

Counting real tokens needs the model's tokenizer (a heavy download, and a different one per
host); what compaction needs is only "will the next request fit", decided before it is sent,
in O(1). So the estimate is `bytes / bytes_per_token`, where the ratio starts conservative
(`DEFAULT_BYTES_PER_TOKEN`: more tokens than GLM's tokenizer makes of English, code or JSON)
and is calibrated against the provider's reported `prompt_tokens` as the session goes: after
each response with usage, the ratio becomes the one of that request's body. The body length is
known without encoding anything (`Conversation.size_bytes()`), so estimating costs nothing.
"""

from __future__ import annotations

DEFAULT_BYTES_PER_TOKEN = 3.0
"""Bytes of request body per token before any usage came back: on the low side of GLM's real
ratio (≈ 3.5 to 4.5 for code and JSON-escaped text), so an uncalibrated estimate errs high."""
MIN_BYTES_PER_TOKEN = 1.0
"""The smallest ratio accepted: a calibration can never make one byte more than one token."""
MAX_BYTES_PER_TOKEN = 8.0
"""The largest ratio accepted: a host that reports absurdly few tokens cannot make glmcode
believe a request is tiny."""


class TokenEstimator:
    """Estimates tokens from bytes with a ratio calibrated from the provider's usage."""

    def __init__(self, bytes_per_token: float = DEFAULT_BYTES_PER_TOKEN) -> None:
        self.bytes_per_token = bytes_per_token
        """Current ratio: bytes of request body per prompt token."""
        self.calibrated = False
        """Whether a provider's `prompt_tokens` has set the ratio yet."""

    def tokens(self, size_bytes: int) -> int:
        """Estimated tokens of `size_bytes` bytes of encoded text (≥ 0, rounded up)."""
        if size_bytes <= 0:
            return 0
        return int(-(-size_bytes // self.bytes_per_token))

    def bytes_for(self, tokens: int) -> int:
        """How many bytes of encoded text `tokens` tokens hold, by the current ratio (≥ 0)."""
        return max(int(tokens * self.bytes_per_token), 0)

    def calibrate(self, body_bytes: int, prompt_tokens: int) -> None:
        """Learn the ratio from one request: its body was `body_bytes` long and the provider
        counted `prompt_tokens`. Ignored when either is not positive; clamped to
        [`MIN_BYTES_PER_TOKEN`, `MAX_BYTES_PER_TOKEN`]."""
        if body_bytes <= 0 or prompt_tokens <= 0:
            return
        ratio = body_bytes / prompt_tokens
        self.bytes_per_token = min(max(ratio, MIN_BYTES_PER_TOKEN), MAX_BYTES_PER_TOKEN)
        self.calibrated = True
