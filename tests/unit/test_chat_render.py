"""Rendering for the chats: Telegram counts its 4096 characters as the reader sees them; a
Slack mention goes where the name stands."""

from __future__ import annotations

from bot.domain.leads import Contact
from bot.handlers.telegram.render import LIMIT, offer_text, visible_length
from bot.messaging import CardState, OfferCard


def test_quotes_in_a_lead_do_not_push_the_contact_off_the_accepted_card() -> None:
    """300 quotes are 1,800 characters of HTML but 300 on the screen: nothing is dropped."""
    quotes = '"' * 300
    contact = Contact(
        name='"' * 200, email="jane@example.com", phone="+49 89 1234", company='"' * 200,
        street="Main St 1",
    )  # fmt: skip
    card = OfferCard(
        offer_id=1, lead_ref="L1", partner_name="Acme", state=CardState.WON, headline="Lead L1",
        teaser=[("Request", quotes), ("Area", '"' * 100)], contact=contact, stage="accepted",
    )  # fmt: skip
    text = offer_text(card)
    assert len(text) > LIMIT >= visible_length(text)
    assert "jane@example.com" in text and "Main St 1" in text and "Stage:" in text


def test_visible_length_reads_tags_and_entities_and_counts_utf16() -> None:
    assert visible_length("<b>a&amp;b</b> &quot;") == 5
    assert visible_length("😀") == 2  # one emoji is two UTF-16 code units to Telegram


def test_the_slack_mention_replaces_the_responders_name_where_it_stands() -> None:
    """A responder called "by" (or "Acc") must not turn "Accepted" into a mention."""
    from bot.handlers.slack.blocks import offer_blocks

    card = OfferCard(
        offer_id=1, lead_ref="L1", partner_name="Acme", state=CardState.WON, headline="Lead L1",
        status_line="Accepted by by at 10:00 UTC", responder=("by", "U123"),
    )  # fmt: skip
    _fallback, blocks = offer_blocks(card)
    shown = [b["text"]["text"] for b in blocks if b.get("type") == "section"]
    assert "Accepted by <@U123> at 10:00 UTC" in shown


def test_telegram_shows_the_deadline_in_the_partners_time_zone() -> None:
    """Telegram has no per-reader dates as Slack does: the card says the partner's own time."""
    from datetime import UTC, datetime

    card = OfferCard(
        offer_id=1, lead_ref="L1", partner_name="Acme", state=CardState.OPEN, headline="Lead L1",
        deadline=datetime(2026, 12, 7, 23, 20, tzinfo=UTC), timezone="Europe/Berlin",
    )  # fmt: skip
    assert "Answer by 00:20 CET (08 Dec)" in offer_text(card)
    utc = OfferCard(
        offer_id=1, lead_ref="L1", partner_name="Acme", state=CardState.OPEN, headline="Lead L1",
        deadline=datetime(2026, 12, 7, 23, 20, tzinfo=UTC),
    )  # fmt: skip
    assert "Answer by 23:20 UTC (07 Dec)" in offer_text(utc)


def test_a_report_too_long_for_one_message_says_how_many_rows_it_left_out() -> None:
    """'partners' with 120 partners: Slack (3,000 characters a block) and Telegram (4,096)
    show the rows that fit, then say how many more there are, instead of a table that
    silently stops halfway down the partners."""
    from bot.handlers.slack.blocks import report_blocks
    from bot.handlers.telegram.render import report_text
    from bot.messaging import Report

    rows = [[f"partner-{n:03}", "active", "3/10", "75%", "12 min"] for n in range(120)]
    report = Report(title="Partners", header=["partner", "status", "open", "acc", "med"], rows=rows)
    _fallback, blocks = report_blocks(report)
    slack = blocks[1]["text"]["text"]
    telegram = report_text(report)
    assert len(slack) <= 3000 and visible_length(telegram) <= LIMIT
    for text in (slack, telegram):
        shown = text.count("partner-")
        assert 20 < shown < 120
        assert f"... {120 - shown} more rows: too long for one message" in text
    short = Report(title="Partners", header=["partner"], rows=[["acme"]])
    assert "more rows" not in report_text(short) + report_blocks(short)[1][1]["text"]["text"]


def test_funnel_all_with_many_partners_keeps_its_total_when_cut_for_the_chat() -> None:
    """80 partners are more lines than one Slack block or Telegram message holds: the table
    is cut, and the line cut must not be the total of everything."""
    from datetime import UTC, datetime

    from bot.domain.periods import parse_period
    from bot.handlers.slack.blocks import report_blocks
    from bot.handlers.telegram.render import report_text
    from bot.reports.funnel import Funnel
    from bot.reports.funnel_view import overall_report

    everyone = [Funnel(key=f"installer-{n:02}", name=f"I{n}", offered=3) for n in range(80)]
    total = Funnel(key="all", name="All partners", leads=240, offered=240)
    period = parse_period("30d", now=datetime(2026, 3, 31, tzinfo=UTC))
    report = overall_report(total, everyone, period, None)
    for text in (report_blocks(report)[1][1]["text"]["text"], report_text(report)):
        assert "more rows: too long for one message" in text
        (line,) = [x for x in text.splitlines() if x.startswith("all ")]
        assert line.split()[:2] == ["all", "240"]
