"""Finding the member a user names in a command: a platform mention, ``@key``, a key or a name."""

from __future__ import annotations

import re

from sqlmodel import col, select

from bot.core.context import Context
from bot.core.errors import UserError
from storage.models import Member, PlatformIdentity

MENTION = re.compile(r"<@!?([A-Za-z0-9]+)(?:\|[^>]*)?>")


def find_member(ctx: Context, word: str, *, usage: str = "") -> Member:
    """The active member of the caller's initiative that `word` names.

    `word` may be a Slack or Discord mention (``<@U123>``, ``<@123>``), ``@key``, a
    member key, a full name or an unambiguous first name. Anything else is a
    `UserError` that says what to write instead (with `usage` when given).
    """
    initiative = ctx.require_initiative()
    raw = word.strip()
    mention = MENTION.fullmatch(raw)
    if mention:
        found = ctx.session.exec(
            select(Member)
            .join(PlatformIdentity, col(PlatformIdentity.member_id) == Member.id)
            .where(PlatformIdentity.platform == ctx.origin.platform,
                   PlatformIdentity.platform_user_id == mention.group(1),
                   Member.initiative_id == initiative.id, col(Member.active).is_(True))
        ).first()
        if found is None:
            raise UserError("The person you mentioned is not a member of this initiative.", usage=usage)
        return found
    name = raw.lstrip("@").strip().lower()
    members = ctx.session.exec(
        select(Member).where(Member.initiative_id == initiative.id, col(Member.active).is_(True))
    ).all()
    for matches in ([m for m in members if m.key.lower() == name],
                    [m for m in members if m.name.lower() == name],
                    [m for m in members if m.name.lower().split()[:1] == [name]]):
        if len(matches) == 1:
            return matches[0]
        if len(matches) > 1:
            keys = ", ".join(sorted(m.key for m in matches))
            raise UserError(f"“{raw}” could be {keys}; use the member key.", usage=usage)
    raise UserError(f"There is no member “{raw.lstrip('@')}”. Name them by @mention or by their member key.",
                    usage=usage)
