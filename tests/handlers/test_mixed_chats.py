"""One partner on Slack, one on Telegram: a lead declined in Slack is accepted in Telegram, and
one funnel reports both."""

from __future__ import annotations

import httpx

from bot.bootstrap import build
from bot.config import Settings
from bot.domain.leads import DispatchStatus
from bot.domain.periods import parse_period
from bot.handlers.http import create_app
from bot.reports.funnel import funnel
from bot.sandbox.slack import FakeSlack, buttons, form
from bot.sandbox.telegram import FakeTelegram, keyboard
from tests.conftest import deliver_all, unpaced
from tests.e2e.serving import serve_app
from tests.factories import SRC, SYSTEM, apply, config, lead, partner
from tests.handlers import test_slack as sl
from tests.handlers import test_telegram as tg


async def test_declined_in_slack_accepted_in_telegram_one_funnel(database_url, clock):
    slack, telegram = FakeSlack(), FakeTelegram()
    await slack.start()
    await telegram.start()
    settings = Settings(  # type: ignore[call-arg]
        database_url=database_url,
        slack_bot_token="xoxb-test",
        slack_signing_secret=sl.SECRET,
        slack_api_url=f"{slack.url}/api/",
        telegram_bot_token="123456:TEST",
        telegram_api_url=f"{telegram.url}/bot",
        telegram_webhook_url="https://leads.example.com/telegram/webhook",
        telegram_webhook_secret=tg.SECRET,
        _env_file=None,
    )
    services = unpaced(build(settings, clock=clock))
    port, stop = await serve_app(create_app(services))
    try:
        acme = partner("acme", slack_channel="C0ACME", priority=1)
        acme["members"] = [{"name": "Bob", "slack": "U0BOB", "role": "partner_admin"}]
        beta = partner("beta", slack_channel=None, telegram_chat=tg.BETA, priority=2)
        beta["members"] = [{"name": "Carla", "telegram": 3003, "role": "partner_rep"}]
        await apply(services, config([acme, beta]))
        stored, _, _ = await services.submit_lead(lead("m-1"), actor=SYSTEM, source=SRC)
        await deliver_all(services)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
            decline = buttons(slack.posts_to("C0ACME")[0])["Decline"]
            ts = "1700000000.000100"
            await sl.post(client, form(sl.press_body(slack, "U0BOB", decline, "C0ACME", ts)))
            await sl.until(lambda: sl._true(slack.called("views.open")))
            await sl.answer_modal(client, slack, "U0BOB", "no_capacity")
            await deliver_all(services)
            (card,) = telegram.sent_to(tg.BETA)
            accept = keyboard(card)["Accept"]
            await tg.send(client, tg.press(3003, "Carla", accept, tg.BETA, 500))
        await deliver_all(services)
        async with services.uow() as uow:
            taken = await uow.leads.get(stored.id)
            rows = {f.key: f for f in await funnel(uow, parse_period("7d", now=clock.now()))}
        assert taken.status is DispatchStatus.ACCEPTED
        assert (rows["acme"].declined, rows["acme"].declined_by) == (1, {"no_capacity": 1})
        assert (rows["beta"].offered, rows["beta"].accepted) == (1, 1)
    finally:
        await stop()
        await services.close()
        await slack.stop()
        await telegram.stop()
