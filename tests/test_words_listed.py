"""Lists in words, as every page and email says them."""

from __future__ import annotations

from alerts_saas.words import listed


def test_one_two_and_many() -> None:
    assert listed([]) == ""
    assert listed(["Checkout API"]) == "Checkout API"
    assert listed(["Checkout API", "Payments"]) == "Checkout API and Payments"
    assert listed(["A", "B", "C"]) == "A, B and C"


def test_past_the_most_shown_it_counts_the_rest() -> None:
    assert listed(["A", "B", "C", "D", "E"], most=3) == "A, B, C and 2 more"
    assert listed(["A", "B", "C"], most=3) == "A, B and C"
