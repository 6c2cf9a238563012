"""Performance budgets: the budgets.yaml loader and the pure verdict it gives on a run's snapshot.

Kept apart from Locust and from reporting so that the rules that decide a release can be read and
tested on plain data: `load_budgets` turns a file into a `BudgetFile` (or a one-line `BudgetError`),
`evaluate` turns a `BudgetFile` and a `Snapshot` into a `Verdict`.
"""

from .baseline import compare_to_baseline
from .confidence import percentile_ci, quantile_ci_ranks, wilson_interval
from .errors import BudgetError
from .evaluate import default_min_samples, evaluate, evaluate_budget
from .loader import load_budgets, parse_budgets
from .model import (
    CRITICALITIES,
    EXIT_CONFIG,
    EXIT_FAIL,
    EXIT_INCOMPLETE,
    EXIT_PASS,
    FAIL,
    INCONCLUSIVE,
    PASS,
    STATUS_ORDER,
    WARN,
    Budget,
    BudgetFile,
    BudgetResult,
    Policy,
    Regression,
    Verdict,
)
from .units import parse_count, parse_duration, parse_margin, parse_number, parse_rate

__all__ = [
    "CRITICALITIES",
    "EXIT_CONFIG",
    "EXIT_FAIL",
    "EXIT_INCOMPLETE",
    "EXIT_PASS",
    "FAIL",
    "INCONCLUSIVE",
    "PASS",
    "STATUS_ORDER",
    "WARN",
    "Budget",
    "BudgetError",
    "BudgetFile",
    "BudgetResult",
    "Policy",
    "Regression",
    "Verdict",
    "compare_to_baseline",
    "default_min_samples",
    "evaluate",
    "evaluate_budget",
    "load_budgets",
    "parse_budgets",
    "parse_count",
    "parse_duration",
    "parse_margin",
    "parse_number",
    "parse_rate",
    "percentile_ci",
    "quantile_ci_ranks",
    "wilson_interval",
]
