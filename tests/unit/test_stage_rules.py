"""The funnel's forward-only rule, values and reasons (pure)."""

import pytest

from bot.domain.errors import InvalidInput
from bot.domain.leads import Stage, check_stage_move

REASONS = ["price", "competitor"]


def move(current, new, *, manager=False, value=None, reason=None):
    check_stage_move(
        current, new, may_go_back=manager, value=value, reason=reason, lost_reasons=REASONS
    )


def test_forward_and_skipping_are_allowed():
    move(Stage.ACCEPTED, Stage.CONTACTED)
    move(Stage.ACCEPTED, Stage.WON, value=100)
    move(Stage.QUALIFIED, Stage.LOST, reason="price")


@pytest.mark.parametrize(
    "current,new,kwargs,reason",
    [
        (Stage.QUALIFIED, Stage.CONTACTED, {}, "cannot go back"),
        (Stage.CONTACTED, Stage.CONTACTED, {}, "already"),
        (Stage.CONTACTED, Stage.OPPORTUNITY, {}, "needs a value"),
        (Stage.CONTACTED, Stage.WON, {"value": -1}, "negative"),
        (Stage.CONTACTED, Stage.LOST, {"reason": "bored"}, "one of: price, competitor"),
        (Stage.WON, Stage.LOST, {"reason": "price"}, "already closed"),
        (Stage.CONTACTED, Stage.ACCEPTED, {}, "cannot be moved"),
    ],
)
def test_refusals(current, new, kwargs, reason):
    with pytest.raises(InvalidInput, match=reason):
        move(current, new, **kwargs)


def test_managers_may_go_back_and_reopen():
    move(Stage.WON, Stage.QUALIFIED, manager=True)
    move(Stage.QUALIFIED, Stage.ACCEPTED, manager=True)


def test_nobody_moves_a_lead_back_to_no_stage():
    with pytest.raises(InvalidInput, match="cannot be moved to 'none'"):
        move(Stage.CONTACTED, Stage.NONE, manager=True)
