"""Agendas: proposing, curating by command and button, and the agenda the scheduler posts."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.engine import Engine

from bot.adapters.slack.dialect import SLACK
from bot.bootstrap import build_registry
from bot.core.clock import ManualClock
from bot.core.registry import AgendaView, bot_session
from bot.core.render import Markup
from bot.meetings import agenda, series
from tests.chat import Chat, text_of
from tests.factories import Seeded, seed
from tests.meeting_helpers import add_series, outbox, outbox_text, running_scheduler, walk

HOSTILE = "Budget <!channel> @everyone <https://evil.example|click>"


def _steering(chat: Chat, engine: Engine) -> Seeded:
    seeded = seed(engine)
    add_series(chat, "steering", "Steering", "monthly on 2nd tue at 10:00", '--place "Room 4"')
    return seeded


def test_members_propose_and_see_the_draft_privately(chat: Chat, engine: Engine) -> None:
    _steering(chat, engine)
    added = chat.as_("james").say("/ci agenda add Review Q1 readiness data --kind decision --minutes 20")
    assert "Proposed #1 “Review Q1 readiness data” (decision, 20 min)" in text_of(added)
    assert "Tue 10 Mar 2026 10:00 (America/Chicago)" in text_of(added)
    draft = chat.as_("olga").say("/ci agenda")
    assert draft.ephemeral and "Proposed, waiting for review" in text_of(draft)
    assert "#1 Review Q1 readiness data (decision, 20 min, James Carter)" in text_of(draft)
    assert draft.buttons == []  # only the backbone curates
    assert "Accept #1" in [b.label for b in chat.as_("maria").say("/ci agenda --group steering").buttons]


def test_bad_items_are_explained(chat: Chat, engine: Engine) -> None:
    _steering(chat, engine)
    james = chat.as_("james")
    assert "not a kind of item; use --kind decision|discussion|report|info" in text_of(
        james.say("/ci agenda add Lunch --kind party"))
    assert "--minutes must be a whole number from 1 to 240" in text_of(james.say("/ci agenda add Lunch --minutes lots"))
    assert "Please say what the item is about" in text_of(james.say("/ci agenda add"))
    assert "You are not in the Data working group" in text_of(james.say("/ci agenda add X --group data"))
    assert "Nothing proposed yet" in text_of(james.say("/ci agenda"))


def test_backbone_accepts_defers_removes_and_orders(chat: Chat, engine: Engine) -> None:
    _steering(chat, engine)
    for text in ("First topic", "Second topic", "Third topic", "Fourth topic"):
        chat.as_("aisha").say(f"/ci agenda add {text} --group steering")
    maria = chat.as_("maria")
    assert "Only backbone staff" in text_of(chat.as_("james").say("/ci agenda accept 1"))
    maria.say("/ci agenda accept 1")
    maria.say("/ci agenda accept 2")
    draft = maria.say("/ci agenda --group steering")
    accept_three = next(b for b in draft.buttons if b.label == "Accept #3")
    after_click = chat.as_("maria").click(accept_three)
    assert "#3 “Third topic” is now accepted" in text_of(after_click)
    remove_four = next(b for b in after_click.buttons if b.label == "Remove #4")
    assert "#4 “Fourth topic” is now removed" in text_of(chat.as_("maria").click(remove_four))
    shown = text_of(maria.say("/ci agenda order 3 1 2"))
    assert shown.index("#3 Third") < shown.index("#1 First") < shown.index("#2 Second")
    up = next(b for b in maria.say("/ci agenda --group steering").buttons if b.label == "Up #2")
    shown = text_of(chat.as_("maria").click(up))
    assert shown.index("#3 Third") < shown.index("#2 Second") < shown.index("#1 First")
    assert "is now deferred" in text_of(maria.say("/ci agenda defer 2"))
    assert "There is no agenda item #99" in text_of(maria.say("/ci agenda accept 99"))


async def test_the_agenda_is_posted_at_the_lead_time_in_sections(chat: Chat, engine: Engine,
                                                                 clock: ManualClock) -> None:
    _steering(chat, engine)
    chat.as_("james").say(f"/ci agenda add {HOSTILE} --kind decision --minutes 15")
    chat.as_("james").say("/ci agenda add Not accepted yet")
    chat.as_("maria").say("/ci agenda accept 1")
    chat.as_("james").say("/ci action @tom Bring the enrollment numbers due 2026-03-09")
    async with running_scheduler(engine, clock) as scheduler:
        fired = walk(scheduler, engine, datetime(2026, 3, 9, tzinfo=UTC))
    posted_at = [at for at, key in fired if key.startswith("meeting.agenda")]
    assert posted_at == [datetime(2026, 3, 8, 15, 0, tzinfo=UTC)]  # Sun 10:00 CDT, 48 h before
    slack = outbox_text(outbox(engine, "meeting.agenda")[0])
    assert slack.index("Room 4") < slack.index("*Open action items*") < slack.index("*Agenda*")
    assert "Tom Nguyen: Bring the enrollment numbers (due Mon 09 Mar 2026)" in slack
    assert ("1. Budget &lt;!channel&gt; @everyone &lt;https://evil.example|click&gt; · decision · "
            "James Carter · 15 min") in slack
    assert "Not accepted yet" not in slack and "Carried over" not in slack
    discord = outbox_text(outbox(engine, "meeting.agenda", platform="discord")[0])
    assert "@\u200beveryone" in discord and "<!channel>" not in slack


def test_section_hooks_render_only_when_they_have_something(chat: Chat, engine: Engine) -> None:
    seeded = _steering(chat, engine)
    registry = build_registry()
    order = sorted(registry.agenda_sections, key=lambda name: registry.agenda_sections[name][0])
    assert order == ["facts", "progress", "decisions", "working_groups", "actions", "accepted", "carried"]
    seen: list[str] = []

    def progress(view: AgendaView) -> Markup:
        seen.append(view.group.key)
        return view.markup.render_string("{{ 'Progress'|b }}: {{ value }}", value="readiness 62% <!here>")

    registry.agenda_sections["progress"] = (registry.agenda_sections["progress"][0], progress)
    with bot_session(engine, registry) as session:
        occurrence = series.next_for_group(session, seeded.groups["steering"], datetime(2026, 3, 2, tzinfo=UTC))
        assert occurrence is not None
        reply = agenda.agenda_reply(session, occurrence, SLACK, datetime(2026, 3, 2, tzinfo=UTC))
    assert seen == ["steering"]
    assert reply.sections[1] == "*Progress*: readiness 62% &lt;!here&gt;"
    assert len(reply.sections) == 2  # facts and progress; empty sections are left out


def test_skipping_a_meeting_moves_its_agenda_to_the_next_one(chat: Chat, engine: Engine) -> None:
    _steering(chat, engine)
    chat.as_("james").say("/ci agenda add Budget review")
    chat.as_("maria").say("/ci agenda accept 1")
    skipped = text_of(chat.as_("maria").say("/ci meeting skip 2026-03-10 --group steering"))
    assert "Its agenda items moved to the meeting of Tue 14 Apr 2026 10:00" in skipped
    draft = text_of(chat.as_("james").say("/ci agenda"))
    assert "Tue 14 Apr 2026 10:00" in draft and "#1 Budget review" in draft
