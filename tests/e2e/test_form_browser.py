"""A real browser (headless Chromium) submits a manufacturer's plain HTML form to `leadbot serve`.

The page lives on its own origin (a loopback static site), as it would on the manufacturer's
website; the form posts across origins straight to the form endpoint, with no secret in it.
Chromium comes from the system (Debian's `chromium` package); Playwright drives it.
Without Chromium the test is skipped, unless LEADBOT_REQUIRE_BROWSER=1 (CI sets it), then it fails.
"""

from __future__ import annotations

import os
import shutil
import signal
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import yaml
from aiohttp import web
from sqlalchemy import select
from sqlalchemy.ext.asyncio import create_async_engine

from bot.store.tables import lead_contacts, leads
from tests.e2e.serving import serve_aiohttp, start_serve

CHROMIUM = os.environ.get("LEADBOT_CHROMIUM") or shutil.which("chromium") or ""
if not CHROMIUM:
    if os.environ.get("LEADBOT_REQUIRE_BROWSER") == "1":
        raise RuntimeError("LEADBOT_REQUIRE_BROWSER=1 but no chromium found (apt install chromium)")
    pytest.skip("no chromium on this machine (apt install chromium)", allow_module_level=True)

async_playwright = pytest.importorskip("playwright.async_api").async_playwright

PAGE = """<!doctype html>
<html lang="de"><head><meta charset="utf-8"><title>Wärmepumpe anfragen</title></head>
<body>
<h1>Wärmepumpe anfragen</h1>
<form method="post" action="{action}" onsubmit="this.leadbot_sent.value = Date.now() / 1000">
  <label>Name <input name="name" id="name" required></label>
  <label>E-Mail <input name="mail" id="mail" type="email" required></label>
  <label>PLZ <input name="plz" id="plz" required></label>
  <input type="hidden" name="land" value="DE">
  <label>Wunsch <textarea name="wish" id="wish"></textarea></label>
  <input type="hidden" name="consent" value="false">
  <label><input type="checkbox" name="consent" value="true" id="consent"> Anruf erlaubt</label>
  <div style="position:absolute;left:-5000px" aria-hidden="true">
    <input name="leadbot_hp" id="leadbot_hp" tabindex="-1" autocomplete="off">
  </div>
  <input type="hidden" name="leadbot_ts" id="leadbot_ts">
  <input type="hidden" name="leadbot_sent">
  <button type="submit" id="send">Anfrage senden</button>
</form>
<script>document.getElementById("leadbot_ts").value = Date.now() / 1000;</script>
</body></html>"""


@pytest.fixture
async def website() -> AsyncIterator[tuple[str, dict[str, str]]]:
    """The manufacturer's site on its own loopback origin: the form page and a thank-you page."""
    pages: dict[str, str] = {"/thanks": "<!doctype html><title>Danke</title><h1>Danke!</h1>"}

    async def page(request: web.Request) -> web.Response:
        body = pages.get(request.path)
        if body is None:
            raise web.HTTPNotFound()
        return web.Response(text=body, content_type="text/html")

    app = web.Application()
    app.router.add_get("/{tail:.*}", page)
    url, runner = await serve_aiohttp(app)
    try:
        yield url, pages
    finally:
        await runner.cleanup()


async def stored_leads(database_url: str) -> list[tuple[str, str | None, str | None, bool]]:
    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as conn:
            rows = await conn.execute(
                select(
                    leads.c.postcode, lead_contacts.c.name, leads.c.need, lead_contacts.c.consent
                ).join(lead_contacts, lead_contacts.c.lead_id == leads.c.id)
            )
            return [tuple(r) for r in rows]  # type: ignore[misc]
    finally:
        await engine.dispose()


async def test_a_browser_submits_the_html_form_and_a_bot_is_dropped(
    database_url: str, tmp_path: Path, website: tuple[str, dict[str, str]]
) -> None:
    site, pages = website
    config = {
        "managers": {"slack_channel": "C-MANAGERS"},
        "partners": [
            {"slug": "acme", "name": "Acme", "territories": ["DE:8"], "slack_channel": "C-ACME"}
        ],
        "forms": [
            {
                "key": "waermepumpe",
                "source": "website",
                "allowed_origins": [site],
                "redirect": f"{site}/thanks",
                "fields": {
                    "name": "contact.name",
                    "mail": "contact.email",
                    "plz": "postcode",
                    "land": "country",
                    "wish": "need",
                },
            }
        ],
    }
    (tmp_path / "leadbot.yaml").write_text(yaml.safe_dump(config))
    proc, port = start_serve(
        tmp_path, DATABASE_URL=database_url, LEADBOT_CONFIG=str(tmp_path / "leadbot.yaml")
    )
    pages["/"] = PAGE.format(action=f"http://127.0.0.1:{port}/api/v1/forms/waermepumpe")
    try:
        async with async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=CHROMIUM)
            try:
                person = await browser.new_page()
                # the visitor's clock runs five minutes fast, and says the form was sent a
                # minute after the page opened: a person's pace, without the test sleeping
                # through the minimum fill time
                ahead = time.time() + 300
                await person.clock.set_fixed_time(ahead - 60)
                await person.goto(f"{site}/")
                await person.fill("#name", "Max Kunde")
                await person.fill("#mail", "max@example.com")
                await person.fill("#plz", "80331")
                await person.fill("#wish", "Neue Wärmepumpe, bitte anrufen")
                await person.check("#consent")  # posted after the hidden "false": it wins
                await person.clock.set_fixed_time(ahead)
                await person.click("#send")
                await person.wait_for_url(f"{site}/thanks")
                assert await person.inner_text("h1") == "Danke!"

                bot = await browser.new_page()
                await bot.clock.set_fixed_time(time.time() - 60)
                await bot.goto(f"{site}/")
                await bot.fill("#name", "Spam Bot")
                await bot.fill("#mail", "bot@example.com")
                await bot.fill("#plz", "80331")
                await bot.evaluate("document.getElementById('leadbot_hp').value = 'http://spam'")
                await bot.click("#send")
                await bot.wait_for_url(f"{site}/thanks")  # the same answer a person gets
            finally:
                await browser.close()
    finally:
        proc.send_signal(signal.SIGINT)
        output, _ = proc.communicate(timeout=20)
    assert proc.returncode == 0, output
    assert await stored_leads(database_url) == [
        ("80331", "Max Kunde", "Neue Wärmepumpe, bitte anrufen", True)
    ]
