"""Lists said in words, one way across the product's pages and emails."""

from __future__ import annotations

from collections.abc import Sequence


def listed(items: Sequence[str], most: int | None = None) -> str:
    """ "A", "A and B", "A, B and C"; past `most` items, "A, B and 3 more"."""
    shown = list(items if most is None else items[:most])
    more = len(items) - len(shown)
    if more:
        return f"{', '.join(shown)} and {more} more"
    if len(shown) > 1:
        return f"{', '.join(shown[:-1])} and {shown[-1]}"
    return shown[0] if shown else ""
