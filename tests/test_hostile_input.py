"""Hostile ids, phone punctuation and data that should be refused (issue 11, items 2, 9 and 10).

Every id a user types or a button carries is read by `bot.core.args.read_id`: huge,
negative, Unicode and empty ids get the ordinary "there is no …" reply, never the
apology. An em or en dash before an option name reads as ``--``. Periods older than
an indicator's window need backbone staff and ``--late``; a correction without
categories keeps the stored ones.
"""

from __future__ import annotations

import json
import logging
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func
from sqlalchemy.engine import Engine
from sqlmodel import select

from bot.core.args import MAX_ID, parse_args, parse_id, read_id
from bot.core.core import Core
from bot.core.errors import UserError
from bot.core.messages import Form, Reply
from bot.decisions.cards import VOTE_ACTION
from bot.decisions.commands import AGREED_ACTION, PROPOSE_ACTION, REASON_ACTION
from bot.initiative_file import InitiativeFileError, parse_initiative
from bot.measures.forms import SUBMIT_ACTION
from bot.measures.messages import FORM_ACTION
from bot.meetings.calendar import UnknownGroup, calendar_for_group
from storage.audit import AuditEvent
from storage.db import session_scope
from storage.decisions import Decision
from storage.measures import Indicator, Submission, SubmissionRevision
from storage.meetings import AgendaItem, ItemKind
from tests.chat import Chat, text_of
from tests.conftest import START
from tests.factories import discord_id
from tests.fake_discord_http import DiscordHarness, shown_message, visible_text
from tests.fake_slack_api import FakeSlackApi, cibot_on_slack
from tests.measures_factory import add_indicators
from tests.meeting_helpers import add_series
from tests.scenarios import prepare
from tests.test_slack_app import texts

APOLOGY = "Something went wrong"
UNICODE_DIGITS = ["²", "٣", "１", "１２", "𝟗", "߁", "#²", "٣٣", "⑦", "½"]
SHAPES = ["", " ", "\t", "#", "##1", "# 1", "1 2", "0", "#0", "00", "-1", "+1", "1e3", "0x1f", "1.0", "１0"]

ids = st.one_of(
    st.integers(min_value=MAX_ID - 2, max_value=10**40).map(str),
    st.integers(min_value=MAX_ID - 2, max_value=10**40).map(lambda n: f"#{n}"),
    st.integers(max_value=0).map(str),
    st.sampled_from(UNICODE_DIGITS + SHAPES),
    st.text(alphabet=st.characters(categories=["Nd", "No", "Zs"]), max_size=6),
    st.integers(min_value=1, max_value=4).map(lambda n: f"#{n}"),
)

ID_COMMANDS = [
    ("aisha", "vote {id} agree"), ("aisha", "decision {id}"), ("maria", "outcome {id} We agreed."),
    ("aisha", "proxy {id} james"), ("maria", "decision close {id}"), ("maria", "decision extend {id} 2d"),
    ("maria", "decision withdraw {id} no longer needed"), ("maria", "decision review {id} 2026-06-01"),
    ("maria", "agenda accept {id}"), ("maria", "agenda defer {id}"), ("maria", "agenda done {id}"),
    ("maria", "agenda remove {id}"), ("maria", "agenda order {id}"), ("aisha", "action done {id}"),
]

BUTTONS = [  # action, value made from an id, fields
    (VOTE_ACTION, "{id}:agree", {}), (REASON_ACTION, "{id}:agree", {"reason": "Because."}),
    (PROPOSE_ACTION, "{id}", {"title": "Adopt it", "closes": "3d", "rule": "majority"}),
    (AGREED_ACTION, "{id}", {}), ("agenda.accept", "{id}", {}), ("agenda.defer", "{id}", {}),
    ("agenda.done", "{id}", {}), ("agenda.remove", "{id}", {}), ("agenda.up", "{id}", {}),
    ("action.done", "{id}", {}), ("meeting.confirm", "{id}", {}), ("meeting.cancel", "{id}", {}),
    ("glossary.approve", "{id}", {}), (FORM_ACTION, "{id}:2025-Q4:{id}", {}),
    (SUBMIT_ACTION, "{id}:2025-Q4:{id}", {"value": "61"}), (SUBMIT_ACTION, "1:2025-Q4:{id}", {"value": "61"}),
    ("measures.resend", "{id}:2025-Q4", {}),
]


