"""Regular expressions in match rules: RE2, whose matching time is linear in the text.

A leaf module (no product imports), so that the Alert model can validate a pattern and the
matchers (`conditions`, which reads the model) can compile one, without importing each other.
"""

from __future__ import annotations

import re2

MAX_PATTERN_LENGTH = 500


def regex_problem(pattern: str) -> str | None:
    """Why `pattern` can't be used, in words; None when it can."""
    if len(pattern) > MAX_PATTERN_LENGTH:
        return f"Keep the expression under {MAX_PATTERN_LENGTH} characters."
    try:
        re2.compile(pattern)
    except re2.error as exc:
        reason = exc.args[0] if exc.args else ""
        if isinstance(reason, bytes):
            reason = reason.decode("utf-8", "replace")
        return (
            f"This is not a regular expression we can run ({reason}). Backreferences "
            "and lookarounds are not supported."
        )
    return None
