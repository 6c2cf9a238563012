"""The one error a budgets.yaml can cause, so the CLI can print it as-is and exit 2.

Its text is a single line that an editor or CI log can jump to:
`budgets.yaml:7: budgets[2].threshold: must be a duration like 800ms (got "fast")`.
"""

from __future__ import annotations


class BudgetError(ValueError):
    """A budgets file that cannot be used; `str()` is one line naming the file, line and key."""

    def __init__(self, path: str, line: int | None, message: str) -> None:
        self.path = path
        self.line = line
        self.message = message
        where = f"{path}:{line}" if line is not None else path
        super().__init__(f"{where}: {message}")