@pytest.fixture
def world(engine: Engine, chat: Chat) -> Chat:
    """The sample initiative with glossary terms, indicators, a steering series, an agenda item and a vote."""
    seeded = prepare(engine)
    add_indicators(engine, seeded)
    add_series(chat, "steering", "Steering", "monthly on 2nd tue at 10:00")
    chat.as_("aisha").say("/ci agenda add Budget review --group steering")
    assert "Decision #1" in text_of(chat.as_("maria").say('/ci propose "Adopt the measure" --closes 3d'))
    return chat


def _audit_rows(engine: Engine) -> int:
    with session_scope(engine) as s:
        return s.exec(select(func.count()).select_from(AuditEvent)).one()


def _no_errors_logged(caplog: pytest.LogCaptureFixture) -> None:
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    caplog.clear()
    assert errors == []


# ---------------------------------------------------------------- the reader itself

def test_the_id_reader_takes_ascii_digits_in_the_database_range_only() -> None:
    assert [read_id(t) for t in ("12", "#12", " 7 ", "007", str(MAX_ID))] == [12, 12, 7, 7, MAX_ID]
    for bad in ("", "#", "0", "-3", str(MAX_ID + 1), "9" * 30, "²", "٣", "１", "1.5", "12a", "#-1"):
        assert read_id(bad) is None, bad
    assert read_id(12) is None  # a payload carrying a number where text belongs


def test_parse_id_answers_with_the_ordinary_refusal() -> None:
    with pytest.raises(UserError) as huge:
        parse_id("99999999999999999999", "decision", hint="Find decisions with /ci decisions.")
    assert huge.value.message == ("There is no decision #99999999999999999999. "
                                  "Find decisions with /ci decisions.")
    with pytest.raises(UserError) as unicode:
        parse_id("٣", "agenda item")
    assert unicode.value.message == "“٣” is not an agenda item number; write it like 12 or #12."
    with pytest.raises(UserError) as long:
        parse_id("9" * 3000, "decision")
    assert len(long.value.message) < 80  # a pasted wall of digits is not echoed back whole


# ---------------------------------------------------------------- ids through the core

@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ident=ids, command=st.sampled_from(ID_COMMANDS), quoted=st.booleans())
def test_no_typed_id_ever_gets_the_apology(world: Chat, engine: Engine, caplog: pytest.LogCaptureFixture,
                                           ident: str, command: tuple[str, str], quoted: bool) -> None:
    who, template = command
    before = _audit_rows(engine)
    with caplog.at_level(logging.ERROR):
        reply = world.as_(who).say("/ci " + template.format(id=f'"{ident}"' if quoted else ident))
    said = text_of(reply)
    assert APOLOGY not in said
    _no_errors_logged(caplog)
    if read_id(ident) is None:  # no row can have that id: nothing may change
        assert _audit_rows(engine) == before, said


