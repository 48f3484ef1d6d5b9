"""Amounts typed in a chat, in either country's way of writing them."""

from __future__ import annotations

import pytest

from bot.domain.amounts import parse_amount


@pytest.mark.parametrize(
    ("typed", "amount"),
    [
        ("18000", 18000.0),
        ("18.000", 18000.0),  # Germany
        ("18,000", 18000.0),  # England
        ("1.234.567", 1234567.0),
        ("1,234,567", 1234567.0),
        ("18.000,50", 18000.5),
        ("18,000.50", 18000.5),
        ("1,5", 1.5),
        ("18.50", 18.5),
        ("18 000 €", 18000.0),
        ("EUR 2500", 2500.0),
        ("0", 0.0),
    ],
)
def test_amounts_in_either_way_of_writing(typed: str, amount: float) -> None:
    assert parse_amount(typed) == amount


@pytest.mark.parametrize(
    "typed", ["", "abc", "-5", "1.234.5", "1,23,456", "18.000.00,5,0", "1.2.3", ".5", "1e6", "5."]
)
def test_what_is_not_an_amount(typed: str) -> None:
    assert parse_amount(typed) is None
