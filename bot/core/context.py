"""Who is asking, from where, in which initiative: what every handler receives."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlmodel import Session

from bot.core.errors import NotAllowed, NotRegistered
from bot.core.render import Dialect
from storage.models import Group, GroupKind, Initiative, Member


@dataclass(frozen=True)
class Origin:
    """Where a request came from, in platform terms: the adapter fills this in."""

    platform: str
    user_id: str
    channel_id: str = ""
    team_id: str = ""
    user_name: str = ""
    initiative: str = ""  # a slug that scopes the request (the console's --initiative); "" for any


@dataclass
class Context:
    """A request resolved into the initiative's terms, with an open database session.

    `member` is None for people the initiative does not know; `group` is the group
    bound to the channel the request came from, if any.
    """

    session: Session
    origin: Origin
    markup: Dialect
    now: datetime
    initiative: Initiative | None
    member: Member | None
    group: Group | None
    groups: dict[int, tuple[Group, str]]  # the member's groups: id -> (group, role)
    elsewhere: tuple[str, ...] = ()  # the initiatives of a caller in several, when nothing says which

    @property
    def timezone(self) -> ZoneInfo:
        """The reader's timezone: the member's own, else the initiative's, else UTC."""
        name = (self.member and self.member.timezone) or (self.initiative and self.initiative.timezone)
        return ZoneInfo(name or "UTC")

    def not_registered(self) -> NotRegistered:
        """The refusal for a caller the initiative does not know: how to get set up, or where to ask."""
        if self.elsewhere:
            return NotRegistered(f"You take part in several initiatives ({', '.join(self.elsewhere)}). "
                                 "Write in one of their channels so I know which one you mean.")
        return NotRegistered(registration_hint(self.origin, self.markup.local))

    def require_member(self) -> Member:
        """The calling member, or a clear refusal for people who are not registered."""
        if self.member is None:
            raise self.not_registered()
        return self.member

    def require_initiative(self) -> Initiative:
        """The initiative this request belongs to, or a refusal saying how to bind the channel."""
        if self.initiative is None:
            raise self.not_registered()
        return self.initiative

    def in_kind(self, *kinds: GroupKind) -> bool:
        """True when the caller belongs to a group of one of `kinds`."""
        return any(group.kind in kinds for group, _ in self.groups.values())

    def is_backbone(self) -> bool:
        """True for backbone staff."""
        return self.in_kind(GroupKind.BACKBONE)

    def require_backbone(self, doing: str) -> Member:
        """The calling member if they are backbone staff; otherwise a refusal naming `doing`."""
        member = self.require_member()
        if not self.is_backbone():
            raise NotAllowed(f"Only backbone staff can {doing}. Ask your backbone team if this needs doing.")
        return member


def registration_hint(origin: Origin, local: bool) -> str:
    """What an unknown user should do to get set up (`local`: in a session on this machine)."""
    if local:
        return ("You are not a member of this initiative. Start the shell as a member "
                "with `cibot shell --as KEY` (keys are in the initiative YAML; add --initiative SLUG "
                "when the database holds several initiatives).")
    return (
        f"I don't know who you are in this initiative yet. Ask your backbone team to add your "
        f"{origin.platform} user id ({origin.user_id}) under your member entry in the initiative "
        f"YAML ({origin.platform}: {origin.user_id}) and run `cibot load`. "
        "Until then you can still use /ci glossary and /ci help."
    )


def unbound_hint(origin: Origin) -> str:
    """What to do when a channel belongs to no initiative."""
    return (
        f"This channel ({origin.channel_id}) is not bound to an initiative. Backbone staff bind "
        f"it by adding `{origin.platform}: {{team: {origin.team_id or 'TEAM_ID'}, channel: "
        f"{origin.channel_id}}}` under a group's `channels` in the initiative YAML and running "
        "`cibot load`. You can also DM me once you are registered."
    )
