"""Performance budgets: the budgets.yaml loader and the pure verdict it gives on a run's snapshot.

Kept apart from Locust and from reporting so that the rules that decide a release can be read and
tested on plain data: `load_budgets` turns a file into a `BudgetFile` (or a one-line `BudgetError`),
`evaluate` turns a `BudgetFile` and a `Snapshot` into a `Verdict`.
"""

from .baseline import compare_to_baseline
from .errors import BudgetError
from .evaluate import evaluate
from .loader import load_budgets, parse_budgets
from .model import FAIL, INCONCLUSIVE, PASS, WARN, Budget, BudgetFile, BudgetResult, Policy, Verdict

__all__ = [
    "FAIL",
    "INCONCLUSIVE",
    "PASS",
    "WARN",
    "Budget",
    "BudgetError",
    "BudgetFile",
    "BudgetResult",
    "Policy",
    "Verdict",
    "compare_to_baseline",
    "evaluate",
    "load_budgets",
    "parse_budgets",
]
