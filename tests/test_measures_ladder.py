"""A quarter of data collection with a driven clock: prompts, follow-ups, nudges and flags, to exactly whom.

The sample cast (tests.factories) reports the sample indicators (tests.measures_factory).
Lena is out of office until late April with Olga as her delegate; James is away with
nobody to stand in. The clock starts on 2 March 2026, in the middle of 2026-Q1, whose
data is due on 10 April.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import select

from bot.bootstrap import build_registry
from bot.core.clock import ManualClock
from bot.core.messages import reply_from_dict
from bot.core.registry import bot_session
from bot.measures import jobs as measure_jobs
from bot.runtime.scheduler import Scheduler
from storage.models import Member
from storage.outbox import OutboxMessage
from tests.chat import Chat, text_of
from tests.factories import Seeded, seed
from tests.measures_factory import add_indicators
from tests.meeting_helpers import outbox_text

APR_1 = datetime(2026, 4, 1, 14, 0, tzinfo=UTC)  # 09:00 in Chicago
SLACK = {"tom": "UTOM", "aisha": "UAISHA", "lena": "ULENA", "olga": "UOLGA", "james": "UJAMES", "maria": "UMARIA"}

REGISTRY = build_registry()


class Outbox:
    """Reads what the bot queued since the last look."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.seen = 0

    def new(self) -> list[OutboxMessage]:
        with bot_session(self.engine, REGISTRY) as s:
            rows = list(s.exec(select(OutboxMessage).where(OutboxMessage.id > self.seen).order_by(OutboxMessage.id)))
        self.seen = max([self.seen, *(r.id or 0 for r in rows)])
        return rows


def slack_dms(rows: list[OutboxMessage], prefix: str) -> dict[str, list[str]]:
    """Slack user id -> texts of the direct messages whose key starts with `prefix`."""
    return _slack_texts(rows, prefix, "user_id")


def slack_posts(rows: list[OutboxMessage], prefix: str) -> dict[str, list[str]]:
    """Slack channel id -> texts of the channel posts whose key starts with `prefix`."""
    return _slack_texts(rows, prefix, "channel_id")


def _slack_texts(rows: list[OutboxMessage], prefix: str, to: str) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for row in rows:
        if row.platform == "slack" and getattr(row, to) and row.key.startswith(prefix):
            found.setdefault(getattr(row, to), []).append(outbox_text(row))
    return found


def away(engine: Engine, seeded: Seeded, who: str, until: datetime, delegate: str | None) -> None:
    with bot_session(engine, REGISTRY) as s:
        member = s.get(Member, seeded.members[who])
        assert member is not None
        member.out_of_office_until = until
        member.delegate_id = seeded.members[delegate] if delegate else None
        s.add(member)


@pytest.fixture
async def scheduler(engine: Engine, clock: ManualClock):  # type: ignore[no-untyped-def]
    scheduler = Scheduler(engine, clock, REGISTRY)
    scheduler.add_reconciler(measure_jobs.reconcile)
    yield scheduler
    await scheduler.shutdown()


