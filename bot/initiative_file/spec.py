"""What an initiative file says, checked and typed, before anything touches the database."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from bot.glossary.book import TermEntry
from bot.initiative_file.problems import Where
from bot.measures.indicators import IndicatorSpec
from bot.meetings.file_section import CadenceSpec
from bot.publish.file_section import PublishSpec


@dataclass
class InitiativeInfo:
    """The `initiative:` section: identity, common agenda and home timezone."""

    slug: str
    name: str
    common_agenda: str = ""
    timezone: str = "UTC"
    min_contributors: int = 3  # partners a figure shown outside the backbone is built from, at least


@dataclass
class ChannelSpec:
    """A channel a group is bound to, always with its platform (team "" means any team)."""

    platform: str
    channel_id: str
    team_id: str
    where: Where


@dataclass
class GroupSpec:
    """One entry of `groups:`; `members` maps member keys to roles."""

    key: str
    name: str
    kind: str
    where: Where
    purpose: str = ""
    channels: list[ChannelSpec] = field(default_factory=list)
    members: dict[str, str] = field(default_factory=dict)
    member_where: dict[str, Where] = field(default_factory=dict)
    digest: str = ""  # week, month or off; "" leaves the group's digest cadence as it is


@dataclass
class MemberSpec:
    """One entry of `members:`; `spots` says where each field was written."""

    key: str
    name: str
    where: Where
    organization: str = ""
    sector: str = ""
    timezone: str = ""
    email: str = ""
    slack: str = ""
    discord: str = ""
    out_of_office_until: date | datetime | None = None
    delegate: str = ""
    spots: dict[str, Where] = field(default_factory=dict)

    def spot(self, name: str) -> Where:
        """Where field `name` was written (the member's own line if it was not)."""
        return self.spots.get(name, self.where)


@dataclass
class InitiativeSpec:
    """A whole initiative file: each section's entries, in file order."""

    source: str
    initiative: InitiativeInfo
    groups: list[GroupSpec] = field(default_factory=list)
    members: list[MemberSpec] = field(default_factory=list)
    glossary: list[TermEntry] = field(default_factory=list)
    indicators: list[IndicatorSpec] = field(default_factory=list)
    cadences: list[CadenceSpec] = field(default_factory=list)
    publish: PublishSpec | None = None  # None: the file says nothing about the public page
    lines: dict[str, int] = field(default_factory=dict)  # section name -> its line
