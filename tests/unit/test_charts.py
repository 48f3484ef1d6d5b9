"""Funnel charts come out as real, phone-sized PNG images, for one partner and for many."""

import struct

import pytest

from bot.reports.charts import comparison_chart, comparison_figure, funnel_chart
from bot.reports.funnel import Funnel

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def size(png: bytes) -> tuple[int, int]:
    assert png.startswith(PNG_MAGIC)
    width, height = struct.unpack(">II", png[16:24])  # the IHDR chunk
    return width, height


def partner(n: int) -> Funnel:
    return Funnel(
        key=f"p{n}",
        name=f"Partner {n}",
        offered=10 + n,
        accepted=5 + n % 4,
        declined=3,
        expired=2,
        contacted=4,
        qualified=3,
        opportunity=2,
        won=1,
        lost=1,
        revenue=1000.0 * n,
        accept_p50=60.0 * (5 + n),
    )


def test_one_partner_funnel_is_a_portrait_png_with_content() -> None:
    png = funnel_chart(partner(1), period="March 2026")
    width, height = size(png)
    assert (width, height) == (960, 1200)
    assert len(png) > 15_000  # bars, labels and numbers, not a blank canvas


def test_an_empty_funnel_still_draws() -> None:
    assert size(funnel_chart(Funnel(key="x", name="Nobody"), period="last 7 days"))[0] == 960


def test_comparison_grows_with_partners_and_caps_at_a_readable_number() -> None:
    few = comparison_chart([partner(n) for n in range(3)], period="last 30 days")
    many = comparison_chart([partner(n) for n in range(40)], period="last 30 days")
    assert size(few)[0] == size(many)[0] == 960
    assert size(many)[1] > size(few)[1]
    assert len(many) > len(few) > 15_000


def test_partners_whose_names_start_alike_each_get_their_own_bars() -> None:
    """Names are cut to 18 characters; two that start alike are still two bars, not one
    category with the second bar drawn over the first."""
    munich = Funnel(key="mh-muc", name="Müller Haustechnik München", accepted=1, declined=2)
    augsburg = Funnel(key="mh-aug", name="Müller Haustechnik Augsburg", accepted=3)
    fig = comparison_figure([munich, augsburg], period="last 30 days")
    for ax in fig.axes:
        assert len({bar.get_y() for bar in ax.patches}) == 2
        assert [t.get_text() for t in ax.get_yticklabels()] == ["Müller Haustechnik"] * 2
    rates = sorted(bar.get_width() for bar in fig.axes[0].patches)
    assert rates == pytest.approx([100 / 3, 100])


def test_a_name_with_dollar_signs_is_drawn_as_written() -> None:
    """Matplotlib reads text between two `$` as math: '$$ Cash Solar' failed to draw (the
    funnel answered 'Something went wrong') and 'Sun$hine_$olar' became a formula."""
    for name in ("$$ Cash Solar", "Sun$hine Heating_$olar"):
        row = Funnel(key="cash", name=name, offered=2, accepted=1, declined=1)
        assert size(funnel_chart(row, period="last 30 days"))[0] == 960
        fig = comparison_figure([row], period="last 30 days")
        (label,) = fig.axes[0].get_yticklabels()
        assert label.get_text() == name[:18].replace("$", r"\$")  # shown as a plain "$"
