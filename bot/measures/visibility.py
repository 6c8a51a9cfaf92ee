"""Who may see which indicator values: the one place confidentiality is decided.

Every reply, chart and export that shows measurement data asks these functions.
`public` indicators show every partner's values to every member; `aggregate` ones show
members the initiative total and their own partner's values only; `backbone` ones are
invisible to anyone outside the backbone.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session, col, or_, select

from bot.core.context import Context
from storage.measures import Indicator, IndicatorReporter, Visibility
from storage.models import Member


@dataclass(frozen=True)
class Viewer:
    """Someone looking at measurement data: backbone or not, and the partners they speak for.

    `reporter_ids` are the reporter rows the viewer answers for, directly or as the
    delegate of a colleague; `reports` are the indicators those rows belong to.
    """

    member_id: int | None
    backbone: bool
    reporter_ids: frozenset[int] = frozenset()
    reports: frozenset[int] = frozenset()

    @classmethod
    def operator(cls) -> Viewer:
        """Whoever runs `cibot` on the server (exports): sees everything, like the backbone."""
        return cls(None, True)


def viewer_of(ctx: Context) -> Viewer:
    """The viewer behind a request."""
    member = ctx.member
    if member is None:
        return Viewer(None, False)
    return viewer_for(ctx.session, member.id, backbone=ctx.is_backbone())


def viewer_for(session: Session, member_id: int | None, *, backbone: bool) -> Viewer:
    """The viewer `member_id` is, with the partners they answer for: their own and those of
    colleagues who delegate to them."""
    if member_id is None:
        return Viewer(None, backbone)
    delegators = select(Member.id).where(Member.delegate_id == member_id)
    rows = session.exec(
        select(IndicatorReporter.id, IndicatorReporter.indicator_id).where(or_(
            IndicatorReporter.member_id == member_id,
            col(IndicatorReporter.member_id).in_(delegators),
        ))
    ).all()
    return Viewer(member_id, backbone, frozenset(r for r, _ in rows if r is not None), frozenset(i for _, i in rows))


def sees_indicator(viewer: Viewer, indicator: Indicator) -> bool:
    """True when `viewer` may know `indicator` exists and see its totals."""
    return viewer.backbone or indicator.visibility != Visibility.BACKBONE


def may_submit(viewer: Viewer, indicator: Indicator) -> bool:
    """True when `viewer` may name `indicator` to submit it: they see it, or they report it."""
    return sees_indicator(viewer, indicator) or indicator.id in viewer.reports


def sees_partner(viewer: Viewer, indicator: Indicator, reporter_id: int) -> bool:
    """True when `viewer` may see the values one partner submitted for `indicator`."""
    if not sees_indicator(viewer, indicator):
        return False
    return viewer.backbone or indicator.visibility == Visibility.PUBLIC or reporter_id in viewer.reporter_ids


def sees_total(viewer: Viewer, indicator: Indicator, others: int) -> bool:
    """True when `viewer` may see a total that includes the values of `others` partners besides their own.

    For `aggregate` indicators a total is withheld from members when exactly one other
    partner is in it: it (or it minus their own value) would reveal that partner's.
    """
    if not sees_indicator(viewer, indicator):
        return False
    if viewer.backbone or indicator.visibility == Visibility.PUBLIC:
        return True
    return others != 1


def sees_all_partners(viewer: Viewer, indicator: Indicator) -> bool:
    """True when `viewer` may see every partner's values of `indicator`."""
    return sees_indicator(viewer, indicator) and (viewer.backbone or indicator.visibility == Visibility.PUBLIC)
