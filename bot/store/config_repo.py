"""Applying a validated leadbot.yaml: policy versions, partners, territories, members, chats."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.domain.partners import PartnerStatus, parse_territory
from bot.policy_file import LeadbotConfig, Member, Partner
from bot.routing.directory import partner_facts, start_of
from bot.store.tables import (
    chat_accounts,
    destinations,
    digests,
    members,
    partners,
    policy_versions,
    territories,
    webhook_outages,
)


class ConfigRepo:
    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    async def current_version(self) -> int | None:
        stmt = select(func.max(policy_versions.c.version))
        return (await self.conn.execute(stmt)).scalar()

    async def get_document(self, version: int) -> dict[str, Any] | None:
        stmt = select(policy_versions.c.document).where(policy_versions.c.version == version)
        return (await self.conn.execute(stmt)).scalar()

    async def claim_digest(self, day: str, *, now: datetime) -> bool:
        """Record that the digest of `day` is being sent; False if it already was."""
        insert = (pg_insert if self.conn.dialect.name == "postgresql" else sqlite_insert)(digests)
        stmt = insert.values(day=day, sent_at=now).on_conflict_do_nothing().returning(digests.c.day)
        return (await self.conn.execute(stmt)).scalar() is not None

    async def apply(
        self, config: LeadbotConfig, document: dict[str, Any], *, source_file: str, now: datetime
    ) -> int:
        """Store a new policy version and bring partners, members and chats in line with it."""
        version = (await self.current_version() or 0) + 1
        # YAML gives dates for holidays; store them as the ISO text they were written as
        stored = json.loads(json.dumps(document, default=str))
        await self.conn.execute(
            policy_versions.insert().values(
                version=version, applied_at=now, source_file=source_file, document=stored
            )
        )
        existing = {
            r.slug: r.id for r in await self.conn.execute(select(partners.c.slug, partners.c.id))
        }
        kept: set[int] = set()
        # update rows in id order, the order routing locks them in (no deadlock between the two)
        for partner in sorted(config.partners, key=lambda p: existing.get(p.slug, 1 << 62)):
            pid = await self._upsert_partner(partner, existing.get(partner.slug), now)
            kept.add(pid)
            await self._replace_territories(pid, partner)
            await self._sync_destinations(
                pid, partner.slack_channel, partner.slack_team, partner.telegram_chat
            )
            await self._sync_members(
                pid, partner.members, default_role="partner_rep", slack_team=partner.slack_team
            )
        retired = [pid for pid in existing.values() if pid not in kept]
        if retired:
            await self.conn.execute(
                update(partners)
                .where(partners.c.id.in_(retired))
                .values(status=PartnerStatus.RETIRED)
            )
            await self.conn.execute(
                update(destinations)
                .where(destinations.c.partner_id.in_(retired))
                .values(active=False)
            )
            # its people go with it, as a member taken out of the file does
            await self._unlink(select(members.c.id).where(members.c.partner_id.in_(retired)))
        m = config.managers
        await self._sync_destinations(None, m.slack_channel, m.slack_team, m.telegram_chat)
        await self._sync_members(None, m.members, default_role="manager", slack_team=m.slack_team)
        # an endpoint no longer configured is no outage any more (/healthz stops counting it)
        configured = [w.url for w in config.webhooks]
        await self.conn.execute(
            delete(webhook_outages).where(webhook_outages.c.url.not_in(configured))
        )
        return version

    async def _upsert_partner(self, p: Partner, pid: int | None, now: datetime) -> int:
        location = partner_facts(0, p).location
        values = dict(
            name=p.name,
            status=PartnerStatus.PAUSED if p.paused else PartnerStatus.ACTIVE,
            capacity=p.capacity,
            weight=p.weight,
            priority=p.priority,
            timezone=p.timezone,
            hours=dict(p.hours),
            holidays=[day.isoformat() for day in p.holidays],
            specialties=sorted(p.specialties),
            languages=sorted(p.languages),
            daily_cap=p.daily_cap,
            lat=location[0] if location else None,
            lon=location[1] if location else None,
            paused_until=start_of(p.paused_until, p.timezone) if p.paused_until else None,
        )
        if pid is not None:
            await self.conn.execute(update(partners).where(partners.c.id == pid).values(**values))
            return pid
        stmt = (
            partners.insert().values(slug=p.slug, created_at=now, **values).returning(partners.c.id)
        )
        return int((await self.conn.execute(stmt)).scalar_one())

    async def _replace_territories(self, pid: int, p: Partner) -> None:
        await self.conn.execute(delete(territories).where(territories.c.partner_id == pid))
        rows = []
        for text in p.territories:
            t = parse_territory(text)
            rows.append(
                dict(
                    partner_id=pid,
                    country=t.country,
                    kind=t.kind,
                    value=t.value,
                    range_from=t.range_from,
                    range_to=t.range_to,
                    lat=t.lat,
                    lon=t.lon,
                    radius_km=t.radius_km,
                )
            )
        await self.conn.execute(territories.insert(), rows)

    async def _sync_destinations(
        self,
        pid: int | None,
        slack_channel: str | None,
        slack_team: str | None,
        telegram_chat: int | None,
    ) -> None:
        wanted = set()
        if slack_channel:
            wanted.add(("slack", slack_team or "", slack_channel))
        if telegram_chat is not None:
            wanted.add(("telegram", "", str(telegram_chat)))
        owner = (
            destinations.c.partner_id.is_(None) if pid is None else destinations.c.partner_id == pid
        )
        rows = list(await self.conn.execute(select(destinations).where(owner)))
        have = {(r.platform, r.team, r.chat_id): r for r in rows}
        for key, row in have.items():
            private = row.member_id is not None  # a member's DMs: not the file's to switch off
            if private and key not in wanted:
                continue
            if private or row.active != (key in wanted) or (key in wanted and row.broken_at):
                # declaring a chat again says it is fixed: a broken mark is cleared
                await self.conn.execute(
                    update(destinations)
                    .where(destinations.c.id == row.id)
                    .values(
                        active=key in wanted, broken_at=None, broken_reason=None, member_id=None
                    )
                )
        for platform, team, chat in wanted - have.keys():
            await self.conn.execute(
                destinations.insert().values(
                    partner_id=pid, platform=platform, team=team, chat_id=chat
                )
            )

    async def _sync_members(
        self, pid: int | None, wanted: list[Member], *, default_role: str, slack_team: str | None
    ) -> None:
        """Members as listed; their chat ids linked under (platform, team, id): a Slack id's
        team is the member's `slack_team`, else the partner's, else '' (our own workspace)."""
        owner = members.c.partner_id.is_(None) if pid is None else members.c.partner_id == pid
        existing = {r.name: r.id for r in await self.conn.execute(select(members).where(owner))}
        keep: set[int] = set()
        for m in wanted:
            role = m.role or default_role
            mid = existing.get(m.name)
            if mid is None:
                stmt = (
                    members.insert()
                    .values(name=m.name, role=role, partner_id=pid, telegram_dm=m.telegram_dm)
                    .returning(members.c.id)
                )
                mid = int((await self.conn.execute(stmt)).scalar_one())
            else:
                await self.conn.execute(
                    update(members)
                    .where(members.c.id == mid)
                    .values(role=role, active=True, telegram_dm=m.telegram_dm)
                )
            keep.add(mid)
            await self.conn.execute(  # accounts linked from the chat with a code stay
                delete(chat_accounts).where(
                    chat_accounts.c.member_id == mid, chat_accounts.c.linked_at.is_(None)
                )
            )
            slack = ("slack", m.slack_team or slack_team or "", m.slack)
            for platform, team, ext in (slack, ("telegram", "", m.telegram)):
                if ext is not None:
                    # an identity moves with the file: drop it from whoever had it before
                    await self.conn.execute(
                        delete(chat_accounts).where(
                            chat_accounts.c.platform == platform,
                            chat_accounts.c.team == team,
                            chat_accounts.c.external_id == str(ext),
                        )
                    )
                    await self.conn.execute(
                        chat_accounts.insert().values(
                            member_id=mid, platform=platform, team=team, external_id=str(ext)
                        )
                    )
        gone = [mid for mid in existing.values() if mid not in keep]
        if gone:
            await self._unlink(gone)

    async def _unlink(self, member_ids: Any) -> None:
        """Members taken out of leadbot.yaml: inactive, and their chat accounts unlinked
        (`member_ids`: a list, or a query of ids)."""
        await self.conn.execute(
            update(members).where(members.c.id.in_(member_ids)).values(active=False)
        )
        await self.conn.execute(
            delete(chat_accounts).where(chat_accounts.c.member_id.in_(member_ids))
        )
