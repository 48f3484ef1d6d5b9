"""Funnel charts as PNG bytes (matplotlib, headless `Agg`), sized to read on a phone.

Charts are drawn with matplotlib's object API (no pyplot state): safe to call from any thread.
"""

from __future__ import annotations

import io

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from bot.reports.funnel import Funnel

PHONE = (6.0, 7.5)  # inches at 160 dpi: 960 x 1200 px, portrait
DPI = 160
BLUE, GREEN, RED, GREY = "#2f6fde", "#2e9e5b", "#d6453d", "#9aa3ad"


def _plain(text: str) -> str:
    """Text drawn as written: matplotlib reads what is between two `$` as math, so a name
    like '$$ Solar' would fail to draw and 'Sun$hine_$olar' would come out as a formula."""
    return text.replace("$", r"\$")


def _png(fig: Figure) -> bytes:
    FigureCanvasAgg(fig)
    out = io.BytesIO()
    fig.savefig(out, format="png", dpi=DPI)
    return out.getvalue()


def funnel_chart(row: Funnel, *, period: str) -> bytes:
    """One partner's (or everyone's) funnel: offered down to won, as horizontal bars."""
    steps = [
        ("Offered", row.offered, BLUE),
        ("Accepted", row.accepted, BLUE),
        ("Contacted", row.contacted, BLUE),
        ("Qualified", row.qualified, BLUE),
        ("Opportunity", row.opportunity, BLUE),
        ("Won", row.won, GREEN),
        ("Lost", row.lost, RED),
    ]
    fig = Figure(figsize=PHONE, layout="constrained")
    ax = fig.add_subplot()
    labels = [s[0] for s in steps][::-1]
    values = [s[1] for s in steps][::-1]
    bars = ax.barh(labels, values, color=[s[2] for s in steps][::-1])
    top = max(values) or 1
    for bar, value in zip(bars, values, strict=True):
        ax.text(
            bar.get_width() + top * 0.02,
            bar.get_y() + bar.get_height() / 2,
            str(value),
            va="center",
            fontsize=14,
        )
    ax.set_xlim(0, top * 1.2)
    ax.tick_params(labelsize=14)
    ax.spines[["top", "right"]].set_visible(False)
    rate = f"{row.acceptance_rate:.0%}" if row.acceptance_rate is not None else "-"
    title = f"{_plain(row.name)}: {_plain(period)}\naccepted {rate}, won {row.revenue:,.0f}"
    ax.set_title(title, fontsize=15)
    return _png(fig)


def comparison_chart(rows: list[Funnel], *, period: str, limit: int = 12) -> bytes:
    """Partners side by side: acceptance rate, and median time to accept (minutes)."""
    return _png(comparison_figure(rows, period=period, limit=limit))


def comparison_figure(rows: list[Funnel], *, period: str, limit: int = 12) -> Figure:
    """The comparison chart's figure: a bar per partner in each of its two panels."""
    shown = rows[:limit]
    names = [_plain(r.name[:18]) for r in shown][::-1]
    rates = [100 * (r.acceptance_rate or 0) for r in shown][::-1]
    minutes = [(r.accept_p50 or 0) / 60 for r in shown][::-1]
    # bars at positions, names only as labels: two names cut to the same 18 characters
    # would otherwise be one category, their bars drawn over each other
    places = list(range(len(shown)))
    fig = Figure(figsize=(PHONE[0], max(4.0, 1.2 + 0.55 * len(shown)) * 1.6), layout="constrained")
    top, bottom = fig.subplots(2, 1)
    top.barh(places, rates, color=BLUE)
    top.set_xlim(0, 100)
    top.set_title("Acceptance rate (%)", fontsize=14)
    bottom.barh(places, minutes, color=GREY)
    bottom.set_title("Median time to accept (min)", fontsize=14)
    for ax in (top, bottom):
        ax.set_yticks(places, names)
        ax.tick_params(labelsize=12)
        ax.spines[["top", "right"]].set_visible(False)
    more = f" (top {limit} of {len(rows)})" if len(rows) > limit else ""
    fig.suptitle(f"Partners: {_plain(period)}{more}", fontsize=15)
    return fig
