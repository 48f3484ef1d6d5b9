"""The chat command engine, one for every platform: parse the grammar of design.md §7, check who
may run what, call the use cases and reports, and answer with a neutral `Report`.

Adapters only turn a slash command into (actor, text) and a `Report` into their own message.
Nothing here raises at the person typing: bad input gets a short usage line.
"""

from __future__ import annotations

import asyncio
import logging
import shlex
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import date, datetime

from bot.bootstrap import Services
from bot.command_grammar import MAX_LINE, MAX_WORD, VERBS, WHO, Usage, parse_where
from bot.dispatch import assign_lead
from bot.dispatch.availability import pause_partner, resume_partner, set_capacity
from bot.dispatch.direct_messages import set_direct_messages
from bot.dispatch.linking import ChatIdentity, link_account
from bot.domain.actors import Actor, Source
from bot.domain.errors import InvalidInput, LeadbotError
from bot.domain.offers import Outcome
from bot.domain.periods import PERIOD_HELP, Period, parse_period
from bot.messaging import Report
from bot.reports import rollup
from bot.reports.charts import comparison_chart, funnel_chart
from bot.reports.funnel import Funnel, funnel, funnel_all
from bot.reports.funnel_view import (
    by_source_report,
    minutes,
    overall_report,
    partner_report,
    pct,
)
from bot.reports.overview import count_waiting, standings, waiting
from bot.reports.routing import format_coverage, format_explanation, get_explanation, who_covers

log = logging.getLogger(__name__)


def _text(title: str, *lines: str) -> Report:
    return Report(title=title, rows=[[line] for line in lines])


