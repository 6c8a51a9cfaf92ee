"""Autocompletion of group and indicator keys, for platforms that complete options as people type.

Discord offers these under every option named after them (``--group KEY``,
``/ci submit INDICATOR``, ``/ci attendance [GROUP]`` ...); other platforms ignore them.
"""

from __future__ import annotations

from sqlmodel import col, select

from bot.core.context import Context
from bot.core.registry import Registry
from bot.measures.indicators import visible_indicators
from bot.measures.visibility import viewer_of
from storage.models import Group


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


def _starts(prefix: str, *texts: str) -> bool:
    typed = prefix.strip().lower()
    return any(text.lower().startswith(typed) for text in texts)


def register(registry: Registry) -> None:
    """Add the ``group`` and ``indicator`` completers."""
    registry.completer("group", groups)
    registry.completer("indicator", indicators)
