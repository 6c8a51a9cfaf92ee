"""Autocompletion of groups and members, as people type an option (capabilities add their own).

Discord offers these under every option named after them (``--group KEY``,
``/ci submit INDICATOR``, ``/ci action @MEMBER``, ``/ci attendance [GROUP]`` ...) and
under placeholders a command maps to them (the ``ID`` of ``/ci vote``); other
platforms ignore them.
"""

from __future__ import annotations

from sqlmodel import col, select

from bot.core.context import Context
from bot.core.registry import Completion, Registry
from storage.models import Group, Member


def groups(ctx: Context, prefix: str) -> list[str]:
    """Keys of the initiative's active groups whose key or name starts with `prefix`."""
    initiative = ctx.require_initiative()
    rows = ctx.session.exec(select(Group).where(Group.initiative_id == initiative.id, col(Group.active))
                            .order_by(col(Group.key))).all()
    return [g.key for g in rows if starts(prefix, g.key, g.name)]


def members(ctx: Context, prefix: str) -> list[Completion]:
    """The initiative's active members whose key or any part of their name starts with `prefix`.

    Each shows the member's name and fills in their key, which the commands accept
    wherever they take a member (``@key`` or ``key``).
    """
    initiative = ctx.require_initiative()
    rows = ctx.session.exec(select(Member).where(Member.initiative_id == initiative.id, col(Member.active))
                            .order_by(col(Member.name))).all()
    return [Completion(m.key, m.name) for m in rows if starts(prefix.lstrip("@"), m.key, m.name, *m.name.split())]


def starts(prefix: str, *texts: str) -> bool:
    """Whether any of `texts` starts with what was typed (case-insensitively)."""
    typed = prefix.strip().lower()
    return any(text.lower().startswith(typed) for text in texts)


def register(registry: Registry) -> None:
    """Add the ``group`` and ``member`` completers."""
    registry.completer("group", groups)
    registry.completer("member", members)
