"""How hard the fuzz tests try: `LEADBOT_FUZZ_SCALE=10 python -m pytest …` runs ten times the
examples of the default (which is sized for CI time). Runs are derandomized (the same examples
every time) unless `LEADBOT_FUZZ_RANDOM=1`, for exploring beyond them."""

from __future__ import annotations

import os

SCALE = float(os.environ.get("LEADBOT_FUZZ_SCALE", "1"))
DERANDOMIZE = os.environ.get("LEADBOT_FUZZ_RANDOM") != "1"


def examples(default: int) -> int:
    """`default` examples, scaled by LEADBOT_FUZZ_SCALE."""
    return max(1, round(default * SCALE))
