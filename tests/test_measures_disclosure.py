"""Disclosure control, tried as a determined member would: subtraction within a reply, across replies over time,
from corrections and from a breakdown's cells; periods in progress; progress toward the target.

Every story runs through the real core on SQLite and PostgreSQL. The clock starts on
Monday 2 March 2026; 2025-Q4 was due on 10 January, 2026-Q1 is due on 10 April.
"""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta

from sqlalchemy.engine import Engine
from sqlmodel import select

from bot.adapters.slack.dialect import SLACK
from bot.bootstrap import build_registry
from bot.core.clock import ManualClock
from bot.core.disclosure import suppressed
from bot.core.registry import AgendaView
from bot.decisions.cards import indicator_items
from bot.measures.exports import export_measures
from bot.measures.visibility import viewer_for
from storage.db import session_scope
from storage.decisions import Decision
from storage.models import Group
from tests.chat import Chat, text_of
from tests.factories import Seeded, seed
from tests.measures_factory import add_indicators

TWO = [("tom", ""), ("aisha", "")]
THREE = [("aisha", ""), ("tom", ""), ("lena", "")]
APRIL = datetime(2026, 4, 3, 15, 0, tzinfo=UTC)  # 2026-Q1 has ended and is not due until 10 April


def slack(chat: Chat, user: str, channel: str) -> Chat:
    """`user` (a member key) speaking in the Slack channel `channel`."""
    return Chat(chat.core, platform="slack", user_id="U" + user.upper(), channel_id=channel, team_id="T1")


def snapshot(engine: Engine, group: str, now: datetime) -> str:
    """The progress section of `group`'s agenda, as the group's channel would read it."""
    section = build_registry().agenda_sections["progress"][1]
    with session_scope(engine) as s:
        found = s.exec(select(Group).where(Group.key == group)).one()
        return str(section(AgendaView(s, found, None, None, now, SLACK, now)))  # type: ignore[arg-type]


def card(engine: Engine, seeded: Seeded, indicators: str, now: datetime) -> str:
    """What a decision card citing `indicators` (--indicators) shows about them."""
    with session_scope(engine) as s:
        decision = Decision(initiative_id=seeded.initiative_id, group_id=seeded.groups["steering"], title="X",
                            rule="majority", indicators=indicators, closes_at=now, created_at=now)
        return "\n".join(indicator_items(s, SLACK, decision, now.date()))


def test_a_two_partner_total_reaches_no_member_anywhere(engine: Engine, chat: Chat, clock: ManualClock) -> None:
    seeded = seed(engine)
    add_indicators(engine, seeded, readiness={"reporters": TWO})
    chat.as_("tom").say("/ci submit readiness 61.5")
    chat.as_("aisha").say("/ci submit readiness 63.5")  # the total would be 62.5%: 63.5 for whoever knows 61.5
    tom = slack(chat, "tom", "CDATA").say("/ci progress readiness")
    assert "62.5" not in text_of(tom) and "63.5" not in text_of(tom) and tom.image is None
    assert "withheld: fewer than 3 partners (2025-Q4)" in text_of(tom)
    assert tom.ephemeral and "61.5%" in text_of(tom)  # his own value, to him alone
    olga = slack(chat, "olga", "CSTEER").say("/ci progress readiness")
    assert not olga.ephemeral and "withheld: fewer than 3 partners" in text_of(olga)
    with session_scope(engine) as s:
        export = export_measures(s, seeded.initiative_id, viewer_for(s, seeded.members["olga"], backbone=False))
    leaks = [text_of(slack(chat, "aisha", "CDATA").say("/ci progress")), snapshot(engine, "data", clock.now()),
             card(engine, seeded, "readiness", clock.now()), export]
    for text in leaks:
        assert "62.5" not in text and "61.5" not in text and "63.5" not in text, text
    assert "withheld: fewer than 3 partners" in leaks[2]
    maria = text_of(chat.as_("maria").say("/ci progress readiness"))
    assert "62.5% in 2025-Q4" in maria and "Riverbend Unified School District: 61.5%" in maria  # backbone sees all


def test_a_late_partner_cannot_be_worked_out_by_watching_the_total(
    engine: Engine, chat: Chat, clock: ManualClock,
) -> None:
    add_indicators(engine, seed(engine), enrolled={"visibility": "aggregate", "reporters": THREE})
    clock.set(APRIL)
    chat.as_("aisha").say("/ci submit enrolled 100")
    chat.as_("tom").say("/ci submit enrolled 200")
    seen = [text_of(chat.as_("olga").say("/ci progress enrolled"))]
    clock.set(datetime(2026, 4, 20, 15, 0, tzinfo=UTC))  # past due with 2 of 3: still fewer than 3 partners
    seen.append(text_of(chat.as_("olga").say("/ci progress enrolled")))
    seen.append(text_of(chat.as_("olga").say("/ci progress")))
    for text in seen:
        assert "300" not in text and "2 of 3 partners have reported" in text, text
    chat.as_("lena").say("/ci submit enrolled 57")  # late, but now everyone is in
    final = text_of(chat.as_("olga").say("/ci progress enrolled"))
    assert "357 in 2026-Q1" in final and "revised" not in final  # its first showing, not a revision


