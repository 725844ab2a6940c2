"""Policy errors that point at the exact place to fix.

A policy is reviewed code, so a bad one must be refused the way a compiler refuses a program:
with the file, the rule id, the line and column, and what to change. One load collects every
problem it can find (not only the first) so ``signoff policy check`` lists them all at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from signoff.errors import ConfigurationError

__all__ = ["PolicyError", "PolicyIssue"]


@dataclass(frozen=True, slots=True)
class PolicyIssue:
    """One problem in a policy file; ``line``/``column`` are 1-based (0 when unknown)."""

    file: str
    message: str
    line: int = 0
    column: int = 0
    rule_id: str | None = None
    hint: str = ""

    def format(self) -> str:
        """``file:line:col: rule id: message (hint)`` on one line, the shape editors jump to."""
        # No position (a missing file, an empty directory): no made-up ":0:0" to jump to.
        where = f"{self.file}:{self.line}:{self.column}" if self.line else self.file
        rule = f"rule {self.rule_id}: " if self.rule_id else ""
        hint = f" (hint: {self.hint})" if self.hint else ""
        text = f"{where}: {rule}{self.message}{hint}"
        return " ".join(text.split())


class PolicyError(ConfigurationError):
    """The policy cannot be used; ``issues`` holds every problem found, in file order."""

    code = "policy_error"
    title = "Invalid policy"

    def __init__(self, issues: list[PolicyIssue] | str = "", /, **extra: Any) -> None:
        if isinstance(issues, str):  # rebuilt from a problem body (the SDK maps codes back)
            raw = extra.pop("issues", None)
            self.issues = [PolicyIssue(**i) for i in raw if isinstance(i, dict)] \
                if isinstance(raw, list) else []
            detail = issues
        else:
            self.issues = list(issues)
            detail = ""
        first = self.issues[0] if self.issues else None
        super().__init__(
            detail or "\n".join(i.format() for i in self.issues) or "invalid policy",
            **extra,
            issues=[
                {"file": i.file, "line": i.line, "column": i.column, "rule_id": i.rule_id,
                 "message": i.message, "hint": i.hint}
                for i in self.issues
            ],
        )
        self.file = first.file if first else ""
        self.rule_id = first.rule_id if first else None
        self.line = first.line if first else 0
        self.column = first.column if first else 0
        self.hint = first.hint if first else ""
