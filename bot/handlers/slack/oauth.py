"""Multi-workspace install: `GET /slack/install?invite=…` and `GET /slack/oauth_redirect`.

Bolt's OAuth flow does the browser-bound state cookie, the `oauth.v2.access` exchange and the
`Installation`; Leadbot adds the invite: a visit needs a valid install link from
`leadbot partners invite SLUG --slack`, the state is bound to it (stored hashed, used once),
and the installation is recorded for that partner (`record_install`). A refused installation
(wrong workspace, link used up) is not stored, and its fresh token is revoked unless the
workspace was installed already.
"""

from __future__ import annotations

import html
import logging

from slack_bolt.error import BoltError
from slack_bolt.oauth.async_callback_options import (
    AsyncCallbackOptions,
    AsyncFailureArgs,
    AsyncSuccessArgs,
)
from slack_bolt.oauth.async_oauth_flow import AsyncOAuthFlow
from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse
from slack_sdk.errors import SlackApiError
from slack_sdk.oauth.installation_store import Installation as SdkInstallation
from slack_sdk.oauth.state_store.async_state_store import AsyncOAuthStateStore
from slack_sdk.web.async_client import AsyncWebClient

from bot.bootstrap import Services
from bot.dispatch.installs import STATE_VALID, consume_state, record_install, start_install
from bot.domain.offers import Outcome
from bot.handlers.slack.workspaces import DbInstallationStore, Workspaces
from bot.store.installs import Installation

log = logging.getLogger(__name__)
QUIET = logging.getLogger(f"{__name__}.exchange")
QUIET.setLevel(logging.INFO)
# every Web API method Leadbot calls, and nothing more (slack-app-manifest.yaml says the same)
SCOPES = ["chat:write", "commands", "files:write", "im:write", "users:read"]
SCOPES += ["channels:history", "groups:history"]  # a card whose answer was lost: did it arrive?
INSTALL_PATH, REDIRECT_PATH = "/slack/install", "/slack/oauth_redirect"
FAILURES = {
    "access_denied": "The installation was cancelled in Slack. Open the install link again.",
    "invalid_browser": "Open the install link again, in this browser, and finish there.",
    "invalid_state": "This install page expired or was used already: open the link again.",
    "missing_code": "Slack did not send the installation back: open the link again.",
    "invalid_code": "Slack did not confirm the installation: open the link again.",
}


class Refused(BoltError):
    """Leadbot declined the installation; the message says why, for the person installing."""


def page(title: str, text: str, *, link: tuple[str, str] | None = None) -> str:
    """A small HTML page (everything shown is escaped)."""
    button = ""
    if link:
        href, label = html.escape(link[0]), html.escape(link[1])
        button = f'<p><a href="{href}" style="font-size:1.2em">{label}</a></p>'
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
        "<meta name='viewport' content='width=device-width'></head>"
        "<body style='font-family:sans-serif;max-width:36em;margin:3em auto'>"
        f"<h1>{html.escape(title)}</h1><p>{html.escape(text)}</p>{button}</body></html>"
    )


def _html(status: int, body: str, **headers: list[str] | str) -> BoltResponse:
    return BoltResponse(
        status=status, body=body, headers={"Content-Type": "text/html; charset=utf-8", **headers}
    )


class DbStateStore(AsyncOAuthStateStore):
    """OAuth states in the database; issued through an invite (`InviteFlow`), used once."""

    def __init__(self, services: Services) -> None:
        self.services = services

    async def async_issue(self, *args: object, **kwargs: object) -> str:
        raise BoltError("states are issued for an invite only")

    async def async_consume(self, state: str) -> bool:
        return bool(state) and await self.services.run(consume_state, state=state)


