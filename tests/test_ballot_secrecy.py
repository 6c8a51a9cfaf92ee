"""Secret ballots against a determined member with database access (issue 12, reproduction 3).

Forty steering members vote on an anonymous decision. While the vote is open nobody,
the proposer and observers included, sees the running count; reasons appear only after
close, unattributed. After close the test dumps both tables with their system columns
(PostgreSQL xmin and ctid, SQLite rowid) and tries every join and every ordering it can
think of between ballots and participations: none pairs ballots with voters better than
chance. Before close the same attack does link them: that is the limit the README states.
"""

from __future__ import annotations

import csv
import io
import json
import math
import random
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from bot.core.registry import bot_session
from bot.decisions.domain import export_decisions
from bot.decisions.jobs import close_vote
from storage.audit import AuditEvent
from storage.decisions import Decision
from storage.models import Role
from tests.chat import Chat, text_of
from tests.decision_helpers import add_member, posts_of, vote
from tests.factories import Seeded, seed

VOTERS = 40  # 20 agree, 20 disagree: by chance a pairing matches half of them
SIGNIFICANCE = 1e-6  # a pairing this unlikely by chance is a link


@pytest.fixture
def cast(engine: Engine) -> Seeded:
    """The sample initiative plus forty more steering members."""
    cast = seed(engine)
    for i in range(VOTERS):
        add_member(engine, cast, f"voter{i:02d}", f"Org {i:02d}", "steering", Role.MEMBER)
    return cast


@dataclass
class Vote:
    """The truth the attacker is after: who chose what."""

    member_id: int
    choice: str
    reason: str