def test_hostile_ids_get_the_ordinary_reply(world: Chat) -> None:
    aisha, maria = world.as_("aisha"), world.as_("maria")
    assert text_of(aisha.say("/ci vote 99999999999999999999 agree")).startswith(
        "There is no decision #99999999999999999999. Find decisions with /ci decisions.")
    assert text_of(aisha.say("/ci decision 2147483648")).startswith("There is no decision #2147483648.")
    assert "“²” is not a decision number; write it like 12 or #12" in text_of(aisha.say("/ci decision ²"))
    assert "“١” is not a decision number" in text_of(aisha.say("/ci vote ١ agree"))
    assert "There is no agenda item #4294967297" in text_of(maria.say("/ci agenda accept 4294967297"))
    assert "“１” is not an agenda item number" in text_of(maria.say("/ci agenda remove １"))
    assert "There is no action item #99999999999" in text_of(aisha.say("/ci action done 99999999999"))
    assert "Recorded: agree on decision #1" in text_of(aisha.say("/ci vote #1 agree"))


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ident=ids, button=st.sampled_from(BUTTONS))
def test_no_button_or_form_value_ever_gets_the_apology(world: Chat, engine: Engine,
                                                        caplog: pytest.LogCaptureFixture, ident: str,
                                                        button: tuple[str, str, dict[str, str]]) -> None:
    action, value, fields = button
    before = _audit_rows(engine)
    with caplog.at_level(logging.ERROR):
        reply = world.core.interact_sync(world.as_("maria").origin, action, value.format(id=ident), fields)
    assert APOLOGY not in text_of(reply)
    _no_errors_logged(caplog)
    if read_id(ident) is None:
        assert _audit_rows(engine) == before, text_of(reply)


def test_damaged_buttons_say_so(world: Chat) -> None:
    maria = world.as_("maria")
    vote = maria.core.interact_sync(maria.origin, VOTE_ACTION, "99999999999999999999:agree", {})
    assert "That vote button is damaged" in text_of(vote)
    form = maria.core.interact_sync(maria.origin, FORM_ACTION, "²:2025-Q4:1", {})
    assert "That form is out of date" in text_of(form)
    resend = maria.core.interact_sync(maria.origin, "measures.resend", "99999999999:2025-Q4", {})
    assert "That button is out of date" in text_of(resend)
    approve = maria.core.interact_sync(maria.origin, "glossary.approve", "٣", {})
    assert "That term is no longer in the glossary" in text_of(approve)


async def test_signed_slack_commands_and_clicks_with_hostile_ids_get_the_ordinary_reply(
        core: Core, api: FakeSlackApi, engine: Engine) -> None:
    prepare(engine)
    async with cibot_on_slack(core, api) as slack:
        for typed, expected in (("vote 99999999999999999999 agree", "There is no decision #99999999999999999999"),
                                ("decision ²", "“²” is not a decision number"),
                                ("agenda accept 2147483648", "There is no agenda item #2147483648")):
            before = len(api.of("response_url"))
            assert await slack.command("UMARIA", typed) == (200, "")
            shown = texts((await api.wait_for("response_url", before + 1)).blocks)
            assert expected in shown and APOLOGY not in shown
        for action, value, expected in ((VOTE_ACTION, "99999999999999999999:agree", "That vote button is damaged"),
                                        ("agenda.accept", "²", "“²” is not an agenda item number")):
            before = len(api.of("response_url"))
            button = {"action_id": action, "value": value, "text": {"type": "plain_text", "text": "Go"}}
            assert (await slack.click("UMARIA", button))[0] == 200
            shown = texts((await api.wait_for("response_url", before + 1)).blocks)
            assert expected in shown and APOLOGY not in shown


async def test_a_discord_option_arriving_as_a_json_number_is_read_as_text(core: Core, engine: Engine) -> None:
    prepare(engine)
    bot = await DiscordHarness.serving(core)
    aisha = discord_id("aisha")
    for value in (5, 2.5, True, 99999999999999999999):
        sent = await bot.slash(aisha, ["glossary", "show"], {"term": value})  # type: ignore[dict-item]
        shown = visible_text(shown_message(sent))
        assert APOLOGY not in shown and f"No entry for **{'yes' if value is True else value}**" in shown, shown
    (sent,) = await bot.slash(aisha, ["glossary", "show"], {"term": {"not": "text"}})  # type: ignore[dict-item]
    assert sent.ephemeral and "cibot discord sync" in sent.data["content"]
    voted = visible_text(shown_message(await bot.slash(aisha, ["decision", "show"], {"id": 99999999999999999999})))
    assert "There is no decision #99999999999999999999" in voted
    assert await bot.autocomplete(aisha, ["glossary", "show"], "term", 5) == []  # type: ignore[arg-type]


