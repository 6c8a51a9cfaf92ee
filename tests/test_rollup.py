"""Cascading groups: the working groups report up to the steering committee's agenda and to `/ci rollup`."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.engine import Engine

from bot.core.clock import ManualClock
from bot.core.time import to_local
from tests.chat import Chat, text_of
from tests.example_helpers import load_example
from tests.meeting_helpers import outbox, outbox_text, running_scheduler, walk

PREK = "Children enrolled in quality pre-K: 1,370 in 2026-Q2 (+60 since 2026-Q1) · 91% of target"


def working_groups_at_work(chat: Chat) -> None:
    """The data working group decides and hands out an action; the family group hands out one too."""
    tom = chat.as_("tom")
    assert "Decision #1" in text_of(tom.say('/ci propose "Adopt the shared intake form" --closes 2d '
                                            "--group readiness-data"))
    for voter in ("priya", "grace", "aisha"):
        chat.as_(voter).say("/ci vote 1 agree")
    assert "Passed" in text_of(chat.as_("maria").say("/ci decision close 1"))
    tom.say("/ci action @priya Draft the data walk plan --group readiness-data")
    chat.as_("carlos").say("/ci action @lena Book the library for the parent café <!channel> @everyone "
                           "--group family-engagement")


async def test_the_example_steering_agenda_has_a_section_from_the_working_groups(
        chat: Chat, engine: Engine, clock: ManualClock) -> None:
    start = load_example(engine)
    clock.set(start - timedelta(days=6))
    working_groups_at_work(chat)
    async with running_scheduler(engine, clock) as scheduler:
        walk(scheduler, engine, start + timedelta(days=15))  # the data group's meeting too
    posted = [outbox_text(m) for m in outbox(engine, "meeting.agenda")]
    steering = next(text for text in posted if "Agenda: Steering committee" in text)
    section = steering[steering.index("*From the working groups"):]
    assert section.index("*Family engagement working group*") < section.index("*Kindergarten readiness data")
    assert "• Open action: #2 Lena Fischer: Book the library for the parent café &lt;!channel&gt; @everyone" in section
    assert "<!channel>" not in steering
    assert f"• Progress: {PREK}" in section
    assert "• Decided: #1 Adopt the shared intake form: Passed" in section
    assert "• Open action: #1 Priya Raman: Draft the data walk" in section
    assert "Child care workforce" not in section  # nothing to report
    # two partners report readiness: the steering committee sees no figure of it, only why
    assert "• Progress: Kindergarten readiness rate: withheld: fewer than 3 partners" in section
    assert "63.5" not in steering and "62.5" not in steering
    order = [steering.index(s) for s in ("*Progress snapshot*", "*From the working groups", "Propose items")]
    assert order == sorted(order)
    data_group = next(text for text in posted if "Agenda: Kindergarten readiness data working group" in text)
    assert "From the working groups" not in data_group


def test_backbone_prints_the_same_rollup_since_a_date(chat: Chat, engine: Engine, clock: ManualClock) -> None:
    start = load_example(engine)
    clock.set(start - timedelta(days=6))
    working_groups_at_work(chat)
    rollup = chat.as_("maria").say("/ci rollup")
    assert rollup.ephemeral and rollup.title == "From the working groups"
    assert PREK in text_of(rollup) and "#1 Adopt the shared intake form: Passed" in text_of(rollup)
    assert "withheld: fewer than 3 partners" in text_of(rollup)  # the steering committee's view, even for staff
    clock.advance(timedelta(days=3))
    tomorrow = (to_local(clock.now(), "America/Chicago") - timedelta(days=2)).date().isoformat()
    later = text_of(chat.as_("maria").say(f"/ci rollup --since {tomorrow}"))
    assert "Adopt the shared intake form" not in later and "Book the library" not in later
    assert PREK in later  # where the indicators stand is always reported


def test_rollup_refusals_say_what_to_write(chat: Chat, engine: Engine, clock: ManualClock) -> None:
    start = load_example(engine)
    clock.set(start - timedelta(days=6))
    assert "Only backbone staff" in text_of(chat.as_("james").say("/ci rollup"))
    maria = chat.as_("maria")
    assert "Write the start of the roll-up like 2026-12-10" in text_of(maria.say("/ci rollup --since someday"))
    assert "The roll-up looks back: give a day in the past" in text_of(maria.say("/ci rollup --since 2099-01-01"))
    assert "takes no words" in text_of(maria.say("/ci rollup everything"))
    assert "“2026-02-30” is not a date I can read" in text_of(maria.say("/ci rollup --since 2026-02-30"))
