"""Every lead in a consistent state, checked over the whole database at once (after a crash, a
database restart, a soak, thousands of races): a list of what is wrong, empty when all is well.

- each lead is in one valid dispatch state, and its offers agree with it: accepted (or closed)
  has exactly one accepted offer, of the partner it names, and nothing pending; offered has
  something pending and nothing accepted; unassigned has neither; new has no offers yet;
- an offer has exactly one event that made it (offered, or assigned) and, once it left
  pending, exactly one that settled it, matching its status; a pending one has none;
- a delivered offer has one delivery event and a deadline; each chat shows an offer once;
- outbox items are sent, pending, skipped, or failed (failed only with a reason).
"""

from __future__ import annotations

from collections import Counter, defaultdict

from sqlalchemy import func, select

from bot.domain.events import OFFER_EVENT
from bot.domain.leads import DispatchStatus
from bot.domain.offers import OfferMode, OfferStatus
from bot.store.tables import lead_events, leads, offer_messages, offers, outbox
from bot.store.uow import UnitOfWork

SETTLING = set(OFFER_EVENT.values())
MAKING = {"offered", "assigned"}


async def problems(uow: UnitOfWork) -> list[str]:
    """What is inconsistent in the database (empty: nothing)."""
    found: list[str] = []
    lead_rows = {r.id: r for r in await uow.execute(select(leads.c.id, leads.c.status,
                                                            leads.c.partner_id))}  # fmt: skip
    by_lead: dict[int, list] = defaultdict(list)
    offer_rows = list(await uow.execute(select(offers)))
    for o in offer_rows:
        by_lead[o.lead_id].append(o)
    events: dict[int | None, Counter[str]] = defaultdict(Counter)
    for offer_id, kind in await uow.execute(select(lead_events.c.offer_id, lead_events.c.kind)):
        events[offer_id][kind] += 1
    for lead_id, lead in lead_rows.items():
        found += _lead(lead_id, lead, by_lead.get(lead_id, []))
    for o in offer_rows:
        found += _offer(o, events.get(o.id, Counter()))
    copies = select(offer_messages.c.offer_id, offer_messages.c.destination_id, func.count())
    copies = copies.group_by(offer_messages.c.offer_id, offer_messages.c.destination_id)
    for offer_id, dest, n in await uow.execute(copies.having(func.count() > 1)):
        found.append(f"offer {offer_id} is shown {n} times in destination {dest}")
    for item_id, kind, status, error in await uow.execute(
        select(outbox.c.id, outbox.c.kind, outbox.c.status, outbox.c.last_error)
    ):
        if status not in ("pending", "sent", "skipped", "failed") or (status == "failed"
                                                                      and not error):  # fmt: skip
            found.append(f"outbox item {item_id} ({kind}) is {status!r} ({error})")
    return found


def _lead(lead_id: int, lead, rows: list) -> list[str]:  # type: ignore[no-untyped-def]
    statuses = Counter(o.status for o in rows)
    accepted = [o for o in rows if o.status == OfferStatus.ACCEPTED]
    pending = statuses[OfferStatus.PENDING]
    status = lead.status
    wrong = None
    if status not in set(DispatchStatus):
        wrong = "is in no valid state"
    elif len(accepted) > 1:
        wrong = f"has {len(accepted)} accepted offers"
    elif status in (DispatchStatus.ACCEPTED, DispatchStatus.CLOSED):
        if len(accepted) != 1 or accepted[0].partner_id != lead.partner_id or pending:
            wrong = f"is {status} but its offers are {dict(statuses)}"
    elif status == DispatchStatus.OFFERED and (not pending or accepted):
        wrong = f"is offered but its offers are {dict(statuses)}"
    elif status == DispatchStatus.UNASSIGNED and (pending or accepted):
        wrong = f"is unassigned but its offers are {dict(statuses)}"
    elif status == DispatchStatus.NEW and rows:
        wrong = f"is new but has offers {dict(statuses)}"
    return [f"lead {lead_id} {wrong}"] if wrong else []


def _offer(o, kinds: Counter[str]) -> list[str]:  # type: ignore[no-untyped-def]
    made = sum(kinds[k] for k in MAKING)
    settled = {k: n for k, n in kinds.items() if k in SETTLING}
    wrong = []
    if made != 1:
        wrong.append(f"was made {made} times ({dict(kinds)})")
    if o.mode == OfferMode.MANUAL:
        pass  # assigned as accepted by a manager: no settling event of its own
    elif o.status == OfferStatus.PENDING and settled:
        wrong.append(f"is pending but was settled: {settled}")
    elif o.status != OfferStatus.PENDING and settled != {OFFER_EVENT[o.status]: 1}:
        wrong.append(f"is {o.status} but its settling events are {settled}")
    if o.delivered_at is not None and (kinds["delivered"] != 1 or o.expires_at is None):
        wrong.append(f"was delivered with {kinds['delivered']} delivery events")
    if o.delivered_at is None and kinds["delivered"]:
        wrong.append("has a delivery event but no delivery time")
    return [f"offer {o.id} (lead {o.lead_id}) {w}" for w in wrong]