def test_a_correction_shows_as_a_revised_figure_without_saying_whose(
    engine: Engine, chat: Chat, clock: ManualClock,
) -> None:
    add_indicators(engine, seed(engine), enrolled={"visibility": "aggregate", "reporters": THREE})
    clock.set(APRIL)
    for who, value in (("aisha", 100), ("tom", 200), ("lena", 57)):
        chat.as_(who).say(f"/ci submit enrolled {value}")
    assert "357 in 2026-Q1" in text_of(chat.as_("olga").say("/ci progress"))
    clock.set(datetime(2026, 5, 4, 15, 0, tzinfo=UTC))
    chat.as_("tom").say('/ci submit enrolled 210 --period 2026-Q1 --reason "recount"')
    olga = text_of(chat.as_("olga").say("/ci progress enrolled"))
    assert "367 in 2026-Q1 (revised Mon 04 May 2026)" in olga
    for attribution in ("Riverbend", "Tom", "recount", "corrected", "3 of 3"):
        assert attribution not in olga, attribution
    history = text_of(chat.as_("maria").say("/ci submissions enrolled"))  # the backbone still knows who and why
    assert "recount" in history and "Tom Nguyen" in history


def test_a_breakdown_withholds_a_small_cell_and_a_second_one_so_the_total_cannot_recover_it(
    engine: Engine, chat: Chat,
) -> None:
    add_indicators(engine, seed(engine), enrolled={"visibility": "aggregate", "reporters": THREE})
    for who, cells in (("aisha", (40, 50, 0)), ("tom", (60, 70, 0)), ("lena", (30, 20, 9))):
        form = chat.as_(who).say("/ci submit enrolled").form
        assert form is not None
        chat.as_(who).submit(form, {"value": str(sum(cells)), "c.0.0": str(cells[0]), "c.0.1": str(cells[1]),
                                    "c.0.2": str(cells[2]), "note": ""})
    olga = text_of(chat.as_("olga").say("/ci progress enrolled"))
    assert "279 in 2025-Q4" in olga  # 130 + 140 + 9, from three partners
    assert "60603: withheld" in olga  # only Lena counted children there: it would be her 9
    assert "60601: withheld" in olga and "60602: 140" in olga  # the smaller other cell goes too: 279 - 140 = 139
    assert "cannot be worked out from the total" in olga and "Largest gap" not in olga
    assert "60603: 9" in text_of(chat.as_("maria").say("/ci progress enrolled"))


def test_suppression_never_leaves_one_cell_recoverable() -> None:
    cells = {"a": (5, 100.0), "b": (4, 80.0), "c": (1, 7.0), "d": (3, 0.0)}
    assert suppressed(cells, 3) == {"c", "b"}  # never the 0, which would protect nothing
    assert suppressed({"a": (1, 5.0), "b": (2, 9.0), "c": (3, 4.0)}, 3) == {"a", "b"}
    assert suppressed({"a": (3, 5.0), "b": (4, 9.0)}, 3) == set()


def test_a_period_in_progress_is_left_out_of_latest_trend_baseline_and_chart(
    engine: Engine, chat: Chat, clock: ManualClock,
) -> None:
    add_indicators(engine, seed(engine), enrolled={"reporters": THREE, "visibility": "aggregate"})
    for period, values in (("2025-Q3", (300, 300, 300)), ("2025-Q4", (320, 320, 330))):
        for who, value in zip(("aisha", "tom", "lena"), values, strict=True):
            chat.as_(who).say(f"/ci submit enrolled {value} --period {period}")
    clock.set(APRIL)
    chat.as_("aisha").say("/ci submit enrolled 255")
    chat.as_("tom").say("/ci submit enrolled 256")  # 511 so far: it would read as a fall of 459
    for who in ("olga", "maria"):
        reply = chat.as_(who).say("/ci progress enrolled")
        text = text_of(reply)
        assert "970 in 2025-Q4" in text and "Since baseline +570" in text and "Trend: improving" in text, who
        assert "2026-Q1 in progress: 2 of 3 partners have reported" in text
        assert reply.image is not None and "970 in 2025-Q4" in reply.image.alt
        assert "2026-Q1 in progress, 2 of 3 partners have reported" in reply.image.alt
    assert "511" not in text_of(chat.as_("olga").say("/ci progress enrolled"))
    assert "511, in progress (2 of 3 partners have reported)" in text_of(chat.as_("maria").say(
        "/ci progress enrolled"))  # the backbone sees the running total, marked


