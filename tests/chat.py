"""An in-memory adapter so tests read like conversations with the bot.

    chat.as_("maria").say("/ci glossary backbone")  -> Reply
    chat.click(reply.buttons[0])                     -> Reply
    chat.submit(reply.form, {"term": "..."})         -> Reply | FormErrors
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.core.context import Origin
from bot.core.core import Core
from bot.core.messages import Button, Form, FormErrors, Reply


@dataclass
class Chat:
    """A conversation with the core from one platform's point of view."""

    core: Core
    platform: str = "console"
    user_id: str = "maria"
    channel_id: str = ""
    team_id: str = ""
    transcript: list[tuple[str, str]] = field(default_factory=list)

    def as_(self, user_id: str, *, channel: str | None = None) -> Chat:
        """The same conversation, spoken by `user_id` (a member key on the console)."""
        return Chat(self.core, self.platform, user_id, self.channel_id if channel is None else channel,
                    self.team_id, self.transcript)

    @property
    def origin(self) -> Origin:
        """Where this conversation's messages come from."""
        return Origin(self.platform, self.user_id, self.channel_id, self.team_id)

    def say(self, text: str) -> Reply:
        """Type `text` (with or without the leading /ci) and return the bot's reply."""
        command = text.removeprefix("/ci").strip()
        reply = self.core.command_sync(self.origin, command)
        self.transcript.append((self.user_id, text))
        self.transcript.append(("bot", reply.plain_text()))
        return reply

    def click(self, button: Button) -> Reply | FormErrors:
        """Click `button` on a reply."""
        return self.core.interact_sync(self.origin, button.action, button.value, {})

    def submit(self, form: Form, values: dict[str, str]) -> Reply | FormErrors:
        """Fill in `form` with `values` and submit it."""
        return self.core.interact_sync(self.origin, form.action, form.value, values)


def text_of(reply: Reply | FormErrors) -> str:
    """Everything a reader sees in `reply`, as one string (errors joined for FormErrors)."""
    if isinstance(reply, FormErrors):
        return "\n".join(f"{k}: {v}" for k, v in reply.errors.items())
    return "\n".join([reply.plain_text(), *(b.label for b in reply.buttons)])
