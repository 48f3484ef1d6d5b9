"""Text from leads and people, made plain before a chat platform sees it.

Each renderer escapes its own markup (Slack: `&`, `<`, `>`; Telegram: HTML). Before that,
`plain` takes out what escaping does not: line breaks (lead text stays on its own line, so it
cannot pose as a line of the card such as a phone number), control characters, and the
invisible characters that reorder or hide text (bidi overrides and isolates, zero-width spaces
and joiners between words, word joiners, byte order marks); the zero-width joiner inside
emoji stays. A very long text is cut, so that no slot can push a message past its limit.
"""

from __future__ import annotations

BREAKS = "\r\n\t\v\f\x85\u2028\u2029"
INVISIBLE = [0x00AD, 0x200B, 0x200C, 0x200E, 0x200F, 0x061C, 0xFEFF]
INVISIBLE += [*range(0x202A, 0x202F), *range(0x2060, 0x2065), *range(0x2066, 0x206A)]
CONTROLS = [c for c in [*range(0x20), 0x7F, *range(0x80, 0xA0)] if chr(c) not in BREAKS]
_TABLE: dict[int, str | None] = {ord(c): " " for c in BREAKS}
_TABLE.update(dict.fromkeys(INVISIBLE + CONTROLS))


MAX = 1000  # characters in one slot: a message stays within the platforms' limits


def plain(text: str) -> str:
    """`text` on one line, without control or invisible characters, at most MAX long."""
    out = text.translate(_TABLE)
    return out if len(out) <= MAX else out[: MAX - 1] + "…"
