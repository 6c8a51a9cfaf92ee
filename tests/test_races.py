"""Races: many people doing the same thing at the same moment get the ordinary answers, never an apology.

The core runs a command again in a fresh session when a unique constraint refuses its
row (another request wrote it a moment earlier), so the loser reads the winner's row
and answers as it would have a second later.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from bot.bootstrap import dialects_only
from bot.core.args import Args
from bot.core.context import Context, Origin
from bot.core.core import Core
from bot.core.messages import FormErrors, Reply
from bot.decisions.cards import vote_buttons
from storage.decisions import Decision, DecisionVote
from storage.glossary import GlossaryTerm
from storage.meetings import AgendaItem, ItemStatus
from storage.models import Initiative, Role
from tests.chat import Chat, text_of
from tests.decision_helpers import add_member
from tests.factories import seed
from tests.meeting_helpers import add_series

APOLOGY = "Something went wrong"


def together(count: int, attempt: Callable[[int], Reply | FormErrors]) -> list[str]:
    """Run `attempt(i)` for i in range(count) from `count` threads released at the same instant."""
    start = threading.Barrier(count)

    def one(i: int) -> str:
        start.wait()
        return text_of(attempt(i))

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(one, range(count)))


def kinds(answers: list[str], **patterns: str) -> Counter[str]:
    """Count the answers by the first pattern they contain (``other`` when none)."""
    found: Counter[str] = Counter()
    for answer in answers:
        found[next((kind for kind, pattern in patterns.items() if pattern in answer), "other")] += 1
    return found


def test_200_people_adding_one_term_at_once_get_one_added_and_199_already(core: Core, engine: Engine) -> None:
    seed(engine)
    answers = together(200, lambda i: core.command_sync(
        Origin("console", "maria"), f"glossary add Readiness = Ready for school, version {i}"))
    counted = kinds(answers, apology=APOLOGY, already="already", added="Readiness")
    assert counted["apology"] == 0, [a for a in answers if APOLOGY in a][:1]
    assert counted == {"added": 1, "already": 199}, answers[:3]
    with Session(engine) as s:
        assert len(s.exec(select(GlossaryTerm).where(GlossaryTerm.term == "Readiness")).all()) == 1


def test_voters_clicking_their_vote_many_times_at_once_are_recorded_once_each(core: Core, engine: Engine) -> None:
    cast = seed(engine)
    voters = [f"voter{n}" for n in range(10)]
    for key in voters:
        add_member(engine, cast, key, f"Partner {key}", "steering", Role.MEMBER)
    proposed = Chat(core).as_("maria").say('/ci propose "Adopt the readiness measure" --closes 3d')
    assert "Decision #" in proposed.title, text_of(proposed)
    with Session(engine) as s:
        decision = s.exec(select(Decision)).one()
    agree = next(b for b in vote_buttons(decision) if b.value.endswith(":agree"))
    clicks = 10  # per voter, all 100 at the same instant
    answers = together(len(voters) * clicks, lambda i: core.interact_sync(
        Origin("console", voters[i % len(voters)]), agree.action, agree.value, {}))
    counted = kinds(answers, apology=APOLOGY, already="already agree", recorded="Recorded: agree")
    assert counted["apology"] == 0, [a for a in answers if APOLOGY in a][:1]
    assert counted == {"recorded": len(voters), "already": len(voters) * (clicks - 1)}, answers[:3]
    with Session(engine) as s:
        assert len(s.exec(select(DecisionVote)).all()) == len(voters)
    assert "10 agree · 0 abstain · 0 disagree" in text_of(Chat(core).say(f"/ci decision {decision.id}"))


def test_accepting_one_agenda_item_many_times_at_once_accepts_it(core: Core, engine: Engine) -> None:
    seed(engine)
    chat = Chat(core)
    add_series(chat, "steering", "Steering", "monthly on 2nd tue at 10:00")
    chat.as_("james").say("/ci agenda add Review Q1 readiness data")
    with Session(engine) as s:
        item = s.exec(select(AgendaItem)).one()
    answers = together(50, lambda _i: core.command_sync(Origin("console", "maria"), f"agenda accept {item.id}"))
    counted = kinds(answers, apology=APOLOGY, accepted=f"#{item.id} “Review Q1 readiness data” is now accepted")
    assert counted == {"accepted": 50}, answers[:3]
    with Session(engine) as s:
        assert s.exec(select(AgendaItem)).one().status == ItemStatus.ACCEPTED


def test_a_race_lost_twice_is_answered_as_such_not_with_an_apology(engine: Engine) -> None:
    seed(engine)
    attempts: list[int] = []

    def clash(ctx: Context, _args: Args) -> Reply:  # loses to a row written "a moment earlier", every time
        attempts.append(1)
        ctx.session.add(Initiative(slug="riverbend", name="Another Riverbend"))
        ctx.session.flush()
        return Reply(title="Created")

    registry = dialects_only()
    registry.command("clash", clash, summary="Always loses a race.", usage="/ci clash")
    reply = Core(engine, registry).command_sync(Origin("console", "maria"), "clash")
    assert len(attempts) == 2  # the first run and the one retry
    assert reply.ephemeral
    assert "someone changed this at the same moment" in text_of(reply).lower()
    assert "nothing was changed" in text_of(reply).lower()
    assert APOLOGY not in text_of(reply)