def test_unicode_digits_in_numbers_and_dates_are_refused_plainly(world: Chat) -> None:
    maria = world.as_("maria")
    for typed, expected in (
        ("decision policy steering --remind ²", "--remind takes a number of hours"),
        ("agenda add Budget --minutes ٣ --group steering", "--minutes must be a whole number from 1 to 240"),
        ("indicator set readiness --due ²", "--due: '²' is not a number of days from 0 to 365"),
        ("indicator set readiness --fiscal-start ١", "--fiscal-start"),
        ("action @aisha Send the report due March ²", "“March ²” is not a date I can read"),
        ('meeting add steering "Extra" every ² weeks on wed at 10:00', "does not say how often"),
    ):
        said = text_of(maria.say("/ci " + typed))
        assert expected in said and APOLOGY not in said, said


# ---------------------------------------------------------------- smart punctuation

def test_an_em_dash_before_an_option_name_is_read_as_two_hyphens() -> None:
    options = frozenset({"kind", "minutes"})
    args = parse_args('"Review Q3 data" —kind report –minutes 15', options)
    assert (args.words, args.options) == (["Review Q3 data"], {"kind": "report", "minutes": "15"})
    args = parse_args("Q3 — review —note cards —kind=info", options)
    assert (args.words, args.options) == (["Q3", "—", "review", "—note", "cards"], {"kind": "info"})


def test_an_agenda_item_typed_on_a_phone_keeps_its_kind(chat: Chat, engine: Engine) -> None:
    prepare(engine)
    add_series(chat, "steering", "Steering", "monthly on 2nd tue at 10:00")
    added = chat.as_("james").say('/ci agenda add "Review Q3 data" —kind report')
    assert "Proposed #1 “Review Q3 data” (report" in text_of(added)
    chat.as_("james").say("/ci agenda add Q3 — what the data says –minutes 15")
    with session_scope(engine) as s:
        items = [(i.text, i.kind, i.timebox_minutes) for i in s.exec(select(AgendaItem).order_by(AgendaItem.id))]
    assert items == [("Review Q3 data", ItemKind.REPORT, None), ("Q3 — what the data says", ItemKind.DISCUSSION, 15)]


def test_a_proposal_typed_on_a_phone_opens_the_vote(chat: Chat, engine: Engine) -> None:
    prepare(engine)
    opened = chat.as_("maria").say('/ci propose "Adopt form" —closes 3d')
    assert "Decision #1: Adopt form" in text_of(opened)
    with session_scope(engine) as s:
        decision = s.exec(select(Decision)).one()
        assert (decision.title, decision.closes_at) == ("Adopt form", START + timedelta(days=3))


# ---------------------------------------------------------------- periods too old, corrections

@pytest.fixture
def measured(engine: Engine, chat: Chat) -> Chat:
    add_indicators(engine, prepare(engine))
    return chat


def _submissions(engine: Engine) -> list[tuple[str, str, float, dict]]:
    with session_scope(engine) as s:
        return [(sub.period, str(sub.reporter_id), sub.value, sub.cells)
                for sub in s.exec(select(Submission).order_by(Submission.id))]


