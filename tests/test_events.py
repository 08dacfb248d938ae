"""The typed events (DESIGN.md §6): wire shape, the discriminated union, usage totals."""

from __future__ import annotations

import json
import typing

import pytest
from pydantic import TypeAdapter, ValidationError

from glmcode.engine.events import (
    AnyEvent,
    Compaction,
    Error,
    Event,
    Plan,
    ReasoningDelta,
    Result,
    Retry,
    SessionStart,
    Stage,
    TextDelta,
    ToolCall,
    ToolResultEvent,
    Usage,
    UsageTotals,
    Verify,
)
from glmcode.tools.base import PlanStep

SID = "20261122-013000-a1b2c3"

SAMPLES: list[Event] = [
    SessionStart(session_id=SID, model="glm-5.2", provider="zai", cwd="/repo"),
    Stage(session_id=SID, name="verify", round=1),
    ReasoningDelta(session_id=SID, text="thinking…"),
    TextDelta(session_id=SID, text="héllo"),
    ToolCall(session_id=SID, id="c1", name="read_file", arguments={"path": "a.py", "offset": 3}),
    ToolResultEvent(session_id=SID, id="c1", name="read_file", ok=False, output="no such file", summary="error"),
    Plan(session_id=SID, steps=[PlanStep(step="edit", status="in_progress")], explanation="why"),
    Verify(session_id=SID, kind="command", command="pytest -q", exit_code=1, passed=False, output="1 failed"),
    Compaction(session_id=SID, tokens_before=900_000, tokens_after=40_000, dropped_turns=120),
    Usage(session_id=SID, prompt_tokens=100, completion_tokens=10, cached_tokens=64, cost_usd=0.001, finish_reason="stop"),
    Retry(session_id=SID, attempt=2, reason="HTTP 429", wait_s=1.5),
    Error(session_id=SID, kind="api", message="zai API error 1113 (HTTP 429): Insufficient balance"),
    Result(
        session_id=SID, status="success", exit_code=0, summary="done", turns=2, cached_share=0.5,
        usage=UsageTotals(requests=2, prompt_tokens=200, completion_tokens=20, cached_tokens=100, cost_usd=0.002),
    ),
]

ADAPTER: TypeAdapter = TypeAdapter(AnyEvent)


def test_every_event_type_has_a_sample() -> None:
    union = typing.get_args(typing.get_args(AnyEvent)[0])
    assert {cls.__name__ for cls in union} == {type(e).__name__ for e in SAMPLES}


@pytest.mark.parametrize("event", SAMPLES, ids=lambda e: e.type)
def test_json_line_has_type_first_then_session_id(event: Event) -> None:
    line = event.to_json()
    assert "\n" not in line
    data = json.loads(line)
    assert list(data)[:2] == ["type", "session_id"]
    assert data["type"] == type(event).model_fields["type"].default
    assert data["session_id"] == SID


@pytest.mark.parametrize("event", SAMPLES, ids=lambda e: e.type)
def test_the_union_validates_each_type_from_json(event: Event) -> None:
    parsed = ADAPTER.validate_json(event.to_json())
    assert type(parsed) is type(event)
    assert parsed == event


def test_type_names_match_the_design() -> None:
    assert [e.type for e in SAMPLES] == [
        "session_start", "stage", "reasoning", "text", "tool_call", "tool_result", "plan", "verify",
        "compaction", "usage", "retry", "error", "result",
    ]


def test_unknown_type_and_missing_fields_are_rejected() -> None:
    with pytest.raises(ValidationError):
        ADAPTER.validate_json('{"type": "telemetry", "session_id": "x"}')
    with pytest.raises(ValidationError):
        ADAPTER.validate_json('{"type": "tool_result", "session_id": "x", "id": "c"}')
    with pytest.raises(ValidationError):
        ADAPTER.validate_python({"type": "result", "status": "partly", "exit_code": 0, "summary": ""})


def test_result_json_carries_nested_usage_totals() -> None:
    data = json.loads(SAMPLES[-1].to_json())
    assert data["usage"] == {"requests": 2, "prompt_tokens": 200, "completion_tokens": 20, "cached_tokens": 100, "cost_usd": 0.002, "estimated": False}
    assert (data["status"], data["exit_code"], data["report_path"]) == ("success", 0, None)


def test_non_ascii_text_is_kept() -> None:
    assert '"text":"héllo"' in TextDelta(text="héllo").to_json()


def test_usage_totals_add_and_cached_share() -> None:
    totals = UsageTotals()
    assert (totals.cached_share, totals.cost_usd) == (0.0, None)
    totals.add(Usage(prompt_tokens=1000, completion_tokens=50, cached_tokens=0))
    assert totals.cost_usd is None  # unpriced requests leave the cost unknown
    totals.add(Usage(prompt_tokens=3000, completion_tokens=150, cached_tokens=2000, cost_usd=0.1))
    totals.add(Usage(prompt_tokens=0, completion_tokens=0, cost_usd=0.2))
    totals.add(Usage(prompt_tokens=4000, completion_tokens=100, cached_tokens=4000))
    assert totals.model_dump() == {
        "requests": 4, "prompt_tokens": 8000, "completion_tokens": 300, "cached_tokens": 6000, "cost_usd": 0.3, "estimated": False,
    }
    assert totals.cached_share == 0.75
