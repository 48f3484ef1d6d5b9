"""Lead text cannot mention, link or break markup, on either platform (hypothesis).

Every slot where text from a lead or a person lands (card, notice, report, App Home, question)
is rendered once with a placeholder and once with generated text: the two renderings are the
same but for the slot, which holds exactly the text made plain and escaped. The escaped text
itself holds no markup: no `<` or `>` in Slack (so no `<!channel>`, `<@U…>`, `<url|label>`),
no tag in Telegram, every `&` an entity, no line break, no invisible or reordering character.
"""

from __future__ import annotations

import html
import json
import re
from html.parser import HTMLParser

from hypothesis import example, given, settings
from hypothesis import strategies as st

from bot.domain.leads import Contact
from bot.handlers.inert import BREAKS, CONTROLS, INVISIBLE, plain
from bot.handlers.presses import Ask
from bot.handlers.slack import blocks
from bot.handlers.telegram import render
from bot.messaging import CardState, Notice, OfferCard, Report
from bot.reports.home import Home, HomeEntry, HomeSection
from tests.fuzzing import DERANDOMIZE, examples

PH = "PLACEHOLDER"
ATTACKS = ["<!channel>", "<!here>", "<@U123>", "<https://evil.example|click>", "*bold* _x_ ~s~"]
ATTACKS += ['<a href="https://evil.example">x</a>', "</b></pre><b>", "&amp; &lt; &#60;", "```"]
ATTACKS += ["\u200bhid\u200bden", "\u202eevil\u202c", "line\n*Phone:* +1 900", "@here #general"]
texts = (
    st.sampled_from(ATTACKS)
    | st.text(max_size=120)
    | st.lists(st.sampled_from(ATTACKS) | st.text(max_size=10), max_size=6).map("".join)
)
HIDDEN = set(BREAKS) | {chr(c) for c in INVISIBLE + CONTROLS}


def views(t: str) -> list[object]:
    """Everything a renderer draws, with `t` in every slot that can hold outside text."""
    contact = Contact(name=t, email=t, phone=t, company=t, street=t)
    card = OfferCard(
        offer_id=1,
        lead_ref="L1",
        partner_name=t,
        state=CardState.WON,
        headline=t,
        teaser=[("Request", t), ("Area", t)],
        why_you=t,
        status_line=t,
        contact=contact,
        stage=t,
        mentions=["U0BOB"],
    )
    open_card = OfferCard(1, "L1", t, CardState.OPEN, t, [("Request", t)], why_you=t)
    notice = Notice(title=t, lines=[t, "fixed", t], mentions=["U0BOB"])
    report = Report(title=t, rows=[["fixed", t]])  # one cell a column: no padding
    entry = HomeEntry(title=t, lines=[t])
    home = Home(title="Home", intro=[t], sections=[HomeSection(t, [entry], t)], tables=[report])
    return [card, open_card, notice, report, home, Ask(t, t, "o:1:d", [])]


def slack(view: object) -> str:
    if isinstance(view, OfferCard):
        text, out = blocks.offer_blocks(view)
    elif isinstance(view, Notice):
        text, out = blocks.notice_blocks(view)
    elif isinstance(view, Report):
        text, out = blocks.report_blocks(view)
    elif isinstance(view, Home):
        text, out = "", blocks.home_tab(view)["blocks"]
    else:
        return ""  # questions are Slack modals: plain_text, and the title is ours
    assert all(b["text"].get("verbatim") for b in out if b.get("type") == "section")
    return json.dumps([text, out], ensure_ascii=False)


def telegram(view: object) -> str:
    if isinstance(view, OfferCard):
        return render.offer_text(view)
    if isinstance(view, Notice):
        return render.notice_text(view)
    if isinstance(view, Report):
        return render.report_text(view)
    if isinstance(view, Ask):
        return render.question_text(view, 2002, view.title)
    return ""


def slack_escaped(t: str) -> str:
    escaped = blocks.escape(t)
    return json.dumps(escaped, ensure_ascii=False)[1:-1]  # as it stands inside the JSON


class Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.data: list[str] = []

    def handle_starttag(self, tag: str, attrs: list) -> None:
        self.tags.append(f"<{tag} {attrs}>")

    def handle_endtag(self, tag: str) -> None:
        self.tags.append(f"</{tag}>")

    def handle_data(self, data: str) -> None:
        self.data.append(data)


def parsed(markup: str) -> Tags:
    tags = Tags()
    tags.feed(markup)
    tags.close()
    return tags


@settings(max_examples=examples(300), derandomize=DERANDOMIZE, database=None, deadline=None)
@given(t=texts)
@example(t="x" * 5000)  # a very long word
@example(t="``` ```")
def test_outside_text_lands_escaped_and_cannot_make_markup(t):
    assert not HIDDEN & set(blocks.escape(t)) and not HIDDEN & set(render.escape(t))
    exact = 0 < len(t) <= 150 and "`" not in t  # longer text is cut to fit; empty is left out
    for placeholder, view in zip(views(PH), views(t), strict=True):
        # Slack: the same blocks but for the slots, which hold the text plain and escaped
        drawn = slack(view)
        if exact:
            assert drawn == slack(placeholder).replace(PH, slack_escaped(t))
        ours = re.sub(r"<@U0BOB>|<!date\^[^>]*>", "", drawn)
        assert "<" not in ours and ">" not in ours
        assert not re.search(r"&(?!amp;|lt;|gt;)", ours)
        if isinstance(view, Report):  # the table's code block opens and closes once
            for table in [b["text"]["text"] for b in json.loads(drawn)[1][1:]]:
                assert table.count("```") == 2 and table[:3] == table[-3:] == "```"
        # Telegram: the same tags as around the placeholder, and the text plain inside them
        shown = telegram(view)
        if shown:
            tags, around = parsed(shown).tags, parsed(telegram(placeholder)).tags
            assert tags == around[: len(tags)], shown  # the same, or whole lines dropped to fit
            assert len(shown) <= 4096
            if exact:
                assert shown == telegram(placeholder).replace(PH, html.escape(plain(t)))


def test_the_plain_text_keeps_what_a_person_can_see():
    assert plain("Wärmepumpe 😀 👨\u200d👩\u200d👧 ok") == "Wärmepumpe 😀 👨\u200d👩\u200d👧 ok"
    assert plain("a\nb\tc\u2028d") == "a b c d"
    assert plain("\u202egnp.exe\u202c x\u200by\ufeff") == "gnp.exe xy"
    assert blocks.escape("<!channel> & <@U1>") == "&lt;!channel&gt; &amp; &lt;@U1&gt;"
    assert (
        render.escape('<a href="x">&amp;</a>') == "&lt;a href=&quot;x&quot;&gt;&amp;amp;&lt;/a&gt;"
    )