class InviteFlow(AsyncOAuthFlow):
    def __init__(self, services: Services, workspaces: Workspaces, client: AsyncWebClient) -> None:
        settings = services.settings
        assert settings.slack_client_id and settings.slack_client_secret
        public = (settings.leadbot_public_url or "").rstrip("/")
        # its own client, whose logger never logs at debug level: oauth.v2.access answers
        # with the new bot token in its body, and slack_sdk logs bodies at debug level
        exchange = AsyncWebClient(
            base_url=client.base_url, retry_handlers=client.retry_handlers, logger=QUIET
        )
        super().__init__(
            client=exchange,
            settings=AsyncOAuthSettings(
                client_id=settings.slack_client_id,
                client_secret=settings.slack_client_secret.get_secret_value(),
                scopes=SCOPES,
                user_scopes=[],
                redirect_uri=f"{public}{REDIRECT_PATH}" if public else None,
                install_path=INSTALL_PATH,
                redirect_uri_path=REDIRECT_PATH,
                installation_store=DbInstallationStore(services.uow),
                state_store=DbStateStore(services),
                state_expiration_seconds=int(STATE_VALID.total_seconds()),
                callback_options=AsyncCallbackOptions(success=self._success, failure=self._failure),
            ),
        )
        self.services, self.workspaces = services, workspaces

    async def handle_installation(self, request: AsyncBoltRequest) -> BoltResponse:
        """The install page: a valid invite gets a state (cookie too) and the Slack button."""
        token = (request.query.get("invite") or [""])[0]
        started: Outcome | tuple[str, str] = Outcome.refused(
            "This page needs the install link your Leadbot contact sent you."
        )
        if token:
            started = await self.services.run(start_install, invite_token=token)
        if isinstance(started, Outcome):
            return _html(400, page("Install link not valid", started.message))
        state, partner = started
        url = await self.build_authorize_url(state, request)
        cookie = self.settings.state_utils.build_set_cookie_for_new_state(state)
        text = f"Add Leadbot to your company's Slack workspace to get {partner}'s leads there."
        body = page(f"Leadbot for {partner}", text, link=(url, "Add to Slack"))
        return _html(200, body, **{"Set-Cookie": [cookie]})

    async def store_installation(
        self, request: AsyncBoltRequest, installation: SdkInstallation
    ) -> None:
        state = (request.query.get("state") or [""])[0]
        home = await self.workspaces.home()
        team = str(installation.team_id or "")
        ours = Installation(
            team_id=team,
            bot_token=str(installation.bot_token or ""),
            team_name=installation.team_name,
            enterprise_id=installation.enterprise_id,
            app_id=installation.app_id,
            bot_id=installation.bot_id,
            bot_user_id=installation.bot_user_id,
            bot_scopes=",".join(installation.bot_scopes or []),
            installer_user_id=installation.user_id,
        )
        if not team or not ours.bot_token:
            raise Refused("Slack sent no workspace or bot token: open the link again.")
        if home is None:  # we cannot tell our own workspace from a partner's: take nothing
            raise Refused(
                "Leadbot cannot reach Slack to check its own workspace right now: open the "
                "install link again in a few minutes."
            )
        outcome = await self.services.run(
            record_install, state=state, installation=ours, home_team=home.team_id if home else None
        )
        self.workspaces.forget(team)
        if not outcome.ok:
            await self._revoke_unless_installed(ours, home_team=home.team_id if home else None)
            raise Refused(outcome.message)

    async def _revoke_unless_installed(self, inst: Installation, *, home_team: str | None) -> None:
        """A token Leadbot will not keep is given back, unless the workspace uses it already
        (never our own workspace's token, which the same app gets back for the same workspace)."""
        if inst.team_id == home_team or self.workspaces.is_home_token(inst.bot_token):
            return
        if await self.workspaces.bot_for(inst.team_id, fresh=True) is not None:
            return
        try:
            await self.client.auth_revoke(token=inst.bot_token)
        except SlackApiError as exc:
            error = exc.response.get("error")
            log.warning("revoking a refused installation's token failed: %s", error)

    async def _success(self, args: AsyncSuccessArgs) -> BoltResponse:
        name = args.installation.team_name or args.installation.team_id or "your workspace"
        text = (
            f"Leadbot is installed in {name}. Next: invite @Leadbot to the channel where your "
            "team wants its leads (/invite @Leadbot), and send that channel's name to your "
            "Leadbot contact."
        )
        gone = self.settings.state_utils.build_set_cookie_for_deletion()
        return _html(200, page("Installed", text), **{"Set-Cookie": [gone]})

    async def _failure(self, args: AsyncFailureArgs) -> BoltResponse:
        if isinstance(args.error, Refused):
            return _html(400, page("Not installed", str(args.error)))
        log.warning("slack install failed: %s", args.reason)
        text = FAILURES.get(args.reason, "The installation failed: open the link again.")
        return _html(args.suggested_status_code, page("Not installed", text))