def test_a_period_long_past_is_refused_and_nothing_is_stored(measured: Chat, engine: Engine) -> None:
    refused = text_of(measured.as_("tom").say("/ci submit readiness 70 --period 1900-Q1"))
    assert "1900-Q1 is too old for readiness to be submitted now: you can submit 2024-Q4 to 2025-Q4." in refused
    assert "Backbone staff can still add an older period with --late" in refused
    assert "only backbone staff can add it late" in text_of(
        measured.as_("tom").say('/ci submit readiness 70 --period 2024-Q3 --late "found it"'))
    assert _submissions(engine) == []
    assert "Recorded 70.0%" in text_of(measured.as_("tom").say("/ci submit readiness 70 --period 2024-Q4"))
    assert "has not ended yet" in text_of(measured.as_("tom").say("/ci submit readiness 70 --period 2026-Q1"))
    assert "'9999-Q4' is not a quarterly period; write it like 2026-Q1" in text_of(
        measured.as_("tom").say("/ci submit readiness 70 --period 9999-Q4"))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(period=st.one_of(
    st.tuples(st.integers(min_value=-10, max_value=10**6), st.integers(min_value=-1, max_value=14)).map(
        lambda t: f"{t[0]}-Q{t[1]}" if t[1] % 2 else f"{t[0]}-{t[1]:02d}"),
    st.integers(min_value=0, max_value=10**6).map(lambda n: f"FY{n}"),
    st.text(alphabet=st.characters(categories=["Nd", "No", "Lu", "Pd"]), max_size=8)))
def test_no_typed_period_ever_gets_the_apology(measured: Chat, engine: Engine, period: str) -> None:
    said = text_of(measured.as_("maria").say(f'/ci submit readiness 70 --for tom --period "{period}" --late old'))
    assert APOLOGY not in said


def test_backbone_staff_add_an_old_period_with_late_and_the_reason_is_kept(measured: Chat, engine: Engine) -> None:
    added = text_of(measured.as_("maria").say(
        '/ci submit readiness 70 --period 1900-Q1 --for tom --late "found in the 1900 ledgers"'))
    assert "Recorded 70.0% as Kindergarten readiness" in added
    assert "Added as a late period (why: found in the 1900 ledgers)." in added
    assert [p for p, *_ in _submissions(engine)] == ["1900-Q1"]
    with session_scope(engine) as s:
        event = s.exec(select(AuditEvent).where(AuditEvent.kind == "measures.submit")).one()
        assert json.loads(event.data)["late"] == "found in the 1900 ledgers"


def test_backbone_staff_add_an_old_period_through_the_form(measured: Chat, engine: Engine) -> None:
    maria = measured.as_("maria")
    opened = maria.say('/ci submit readiness --period 2023-Q1 --for tom --late "archive"')
    assert isinstance(opened.form, Form)
    late = next(f for f in opened.form.fields if f.name == "late")
    assert late.initial == "archive" and late.required
    assert "late: Say why" in text_of(maria.submit(opened.form, {"value": "64", "late": " "}))
    assert "Added as a late period (why: archive)." in text_of(maria.submit(opened.form, {"value": "64",
                                                                                        "late": "archive"}))
    assert "too old" in text_of(measured.as_("tom").submit(opened.form, {"value": "65", "late": "me too"}))
    assert [(p, v) for p, _, v, _ in _submissions(engine)] == [("2023-Q1", 64.0)]


def test_the_window_is_set_per_indicator_and_survives_indicator_set(chat: Chat, engine: Engine) -> None:
    add_indicators(engine, prepare(engine), readiness={"open_periods": 1})
    assert "you can submit 2025-Q3 to 2025-Q4" in text_of(
        chat.as_("tom").say("/ci submit readiness 70 --period 2025-Q2"))
    chat.as_("maria").say("/ci indicator set readiness --due 12")
    with session_scope(engine) as s:
        readiness = s.exec(select(Indicator).where(Indicator.key == "readiness")).one()
        assert (readiness.due_days, readiness.open_periods) == (12, 1)
    assert "Recorded 70.0%" in text_of(chat.as_("tom").say("/ci submit readiness 70 --period 2025-Q3"))


