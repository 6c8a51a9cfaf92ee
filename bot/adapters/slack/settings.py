"""The Slack app's configuration, read from the environment, and the Web API client it implies."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from slack_sdk.http_retry.async_handler import AsyncRetryHandler
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.web.async_client import AsyncWebClient

DEFAULT_API_URL = "https://slack.com/api/"


class SlackConfigError(Exception):
    """A required Slack setting is missing; the message says where to find it."""


@dataclass(frozen=True)
class SlackSettings:
    """Tokens and URLs for one Slack app (single-workspace install with a bot token).

    `api_url` is the Web API base URL (Slack's by default; a local fake in tests, or
    Slack's government cloud); `app_token` switches to Socket Mode when set.
    """

    bot_token: str
    signing_secret: str
    app_token: str = ""
    api_url: str = DEFAULT_API_URL

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> SlackSettings:
        """Settings from SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET, SLACK_APP_TOKEN and SLACK_API_URL."""
        bot_token = env.get("SLACK_BOT_TOKEN", "")
        signing_secret = env.get("SLACK_SIGNING_SECRET", "")
        if not bot_token:
            raise SlackConfigError("SLACK_BOT_TOKEN is not set. Copy the Bot User OAuth Token (xoxb-...) "
                                   "from your Slack app's OAuth & Permissions page.")
        if not signing_secret:
            raise SlackConfigError("SLACK_SIGNING_SECRET is not set. Copy the Signing Secret from your "
                                   "Slack app's Basic Information page.")
        return cls(bot_token, signing_secret, env.get("SLACK_APP_TOKEN", ""),
                   env.get("SLACK_API_URL") or DEFAULT_API_URL)

    def web_client(self, *, retry_rate_limited: bool = True) -> AsyncWebClient:
        """A Web API client for the bot token; it retries one 429 after Retry-After unless told not to."""
        base_url = self.api_url if self.api_url.endswith("/") else self.api_url + "/"
        handlers: list[AsyncRetryHandler] = (
            [AsyncRateLimitErrorRetryHandler(max_retry_count=1)] if retry_rate_limited else [])
        return AsyncWebClient(token=self.bot_token, base_url=base_url, retry_handlers=handlers)