def test_progress_shows_percent_of_target_and_the_way_from_baseline(engine: Engine, chat: Chat) -> None:
    add_indicators(engine, seed(engine))
    for who, value in (("tom", "61.25"), ("aisha", "63.5"), ("lena", "63.5")):
        chat.as_(who).say(f"/ci submit readiness {value}")
    text = text_of(chat.as_("olga").say("/ci progress"))
    assert "62.8% in 2025-Q4" in text  # (61.25 + 63.5 + 63.5) / 3 = 62.75
    assert "97% of target · 68% of the way from 58.0% to 65.0%" in text


def test_a_reply_goes_to_the_channel_only_when_every_figure_in_it_is_public(engine: Engine, chat: Chat) -> None:
    add_indicators(engine, seed(engine))
    for who, value in (("tom", "61.25"), ("aisha", "63.5"), ("lena", "63.5")):
        chat.as_(who).say(f"/ci submit readiness {value}")
    assert not slack(chat, "olga", "CSTEER").say("/ci progress readiness").ephemeral  # totals only
    assert not slack(chat, "aisha", "CDATA").say("/ci progress").ephemeral  # the overview has no own values
    assert slack(chat, "aisha", "CDATA").say("/ci progress readiness").ephemeral  # her own 63.5%
    assert slack(chat, "maria", "CDATA").say("/ci progress readiness").ephemeral  # partner values
    assert not slack(chat, "maria", "CBACK").say("/ci progress readiness").ephemeral  # the backbone's channel


def test_the_initiative_file_sets_the_threshold_and_an_indicator_overrides_it(engine: Engine, chat: Chat) -> None:
    from bot.initiative_file import parse_initiative

    spec = parse_initiative("initiative: {slug: tiny, name: Tiny, min_contributors: 4}\n"
                            "indicators:\n  - {key: a, name: A, unit: count, min_contributors: 2}\n", "tiny.yaml")
    assert spec.initiative.min_contributors == 4 and spec.indicators[0].min_contributors == 2
    add_indicators(engine, seed(engine), readiness={"reporters": TWO, "min_contributors": 2})
    chat.as_("tom").say("/ci submit readiness 61.5")
    chat.as_("aisha").say("/ci submit readiness 63.5")
    assert "62.5% in 2025-Q4" in text_of(chat.as_("olga").say("/ci progress readiness"))  # two partners allowed
    assert "single out one partner" in text_of(chat.as_("tom").say("/ci progress readiness"))  # not to a reporter


def test_partners_submitting_at_the_same_moment_are_all_counted(
    engine: Engine, chat: Chat, clock: ManualClock,
) -> None:
    from tests.test_races import together

    add_indicators(engine, seed(engine), enrolled={"visibility": "aggregate", "reporters": THREE})
    people = ("aisha", "tom", "lena")
    answers = together(3, lambda i: chat.as_(people[i]).say(f"/ci submit enrolled {100 + i}"))
    assert all("Recorded" in a for a in answers), answers
    assert "303 in 2025-Q4" in text_of(chat.as_("olga").say("/ci progress"))  # every partner in the total
    clock.advance(timedelta(days=1))
    chat.as_("tom").say('/ci submit enrolled 111 --period 2025-Q4 --reason "recount"')
    assert "313 in 2025-Q4 (revised Tue 03 Mar 2026)" in text_of(chat.as_("olga").say("/ci progress"))


def test_the_backbone_sets_an_indicators_threshold_by_command(engine: Engine, chat: Chat) -> None:
    add_indicators(engine, seed(engine), readiness={"reporters": TWO})
    chat.as_("tom").say("/ci submit readiness 61.5")
    chat.as_("aisha").say("/ci submit readiness 63.5")
    maria = chat.as_("maria")
    refused = text_of(maria.say("/ci indicator set readiness --min-contributors 0"))
    assert "--min-contributors: '0' is not a number of partners from 1 to 100" in refused
    assert "62.5" not in text_of(chat.as_("olga").say("/ci progress readiness"))
    assert "Updated" in text_of(maria.say("/ci indicator set readiness --min-contributors 2"))
    maria.say("/ci indicator set readiness Kindergarten readiness rate")  # other changes keep the threshold
    assert "62.5% in 2025-Q4" in text_of(chat.as_("olga").say("/ci progress readiness"))
    maria.say("/ci indicator set readiness --min-contributors initiative")
    assert "withheld: fewer than 3 partners" in text_of(chat.as_("olga").say("/ci progress readiness"))


def test_the_bot_starts_without_loading_matplotlib() -> None:
    """The chart library is imported on the first chart, not at start: it costs tens of MB of idle memory."""
    code = ("import sys; from bot.bootstrap import build_registry; build_registry(); "
            "sys.exit('matplotlib' in sys.modules)")
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0
