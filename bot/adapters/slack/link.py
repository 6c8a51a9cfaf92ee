"""`cibot slack link`: each member's Slack user id from their email, each group's channel from its name.

Backbone staff already have everyone's email in the initiative file; copying Slack ids
by hand is the slow part of setting up. `plan` asks Slack (``users.lookupByEmail``, which
needs the ``users:read.email`` scope, and ``conversations.list``) and says what it would
change; `apply` records it as platform identities and channel bindings; `write_yaml` puts
the same lines into the initiative file, keeping its comments and layout.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from sqlmodel import Session, col, select

from storage.ids import id_of
from storage.initiative import ChannelBinding, Platform, PlatformIdentity
from storage.models import Group, Member


class LinkError(Exception):
    """Slack refused the look-ups; the message says what to fix (usually a missing scope)."""


@dataclass(frozen=True)
class Link:
    """One change: a member's Slack user (`kind` ``member``) or a group's channel (``group``)."""

    kind: str
    key: str
    slack_id: str
    team_id: str
    found_by: str  # the email or channel name it was found by

    def describe(self) -> str:
        """The change as a line of the plan."""
        if self.kind == "member":
            return f"member {self.key}: Slack user {self.slack_id} (email {self.found_by})"
        return f"group {self.key}: channel #{self.found_by} ({self.slack_id}) in workspace {self.team_id}"


@dataclass(frozen=True)
class Plan:
    """What `cibot slack link` would change, and what it could not find."""

    links: list[Link]
    not_found: list[str]


async def plan(session: Session, client: AsyncWebClient, initiative_id: int) -> Plan:
    """Look up every member with an email but no Slack user, and every group without a Slack channel."""
    try:
        team_id = str((await client.auth_test())["team_id"])
        links: list[Link] = []
        missing: list[str] = []
        linked = set(session.exec(select(PlatformIdentity.member_id).where(
            PlatformIdentity.initiative_id == initiative_id, PlatformIdentity.platform == Platform.SLACK)).all())
        members = session.exec(select(Member).where(Member.initiative_id == initiative_id, col(Member.active))
                               .order_by(col(Member.key))).all()
        for member in members:
            if member.id in linked or not member.email:
                continue
            user = await _user_by_email(client, member.email)
            if user:
                links.append(Link("member", member.key, user, team_id, member.email))
            else:
                missing.append(f"member {member.key}: no Slack user has the email {member.email}")
        bound = set(session.exec(select(ChannelBinding.group_id).where(
            ChannelBinding.platform == Platform.SLACK)).all())
        groups = [g for g in session.exec(select(Group).where(Group.initiative_id == initiative_id, col(Group.active))
                                          .order_by(col(Group.key))).all() if g.id not in bound]
        channels = await _channels(client) if groups else {}
        for group in groups:
            names = (group.key.lower(), _slug(group.name))
            name = next((n for n in names if n in channels), None)
            if name:
                links.append(Link("group", group.key, channels[name], team_id, name))
            else:
                missing.append(f"group {group.key}: no channel named #{names[0]} or #{names[1]}")
    except SlackApiError as exc:
        error = exc.response.get("error", "unknown_error")
        if error == "missing_scope":
            raise LinkError("Slack refused: the app lacks a scope. Add users:read, users:read.email, channels:read "
                            "and groups:read (deploy/slack/manifest.yml has them) and reinstall the app.") from None
        raise LinkError(f"Slack refused the look-up: {error}") from None
    return Plan(links, missing)


def apply(session: Session, initiative_id: int, links: list[Link]) -> None:
    """Record `links` as Slack identities of members and Slack channels of groups."""
    members = {m.key: m for m in session.exec(select(Member).where(Member.initiative_id == initiative_id)).all()}
    groups = {g.key: g for g in session.exec(select(Group).where(Group.initiative_id == initiative_id)).all()}
    for link in links:
        if link.kind == "member":
            session.add(PlatformIdentity(initiative_id=initiative_id, member_id=id_of(members[link.key]),
                                         platform=Platform.SLACK, platform_user_id=link.slack_id))
        else:
            session.add(ChannelBinding(group_id=id_of(groups[link.key]), platform=Platform.SLACK,
                                       team_id=link.team_id, channel_id=link.slack_id))


def write_yaml(path: Path, links: list[Link]) -> int:
    """Add `links` to the initiative file at `path`, next to each entry's key, keeping everything else; how many."""
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    written = 0
    for link in links:
        section = "members" if link.kind == "member" else "groups"
        found = _entry(lines, section, link.key)
        if found is None:
            continue
        at, indent = found
        block = _block(lines, at, indent)
        if link.kind == "member":
            if any(re.match(rf"{indent}  slack:", line) for line in block):
                continue
            new = [f"{indent}  slack: {link.slack_id}\n"]
        else:
            binding = f"{{team: {link.team_id}, channel: {link.slack_id}}}"
            channels = next((i for i, line in enumerate(block) if line.startswith(f"{indent}  channels:")), None)
            if channels is None:
                new = [f"{indent}  channels:\n", f"{indent}    slack: {binding}\n"]
            else:
                at, new = at + channels, [f"{indent}    slack: {binding}\n"]
        lines[at + 1:at + 1] = new
        written += 1
    path.write_text("".join(lines), encoding="utf-8")
    return written


def _entry(lines: list[str], section: str, key: str) -> tuple[int, str] | None:
    """The line of ``- key: KEY`` inside the top-level `section`, and the indentation of its dash."""
    inside = False
    for i, line in enumerate(lines):
        if re.match(r"^[a-z_]+:", line):
            inside = line.startswith(f"{section}:")
        elif inside and (m := re.match(rf"^(\s*)- key: ['\"]?{re.escape(key)}['\"]?\s*(#.*)?$", line)):
            return i, m.group(1)
    return None


def _block(lines: list[str], at: int, indent: str) -> list[str]:
    """The lines of the entry starting at `at`, up to the next entry or section."""
    block = [lines[at]]
    for line in lines[at + 1:]:
        if line.strip() and not line.startswith(indent + "  "):
            break
        block.append(line)
    return block


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


async def _user_by_email(client: AsyncWebClient, email: str) -> str:
    try:
        found = await client.users_lookupByEmail(email=email)
    except SlackApiError as exc:
        if exc.response.get("error") == "users_not_found":
            return ""
        raise
    return str(found["user"]["id"])


async def _channels(client: AsyncWebClient) -> dict[str, str]:
    """Every channel the bot can see, by name (public and private, not archived)."""
    found: dict[str, str] = {}
    cursor = ""
    while True:
        page = await client.conversations_list(types="public_channel,private_channel", exclude_archived=True,
                                               limit=200, cursor=cursor or None)
        found.update({str(c["name"]).lower(): str(c["id"]) for c in page["channels"]})
        cursor = str((page.get("response_metadata") or {}).get("next_cursor") or "")
        if not cursor:
            return found
