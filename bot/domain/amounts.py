"""Amounts as people type them in a chat: `18000`, `18.000` or `18,000`, `18.000,50` or
`18,000.50`, `1,5` or `1.5`, with spaces or a euro sign."""

from __future__ import annotations

import re

_NOISE = re.compile(r"\s|'|€|\$|EUR", re.IGNORECASE)


def parse_amount(text: str) -> float | None:
    """The amount `text` says, or None when it is not one.

    A single separator followed by exactly three digits groups thousands (`18.000` is 18,000
    in Germany, `18,000` in England: a deal is never 18 euros written that way); otherwise it is
    the decimal point (`1,5`, `18.50`). With both kinds, the last one is the decimal point
    (`18.000,50`, `18,000.50`), and the other must group by three.
    """
    plain = _NOISE.sub("", text)
    if not re.fullmatch(r"\d[\d.,]*", plain):
        return None
    marks = {c for c in plain if c in ".,"}
    if not marks:
        return float(plain)
    if len(marks) == 2:
        point = "," if plain.rfind(",") > plain.rfind(".") else "."
        whole, _, cents = plain.rpartition(point)
        group = "." if point == "," else ","
        if point in whole or not cents.isdigit() or not _grouped(whole, group):
            return None
        return float(whole.replace(group, "") + "." + cents)
    (mark,) = marks
    head, *rest = plain.split(mark)
    if len(rest) > 1 or len(rest[0]) == 3:  # 1.234.567, or 18.000: thousands
        return float(plain.replace(mark, "")) if _grouped(plain, mark) else None
    return float(f"{head}.{rest[0]}") if rest[0] else None


def _grouped(number: str, mark: str) -> bool:
    """`1.234.567`: one to three digits, then groups of exactly three digits."""
    head, *groups = number.split(mark)
    return 1 <= len(head) <= 3 and all(len(g) == 3 and g.isdigit() for g in groups)
