"""Running the Slack adapter: settings from the environment, and `run_slack` serving HTTP until cancelled."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest
from sqlalchemy.engine import Engine

from bot.adapters.slack.server import run_slack
from bot.adapters.slack.settings import SlackConfigError, SlackSettings
from bot.bootstrap import dialects_only
from bot.core import help
from bot.core.clock import ManualClock
from bot.core.core import Core
from tests.factories import seed
from tests.fake_slack_api import SIGNING_SECRET, FakeSlackApi, SlackSide
from tests.process_helpers import free_port
from tests.test_slack_app import register_demo, texts


def test_settings_come_from_the_environment() -> None:
    settings = SlackSettings.from_env({"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "s",
                                       "SLACK_API_URL": "http://127.0.0.1:9/api"})
    assert (settings.bot_token, settings.signing_secret, settings.app_token) == ("xoxb-1", "s", "")
    assert settings.web_client().base_url == "http://127.0.0.1:9/api/"
    assert SlackSettings.from_env({"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "s"}).web_client(
        ).base_url == "https://slack.com/api/"
    with pytest.raises(SlackConfigError, match="SLACK_SIGNING_SECRET is not set"):
        SlackSettings.from_env({"SLACK_BOT_TOKEN": "xoxb-1"})
    with pytest.raises(SlackConfigError, match="SLACK_BOT_TOKEN is not set"):
        SlackSettings.from_env({})


async def test_run_slack_serves_http_and_finishes_acknowledged_work_on_cancel(
        engine: Engine, clock: ManualClock, api: FakeSlackApi, monkeypatch: pytest.MonkeyPatch) -> None:
    seed(engine)
    registry = dialects_only()
    help.register(registry)
    register_demo(registry)
    for name, value in (("SLACK_BOT_TOKEN", "xoxb-test"), ("SLACK_SIGNING_SECRET", SIGNING_SECRET),
                        ("SLACK_API_URL", api.api_url)):
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("SLACK_APP_TOKEN", raising=False)
    port = free_port()
    server = asyncio.create_task(run_slack(Core(engine, registry, clock), port=port, host="127.0.0.1"))
    async with aiohttp.ClientSession() as http:
        slack = SlackSide(http, f"http://127.0.0.1:{port}/slack/events", SIGNING_SECRET, api)
        for _ in range(200):
            try:
                status, body = await slack.command("UMARIA", "slow")
                break
            except aiohttp.ClientConnectionError:
                await asyncio.sleep(0.02)
        assert (status, body) == (200, "")
        server.cancel()
        with pytest.raises(asyncio.CancelledError):
            await server
        # the reply acknowledged before the shutdown was still delivered
        assert "done slowly" in texts(api.of("response_url")[0].blocks)
        with pytest.raises(aiohttp.ClientConnectionError):
            await slack.command("UMARIA", "help")
