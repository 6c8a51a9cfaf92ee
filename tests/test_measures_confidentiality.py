"""Confidentiality: every command, button, chart and export tried as a member who must not see partner values.

`readiness` is `aggregate`: members see initiative totals that pass disclosure control
(final periods, at least three partners) and their own partner's values, never another
partner's. `wait` is `backbone`: invisible outside the backbone.
Partner values used below are distinctive so a leak shows in any text.
"""

from __future__ import annotations

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import select

from bot.core.context import Origin
from bot.measures.exports import export_measures, export_submissions
from bot.measures.visibility import viewer_for
from storage.db import session_scope
from storage.measures import IndicatorReporter
from storage.models import Member
from tests.chat import Chat, text_of
from tests.factories import Seeded, seed
from tests.measures_factory import add_indicators

TOM, AISHA, LENA = "61.25", "73.75", "55.5"  # readiness 2025-Q4, as typed
SHOWN = {"tom": "61.2%", "aisha": "73.8%"}  # as format_value shows them (one decimal)


@pytest.fixture
def world(engine: Engine, chat: Chat) -> tuple[Chat, Seeded]:
    seeded = seed(engine)
    add_indicators(engine, seeded)
    chat.as_("tom").say(f"/ci submit readiness {TOM}")
    chat.as_("aisha").say(f"/ci submit readiness {AISHA}")
    chat.as_("james").say("/ci submit wait 38.5")
    return chat, seeded


def leaks(text: str) -> list[str]:
    """Other partners' readiness values, partner names next to values, or the backbone indicator, found in `text`."""
    found = [v for v in (TOM, AISHA, *SHOWN.values()) if v in text]
    found += [w for w in ("Riverbend Unified School District:", "First Steps Family Center:",
                          "Wait for developmental screening", "38.5") if w in text]
    return found


def test_every_command_as_a_member_shows_totals_only(world: tuple[Chat, Seeded]) -> None:
    chat, _ = world
    lena = chat.as_("lena")
    for command in ("/ci progress", "/ci progress readiness", "/ci progress wait", "/ci submissions readiness",
                    "/ci submissions wait", "/ci status", "/ci submit wait 3", "/ci submit readiness 50 --for tom",
                    "/ci help"):
        reply = lena.say(command)
        assert leaks(text_of(reply)) == [], command
    detail = lena.say("/ci progress readiness")
    assert "67.5" not in text_of(detail) and detail.image is None  # two of three partners: no total yet
    assert "in progress (2 of 3 partners have reported)" in text_of(detail)
    assert "shared with the backbone only" in text_of(detail)
    lena.say(f"/ci submit readiness {LENA}")
    detail = lena.say("/ci progress readiness")
    assert "63.5%" in text_of(detail)  # every partner is in: the initiative total is shared
    assert detail.image is not None and "63.5%" in detail.image.alt


def test_buttons_and_forms_cannot_reach_another_partner(world: tuple[Chat, Seeded], engine: Engine) -> None:
    chat, seeded = world
    with session_scope(engine) as s:
        toms = s.exec(select(IndicatorReporter).where(IndicatorReporter.member_id == seeded.members["tom"])).first()
        assert toms is not None
        value = f"{toms.indicator_id}:2025-Q4:{toms.id}"
    lena = chat.as_("lena")
    opened = lena.core.interact_sync(lena.origin, "measures.form", value, {})
    assert "cannot submit" in text_of(opened) and leaks(text_of(opened)) == []
    forged = lena.core.interact_sync(lena.origin, "measures.submit", value, {"value": "1", "reason": "x"})
    assert "cannot submit" in text_of(forged)
    resend = lena.core.interact_sync(lena.origin, "measures.resend", f"{toms.indicator_id}:2025-Q4", {})
    assert "Only backbone staff" in text_of(resend)


def test_a_total_of_one_other_partner_is_withheld(engine: Engine, chat: Chat) -> None:
    add_indicators(engine, seed(engine), readiness={"min_contributors": 2})  # the indicator lowers the threshold
    chat.as_("tom").say(f"/ci submit readiness {TOM}")
    for who in ("lena", "olga"):
        reply = chat.as_(who).say("/ci progress readiness")
        assert leaks(text_of(reply)) == [] and reply.image is None, who
        assert "in progress (1 of 3 partners have reported)" in text_of(reply)
        assert leaks(text_of(chat.as_(who).say("/ci progress"))) == []
    chat.as_("lena").say(f"/ci submit readiness {LENA}")  # now Tom's value is one of two others' for Aisha
    assert leaks(text_of(chat.as_("aisha").say("/ci progress readiness"))) == []
    assert "withheld: it would single out one partner" in text_of(chat.as_("lena").say("/ci progress readiness"))
    maria = text_of(chat.as_("maria").say("/ci progress readiness"))
    assert "Riverbend Unified School District: 61.2%" in maria  # the backbone sees partners


