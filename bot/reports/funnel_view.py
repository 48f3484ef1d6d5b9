"""The funnel as command answers: neutral `Report`s that every chat adapter and the CLI render."""

from __future__ import annotations

from bot.domain.periods import Period
from bot.messaging import Report
from bot.reports.funnel import Funnel, reasons


def minutes(seconds: float | None) -> str:
    """A duration at the precision funnel_sql.bucket keeps: the second below 10 minutes, the
    minute below 90, a tenth of an hour above."""
    if seconds is None:
        return "-"
    if round(seconds) < 600:
        m, s = divmod(round(seconds), 60)
        return " ".join(([f"{m} min"] if m else []) + ([f"{s} s"] if s or not m else []))
    return f"{seconds / 60:.0f} min" if seconds < 5400 else f"{seconds / 3600:.1f} h"


def pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.0%}"


def partner_report(f: Funnel, period: Period, chart: bytes) -> Report:
    """One partner (or everything) in detail, with its funnel chart."""
    rows = [
        ["offered", str(f.offered)],
        ["accepted", f"{f.accepted} ({pct(f.acceptance_rate)})"],
        ["declined", f"{f.declined} ({reasons(f.declined_by)})"],
        ["expired", str(f.expired)],
        ["undeliverable", str(f.undeliverable)],
        ["time to accept", f"median {minutes(f.accept_p50)}, p90 {minutes(f.accept_p90)}"],
        [
            "time to first contact",
            f"median {minutes(f.contact_p50)}, p90 {minutes(f.contact_p90)}",
        ],
        ["contacted / qualified", f"{f.contacted} / {f.qualified}"],
        ["opportunity", str(f.opportunity)],
        ["won", f"{f.won} ({pct(f.win_rate)} of decided), {f.revenue:,.0f} revenue"],
        ["lost", f"{f.lost} ({reasons(f.lost_by)})"],
        ["open / stale", f"{f.open} / {f.stale}"],
    ]
    if f.assigned:
        rows.insert(1, ["assigned by managers", str(f.assigned)])
    return Report(
        title=f"Funnel: {f.name}, {period.label}",
        header=["", ""],
        rows=rows,
        image_png=chart,
        shareable=True,
    )


def _summary(key: str, f: Funnel) -> list[str]:
    return [
        key,
        str(f.offered),
        pct(f.acceptance_rate),
        minutes(f.accept_p50),
        str(f.contacted),
        str(f.won),
        f"{f.revenue:,.0f}",
    ]


def overall_report(
    total: Funnel, everyone: list[Funnel], period: Period, chart: bytes | None
) -> Report:
    """Everything, then a line per partner, with the comparison chart. The total comes first:
    a chat cuts a long table at the end (bot/messaging.py lines_within), and with many
    partners it must not be the total that goes."""
    return Report(
        title=f"Funnel: all partners, {period.label} ({total.leads} leads, "
        f"{total.unassigned} unassigned)",
        header=["partner", "offered", "accept", "median", "contacted", "won", "revenue"],
        rows=[_summary("all", total)] + [_summary(f.key, f) for f in everyone],
        image_png=chart,
        shareable=True,
    )


def by_source_report(
    rows: list[Funnel], period: Period, *, costs: bool = True, partner: str | None = None
) -> Report:
    """A line per lead source: how partners took its leads, how fast they reached the person,
    what they won; with `costs`, cost per lead and ROI where leadbot.yaml gives a cost.
    `partner`: the name of the one partner the rows are narrowed to, for the title."""
    header = ["source", "leads", "accept", "1st contact", "won", "win", "revenue"]
    if costs:
        header += ["cost/lead", "ROI"]

    def row(f: Funnel) -> list[str]:
        shown = [f.key, str(f.leads), pct(f.acceptance_rate), minutes(f.contact_p50)]
        shown += [str(f.won), pct(f.win_rate), f"{f.revenue:,.0f}"]
        if costs:
            shown.append("-" if f.cost is None or not f.leads else f"{f.cost / f.leads:,.0f}")
            shown.append(pct(f.roi))
        return shown

    return Report(
        title=f"Funnel by source{f' for {partner}' if partner else ''}, {period.label} "
        "(1st contact: median time to first contact)",
        header=header,
        rows=[row(f) for f in rows] or [["(no leads)", *[""] * (len(header) - 1)]],
        shareable=True,
    )
