"""Decisions with the rest of cibot: channel post edits, meetings' agendas and agreements, indicators,
and 200 members clicking at once."""

from __future__ import annotations

import asyncio
from datetime import date, timedelta

from sqlalchemy import insert
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from bot.adapters.slack.dialect import SLACK
from bot.bootstrap import build_registry
from bot.core.clock import ManualClock
from bot.core.context import Origin
from bot.core.core import Core
from bot.core.delivery import Target
from bot.core.messages import Button, Reply
from bot.core.registry import bot_session
from bot.decisions.jobs import close_vote
from bot.decisions.posts import refresh_posts
from bot.meetings.agenda import agenda_reply
from bot.meetings.series import next_for_group
from storage.audit_chain import verify_chain
from storage.decisions import Decision, DecisionStatus, DecisionVote
from storage.measures import IndicatorReporter, Submission
from storage.meetings import Cadence
from storage.models import Member, Membership, Platform, PlatformIdentity, Role
from storage.outbox import OutboxMessage, OutboxStatus
from tests.chat import Chat, text_of
from tests.decision_helpers import posts_of, vote
from tests.factories import Seeded, seed
from tests.measures_factory import add_indicators

REGISTRY = build_registry()

REGISTRY = build_registry()


def latest_decision(engine: Engine) -> Decision:
    with Session(engine) as s:
        return s.exec(select(Decision).order_by(col(Decision.id).desc())).first()  # type: ignore[return-value]


class RecordingSender:
    """A platform sender that remembers every edit."""

    def __init__(self, platform: str) -> None:
        self.platform = platform
        self.edits: list[tuple[Target, str, Reply]] = []

    async def send(self, target: Target, reply: Reply, *, key: str) -> str:
        raise AssertionError("refresh_posts only edits")

    async def find(self, target: Target, key: str, *, since: object = None) -> str | None:
        return None

    async def update(self, target: Target, message_id: str, reply: Reply) -> None:
        self.edits.append((target, message_id, reply))


async def test_channel_post_is_edited_once_per_burst_of_clicks(chat: Chat, engine: Engine) -> None:
    seed(engine)
    chat.say('/ci propose "Adopt the readiness measure" --closes 3d --anonymous yes')
    decision = latest_decision(engine)
    senders = {"slack": RecordingSender("slack"), "discord": RecordingSender("discord")}
    vote(chat, "aisha", decision, "agree")
    assert await refresh_posts(engine, REGISTRY, senders) == 0  # the posts are not sent yet: nothing to edit
    with bot_session(engine, REGISTRY) as s:  # the dispatcher delivers the posts
        for row in s.exec(select(OutboxMessage)
                          .where(col(OutboxMessage.key).startswith(f"decision:{decision.id}:post"))):
            row.status, row.message_id = OutboxStatus.SENT, f"m-{row.platform}"
            s.add(row)
    vote(chat, "james", decision, "disagree")
    assert await refresh_posts(engine, REGISTRY, senders) == 2
    assert await refresh_posts(engine, REGISTRY, senders) == 0  # already shown
    target, message_id, reply = senders["slack"].edits[-1]
    assert (target.channel_id, message_id) == ("CSTEER", "m-slack")
    shown = text_of(reply)
    assert "2 of 2 eligible voters have voted" in shown and "agree ·" not in shown  # hidden until close
    assert "Aisha" not in shown and "James" not in shown  # secret ballot: counts only
    with bot_session(engine, REGISTRY) as s:
        close_vote(s, decision.closes_at, decision.id)  # type: ignore[arg-type]
    assert await refresh_posts(engine, REGISTRY, senders) == 2
    assert senders["discord"].edits[-1][2].buttons == []
    closed = senders["slack"].edits[-1][2]
    assert closed.buttons == [], text_of(closed)
    assert "1 agree · 0 abstain · 1 disagree" in text_of(closed)
    assert "Status: Did not pass." in text_of(closed), text_of(closed)  # the words of the result post
    chat.say(f"/ci outcome {decision.id} Tied; the working group brings a revised measure in May")
    assert await refresh_posts(engine, REGISTRY, senders) == 2
    assert "Outcome: Tied; the working group brings a revised measure in May" in text_of(
        senders["slack"].edits[-1][2])


def _weekly_steering(chat: Chat) -> None:
    reply = chat.say('/ci meeting add steering "Steering" every week on tue at 10:00')
    confirm = next(b for b in reply.buttons if b.action == "meeting.confirm")
    assert isinstance(chat.click(confirm), Reply)
    with Session(chat.core.engine) as s:
        assert s.exec(select(Cadence)).first() is not None


def test_agenda_lists_open_votes_closed_decisions_and_reviews(chat: Chat, engine: Engine, clock: ManualClock) -> None:
    seed(engine)
    _weekly_steering(chat)
    chat.say('/ci propose "Fund a navigator" --closes 1d')
    closed = latest_decision(engine)
    vote(chat, "aisha", closed, "agree")
    clock.advance(timedelta(days=1, minutes=1))
    with bot_session(engine, REGISTRY) as s:
        close_vote(s, clock.now(), closed.id)  # type: ignore[arg-type]
    chat.say(f"/ci decision review {closed.id} 30m")  # before the 10:00 meeting
    chat.say('/ci propose "Adopt <!channel> the measure" --closes 5d')
    with bot_session(engine, REGISTRY) as s:
        occurrence = next_for_group(s, closed.group_id, clock.now())
        assert occurrence is not None
        agenda = text_of(agenda_reply(s, occurrence, SLACK, clock.now()))
    assert "Decisions" in agenda
    assert f"#{closed.id} Fund a navigator: Passed, outcome to record" in agenda
    assert "due for review" in agenda
    assert "Adopt &lt;!channel&gt; the measure: vote open until" in agenda


