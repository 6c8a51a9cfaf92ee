"""Who may see which indicator values: the one place confidentiality is decided.

Every reply, chart, agenda, card and export that shows measurement data asks these
functions. `public` indicators show every partner's values to every member; `aggregate`
ones show members their own partner's values and the totals that pass disclosure control
(`bot.core.disclosure`): built from at least `min_contributors` partners (the indicator's,
else the initiative's), for final periods only, never singling out one other partner;
`backbone` ones are invisible to anyone outside the backbone.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session, col, or_, select

from bot.core.context import Context
from bot.core.disclosure import DEFAULT_MIN_CONTRIBUTORS, SINGLES_OUT, too_few, withheld_reason
from storage.measures import Indicator, IndicatorReporter, Visibility
from storage.models import Initiative, Member

IN_PROGRESS = "in progress"


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

    @classmethod
    def public(cls) -> Viewer:
        """Anyone on the internet (the public progress page): not backbone, speaking for no partner."""
        return cls(None, False)


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


def min_contributors(indicator: Indicator, initiative: Initiative | None) -> int:
    """How many partners a figure of `indicator` shown outside the backbone must be built from."""
    if indicator.min_contributors is not None:
        return indicator.min_contributors
    return initiative.min_contributors if initiative is not None else DEFAULT_MIN_CONTRIBUTORS


def total_withheld(viewer: Viewer, indicator: Indicator, *, contributors: int, own: int, final: bool,
                   minimum: int) -> str:
    """Why `viewer` may not see a figure from `contributors` partners (`own` of them theirs); "" if they may.

    Whoever sees every partner's values sees every figure. Anyone else sees a figure only
    for a final period, built from at least `minimum` partners, and never one in which a
    single partner besides their own is (they could subtract their own values).
    """
    if not sees_indicator(viewer, indicator):
        return withheld_reason(minimum)
    if sees_all_partners(viewer, indicator):
        return ""
    if not final:
        return IN_PROGRESS
    if too_few(contributors, minimum):
        return withheld_reason(minimum)
    return SINGLES_OUT if contributors - own == 1 else ""


def private_to_viewer(viewer: Viewer, indicators: list[Indicator], *, own_values: bool) -> bool:
    """True when a reply about `indicators` shows `viewer` a figure not every member may see.

    That is the case for backbone staff (partner values, figures under the threshold and
    periods in progress of indicators that are not public) and for a reply that shows
    the viewer's own partners' values. Such a reply goes to the caller alone.
    """
    return own_values or (viewer.backbone and any(ind.visibility != Visibility.PUBLIC for ind in indicators))


def sees_all_partners(viewer: Viewer, indicator: Indicator) -> bool:
    """True when `viewer` may see every partner's values of `indicator`."""
    return sees_indicator(viewer, indicator) and (viewer.backbone or indicator.visibility == Visibility.PUBLIC)