def test_a_correction_without_categories_keeps_the_stored_ones(measured: Chat, engine: Engine) -> None:
    aisha = measured.as_("aisha")
    form = aisha.say("/ci submit readiness --period 2025-Q4").form
    assert form is not None
    done = aisha.submit(form, {"value": "60", "c.0.0": "50", "c.0.1": "55", "c.0.2": "70", "c.0.3": "65"})
    assert isinstance(done, Reply) and "Broken down by Race/ethnicity" in text_of(done)
    corrected = text_of(aisha.say('/ci submit readiness 62 --period 2025-Q4 --reason "typo"'))
    assert "60.0% → 62.0%" in corrected and "The breakdown by Race/ethnicity is kept as it was." in corrected
    ((_, _, value, cells),) = _submissions(engine)
    assert value == 62.0
    assert cells == {"race": {"Black": 50.0, "Hispanic/Latino": 55.0, "White": 70.0, "Other": 65.0}}


def test_a_correction_whose_stored_breakdown_no_longer_adds_up_is_refused(measured: Chat, engine: Engine) -> None:
    tom = measured.as_("tom")
    form = tom.say("/ci submit enrolled --period 2025-Q4").form
    assert form is not None
    tom.submit(form, {"value": "100", "c.0.0": "30", "c.0.1": "30", "c.0.2": "40"})
    refused = text_of(tom.say('/ci submit enrolled 120 --period 2025-Q4 --reason "recount"'))
    assert "The stored breakdown by Zip code adds up to 100, not the corrected total 120" in refused
    assert _submissions(engine)[0][2:] == (100.0, {"zip": {"60601": 30.0, "60602": 30.0, "60603": 40.0}})
    with session_scope(engine) as s:
        assert s.exec(select(SubmissionRevision)).all() == []
    note = text_of(tom.say('/ci submit enrolled 100 --period 2025-Q4 --reason "same total" --note "checked"'))
    assert "The breakdown by Zip code is kept as it was." in note


def test_the_initiative_file_sets_the_window_and_refuses_one_it_cannot_read() -> None:
    head = ("initiative: {slug: tiny, name: Tiny initiative}\n"
            "members:\n  - {key: ana, name: Ana, organization: Clinic}\nindicators:\n")
    spec = parse_initiative(head + "  - {key: a, name: A, unit: count, open_periods: 2}\n", "tiny.yaml")
    assert [ind.open_periods for ind in spec.indicators] == [2]
    assert [ind.open_periods for ind in parse_initiative(head + "  - {key: a, name: A, unit: count}\n",
                                                         "tiny.yaml").indicators] == [4]
    for bad in ("²", "0", "lots", "121"):
        with pytest.raises(InitiativeFileError) as error:
            parse_initiative(head + f"  - {{key: a, name: A, unit: count, open_periods: '{bad}'}}\n", "tiny.yaml")
        assert any(f"{bad!r} is not a whole number from 1 to 120" in e for e in error.value.errors), error.value.errors


@pytest.mark.parametrize("group", ["99999999999999999999", "2147483648", "²", "٣", "0"])
def test_a_calendar_feed_for_a_hostile_group_id_is_unknown(engine: Engine, group: str) -> None:
    prepare(engine)
    with session_scope(engine) as s, pytest.raises(UnknownGroup, match="There is no group"):
        calendar_for_group(s, group)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(amount=st.integers(min_value=0, max_value=10**30), unit=st.sampled_from(["m", "min", "h", "d", "w", "mo"]),
       command=st.sampled_from(['propose "Adopt it" --closes {when}', "decision extend 1 {when}",
                                "decision review 1 {when}"]))
def test_no_closing_time_ever_gets_the_apology(world: Chat, amount: int, unit: str, command: str) -> None:
    said = text_of(world.as_("maria").say("/ci " + command.format(when=f"{amount}{unit}")))
    assert APOLOGY not in said
    if amount >= 10**12:  # past the year 9999 in every unit
        assert "further away than any date I can write" in said or "at most 90 days" in said, said