async def test_a_quarter_of_prompts_follow_ups_nudges_and_flags(
    engine: Engine, clock: ManualClock, chat: Chat, scheduler: Scheduler,
) -> None:
    seeded = seed(engine)
    add_indicators(engine, seeded)
    away(engine, seeded, "lena", datetime(2026, 4, 20, tzinfo=UTC), delegate="olga")
    away(engine, seeded, "james", datetime(2026, 5, 1, tzinfo=UTC), delegate=None)
    chat.as_("tom").say("/ci submit readiness 61.25")  # 2025-Q4, which the 2026-Q1 prompt recalls
    outbox = Outbox(engine)
    await scheduler.start()
    assert scheduler.run_due(APR_1 - timedelta(minutes=1)) == 0
    assert outbox.new() == []

    # 1 April, 09:00: every reporter is asked for 2026-Q1, by direct message on each platform.
    scheduler.run_due(APR_1)
    rows = outbox.new()
    prompts = slack_dms(rows, "measures.prompt")
    assert {user: len(texts) for user, texts in prompts.items()} == {"UTOM": 2, "UAISHA": 2, "UOLGA": 1}
    assert "ULENA" not in prompts and "UJAMES" not in prompts  # away: her delegate is asked, his nobody
    olga = prompts["UOLGA"][0]
    assert "Lena Fischer is out of office, so I'm asking you as their delegate" in olga
    assert "*Kindergarten readiness* for 2026-Q1 is due Fri 10 Apr 2026 from Parents Together" in olga
    assert "Race/ethnicity" in olga and "--for lena" in olga
    assert any("Last period (2025-Q4) you reported 61.2%" in t for t in prompts["UTOM"])
    assert {r.user_id for r in rows if r.platform == "discord"} == {
        "100000000000000004", "100000000000000003", "100000000000000006"}

    # Aisha answers her readiness prompt with the form; Tom submits enrolment by command.
    aisha_prompt = next(reply_from_dict(json.loads(r.payload)) for r in rows
                        if r.user_id == "UAISHA" and ":readiness" not in r.key and "Kindergarten" in r.payload)
    form = chat.as_("aisha").click(aisha_prompt.buttons[0]).form  # type: ignore[union-attr]
    assert form is not None and [f.name for f in form.fields][:2] == ["value", "c.0.0"]
    done = chat.as_("aisha").submit(form, {"value": "71.5", "c.0.0": "64", "c.0.1": "69", "c.0.2": "80",
                                           "c.0.3": "70", "note": "Fall cohort"})
    assert "Recorded 71.5% as Kindergarten readiness for First Steps Family Center, 2026-Q1" in text_of(done)
    assert "Recorded 610" in text_of(chat.as_("tom").say("/ci submit enrolled 610"))

    # 7 April: a follow-up to those still outstanding, saying how many are in.
    scheduler.run_due(datetime(2026, 4, 7, 15, 0, tzinfo=UTC))
    follow = slack_dms(outbox.new(), "measures.follow_up")
    assert sorted(follow) == ["UAISHA", "UOLGA", "UTOM"]
    assert "1 of 3 partners have already submitted" in follow["UTOM"][0]
    assert "Kindergarten readiness" in follow["UTOM"][0] and len(follow["UTOM"]) == 1
    assert "1 of 2 partners have already submitted" in follow["UAISHA"][0]  # enrolment, Tom's is in

    # 10 April, the due date: the data working group's channel hears who is outstanding, by name.
    scheduler.run_due(datetime(2026, 4, 10, 15, 0, tzinfo=UTC))
    nudges = slack_posts(outbox.new(), "measures.nudge")
    assert list(nudges) == ["CDATA"]
    readiness, enrolled = sorted(nudges["CDATA"], key=lambda t: "pre-K" in t)
    assert ("Still outstanding: Lena Fischer (Parents Together), "
            "Tom Nguyen (Riverbend Unified School District).") in readiness
    assert "Still outstanding: Aisha Bello (First Steps Family Center)." in enrolled
    assert "<@" not in readiness

    # 11 April: the backbone's channel gets a flag per overdue indicator, with a re-send button.
    scheduler.run_due(datetime(2026, 4, 11, 15, 0, tzinfo=UTC))
    rows = outbox.new()
    flags = slack_posts(rows, "measures.flag")
    assert list(flags) == ["CBACK"] and len(flags["CBACK"]) == 3
    assert any("late from: James Carter (Riverbend County Health Department)" in t for t in flags["CBACK"])
    assert any("late from: Lena Fischer (Parents Together), Tom Nguyen (Riverbend Unified School District)" in t
               for t in flags["CBACK"])
    assert not slack_dms(rows, "")  # nobody is messaged directly after the due date

    # Maria re-sends from the flag; only the outstanding partners' contacts are asked again.
    flag = next(reply_from_dict(json.loads(r.payload)) for r in rows
                if r.platform == "slack" and "Kindergarten" in r.payload)
    assert ("Re-sent the readiness 2026-Q1 prompt to Olga Petrova (for Lena Fischer), Tom Nguyen"
            in text_of(chat.as_("maria").click(flag.buttons[0])))
    assert sorted(slack_dms(outbox.new(), "measures.resend")) == ["UOLGA", "UTOM"]

    # Nothing more this quarter; the next quarter's prompt is already scheduled for 1 July.
    assert scheduler.run_due(datetime(2026, 6, 30, tzinfo=UTC)) == 0
    assert scheduler.next_run(f"measures:{_id(engine, 'readiness')}:2026-Q2:prompt") == datetime(
        2026, 7, 1, 14, 0, tzinfo=UTC)