class CommandEngine:
    """`await engine.run(actor, "funnel acme 30d")` -> Report. `actor` None: not linked yet."""

    def __init__(self, services: Services, *, source: Source) -> None:
        self.services, self.source = services, source
        self._handlers: dict[str, Callable[[Actor, list[str]], Awaitable[Report]]] = {
            "help": self._help,
            "funnel": self._funnel,
            "open": self._open,
            "partners": self._partners,
            "pause": self._pause,
            "resume": self._resume,
            "capacity": self._capacity,
            "assign": self._assign,
            "why": self._why,
            "who": self._who,
        }

    async def run(
        self, actor: Actor | None, text: str, *, identity: ChatIdentity | None = None
    ) -> Report:
        """Answer one command line. `identity`: the chat account that typed it (for `link`)."""
        return await self._run(actor, text, identity)

    async def _run(self, actor: Actor | None, text: str, identity: ChatIdentity | None) -> Report:
        if len(text) > MAX_LINE:  # before any parsing: nothing typed by hand is this long
            return _text("That is too long", f"A command has at most {MAX_LINE} characters.")
        try:
            words = shlex.split(text.strip())
        except ValueError:
            words = text.split()
        verb, args = (words[0].lower(), words[1:]) if words else ("help", [])
        spec = VERBS.get(verb)
        if spec is None:
            return _text(f"Unknown command '{verb[:30]}'", "Try: " + ", ".join(VERBS))
        if any(len(word) > MAX_WORD for word in args):  # answers quote words: keep them short
            return _text("A word is too long", f"Usage: {spec.usage}")
        if actor is None and verb != "link":
            return _text(
                "You are not linked yet",
                "Ask a manager for a link code, then send: link CODE",
            )
        if actor is not None and actor.role not in spec.roles:
            return _text("Not for you", f"'{verb}' is for {WHO.get(spec.roles, 'others')}.")
        args = [a for a in args if a]  # '' from quotes
        try:
            if verb == "link":
                return await self._link(actor, args, identity)
            assert actor is not None
            if verb == "dm":
                return await self._dm(actor, args, identity)
            return await self._handlers[verb](actor, args)
        except Usage as exc:
            return _text(str(exc), f"Usage: {spec.usage}")
        except InvalidInput as exc:
            return _text(str(exc).capitalize(), f"Usage: {spec.usage}")
        except LeadbotError as exc:
            return _text("Not done", str(exc))
        except Exception:  # a bug or a lost database: say so, never show a trace
            log.exception("command %r failed", text[:200])
            return _text("Something went wrong", "It was logged; try again in a minute.")

    # --- helpers -----------------------------------------------------------------------------

    async def _own_slug(self, actor: Actor) -> str | None:
        if actor.partner_id is None:
            return None
        async with self.services.uow() as uow:
            names = await uow.partners.list_names()
        return names.get(actor.partner_id, ("", ""))[0] or None

    async def _partner_arg(
        self, actor: Actor, args: list[str], *, named: bool
    ) -> tuple[str, list[str]]:
        """The partner a command is about: the first word when the verb's grammar says one is
        `named` (a slug may start with a digit: the words' count and keywords decide), else
        the actor's own partner."""
        if named:
            return args[0].lower(), args[1:]
        own = await self._own_slug(actor)
        if own is None:
            raise Usage("Name the partner")
        return own, args

    def _now(self) -> datetime:
        return self.services.ctx.now()

    async def _outcome(self, outcome: Outcome) -> Report:
        done = _text("Done" if outcome.ok else "Not done", outcome.message)
        return replace(done, shareable=outcome.ok)

    # --- verbs -------------------------------------------------------------------------------

    async def _help(self, actor: Actor, _args: list[str]) -> Report:
        allowed = [v for v in VERBS.values() if actor.role in v.roles]
        return Report(
            title="What you can run",
            header=["command", "does"],
            rows=[[v.usage, v.does] for v in allowed],
        )

    async def _funnel(self, actor: Actor, args: list[str]) -> Report:
        words = [a.lower() for a in args]
        by_source = words[-2:] == ["by", "source"]
        if by_source:
            words = words[:-2]
        period: Period | None = None
        target: str | None = None
        for word in words:
            if word[:1].isdigit() and not (target is None and await self._slug_not_period(word)):
                if period is not None:
                    raise Usage("Give one period")
                period = parse_period(word, now=self._now())
            elif target is None:
                target = word
            else:
                raise Usage(f"'{word}' is not a partner or a period ({PERIOD_HELP})")
        period = period or parse_period("30d", now=self._now())
        own = await self._own_slug(actor) if not actor.is_manager else None
        if not actor.is_manager and own is None:
            return _text("Not for you", "Your account is not linked to a partner.")
        if not actor.is_manager:
            if target not in (None, own):
                return _text("Not for you", "Partners see their own funnel only.")
            target = own
        target = target or "all"
        # everyone's funnel is for managers: a partner whose slug is 'all' sees its own
        overall = actor.is_manager and target == "all"
        await self._refresh_rollup()
        async with self.services.uow() as uow:
            version, _policy = await self.services.ctx.policies.current(uow)
            config = await self.services.ctx.policies.config(uow, version)
            costs = {k: v.cost_per_lead for k, v in config.sources.items()}
            if by_source:
                rows = await funnel(
                    uow,
                    period,
                    by="source",
                    partner=None if overall else target,
                    costs=costs,
                )
            elif overall:
                everyone, total = await funnel_all(uow, period, costs=costs)
                total.name = "All partners"
            else:
                found = await funnel(uow, period, partner=target)
        # charts are drawn off the event loop, after the transaction has ended
        if by_source:
            name = None if overall else await self._known(target)
            if not overall and name is None:
                return _text(f"There is no partner '{target}'")
            # what a lead costs is the manufacturer's own figure: managers only
            return by_source_report(rows, period, costs=actor.is_manager, partner=name)
        if overall:
            chart = (
                await asyncio.to_thread(comparison_chart, everyone, period=period.label)
                if everyone
                else None
            )
            return overall_report(total, everyone, period, chart)
        if not found:
            known = await self._known(target)
            if not known:
                return _text(f"There is no partner '{target}'")
            found = [Funnel(key=target, name=known)]
        chart = await asyncio.to_thread(funnel_chart, found[0], period=period.label)
        return partner_report(found[0], period, chart)

    async def _refresh_rollup(self) -> None:
        """Fold the days changed since the last report into the rollup, so this report reads
        them from there. Should it fail, the report still reads them live: same numbers."""
        try:
            async with self.services.uow() as uow:
                await rollup.refresh(uow, now=self._now())
                await uow.commit()
        except Exception:
            log.exception("funnel rollup refresh failed; reading the changed days live")

    async def _slug_not_period(self, word: str) -> bool:
        """A word starting with a digit is a period, unless it is none and names a partner."""
        try:
            parse_period(word, now=self._now())
        except InvalidInput:
            return await self._known(word) is not None
        return False

    async def _known(self, slug: str) -> str | None:
        async with self.services.uow() as uow:
            found = await uow.partners.get_by_slug(slug)
        return found[1] if found else None

    async def _open(self, actor: Actor, args: list[str]) -> Report:
        if args:
            raise Usage("'open' takes no arguments")
        if not actor.is_manager and actor.partner_id is None:
            return _text("Not for you", "Your account is not linked to a partner.")
        partner_id = None if actor.is_manager else actor.partner_id
        async with self.services.uow() as uow:
            items = await waiting(uow, partner_id=partner_id)
            total = await count_waiting(uow, partner_id=partner_id)
        now = self._now()
        return Report(
            shareable=True,
            title=f"Open: {total}" + (f" (oldest {len(items)})" if total > len(items) else ""),
            header=["lead", "waiting", "what", "where"],
            rows=[
                [w.lead, minutes((now - w.since).total_seconds()), w.what, w.postcode]
                for w in items
            ]
            or [["nothing waiting", "", "", ""]],
        )

    async def _partners(self, _actor: Actor, args: list[str]) -> Report:
        if args:
            raise Usage("'partners' takes no arguments")
        period = parse_period("30d", now=self._now())
        await self._refresh_rollup()
        async with self.services.uow() as uow:
            stand = await standings(uow, now=self._now())
            rows = {f.key: f for f in await funnel(uow, period)}
        return Report(
            shareable=True,
            title="Partners (acceptance over the last 30 days)",
            header=["partner", "status", "open/capacity", "accept", "median"],
            rows=[
                [
                    s.slug,
                    s.status,
                    f"{s.open_leads}/{s.capacity}",
                    pct(rows[s.slug].acceptance_rate) if s.slug in rows else "-",
                    minutes(rows[s.slug].accept_p50) if s.slug in rows else "-",
                ]
                for s in stand
            ],
        )

    async def _pause(self, actor: Actor, args: list[str]) -> Report:
        slug, rest = await self._partner_arg(
            actor, args, named=bool(args) and args[0].lower() != "until"
        )
        until = None  # a day: it starts at midnight in the partner's own time zone
        if rest:
            if len(rest) != 2 or rest[0].lower() != "until":
                raise Usage("Say 'until YYYY-MM-DD', or nothing")
            try:
                until = date.fromisoformat(rest[1])
            except ValueError:
                raise Usage(f"'{rest[1][:20]}' is not a date like 2026-03-31") from None
        outcome = await self.services.run(pause_partner, slug=slug, actor=actor, until=until)
        return await self._outcome(outcome)

    async def _resume(self, actor: Actor, args: list[str]) -> Report:
        slug, rest = await self._partner_arg(actor, args, named=bool(args))
        if rest:
            raise Usage("'resume' takes only the partner")
        return await self._outcome(await self.services.run(resume_partner, slug=slug, actor=actor))

    async def _capacity(self, actor: Actor, args: list[str]) -> Report:
        def count(word: str) -> bool:
            return word.isascii() and word.isdigit()

        # 'capacity N' is the actor's own partner; 'capacity 1komma5 N' names one
        named = len(args) > 1 or (len(args) == 1 and not count(args[0]))
        slug, rest = await self._partner_arg(actor, args, named=named)
        if len(rest) != 1 or not count(rest[0]):
            raise Usage("Give the number of open leads, like: capacity acme 12")
        outcome = await self.services.run(
            set_capacity, slug=slug, capacity=int(rest[0]), actor=actor
        )
        return await self._outcome(outcome)

    async def _assign(self, actor: Actor, args: list[str]) -> Report:
        if len(args) != 2:
            raise Usage("Name the lead and the partner")
        async with self.services.uow() as uow:
            lead = await uow.leads.get_by_public_id(args[0])
        if lead is None:
            return _text(f"There is no lead '{args[0][:20]}'")
        outcome = await self.services.run(
            assign_lead,
            lead_id=lead.id,
            partner_slug=args[1].lower(),
            actor=actor,
            source=self.source,
        )
        return await self._outcome(outcome)

    async def _why(self, _actor: Actor, args: list[str]) -> Report:
        if len(args) != 1:
            raise Usage("Name one lead")
        async with self.services.uow() as uow:
            found = await get_explanation(uow, args[0])
        if found is None:
            return _text(f"There is no lead '{args[0][:20]}'")
        public_id, decisions = found
        lines = format_explanation(public_id, decisions)
        return replace(_text(f"Why {public_id} went where it went", *lines), shareable=True)

    async def _who(self, _actor: Actor, args: list[str]) -> Report:
        async with self.services.uow() as uow:
            version, _policy = await self.services.ctx.policies.current(uow)
            partners = (await self.services.ctx.policies.directory(uow, at_least=version)).partners
            where = parse_where(
                args,
                specialties={s for p in partners.values() for s in p.specialties},
                countries={t.country for p in partners.values() for t in p.territories},
            )
            decision = await who_covers(
                uow,
                self.services.ctx,
                country=where.country,
                postcode=where.postcode,
                specialty=where.specialty,
            )
        who = _text(f"Who covers {where.country}-{where.postcode}", *format_coverage(decision))
        return replace(who, shareable=True)

    async def _link(
        self, actor: Actor | None, args: list[str], identity: ChatIdentity | None
    ) -> Report:
        if actor is not None:
            return _text("Already linked", f"This account is linked to {actor.name}.")
        if len(args) != 1:
            raise Usage("Send the code you were given")
        if identity is None:
            return _text("Not done", "Linking works from a chat account only.")
        outcome = await self.services.run(link_account, code=args[0], identity=identity)
        return await self._outcome(outcome)

    async def _dm(self, actor: Actor, args: list[str], identity: ChatIdentity | None) -> Report:
        if identity is None or identity.platform != "telegram":
            return _text("Not here", "Lead DMs come on Telegram: send /dm to the bot there.")
        if len(args) > 1 or (args and args[0].lower() not in ("on", "off")):
            raise Usage("Say 'dm on' or 'dm off' (or just 'dm' to see how it stands)")
        wanted = args[0].lower() == "on" if args else None
        outcome = await self.services.run(set_direct_messages, actor=actor, wanted=wanted)
        return _text("Direct messages" if outcome.ok else "Not done", outcome.message)
