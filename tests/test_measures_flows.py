"""Submitting, correcting, reading progress and status through the chat, as the sample cast."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.engine import Engine
from sqlmodel import select

from bot.core.messages import FormErrors
from bot.measures.units import is_valid
from storage.db import session_scope
from storage.measures import Indicator, Submission, SubmissionRevision, Unit
from tests.chat import Chat, text_of
from tests.factories import seed
from tests.measures_factory import add_indicators


@pytest.fixture
def ready(engine: Engine, chat: Chat) -> Chat:
    """The sample initiative with its indicators; the clock is in 2026-Q1, so 2025-Q4 is open."""
    add_indicators(engine, seed(engine))
    return chat


def stored(engine: Engine) -> list[tuple[str, str, float, dict]]:
    with session_scope(engine) as s:
        rows = s.exec(select(Submission, Indicator).join(Indicator, Indicator.id == Submission.indicator_id)).all()
        return [(ind.key, sub.period, sub.value, sub.cells) for sub, ind in rows]


def test_submit_by_command_then_correct_with_a_reason_keeps_history(ready: Chat, engine: Engine) -> None:
    tom = ready.as_("tom")
    assert "Recorded 62.5% as Kindergarten readiness for Riverbend Unified School District, 2025-Q4" in text_of(
        tom.say("/ci submit readiness 62.5 --note \"two schools missing\""))
    refused = text_of(tom.say("/ci submit readiness 63"))
    assert "already submitted 62.5% for 2025-Q4" in refused and "--reason" in refused
    assert "62.5% → 63.0%" in text_of(tom.say('/ci submit readiness 63 --reason "late roster"'))
    history = text_of(ready.as_("maria").say("/ci submissions readiness"))
    assert "Riverbend Unified School District: 63.0% (late), by Tom Nguyen" in history
    assert "corrected Mon 02 Mar 2026 09:00 by Tom Nguyen: 62.5% → 63.0% · reason: late roster" in history
    with session_scope(engine) as s:
        assert [(r.old_value, r.new_value, r.reason) for r in s.exec(select(SubmissionRevision))] == [
            (62.5, 63.0, "late roster")]


def test_wrong_values_and_periods_are_refused_and_nothing_is_stored(ready: Chat, engine: Engine) -> None:
    tom = ready.as_("tom")
    assert "between 0 and 100" in text_of(tom.say("/ci submit readiness 101"))
    assert "not a whole number" in text_of(tom.say("/ci submit enrolled 12.5"))
    assert "write it like 2026-Q1" in text_of(tom.say("/ci submit enrolled 12 --period spring"))
    assert "2026-Q1 has not ended yet" in text_of(tom.say("/ci submit enrolled 12 --period 2026-Q1"))
    assert "no indicator 'readyness'. Did you mean readiness?" in text_of(tom.say("/ci submit readyness 50"))
    assert "not a reporter of wait" not in text_of(tom.say("/ci submit wait 5"))  # backbone-only: not even named
    assert "You are not a reporter of enrolled" in text_of(ready.as_("lena").say("/ci submit enrolled 5"))
    assert stored(engine) == []


def test_the_form_checks_every_cell_and_stores_all_or_nothing(ready: Chat, engine: Engine) -> None:
    aisha = ready.as_("aisha")
    form = aisha.say("/ci submit enrolled").form
    assert form is not None
    assert [f.label for f in form.fields] == [
        "Children in quality pre-K (count)", "Zip code: 60601", "Zip code: 60602", "Zip code: 60603", "Note (optional)"]
    values = {"value": "100", "c.0.0": "50", "c.0.1": "30", "c.0.2": "15", "note": ""}
    errors = aisha.submit(form, values)
    assert isinstance(errors, FormErrors)
    assert errors.errors == {"c.0.0": "Zip code adds up to 95, 5 less than the total 100; "
                                      "the categories must add up to the total."}
    assert stored(engine) == []
    done = aisha.submit(form, {**values, "c.0.2": "20"})
    assert "Broken down by Zip code" in text_of(done)
    assert stored(engine) == [("enrolled", "2025-Q4", 100.0, {"zip": {"60601": 50.0, "60602": 30.0, "60603": 20.0}})]
    correction = aisha.say("/ci submit enrolled").form
    assert correction is not None and correction.fields[-1].name == "reason"
    assert correction.fields[1].initial == "50"


def test_discord_gets_a_form_it_can_show(engine: Engine, core) -> None:  # type: ignore[no-untyped-def]
    add_indicators(engine, seed(engine))
    discord = Chat(core, platform="discord", user_id="100000000000000003")
    form = discord.say("/ci submit readiness").form
    assert form is not None and len(form.fields) <= 5
    errors = discord.submit(form, {"value": "70", "d.0": "Black: 61; Latino: 66", "note": ""})
    assert isinstance(errors, FormErrors) and "did you mean Hispanic/Latino?" in errors.errors["d.0"]
    done = discord.submit(form, {"value": "70", "d.0": "Black: 61; Hispanic/Latino: 66; White: 78; Other: 70"})
    assert "Recorded 70.0%" in text_of(done)


def test_progress_shows_latest_target_baseline_trend_and_completeness(ready: Chat) -> None:
    for who, period, value in (("tom", "2025-Q3", 200), ("aisha", "2025-Q3", 240),
                               ("tom", "2025-Q4", 260), ("aisha", "2025-Q4", 280)):
        ready.as_(who).say(f"/ci submit enrolled {value} --period {period}")
    text = text_of(ready.as_("olga").say("/ci progress"))
    assert "Children in quality pre-K (enrolled): 540 in 2025-Q4" in text
    assert "Target 600 by Jun 2027 · 90% of target" in text
    assert "Since baseline +140" in text
    assert "Trend: improving · 2 of 2 partners reported 2025-Q4" in text
    assert "Kindergarten readiness (readiness): no value reported yet" in text
    detail = ready.as_("olga").say("/ci progress enrolled")
    assert detail.image is not None and detail.image.data.startswith(b"\x89PNG")
    assert "2025-Q3 440 (2 of 2 partners)" in text_of(detail)
    assert "First Steps Family Center: 280" in text_of(detail)  # a public indicator shows partners


def test_progress_detail_shows_cells_and_the_largest_gap(ready: Chat) -> None:
    cells = {"tom": (60, 62, 80, 70), "aisha": (64, 70, 84, 72), "lena": (62, 66, 82, 71)}
    for who, (black, latino, white, other) in cells.items():
        form = ready.as_(who).say("/ci submit readiness").form
        assert form is not None
        ready.as_(who).submit(form, {"value": "70", "c.0.0": str(black), "c.0.1": str(latino),
                                     "c.0.2": str(white), "c.0.3": str(other)})
    text = text_of(ready.as_("maria").say("/ci progress readiness"))
    assert "Black: 62.0%" in text and "White: 82.0%" in text
    assert "Largest gap: Race/ethnicity, White 82.0% vs Black 62.0% (20.0 points)." in text


def test_status_lists_submitted_outstanding_and_late_and_home_lists_what_is_due(ready: Chat) -> None:
    ready.as_("aisha").say("/ci submit readiness 70")
    status = ready.as_("maria").say("/ci status")
    text = text_of(status)
    assert "Kindergarten readiness 2025-Q4 due Sat 10 Jan 2026: 1 of 3 in." in text
    assert "Submitted: Aisha Bello (First Steps Family Center) (late)" in text
    assert "Late: Lena Fischer (Parents Together), Tom Nguyen (Riverbend Unified School District)" in text
    assert [b.label for b in status.buttons] == [
        "Re-send enrolled 2025-Q4 (2)", "Re-send readiness 2025-Q4 (2)", "Re-send wait 2025-Q4 (1)"]
    home = ready.core.home_sync(ready.as_("tom").origin)
    mine = next(r for r in home.replies if r.title == "Data to submit")
    assert [b.label for b in mine.buttons] == ["Submit enrolled 2025-Q4", "Submit readiness 2025-Q4"]
    ready.as_("tom").say("/ci submit readiness 61 --period 2025-Q3")  # Q3 now unfinished: 1 of 3 sent it
    again = ready.as_("maria").say("/ci status")
    assert "Kindergarten readiness 2025-Q3 due Fri 10 Oct 2025: 1 of 3 in." in text_of(again)
    assert "Re-send readiness 2025-Q3 (2)" in [b.label for b in again.buttons]
    assert "enrolled 2025-Q3" not in text_of(again)  # nobody has sent it: collection never started


def test_a_delegate_submits_for_a_colleague_who_is_away(ready: Chat, engine: Engine) -> None:
    from storage.models import Member
    with session_scope(engine) as s:
        lena = s.exec(select(Member).where(Member.key == "lena")).one()
        james = s.exec(select(Member).where(Member.key == "james")).one()  # a member who acts (observers do not)
        lena.delegate_id = james.id
        s.add(lena)
    assert "for Parents Together, 2025-Q4" in text_of(ready.as_("james").say("/ci submit readiness 66 --for lena"))
    assert "cannot submit readiness for 'tom'" in text_of(ready.as_("james").say("/ci submit readiness 66 --for tom"))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(typed=st.one_of(st.text(max_size=25), st.floats().map(str), st.integers().map(str),
                       st.decimals(places=3, allow_nan=False).map(str)))
def test_no_text_ever_crashes_submission_or_stores_an_invalid_value(ready_once: Chat, typed: str) -> None:
    reply = ready_once.as_("aisha").say(f'/ci submit readiness --period 2025-Q4 --reason fix '
                                        f'"{typed.replace(chr(34), "")}"')
    assert "Something went wrong" not in text_of(reply)
    with session_scope(ready_once.core.engine) as s:
        for sub in s.exec(select(Submission)):
            assert is_valid(Unit.PERCENT, sub.value)


@pytest.fixture
def ready_once(engine: Engine, chat: Chat) -> Chat:
    """Like `ready`, for hypothesis (which reuses the fixture across examples)."""
    add_indicators(engine, seed(engine))
    return chat


def test_the_agenda_carries_a_progress_snapshot_without_partner_values(ready: Chat, engine: Engine) -> None:
    from bot.adapters.slack.dialect import SLACK
    from bot.bootstrap import build_registry
    from bot.core.registry import AgendaView
    from storage.models import Group

    progress = build_registry().agenda_sections["progress"][1]
    assert progress.__name__ == "progress_snapshot"
    ready.as_("tom").say("/ci submit enrolled 260")
    ready.as_("aisha").say("/ci submit enrolled 280")
    ready.as_("tom").say("/ci submit readiness 61.25")
    with session_scope(engine) as s:
        data = s.exec(select(Group).where(Group.key == "data")).one()
        now = ready.core.clock.now()
        view = AgendaView(s, data, None, None, now, SLACK, now)  # type: ignore[arg-type]
        text = progress(view)
    assert "*Progress snapshot*" in text
    assert "Children in quality pre-K: 540 in 2025-Q4 · 90% of target (70% of the way from 400 to 600)" in text
    assert "61.2" not in text  # one partner's value stays hidden
    assert "2025-Q4 in progress: 1 of 3 partners have reported" in text


def test_the_definition_links_to_the_glossary_term(ready: Chat) -> None:
    assert "Defined in the glossary: /ci glossary kindergarten readiness" in text_of(
        ready.as_("tom").say("/ci progress readiness"))
    ready.as_("maria").say("/ci glossary add kindergarten readiness = Meeting all five domains of the fall assessment.")
    assert "kindergarten readiness in our glossary: Meeting all five domains of the fall assessment." in text_of(
        ready.as_("tom").say("/ci progress readiness"))


def test_the_backbone_declares_and_changes_an_indicator_by_command(ready: Chat) -> None:
    maria = ready.as_("maria")
    refused = text_of(maria.say('/ci indicator add screening "Screenings completed" --unit percent '
                                '--targets 120@2027-01-01 --reporters tomm --group dta'))
    assert "--reporters: no member has the key 'tomm' (did you mean tom?)" in refused
    assert "--group: no group has the key 'dta' (did you mean data?)" in refused
    done = maria.say('/ci indicator add screening Screenings completed --unit count --period monthly '
                     '--reporters tom,aisha --baseline 40@2026-01 --targets 80@2026-12-31 '
                     '--disaggregate "Age band: 0-2, 3-5" --group data --visibility public')
    assert "Declared Screenings completed (screening): count, monthly, 2 reporters, public." in text_of(done)
    assert "Screenings completed (screening): count, higher is better, monthly" in text_of(ready.as_("lena").say(
        "/ci indicators"))
    assert "Only backbone staff" in text_of(ready.as_("tom").say("/ci indicator set screening --unit percent"))
    assert "Updated" in text_of(maria.say("/ci indicator set screening --targets 90@2026-12-31 --due 5"))
    form = ready.as_("tom").say("/ci submit screening").form
    assert form is not None and [f.label for f in form.fields][1:3] == ["Age band: 0-2", "Age band: 3-5"]
    assert "Target 90 by Dec 2026" in text_of(maria.say("/ci progress"))
