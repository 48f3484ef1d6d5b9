"""A workspace not installed yet is asked about again next time: another instance may have
just stored its installation, and a remembered "not installed" would break that workspace."""

from types import SimpleNamespace

from bot.handlers.slack.workspaces import Bot, Workspaces


class Store:
    def __init__(self) -> None:
        self.found: SimpleNamespace | None = None
        self.asked = 0

    async def async_find_bot(self, *, enterprise_id, team_id):  # slack_sdk's store API
        self.asked += 1
        return self.found


async def test_not_installed_is_not_remembered_but_an_installation_is():
    store = Store()
    workspaces = Workspaces(None, home_token="xoxb-home", store=store)  # type: ignore[arg-type]
    workspaces._home = Bot(team_id="T0HOME", token="xoxb-home")  # auth.test answered already
    assert await workspaces.bot_for("T0PARTNER") is None
    store.found = SimpleNamespace(bot_token="xoxb-partner", bot_id="B1", bot_user_id="U1")
    found = await workspaces.bot_for("T0PARTNER")  # installed meanwhile, by another instance
    assert found is not None and found.token == "xoxb-partner"
    asked = store.asked
    assert (await workspaces.bot_for("T0PARTNER")).token == "xoxb-partner"
    assert store.asked == asked  # a found installation is cached
    assert workspaces.is_home_token("xoxb-home") and not workspaces.is_home_token("xoxb-partner")
