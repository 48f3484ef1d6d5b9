"""Members listed in leadbot.yaml are linked under (platform, team, user): a Slack id's team is
the member's `slack_team`, else the partner's, else '' (our own workspace)."""

from sqlalchemy import select

from bot.store.tables import chat_accounts, members
from tests.factories import apply, config, partner


async def identities(services) -> set[tuple[str, str, str, str]]:
    async with services.uow() as uow:
        rows = await uow.execute(
            select(
                members.c.name,
                chat_accounts.c.platform,
                chat_accounts.c.team,
                chat_accounts.c.external_id,
            ).join(members, members.c.id == chat_accounts.c.member_id)
        )
        return {tuple(r) for r in rows}


async def test_yaml_members_are_linked_under_their_workspace(services):
    doc = config(
        [
            partner(
                "acme",
                members=[
                    {"name": "Dan", "slack": "U0DAN", "slack_team": "T0ACMECO"},
                    {"name": "Bob", "slack": "U0BOB", "telegram": 42},
                ],
            ),
            partner("beta", slack_team="T0BETA", members=[{"name": "Carla", "slack": "U0CARLA"}]),
        ]
    )
    await apply(services, doc)
    assert await identities(services) == {
        ("Ada Admin", "slack", "", "U0ADA"),
        ("Ada Admin", "telegram", "", "1001"),
        ("Dan", "slack", "T0ACMECO", "U0DAN"),
        ("Bob", "slack", "", "U0BOB"),
        ("Bob", "telegram", "", "42"),
        ("Carla", "slack", "T0BETA", "U0CARLA"),
    }
    # Dan's entry now says he is one of ours: the link moves with the file
    doc["partners"][0]["members"][0].pop("slack_team")
    await apply(services, doc)
    assert ("Dan", "slack", "", "U0DAN") in await identities(services)
    assert ("Dan", "slack", "T0ACMECO", "U0DAN") not in await identities(services)