def test_exports_as_a_member_leave_out_partner_values_and_backbone_indicators(
    world: tuple[Chat, Seeded], engine: Engine,
) -> None:
    _, seeded = world
    with session_scope(engine) as s:
        lena = viewer_for(s, seeded.members["lena"], backbone=False)
        member_measures = export_measures(s, seeded.initiative_id, lena)
        member_submissions = export_submissions(s, seeded.initiative_id, lena)
        full = export_submissions(s, seeded.initiative_id)
    assert leaks(member_measures) == [] and "readiness,Kindergarten readiness" in member_measures
    assert "67.5" not in member_measures and ",in progress," in member_measures  # 2 of 3 partners
    assert member_submissions.splitlines()[1:] == []
    assert TOM in full and AISHA in full and "38.5" in full


def test_home_lists_only_the_members_own_pending_data(world: tuple[Chat, Seeded]) -> None:
    chat, _ = world
    home = chat.core.home_sync(Origin("console", "lena"))
    texts = [text_of(r) for r in home.replies]
    assert any("Kindergarten readiness 2025-Q4 for Parents Together" in t for t in texts)
    assert all(leaks(t) == [] for t in texts)


def test_unknown_people_in_a_bound_channel_see_totals_only(world: tuple[Chat, Seeded]) -> None:
    chat, _ = world
    stranger = Chat(chat.core, platform="slack", user_id="UNOBODY", channel_id="CSTEER", team_id="T1")
    assert leaks(text_of(stranger.say("/ci progress readiness"))) == []
    assert "no indicator 'wait'" in text_of(stranger.say("/ci progress wait"))


def test_names_are_escaped_for_the_platform(engine: Engine, core) -> None:  # type: ignore[no-untyped-def]
    seeded = seed(engine)
    add_indicators(engine, seeded)
    with session_scope(engine) as s:
        tom = s.get(Member, seeded.members["tom"])
        assert tom is not None
        reporter = s.exec(select(IndicatorReporter).where(IndicatorReporter.member_id == tom.id)).first()
        assert reporter is not None
        reporter.partner = "<!channel> District"
        s.add(reporter)
    slack = Chat(core, platform="slack", user_id="UMARIA", channel_id="CBACK", team_id="T1")
    assert "<!channel>" not in text_of(slack.say("/ci status"))


def test_progress_showing_more_than_members_see_is_answered_to_the_caller_alone(
    world: tuple[Chat, Seeded],
) -> None:
    chat, _ = world

    def slack(user: str, channel: str) -> Chat:
        return Chat(chat.core, platform="slack", user_id=user, channel_id=channel, team_id="T1")

    steering = slack("UMARIA", "CSTEER")
    for command in ("/ci progress", "/ci progress readiness"):  # backbone indicator, partner values
        reply = steering.say(command)
        assert reply.ephemeral and leaks(text_of(reply)) != [], command
    assert not slack("UMARIA", "CBACK").say("/ci progress readiness").ephemeral  # the backbone's own channel
    assert slack("UTOM", "CDATA").say("/ci progress readiness").ephemeral  # shows Tom's own value
    for user, command in (("UOLGA", "/ci progress"), ("UOLGA", "/ci progress readiness"),
                          ("UTOM", "/ci progress enrolled")):
        reply = slack(user, "CSTEER").say(command)
        assert not reply.ephemeral and leaks(text_of(reply)) == [], (user, command)


def test_breakdowns_do_not_reveal_the_one_partner_who_gave_none(engine: Engine, chat: Chat) -> None:
    three = [("aisha", ""), ("tom", ""), ("lena", "")]
    add_indicators(engine, seed(engine), enrolled={"visibility": "aggregate", "reporters": three,
                                                   "min_contributors": 2})
    for who, total in (("aisha", "100"), ("tom", "200")):
        form = chat.as_(who).say("/ci submit enrolled").form
        assert form is not None
        half = str(int(total) // 2)
        chat.as_(who).submit(form, {"value": total, "c.0.0": half, "c.0.1": half, "c.0.2": "0", "note": ""})
    chat.as_("lena").say("/ci submit enrolled 37")  # 337 - (150 + 150 + 0) would be Lena's 37
    olga = text_of(chat.as_("olga").say("/ci progress enrolled"))
    assert "337" in olga and "By Zip code" not in olga and "Largest gap" not in olga
    lena = text_of(chat.as_("lena").say("/ci progress enrolled"))  # she knows her own 37
    assert "By Zip code" in lena and "60601: 150" in lena