def _id(engine: Engine, key: str) -> int:
    from storage.measures import Indicator
    with bot_session(engine, REGISTRY) as s:
        found = s.exec(select(Indicator).where(Indicator.key == key)).one()
        return found.id or 0


async def test_switched_off_steps_are_skipped_and_mentions_only_when_configured(
    engine: Engine, clock: ManualClock, scheduler: Scheduler,
) -> None:
    seeded = seed(engine)
    add_indicators(engine, seeded, enrolled={"follow_up_days": 0, "nudge": False, "flag": False},
                   readiness={"prompt": False, "nudge_mentions": True})
    outbox = Outbox(engine)
    await scheduler.start()
    scheduler.run_due(datetime(2026, 4, 12, tzinfo=UTC))
    rows = outbox.new()
    keys = {r.key.split(":")[0] + ":" + r.key.split(":")[1] for r in rows}
    ids = {key: _id(engine, key) for key in ("readiness", "enrolled", "wait")}
    assert f"measures.prompt:{ids['enrolled']}" in keys and f"measures.prompt:{ids['readiness']}" not in keys
    assert f"measures.follow_up:{ids['enrolled']}" not in keys and f"measures.follow_up:{ids['readiness']}" in keys
    assert f"measures.nudge:{ids['enrolled']}" not in keys
    assert f"measures.flag:{ids['enrolled']}" not in keys and f"measures.flag:{ids['readiness']}" in keys
    nudge = next(r for r in rows if r.key.startswith("measures.nudge") and r.platform == "slack")
    payload = json.loads(nudge.payload)
    assert "<@UTOM>" in payload["sections"][0] and set(payload["mentions"]) == {"UTOM", "UAISHA", "ULENA"}


async def test_a_restart_catches_up_on_a_missed_prompt_once(engine: Engine, clock: ManualClock) -> None:
    seeded = seed(engine)
    add_indicators(engine, seeded)
    clock.set(APR_1 + timedelta(hours=5))  # the bot was down at 09:00
    first = Scheduler(engine, clock, REGISTRY)
    first.add_reconciler(measure_jobs.reconcile)
    await first.start()
    first.run_due(clock.now())
    outbox = Outbox(engine)
    assert sorted(slack_dms(outbox.new(), "measures.prompt")) == ["UAISHA", "UJAMES", "ULENA", "UTOM"]
    await first.shutdown()
    second = Scheduler(engine, clock, REGISTRY)
    second.add_reconciler(measure_jobs.reconcile)
    await second.start()
    second.run_due(clock.now() + timedelta(minutes=1))
    assert slack_dms(outbox.new(), "measures.prompt") == {}
    await second.shutdown()


async def test_the_sweep_picks_up_an_indicator_declared_while_running(
    engine: Engine, clock: ManualClock, chat: Chat,
) -> None:
    seed(engine)
    scheduler = Scheduler(engine, clock, REGISTRY)
    scheduler.install(only=("measures",), every={"measures": timedelta(days=1)})
    await scheduler.start()
    reply = chat.as_("maria").say("/ci indicator add visits Home visits --unit count --reporters lena --group families")
    assert "Declared" in text_of(reply)
    outbox = Outbox(engine)
    scheduler.run_due(APR_1)
    assert sorted(slack_dms(outbox.new(), "measures.prompt")) == ["ULENA"]
    await scheduler.shutdown()