def test_agreed_in_a_meeting_can_be_recorded_as_a_decision(chat: Chat, engine: Engine, clock: ManualClock) -> None:
    seed(engine)
    _weekly_steering(chat)
    with Session(engine) as s:
        group_id = s.exec(select(Membership.group_id).where(Membership.role == Role.CHAIR)).first()
        occurrence = next_for_group(s, group_id, clock.now())  # type: ignore[arg-type]
    clock.set(occurrence.starts_at)  # type: ignore[union-attr]
    james = chat.as_("james")
    assert "started" in text_of(james.say("/ci meeting start --group steering"))
    reply = james.say("/ci agreed Pilot the navigator in two zip codes --group steering")
    button = next(b for b in reply.buttons if b.label == "Record as decision")
    assert "can't open decisions in Steering committee" in text_of(chat.as_("aisha").click(button))
    recorded = james.click(button)
    assert "Recorded as decision #" in text_of(recorded)
    assert "already recorded" in text_of(james.click(button))
    decision = latest_decision(engine)
    assert decision.status == DecisionStatus.PASSED and decision.meeting_id is not None
    assert "Agreed in a meeting; no vote was held." in text_of(chat.say(f"/ci decision {decision.id}"))


def test_indicators_cited_as_evidence_show_their_latest_value(chat: Chat, engine: Engine) -> None:
    seeded = seed(engine)
    ids = add_indicators(engine, seeded)
    with bot_session(engine, REGISTRY) as s:
        for reporter in s.exec(select(IndicatorReporter).where(IndicatorReporter.indicator_id == ids["enrolled"])):
            s.add(Submission(indicator_id=ids["enrolled"], reporter_id=reporter.id, period="2025-Q4",  # type: ignore[arg-type]
                             period_start=date(2025, 10, 1), value=206))  # both partners: the period is final
    assert "no indicator" in text_of(chat.say('/ci propose "X" --closes 3d --indicators nonsense')).lower()
    reply = chat.say('/ci propose "Expand pre-K" --closes 3d --indicators enrolled,readiness')
    shown = text_of(reply)
    assert "Children in quality pre-K (enrolled): 412" in shown and "2025-Q4" in shown
    assert "Kindergarten readiness (readiness): no value reported yet" in shown


# -- 200 concurrent clicks -------------------------------------------------------------------


def add_voters(engine: Engine, seeded: Seeded, count: int) -> list[str]:
    """`count` steering members with console ids v0..v{count-1}, inserted in bulk."""
    with bot_session(engine, REGISTRY) as s:
        s.execute(insert(Member), [{"initiative_id": seeded.initiative_id, "key": f"v{i}", "name": f"Voter {i}",
                                    "organization": f"Org {i % 40}", "sector": "", "timezone": "", "email": "",
                                    "active": True} for i in range(count)])
        ids = dict(s.exec(select(Member.key, Member.id).where(col(Member.key).startswith("v"))).all())
        s.execute(insert(PlatformIdentity), [{"initiative_id": seeded.initiative_id, "member_id": ids[f"v{i}"],
                                              "platform": Platform.CONSOLE, "platform_user_id": f"v{i}"}
                                             for i in range(count)])
        s.execute(insert(Membership), [{"member_id": ids[f"v{i}"], "group_id": seeded.groups["steering"],
                                        "role": Role.MEMBER} for i in range(count)])
    return [f"v{i}" for i in range(count)]


async def test_200_concurrent_clicks_count_exactly_once_each(core: Core, engine: Engine) -> None:
    seeded = seed(engine)
    voters = add_voters(engine, seeded, 200)
    opened = core.command_sync(Origin("console", "maria"), 'propose "Adopt the budget" --closes 3d --quorum 50%')
    decision_id = opened.title.split("#")[1].split(":")[0]
    choices = ["agree", "disagree", "abstain", "agree"]

    async def click(i: int, user: str) -> Reply:
        choice = choices[i % 4]
        return await core.interact(Origin("console", user), "decision.vote", f"{decision_id}:{choice}")  # type: ignore[return-value]

    # every voter clicks, and every tenth voter double-clicks at the same moment
    clicks = [click(i, u) for i, u in enumerate(voters)] + [click(i, u) for i, u in enumerate(voters) if i % 10 == 0]
    replies = await asyncio.gather(*clicks)
    assert all(isinstance(r, Reply) and "went wrong" not in r.title for r in replies)
    assert sum("Recorded" in text_of(r) for r in replies) == 200
    assert sum("nothing changed" in text_of(r) for r in replies) == 20
    with Session(engine) as s:
        votes = s.exec(select(DecisionVote)).all()
        assert len(votes) == 200 and len({v.member_id for v in votes}) == 200
        assert verify_chain(s).ok
    shown = text_of(core.command_sync(Origin("console", "maria"), f"decision {decision_id}"))
    assert "100 agree · 50 abstain · 50 disagree" in shown and "200 of 202 eligible voters voted" in shown


def test_a_vote_button_with_a_damaged_value_is_explained(chat: Chat, engine: Engine) -> None:
    seed(engine)
    reply = chat.as_("aisha").click(Button("Agree", "decision.vote", "x:agree"))
    assert "damaged" in text_of(reply)
    assert posts_of(engine, "decision:") == []
