"""Decisions through the chat: proposing, voting with buttons, proxies, closing, outcomes, the log."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session, select

from bot.bootstrap import build_registry
from bot.core.clock import ManualClock
from bot.core.messages import Form, FormErrors, Reply
from bot.core.registry import bot_session
from bot.decisions.domain import export_decisions
from bot.decisions.jobs import close_vote, reconcile, remind_voters, review_due
from bot.runtime.scheduler import Scheduler
from storage.audit import AuditEvent
from storage.audit_chain import verify_chain
from storage.decisions import (
    Decision,
    DecisionParticipation,
    DecisionProxy,
    DecisionStatus,
    DecisionVote,
    SecretBallot,
)
from storage.models import (
    Group,
    GroupKind,
    Initiative,
    Member,
    Membership,
    Platform,
    PlatformIdentity,
    Role,
)
from tests.chat import Chat, text_of
from tests.decision_helpers import add_member, posts_of, vote
from tests.example_helpers import load_example
from tests.factories import Seeded, append_only_guard_lifted, seed

REGISTRY = build_registry()


@pytest.fixture
def cast(engine: Engine) -> Seeded:
    """The sample initiative; steering voters by default are james (chair) and aisha (member)."""
    return seed(engine)


def open_vote(chat: Chat, extra: str = "", who: str = "maria") -> Decision:
    reply = chat.as_(who).say(f'/ci propose "Adopt the readiness measure" --closes 3d {extra}')
    assert reply.ephemeral, text_of(reply)
    assert "Decision #" in reply.title, text_of(reply)
    with Session(chat.core.engine) as s:
        return s.exec(select(Decision).order_by(Decision.id.desc())).first()  # type: ignore[union-attr]


def decision_count(engine: Engine) -> int:
    with Session(engine) as s:
        return len(s.exec(select(Decision)).all())


# -- proposing -------------------------------------------------------------------------------


def test_inline_proposal_is_posted_to_the_groups_channels_with_vote_buttons(chat: Chat, cast: Seeded) -> None:
    decision = open_vote(chat, "--rule majority --quorum 2")
    assert decision.group_id == cast.groups["steering"] and decision.quorum == "2"
    posts = posts_of(chat.core.engine, f"decision:{decision.id}:post")
    assert sorted((p.platform, p.channel_id) for p in posts) == [
        ("discord", "900000000000000001"), ("slack", "CSTEER")]
    payload = json.loads(posts[0].payload)
    assert [b[0] for b in payload["buttons"]] == ["Agree", "Abstain", "Disagree"]  # no Block under majority
    assert payload["buttons"][0][1:3] == ["decision.vote", f"{decision.id}:agree"]


def test_block_button_only_under_consent_and_consensus(chat: Chat, cast: Seeded) -> None:
    decision = open_vote(chat, "--rule consent")
    card = chat.say(f"/ci decision {decision.id}")
    assert [b.label for b in card.buttons] == ["Agree", "Abstain", "Disagree", "Block"]


def test_propose_without_arguments_opens_a_form_that_opens_the_vote(chat: Chat, cast: Seeded) -> None:
    reply = chat.as_("james").say("/ci propose")
    assert isinstance(reply.form, Form)
    assert [f.name for f in reply.form.fields] == ["title", "body", "rationale", "evidence", "closes", "rule",
                                                   "quorum"]
    bad = chat.as_("james").submit(reply.form, {"title": "", "closes": "yesterday-ish", "rule": "majority"})
    assert isinstance(bad, FormErrors) and set(bad.errors) == {"title", "closes"}
    too_many = chat.as_("james").submit(reply.form, {"title": "Fund it", "closes": "2d", "rule": "majority",
                                                     "quorum": "5"})
    assert isinstance(too_many, FormErrors) and "more than the 2 eligible voters" in too_many.errors["quorum"]
    done = chat.as_("james").submit(reply.form, {
        "title": "Fund a family navigator", "body": "Hire one navigator.", "rationale": "Families get lost.",
        "evidence": "https://example.org/report\nSurvey of 40 families", "closes": "2d", "rule": "consensus",
        "quorum": "2"})
    assert isinstance(done, Reply) and "Fund a family navigator" in done.title
    assert "Quorum: 2" in text_of(done)
    assert "https://example.org/report" in text_of(done) and "Survey of 40 families" in text_of(done)
    assert decision_count(chat.core.engine) == 1


def test_a_working_group_chair_proposes_in_their_group(chat: Chat, cast: Seeded) -> None:
    form = chat.as_("tom").say("/ci propose --group data").form
    assert form is not None and form.value == str(cast.groups["data"])
    assert "can't open decisions in Steering committee" in text_of(chat.as_("tom").say("/ci propose"))
    decision = open_vote(chat, "--group data", who="tom")
    assert "Recorded" in text_of(vote(chat, "aisha", decision, "agree"))  # aisha is a data group member
    assert "Only members of Data working group" in text_of(vote(chat, "james", decision, "agree"))


@pytest.mark.parametrize(("who", "expected"), [
    ("aisha", "can't open decisions in Steering committee"),
    ("olga", "can't open decisions in Steering committee"),
])
def test_only_backbone_and_chairs_propose_by_default(chat: Chat, cast: Seeded, who: str, expected: str) -> None:
    reply = chat.as_(who).say('/ci propose "Spend it all" --closes 3d')
    assert expected in text_of(reply) and reply.ephemeral
    assert decision_count(chat.core.engine) == 0


@pytest.mark.parametrize(("options", "expected"), [
    ("--closes 2026-03-01", "closing time is in the past"),
    ("--closes 3d --quorum 3", "quorum of 3 is more than the 2 eligible voters"),
    ("--closes 3d --quorum 120%", "at most 100%"),
    ("--closes 3d --rule unanimous", "not a decision rule"),
    ("--closes soonish", "not a time I can read"),
    ("", "Say when voting closes"),
])
def test_bad_proposals_are_explained_and_write_nothing(chat: Chat, cast: Seeded, options: str, expected: str) -> None:
    reply = chat.say(f'/ci propose "Adopt it" {options}')
    assert expected in text_of(reply)
    assert decision_count(chat.core.engine) == 0
    assert posts_of(chat.core.engine, "decision:") == []


def test_home_lists_votes_waiting_for_the_member(chat: Chat, cast: Seeded) -> None:
    decision = open_vote(chat)
    home = chat.core.home_sync(chat.as_("aisha").origin)
    assert any("Adopt the readiness measure" in text_of(r) for r in home.replies if r.title == "Votes waiting for you")
    vote(chat, "aisha", decision, "agree")
    assert not [r for r in chat.core.home_sync(chat.as_("aisha").origin).replies if r.title == "Votes waiting for you"]
    assert not [r for r in chat.core.home_sync(chat.as_("olga").origin).replies if r.title == "Votes waiting for you"]


def test_several_proposals_can_be_open_in_one_group(chat: Chat, cast: Seeded) -> None:
    first, second = open_vote(chat), open_vote(chat)
    assert vote(chat, "james", first, "agree").ephemeral
    vote(chat, "james", second, "disagree")
    listing = text_of(chat.say("/ci decisions --status open"))
    assert f"#{first.id}" in listing and f"#{second.id}" in listing


# -- voting ----------------------------------------------------------------------------------


def test_click_records_changes_and_ignores_a_double_click(chat: Chat, cast: Seeded) -> None:
    decision = open_vote(chat)
    first = vote(chat, "aisha", decision, "agree")
    assert first.ephemeral and "Recorded: agree" in text_of(first)
    again = vote(chat, "aisha", decision, "agree")
    assert "already agree" in text_of(again) and "nothing changed" in text_of(again)
    changed = vote(chat, "aisha", decision, "disagree")
    assert "Recorded: disagree" in text_of(changed)
    with Session(chat.core.engine) as s:
        votes = s.exec(select(DecisionVote)).all()
        kinds = [e.kind for e in s.exec(select(AuditEvent).order_by(AuditEvent.id)).all()]
    assert [(v.member_id, v.choice) for v in votes] == [(cast.members["aisha"], "disagree")]
    assert kinds.count("decision.vote") == 1 and kinds.count("decision.vote_changed") == 1
    shown = text_of(chat.say(f"/ci decision {decision.id}"))
    assert "Aisha Bello: disagree" in shown and "0 agree · 0 abstain · 1 disagree" in shown


@pytest.mark.parametrize(("who", "expected"), [
    ("olga", "Observers of Steering committee can read decisions but not vote"),
    ("lena", "Only members of Steering committee (chair or member) vote"),
    ("maria", "only the chair or member roles vote; yours is staff"),
])
def test_ineligible_clicks_are_refused(chat: Chat, cast: Seeded, who: str, expected: str) -> None:
    decision = open_vote(chat)
    reply = vote(chat, who, decision, "agree")
    assert expected in text_of(reply) and reply.ephemeral
    with Session(chat.core.engine) as s:
        assert s.exec(select(DecisionVote)).all() == []


def test_a_deactivated_member_cannot_vote(chat: Chat, cast: Seeded) -> None:
    decision = open_vote(chat)
    with bot_session(chat.core.engine, chat.core.registry) as s:
        aisha = s.get(Member, cast.members["aisha"])
        aisha.active = False  # type: ignore[union-attr]
        s.add(aisha)
    reply = vote(chat, "aisha", decision, "agree")
    assert "not a member" in text_of(reply)
    with Session(chat.core.engine) as s:
        assert s.exec(select(DecisionVote)).all() == []


def test_a_member_of_another_initiative_cannot_reach_the_decision(chat: Chat, cast: Seeded, engine: Engine) -> None:
    decision = open_vote(chat)
    with bot_session(engine, REGISTRY) as s:
        other = Initiative(slug="elsewhere", name="Elsewhere")
        s.add(other)
        s.flush()
        group = Group(initiative_id=other.id, key="steering", name="Their steering", kind=GroupKind.STEERING)  # type: ignore[arg-type]
        outsider = Member(initiative_id=other.id, key="outsider", name="Out Sider")  # type: ignore[arg-type]
        s.add_all([group, outsider])
        s.flush()
        s.add(Membership(member_id=outsider.id, group_id=group.id, role=Role.MEMBER))  # type: ignore[arg-type]
        s.add(PlatformIdentity(initiative_id=other.id, member_id=outsider.id,  # type: ignore[arg-type]
                               platform=Platform.CONSOLE, platform_user_id="outsider"))
    reply = vote(chat, "outsider", decision, "agree")
    assert f"There is no decision #{decision.id}" in text_of(reply)
    with Session(engine) as s:
        assert s.exec(select(DecisionVote)).all() == []


def test_block_is_refused_under_majority_and_votes_after_close_or_withdrawal(
        chat: Chat, cast: Seeded, clock: ManualClock) -> None:
    decision = open_vote(chat)
    assert "Block is only for consent and consensus" in text_of(chat.as_("aisha").say(f"/ci vote {decision.id} block"))
    clock.advance(timedelta(days=3, minutes=1))
    late = vote(chat, "aisha", decision, "agree")
    assert "has closed" in text_of(late)
    clock.set(decision.created_at)
    other = open_vote(chat)
    assert "withdrawn" in text_of(chat.say(f"/ci decision withdraw {other.id} Superseded by #{decision.id}"))
    assert "was withdrawn" in text_of(vote(chat, "aisha", other, "agree"))
    with Session(chat.core.engine) as s:
        assert s.exec(select(DecisionVote)).all() == []
        withdrawn = s.exec(select(AuditEvent).where(AuditEvent.kind == "decision.withdrawn")).one()
    assert withdrawn.subject == f"decision:{other.id}" and f"Superseded by #{decision.id}" in withdrawn.data


def test_required_reason_opens_a_form_and_reasons_are_escaped(engine: Engine, cast: Seeded) -> None:
    from tests.decision_helpers import chat_on
    slack = chat_on(engine, "slack", "UMARIA", channel="CSTEER", team="T1")
    reply = slack.say('/ci propose "Adopt it" --closes 3d --reasons required')
    decision_id = reply.title.split("#")[1].split(":")[0]
    observer = slack.as_("UOLGA").click(reply.buttons[0])  # refused at once, not after writing a reason
    assert isinstance(observer, Reply) and observer.form is None and "vote" in text_of(observer).lower()
    click = slack.as_("UAISHA").click(reply.buttons[0])
    assert isinstance(click, Reply) and isinstance(click.form, Form)
    empty = slack.as_("UAISHA").submit(click.form, {"reason": " "})
    assert isinstance(empty, FormErrors)
    done = slack.as_("UAISHA").submit(click.form, {"reason": "<!channel> see <http://evil.example|this>"})
    assert "Recorded: agree" in text_of(done) and done.ephemeral
    assert "mentions in it notify nobody" in text_of(done)
    plain = slack.as_("UJAMES").say(f"/ci vote {decision_id} agree Fine by me")
    assert "Recorded: agree" in text_of(plain) and "notify nobody" not in text_of(plain)
    shown = text_of(slack.say(f"/ci decision {decision_id}"))
    assert "&lt;!channel&gt;" in shown and "<!channel>" not in shown and "<http://evil" not in shown


def test_proxy_votes_are_recorded_as_cast_by_proxy_and_own_votes_win(chat: Chat, cast: Seeded) -> None:
    decision = open_vote(chat)
    assert "James Carter can now vote for you" in text_of(chat.as_("aisha").say(f"/ci proxy {decision.id} @james"))
    reply = vote(chat, "james", decision, "agree")
    assert "Also recorded for Aisha Bello (by proxy)" in text_of(reply)
    assert "Aisha Bello: agree (cast by proxy James Carter)" in text_of(chat.say(f"/ci decision {decision.id}"))
    vote(chat, "aisha", decision, "disagree")
    again = vote(chat, "james", decision, "abstain")  # changes james's own vote, cannot override aisha's
    assert "Also recorded for" not in text_of(again)
    shown = text_of(chat.say(f"/ci decision {decision.id}"))
    assert "Aisha Bello: disagree" in shown and "James Carter: abstain" in shown


def test_an_observer_cannot_be_handed_a_vote(chat: Chat, cast: Seeded, engine: Engine) -> None:
    """Issue 15, item 5: aisha names olga, an observer of the steering committee, as her proxy."""
    decision = open_vote(chat)
    refused = text_of(chat.as_("aisha").say(f"/ci proxy {decision.id} @olga"))
    assert "Olga" in refused and "does not vote in Steering committee" in refused
    assert "Observers read and never act" in refused and "Nothing was changed" in refused
    tom = text_of(chat.as_("aisha").say(f"/ci proxy {decision.id} @tom"))  # a voter, but of another group
    assert "Tom Nguyen does not vote in Steering committee" in tom
    with Session(engine) as s:
        assert s.exec(select(DecisionProxy)).all() == []
        # a proxy row left from before the rule (or written directly) still lets the observer do nothing
        s.add(DecisionProxy(decision_id=decision.id, member_id=cast.members["aisha"],  # type: ignore[arg-type]
                            proxy_id=cast.members["olga"]))
        s.commit()
    vote(chat, "olga", decision, "agree")
    shown = text_of(chat.say(f"/ci decision {decision.id}"))
    assert "Aisha Bello" not in shown and "0 of 2 eligible voters voted" in shown


def test_observers_cannot_hand_out_a_vote(chat: Chat, cast: Seeded) -> None:
    decision = open_vote(chat)
    reply = chat.as_("olga").say(f"/ci proxy {decision.id} @james")
    assert "no vote to hand to a proxy" in text_of(reply)


# -- anonymous decisions ---------------------------------------------------------------------


def test_anonymous_ballots_are_counted_but_never_linked_to_voters(chat: Chat, cast: Seeded) -> None:
    decision = open_vote(chat, "--anonymous yes")
    vote(chat, "aisha", decision, "agree")
    vote(chat, "james", decision, "disagree")
    assert "cannot be changed" in text_of(vote(chat, "aisha", decision, "disagree"))
    shown = text_of(chat.say(f"/ci decision {decision.id}"))
    assert "2 of 2 eligible voters have voted" in shown and "agree ·" not in shown  # hidden until close
    assert "Aisha Bello:" not in shown and "James Carter:" not in shown
    with Session(chat.core.engine) as s:
        assert s.exec(select(DecisionVote)).all() == []
        assert {p.member_id for p in s.exec(select(DecisionParticipation)).all()} == {
            cast.members["aisha"], cast.members["james"]}
        ballots = s.exec(select(SecretBallot)).all()
        assert sorted(b.choice for b in ballots) == ["agree", "disagree"]
        events = s.exec(select(AuditEvent).where(AuditEvent.kind == "decision.ballot")).all()
        assert all("agree" not in e.data and "disagree" not in e.data for e in events)
    with Session(chat.core.engine) as s:
        exported = export_decisions(s, cast.initiative_id)
    assert "Aisha" not in exported and "James" not in exported


def test_a_secret_ballot_leaves_no_trace_of_who_voted_what(chat: Chat, cast: Seeded) -> None:
    decision = open_vote(chat, "--anonymous yes --quorum 2")
    chat.as_("aisha").say(f"/ci proxy {decision.id} @james")
    assert "Also recorded for Aisha Bello (by proxy)" in text_of(
        chat.as_("james").say(f"/ci vote {decision.id} disagree sekrit-reason"))
    with bot_session(chat.core.engine, chat.core.registry) as s:
        close_vote(s, decision.closes_at, decision.id)  # type: ignore[arg-type]
    chat.say(f"/ci outcome {decision.id} Tied; back to the working group")
    voters = ("Aisha", "James", "Tom")
    surfaces = [text_of(chat.as_(who).say(f"/ci decision {decision.id}")) for who in ("maria", "olga", "james")]
    surfaces.append(text_of(chat.say("/ci decisions")))
    surfaces += [row.payload for row in posts_of(chat.core.engine, f"decision:{decision.id}")]
    with Session(chat.core.engine) as s:
        surfaces.append(export_decisions(s, cast.initiative_id))
        events = s.exec(select(AuditEvent).where(AuditEvent.subject == f"decision:{decision.id}")).all()
        closed = s.get(Decision, decision.id)
        assert s.exec(select(DecisionVote)).all() == []
    assert "0 agree · 0 abstain · 2 disagree" in surfaces[0] and "(1 by proxy)" in surfaces[0]
    assert "Reasons given (linked to no voter and no choice)" in surfaces[0]
    for shown in surfaces:
        assert not any(name in shown for name in voters), shown
        if "sekrit" in shown:  # reasons only after close, apart from who gave them and how they voted
            assert shown.index("sekrit") > shown.index("Reasons given"), shown
    ballots = [json.loads(e.data) for e in events if e.kind == "decision.ballot"]
    assert [set(b) for b in ballots] == [{"decision", "for_member", "by_proxy"}] * 2  # who took part, never how
    for event in events:
        if event.kind != "decision.closed":  # the final counts and reasons are the only place choices appear
            assert not any(c in event.data for c in ("agree", "disagree", "abstain", "sekrit")), event.data
    final = json.loads(closed.tally)  # type: ignore[union-attr]
    assert final["counts"] == {"agree": "0", "abstain": "0", "disagree": "2", "block": "0"}
    assert final["reasons"] == ["sekrit-reason", "sekrit-reason"]


# -- closing, reminders, outcomes ------------------------------------------------------------


def test_reminder_goes_to_eligible_non_voters_only_once(chat: Chat, cast: Seeded, clock: ManualClock) -> None:
    decision = open_vote(chat)
    vote(chat, "aisha", decision, "agree")
    for _ in range(2):
        with bot_session(chat.core.engine, chat.core.registry) as s:
            remind_voters(s, decision.closes_at - timedelta(hours=24), decision.id)  # type: ignore[arg-type]
    reminders = posts_of(chat.core.engine, f"decision:{decision.id}:remind")
    assert {r.user_id for r in reminders} == {"UJAMES", "100000000000000002"}
    assert "You have not voted yet" in json.loads(reminders[0].payload)["sections"][0]


def test_reminder_offers_block_only_under_consent_and_consensus(chat: Chat, cast: Seeded) -> None:
    for rule, offered in (("majority", "agree|abstain|disagree"), ("consent", "agree|abstain|disagree|block")):
        decision = open_vote(chat, f"--rule {rule}")
        with bot_session(chat.core.engine, chat.core.registry) as s:
            remind_voters(s, decision.closes_at - timedelta(hours=24), decision.id)  # type: ignore[arg-type]
        reminder = json.loads(posts_of(chat.core.engine, f"decision:{decision.id}:remind")[0].payload)
        assert f"/ci vote {decision.id} {offered}`" in reminder["sections"][0], reminder["sections"][0]


def test_closing_job_posts_tally_quorum_and_result(chat: Chat, cast: Seeded) -> None:
    decision = open_vote(chat, "--quorum 2")
    vote(chat, "aisha", decision, "agree")
    vote(chat, "james", decision, "agree")
    with bot_session(chat.core.engine, chat.core.registry) as s:
        close_vote(s, decision.closes_at - timedelta(minutes=1), decision.id)  # type: ignore[arg-type]
    assert posts_of(chat.core.engine, f"decision:{decision.id}:result") == []  # not due yet
    for _ in range(2):  # a second run changes nothing
        with bot_session(chat.core.engine, chat.core.registry) as s:
            close_vote(s, decision.closes_at, decision.id)  # type: ignore[arg-type]
    results = posts_of(chat.core.engine, f"decision:{decision.id}:result")
    assert len(results) == 2
    body = " ".join(json.loads(results[0].payload)["sections"])
    assert "Result: 2 agree · 0 abstain · 0 disagree" in body and "quorum 2 met" in body and "Passed" in body
    with Session(chat.core.engine) as s:
        assert s.get(Decision, decision.id).status == DecisionStatus.PASSED  # type: ignore[union-attr]


def test_no_quorum_is_reported(chat: Chat, cast: Seeded) -> None:
    decision = open_vote(chat, "--quorum 100%")
    vote(chat, "aisha", decision, "agree")
    with bot_session(chat.core.engine, chat.core.registry) as s:
        close_vote(s, decision.closes_at, decision.id)  # type: ignore[arg-type]
        assert s.get(Decision, decision.id).status == DecisionStatus.FAILED  # type: ignore[union-attr]
    body = " ".join(json.loads(posts_of(chat.core.engine, f"decision:{decision.id}:result")[0].payload)["sections"])
    assert "quorum 2 not met" in body and "Not decided" in body


def test_a_result_has_one_name_wherever_it_is_shown(chat: Chat, cast: Seeded) -> None:
    """Issue 15, item 10: a result posted as "Not decided" is not "failed" anywhere else."""
    short = open_vote(chat, "--quorum 100%")
    vote(chat, "aisha", short, "agree")
    tied = open_vote(chat)
    vote(chat, "aisha", tied, "agree")
    vote(chat, "james", tied, "disagree")
    with bot_session(chat.core.engine, chat.core.registry) as s:
        for decision in (short, tied):
            close_vote(s, decision.closes_at, decision.id)  # type: ignore[arg-type]
    with Session(chat.core.engine) as s:
        exported = list(csv.DictReader(io.StringIO(export_decisions(s, cast.initiative_id))))
    for decision, word in ((short, "Not decided"), (tied, "Did not pass")):
        result = posts_of(chat.core.engine, f"decision:{decision.id}:result")[0].payload
        card = text_of(chat.as_("olga").say(f"/ci decision {decision.id}"))
        line = next(row for row in text_of(chat.say("/ci decisions")).splitlines() if f"#{decision.id}" in row)
        row = exported[decision.id - 1]  # type: ignore[operator]
        assert word in result and f"Status: {word}." in card and word in line and row["result"] == word
        assert "failed" not in card.lower() and "failed" not in line.lower()


async def test_scheduler_closes_reminds_and_reviews_on_time(chat: Chat, cast: Seeded, clock: ManualClock) -> None:
    decision = open_vote(chat)
    scheduler = Scheduler(chat.core.engine, clock, chat.core.registry)
    scheduler.add_reconciler(reconcile)
    await scheduler.start()
    try:
        assert scheduler.next_run(f"decision:{decision.id}:close") == decision.closes_at
        scheduler.run_due(decision.closes_at - timedelta(hours=23))
        assert len(posts_of(chat.core.engine, f"decision:{decision.id}:remind")) == 4  # james, aisha x 2 platforms
        assert posts_of(chat.core.engine, f"decision:{decision.id}:result") == []
        scheduler.run_due(decision.closes_at + timedelta(minutes=1))
        assert len(posts_of(chat.core.engine, f"decision:{decision.id}:result")) == 2
        assert "review" in text_of(chat.say(f"/ci decision review {decision.id} 30d"))
        scheduler.reconcile_now()
        scheduler.run_due(clock.now() + timedelta(days=31))
        reviews = posts_of(chat.core.engine, f"decision:{decision.id}:review")
        assert sorted(r.channel_id for r in reviews) == ["900000000000000000", "CBACK"]
    finally:
        await scheduler.shutdown()


def test_review_reminder_is_sent_once(chat: Chat, cast: Seeded, clock: ManualClock) -> None:
    decision = open_vote(chat)
    chat.say(f"/ci decision review {decision.id} 2026-06-01")
    for _ in range(2):
        with bot_session(chat.core.engine, chat.core.registry) as s:
            review_due(s, clock.now() + timedelta(days=120), decision.id)  # type: ignore[arg-type]
    assert len(posts_of(chat.core.engine, f"decision:{decision.id}:review")) == 2  # slack + discord, once


def test_review_date_in_months_as_the_hint_suggests(chat: Chat, cast: Seeded, clock: ManualClock) -> None:
    decision = open_vote(chat)
    hint = text_of(chat.say(f"/ci decision review {decision.id} 2020-01-01"))
    assert "in the past" in hint and "6mo (six months)" in hint
    assert "review on Tue 02 Jun 2026" in text_of(chat.say(f"/ci decision review {decision.id} 3mo"))
    with Session(chat.core.engine) as s:
        assert s.get(Decision, decision.id).review_at == clock.now().replace(month=6)  # type: ignore[union-attr]


def test_outcome_by_proposer_or_backbone_after_close(chat: Chat, cast: Seeded, clock: ManualClock) -> None:
    decision = open_vote(chat, who="james")
    assert "still open" in text_of(chat.as_("james").say(f"/ci outcome {decision.id} Adopted"))
    clock.advance(timedelta(days=4))
    with bot_session(chat.core.engine, chat.core.registry) as s:
        close_vote(s, clock.now(), decision.id)  # type: ignore[arg-type]
    assert "Only the proposer or backbone" in text_of(chat.as_("aisha").say(f"/ci outcome {decision.id} No"))
    assert "recorded" in text_of(chat.as_("james").say(
        f"/ci outcome {decision.id} Not enough votes; adopted anyway after the March meeting"))
    shown = text_of(chat.say(f"/ci decision {decision.id}"))
    assert "adopted anyway after the March meeting" in shown


def test_backbone_closes_early_and_extends_others_cannot(chat: Chat, cast: Seeded) -> None:
    decision = open_vote(chat, who="james")
    assert "Only backbone staff" in text_of(chat.as_("james").say(f"/ci decision close {decision.id}"))
    assert "now closes" in text_of(chat.say(f"/ci decision extend {decision.id} 2d"))
    with Session(chat.core.engine) as s:
        assert s.get(Decision, decision.id).closes_at == decision.closes_at + timedelta(days=2)  # type: ignore[union-attr]
    vote(chat, "aisha", decision, "agree")
    assert "closed early: Passed." in text_of(chat.say(f"/ci decision close {decision.id}"))
    with Session(chat.core.engine) as s:
        kinds = [e.kind for e in s.exec(select(AuditEvent)).all()]
    assert {"decision.extended", "decision.closed_early"} <= set(kinds)


def test_per_organization_counting_set_by_policy(chat: Chat, cast: Seeded, engine: Engine) -> None:
    for key, org in (("p1", "Riverbend County Health Department"), ("p2", "Parents Together")):
        add_member(engine, cast, key, org, "steering", Role.MEMBER)
    chat.say("/ci decision policy steering --count organization --split abstain --quorum 2")
    decision = open_vote(chat)
    vote(chat, "james", decision, "agree")  # health dept: james agrees, p1 disagrees -> divided, abstains
    vote(chat, "p1", decision, "disagree")
    vote(chat, "p2", decision, "disagree")
    vote(chat, "aisha", decision, "agree")
    with bot_session(engine, REGISTRY) as s:
        close_vote(s, decision.closes_at, decision.id)  # type: ignore[arg-type]
        closed = s.get(Decision, decision.id)
    assert closed.status == DecisionStatus.FAILED  # type: ignore[union-attr]
    final = json.loads(closed.tally)  # type: ignore[union-attr]
    assert final["counts"] == {"agree": "1", "abstain": "1", "disagree": "1", "block": "0"}
    assert final["eligible"] == 3 and final["voted"] == 3


def test_policy_changes_who_votes(chat: Chat, cast: Seeded) -> None:
    assert "Only backbone staff" in text_of(chat.as_("james").say("/ci decision policy steering --vote staff"))
    chat.say("/ci decision policy steering --vote chair,member,staff")
    decision = open_vote(chat)
    assert "Recorded" in text_of(vote(chat, "maria", decision, "agree"))


# -- the log, export, audit ------------------------------------------------------------------


def test_decision_log_searches_title_body_and_outcome(chat: Chat, cast: Seeded) -> None:
    chat.say('/ci propose "Adopt the readiness measure" --closes 3d --body "Use the state rubric"')
    chat.say('/ci propose "Fund a navigator" --closes 3d')
    assert "navigator" not in text_of(chat.say("/ci decisions rubric"))
    assert "readiness" in text_of(chat.say("/ci decisions rubric"))
    assert "No decisions match" in text_of(chat.say("/ci decisions --status passed"))
    assert "--status takes one of" in text_of(chat.say("/ci decisions --status maybe"))
    assert "Fund a navigator" in text_of(chat.say("/ci decisions --group steering"))
    assert "no decision #999" in text_of(chat.say("/ci decision 999")).lower()


def test_export_is_csv_with_counts(chat: Chat, cast: Seeded) -> None:
    decision = open_vote(chat)
    vote(chat, "aisha", decision, "agree")
    chat.say('/ci propose "=HYPERLINK(1)" --closes 3d')
    with Session(chat.core.engine) as s:
        rows = list(csv.DictReader(io.StringIO(export_decisions(s, cast.initiative_id))))
    assert rows[0]["title"] == "Adopt the readiness measure" and rows[0]["agree"] == "1"
    assert rows[0]["status"] == "open" and rows[0]["group"] == "steering"
    assert rows[1]["title"] == "'=HYPERLINK(1)"


def test_audit_chain_verifies_and_detects_a_tampered_row(chat: Chat, cast: Seeded) -> None:
    decision = open_vote(chat)
    vote(chat, "aisha", decision, "agree")
    vote(chat, "james", decision, "disagree")
    with Session(chat.core.engine) as s:
        check = verify_chain(s)
    assert check.ok and check.checked >= 3, str(check)
    with Session(chat.core.engine) as s:
        target = s.exec(select(AuditEvent).where(AuditEvent.kind == "decision.vote")).first()
    with append_only_guard_lifted(chat.core.engine) as raw:
        raw.execute(text("UPDATE auditevent SET data = :d WHERE id = :i"),
                    {"d": target.data.replace("agree", "disagree"), "i": target.id})  # type: ignore[union-attr]
    with Session(chat.core.engine) as s:
        broken = verify_chain(s)
    assert not broken.ok and broken.broken_id == target.id and "edited" in str(broken)  # type: ignore[union-attr]


def test_the_database_refuses_to_edit_or_delete_audit_events(chat: Chat, cast: Seeded) -> None:
    decision = open_vote(chat)
    vote(chat, "aisha", decision, "agree")
    for statement in ("UPDATE auditevent SET data = '{}'", "DELETE FROM auditevent"):
        with pytest.raises(DBAPIError, match="append-only"), bot_session(chat.core.engine, chat.core.registry) as s:
            s.execute(text(statement))
    with Session(chat.core.engine) as s:
        assert verify_chain(s).ok


def test_audit_chain_detects_a_deleted_row(chat: Chat, cast: Seeded) -> None:
    decision = open_vote(chat)
    vote(chat, "aisha", decision, "agree")
    vote(chat, "james", decision, "agree")
    with Session(chat.core.engine) as s:
        ids = [e.id for e in s.exec(select(AuditEvent).order_by(AuditEvent.id)).all()]
    with append_only_guard_lifted(chat.core.engine) as raw:
        raw.execute(text("DELETE FROM auditevent WHERE id = :i"), {"i": ids[1]})
    with Session(chat.core.engine) as s:
        broken = verify_chain(s)
    assert broken.broken_id == ids[2] and "deleted or inserted" in broken.problem


def test_membership_changes_are_seen_at_close(chat: Chat, cast: Seeded, engine: Engine) -> None:
    decision = open_vote(chat)
    with bot_session(engine, REGISTRY) as s:
        row = s.exec(select(Membership).where(Membership.member_id == cast.members["olga"])).first()
        row.role = Role.MEMBER  # type: ignore[union-attr]
        s.add(row)
    assert "Recorded" in text_of(vote(chat, "olga", decision, "agree"))


def test_devon_cannot_hand_his_vote_to_aisha_who_only_observes_the_steering_committee(
        chat: Chat, engine: Engine) -> None:
    """Issue 15, item 5, on the example initiative: proxies only between voters of the same group."""
    load_example(engine)
    opened = chat.as_("maria").say('/ci propose "Adopt the readiness measure" --group steering --closes 3d')
    assert "Decision #1" in opened.title, text_of(opened)
    refused = text_of(chat.as_("devon").say("/ci proxy 1 @aisha"))
    assert "Aisha Bello does not vote in" in refused and "Observers read and never act" in refused
    assert "not vote" in text_of(chat.as_("aisha").say("/ci vote 1 agree"))
    shown = text_of(chat.as_("devon").say("/ci decision 1"))
    assert "Votes so far: 0 agree" in shown and "Devon" not in shown  # nothing was counted for devon
    named = text_of(chat.as_("devon").say("/ci proxy 1 @olga"))  # olga votes in the steering committee
    assert "can now vote for you" in named
    assert "Also recorded for Devon" in text_of(chat.as_("olga").say("/ci vote 1 agree"))
