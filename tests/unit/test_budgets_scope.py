"""Budgets on metrics a profile never measures are left out of the verdict, with a note."""

from agentload.budgets import parse_budgets
from agentload.budgets.scope import in_scope

BUDGETS = """budgets:
  - {metric: intent_inference_latency, stat: p95, threshold: 800ms}
  - {metric: step_execution_latency, stat: p95, threshold: 2s}
  - {metric: chat_response_latency_scheduled, stat: p95, threshold: 2s}
  - {metric: error_rate, stat: rate, threshold: 1%}
  - {metric: http_5xx, stat: count, threshold: 0}
"""


def test_unmeasured_latency_budgets_are_skipped_with_a_note() -> None:
    """A mix without steps keeps intent, chat, rate and count budgets and skips the step budget."""
    kept, notes = in_scope(parse_budgets(BUDGETS), {"intent_inference_latency", "chat_response_latency"})
    assert [b.metric for b in kept.budgets] == [
        "intent_inference_latency",
        "chat_response_latency_scheduled",
        "error_rate",
        "http_5xx",
    ]
    assert notes == (
        "step_execution_latency p95: skipped, this run sends no requests that measure step_execution_latency",
    )


def test_undeclared_users_keep_every_budget() -> None:
    """When the users do not declare their metrics, nothing is skipped."""
    budget_file = parse_budgets(BUDGETS)
    assert in_scope(budget_file, None) == (budget_file, ())


def test_budgets_on_the_generator_itself_are_always_in_scope() -> None:
    """Every load-sending process measures its own loop lag and CPU, whatever requests it sends."""
    budget_file = parse_budgets(
        "budgets:\n  - {metric: generator_loop_lag, stat: p99, threshold: 50ms}\n"
        "  - {metric: generator_cpu, stat: max, threshold: 90}\n"
    )
    assert in_scope(budget_file, {"intent_inference_latency"}) == (budget_file, ())