def anonymous_vote(chat: Chat, cast: Seeded) -> tuple[Decision, list[Vote]]:
    """Maria opens a secret ballot; the forty vote in a random order, some with a reason."""
    reply = chat.as_("maria").say('/ci propose "Merge the two family hubs" --closes 3d --anonymous yes --quorum 10')
    assert "Decision #" in reply.title, text_of(reply)
    with Session(chat.core.engine) as s:
        decision = s.exec(select(Decision)).one()
    rng = random.Random(12)
    choices = ["agree", "disagree"] * (VOTERS // 2)
    rng.shuffle(choices)
    order = list(range(VOTERS))
    rng.shuffle(order)
    votes = []
    for i in order:
        key = f"voter{i:02d}"
        reason = f"because-{key}" if i % 5 == 0 else ""
        if reason:
            answer = chat.as_(key).say(f"/ci vote {decision.id} {choices[i]} {reason}")
        else:
            answer = vote(chat, key, decision, choices[i])
        assert "Recorded" in text_of(answer), text_of(answer)
        votes.append(Vote(cast.members[key], choices[i], reason))
    return decision, votes


# -- the attack -------------------------------------------------------------------------------


def dump(engine: Engine, table: str) -> list[dict[str, Any]]:
    """Every row of `table` with its system columns, as someone with database access reads them."""
    system = "xmin::text AS sys_xmin, ctid::text AS sys_ctid," if engine.dialect.name == "postgresql" else (
        "rowid AS sys_rowid,")
    with engine.connect() as conn:
        return [dict(row._mapping) for row in conn.execute(text(f"SELECT {system} * FROM {table}"))]


def sort_key(value: Any) -> Any:
    """Order values as the database would: ctid "(page,slot)" by page then slot, xmin as a number."""
    if isinstance(value, str) and value.startswith("("):
        return tuple(int(part) for part in value.strip("()").split(","))
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return value


def chance_p(matches: int, n: int) -> float:
    """Probability of at least `matches` (or at most, whichever tail is smaller) of `n` fair coin matches."""
    upper = sum(math.comb(n, k) for k in range(matches, n + 1)) / 2**n
    lower = sum(math.comb(n, k) for k in range(0, matches + 1)) / 2**n
    return min(upper, lower)


def pairings(ballots: list[dict[str, Any]], taken: list[dict[str, Any]]) -> Iterator[
        tuple[str, list[tuple[dict[str, Any], dict[str, Any]]]]]:
    """Every way to pair ballots with participations: equal values in any two columns, and rank in any two orders."""
    skip = {"decision_id"}
    for b_col in (c for c in ballots[0] if c not in skip):
        for p_col in (c for c in taken[0] if c not in skip):
            by_value: dict[str, list[dict[str, Any]]] = {}
            for p in taken:
                by_value.setdefault(str(p[p_col]), []).append(p)
            pairs = [(b, p) for b in ballots for p in by_value.get(str(b[b_col]), [])]
            if pairs:
                yield f"ballot.{b_col} = participation.{p_col}", pairs
            if b_col in ("choice", "reason", "organization") or p_col == "cast_by_id":
                continue
            for reverse in (False, True):
                ranked_b = sorted(ballots, key=lambda b, c=b_col: sort_key(b[c]), reverse=reverse)
                ranked_p = sorted(taken, key=lambda p, c=p_col: sort_key(p[c]))
                yield (f"ballots by {b_col}{' descending' if reverse else ''} against participations by {p_col}",
                       list(zip(ranked_b, ranked_p, strict=True)))


def links(engine: Engine, decision_id: int, truth: dict[int, str]) -> list[str]:
    """The pairings that tell voters' choices better (or worse) than chance, with their figures."""
    ballots = [b for b in dump(engine, "secretballot") if b["decision_id"] == decision_id]
    taken = [p for p in dump(engine, "decisionparticipation") if p["decision_id"] == decision_id]
    assert len(ballots) == len(taken) == VOTERS
    found = []
    for name, pairs in pairings(ballots, taken):
        matches = sum(1 for b, p in pairs if b["choice"] == truth[p["member_id"]])
        p_value = chance_p(matches, len(pairs))
        if p_value < SIGNIFICANCE:
            found.append(f"{name}: {matches} of {len(pairs)} (p={p_value:.1e})")
    return found


# -- the story --------------------------------------------------------------------------------


def test_nobody_sees_the_running_count_of_a_secret_ballot(chat: Chat, cast: Seeded) -> None:
    decision, votes = anonymous_vote(chat, cast)
    for who in ("maria", "olga", "james", "voter00"):  # proposer and backbone, observer, chair, a voter
        shown = text_of(chat.as_(who).say(f"/ci decision {decision.id}"))
        assert f"{VOTERS} of {VOTERS + 2} eligible voters have voted" in shown, shown
        assert "agree ·" not in shown and "Votes so far" not in shown
        assert "because-" not in shown  # reasons only after close
    with Session(chat.core.engine) as s:
        row = next(csv.DictReader(io.StringIO(export_decisions(s, cast.initiative_id))))
    assert (row["agree"], row["disagree"], row["voted"], row["quorum_met"]) == ("", "", str(VOTERS), "")
    for post in posts_of(chat.core.engine, f"decision:{decision.id}"):
        assert "agree ·" not in post.payload and "because-" not in post.payload

    with bot_session(chat.core.engine, chat.core.registry) as s:
        close_vote(s, decision.closes_at, decision.id)  # type: ignore[arg-type]
    shown = text_of(chat.as_("olga").say(f"/ci decision {decision.id}"))
    assert "Result: 20 agree · 0 abstain · 20 disagree" in shown
    reasons = sorted(v.reason for v in votes if v.reason)
    assert "Reasons given (linked to no voter and no choice)" in shown
    listed = shown[shown.index("Reasons given"):]
    assert [word for word in listed.replace("•", " ").split() if word.startswith("because-")] == reasons
    assert reasons != [v.reason for v in votes if v.reason]  # sorted, not in the order they were cast


def test_after_close_no_join_links_a_ballot_to_its_voter(chat: Chat, cast: Seeded, engine: Engine) -> None:
    decision, votes = anonymous_vote(chat, cast)
    truth = {v.member_id: v.choice for v in votes}
    during = links(engine, decision.id, truth)  # type: ignore[arg-type]
    assert during, "while voting, rows written together can be linked (the README's stated limit)"

    with bot_session(chat.core.engine, chat.core.registry) as s:
        close_vote(s, decision.closes_at, decision.id)  # type: ignore[arg-type]

    assert links(engine, decision.id, truth) == []  # type: ignore[arg-type]
    ballots = dump(engine, "secretballot")
    assert all(b["reason"] == "" for b in ballots)  # reasons left the choices
    if engine.dialect.name == "postgresql":
        taken = {p["sys_xmin"] for p in dump(engine, "decisionparticipation")}
        assert not taken & {b["sys_xmin"] for b in ballots}  # no ballot was written with a participation

    # every export, outbox payload and audit event: counts and unattributed reasons only
    names = [f"Voter{i:02d}" for i in range(VOTERS)] + [f"voter{i:02d}" for i in range(VOTERS)]
    with Session(engine) as s:
        surfaces: list[str] = [export_decisions(s, cast.initiative_id)]
        events = s.exec(select(AuditEvent).where(AuditEvent.subject == f"decision:{decision.id}")).all()
    surfaces += [post.payload for post in posts_of(engine, "")]
    for shown in surfaces:
        assert not any(name in shown for name in names), shown
    ballots_logged = [json.loads(e.data) for e in events if e.kind == "decision.ballot"]
    assert len(ballots_logged) == VOTERS
    assert all(set(b) == {"decision", "for_member", "by_proxy"} for b in ballots_logged)  # who took part, not how
    for event in events:
        if event.kind not in ("decision.closed", "decision.proposed"):
            assert not any(word in event.data for word in ("agree", "disagree", "because-")), event.data
    closed = next(json.loads(e.data) for e in events if e.kind == "decision.closed")
    assert closed["tally"]["reasons"] == sorted(v.reason for v in votes if v.reason)


def test_the_pairing_attack_finds_a_link_when_there_is_one(engine: Engine) -> None:
    """The statistical check itself: a perfect pairing is flagged, a shuffled one is not."""
    truth = {i: ("agree" if i % 3 else "disagree") for i in range(VOTERS)}
    taken = [{"id": i, "member_id": i, "decision_id": 1} for i in range(VOTERS)]
    linked = [{"id": f"b{i:02d}", "choice": truth[i], "decision_id": 1} for i in range(VOTERS)]
    assert chance_p(VOTERS, VOTERS) < SIGNIFICANCE
    named = [name for name, pairs in pairings(linked, taken)
             if chance_p(sum(b["choice"] == truth[p["member_id"]] for b, p in pairs), len(pairs)) < SIGNIFICANCE]
    assert "ballots by id against participations by id" in named
    assert chance_p(VOTERS // 2, VOTERS) > 0.5
