"""Autocompletion of groups, indicators, open decisions and members, as people type an option.

Discord offers these under every option named after them (``--group KEY``,
``/ci submit INDICATOR``, ``/ci action @MEMBER``, ``/ci attendance [GROUP]`` ...) and
under placeholders a command maps to them (the ``ID`` of ``/ci vote``); other
platforms ignore them.
"""

from __future__ import annotations

from sqlmodel import col, select

from bot.core.context import Context
from bot.core.registry import Completion, Registry
from bot.measures.indicators import visible_indicators
from bot.measures.visibility import viewer_of
from storage.decisions import Decision, DecisionStatus
from storage.models import Group, Member


def groups(ctx: Context, prefix: str) -> list[str]:
    """Keys of the initiative's active groups whose key or name starts with `prefix`."""
    initiative = ctx.require_initiative()
    rows = ctx.session.exec(select(Group).where(Group.initiative_id == initiative.id, col(Group.active))
                            .order_by(col(Group.key))).all()
    return [g.key for g in rows if _starts(prefix, g.key, g.name)]


def indicators(ctx: Context, prefix: str) -> list[str]:
    """Keys of the indicators the caller may see whose key or name starts with `prefix`."""
    initiative = ctx.require_initiative()
    shown = visible_indicators(ctx.session, initiative.id or 0, viewer_of(ctx))
    return [ind.key for ind in shown if _starts(prefix, ind.key, ind.name)]


def open_decisions(ctx: Context, prefix: str) -> list[Completion]:
    """The initiative's open decisions, newest first, as ``#12 · title`` filling in ``12``.

    `prefix` matches the start of the number (``12`` or ``#12``) or of any word of
    the title. Every member sees every decision of the initiative, as in ``/ci decisions``.
    """
    initiative = ctx.require_initiative()
    rows = ctx.session.exec(select(Decision).where(Decision.initiative_id == initiative.id,
                                                   Decision.status == DecisionStatus.OPEN)
                            .order_by(col(Decision.id).desc())).all()
    typed = prefix.strip().lstrip("#")
    return [Completion(str(d.id), f"#{d.id} · {d.title}") for d in rows
            if _starts(typed, str(d.id), d.title, *d.title.split())]


def members(ctx: Context, prefix: str) -> list[Completion]:
    """The initiative's active members whose key or any part of their name starts with `prefix`.

    Each shows the member's name and fills in their key, which the commands accept
    wherever they take a member (``@key`` or ``key``).
    """
    initiative = ctx.require_initiative()
    rows = ctx.session.exec(select(Member).where(Member.initiative_id == initiative.id, col(Member.active))
                            .order_by(col(Member.name))).all()
    return [Completion(m.key, m.name) for m in rows if _starts(prefix.lstrip("@"), m.key, m.name, *m.name.split())]


def _starts(prefix: str, *texts: str) -> bool:
    typed = prefix.strip().lower()
    return any(text.lower().startswith(typed) for text in texts)


def register(registry: Registry) -> None:
    """Add the ``group``, ``indicator``, ``decision`` and ``member`` completers."""
    registry.completer("group", groups)
    registry.completer("indicator", indicators)
    registry.completer("decision", open_decisions)
    registry.completer("member", members)
