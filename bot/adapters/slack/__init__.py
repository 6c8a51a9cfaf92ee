"""The Slack adapter: `/ci`, buttons, modals and App Home on slack-bolt's async app.

Entry points for the composition root: `build_slack_app`, `run_slack`,
`SlackSettings` and `SlackSender` (the outbox's Sender for Slack).
"""

from bot.adapters.slack.app import build_slack_app
from bot.adapters.slack.sender import SlackSender
from bot.adapters.slack.server import run_slack
from bot.adapters.slack.settings import SlackConfigError, SlackSettings

__all__ = ["SlackConfigError", "SlackSender", "SlackSettings", "build_slack_app", "run_slack"]
