"""An audit log nobody can quietly cut or rewrite (issue 12, reproduction 4).

A steering vote is held and closed with CIBOT_AUDIT_KEY set; the bot posts the chain's
head to the backbone channel. Then someone with database access but not the key tries
each attack; `cibot audit verify` (run in process on SQLite and PostgreSQL) exits
non-zero and names what it found.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from click.testing import Result
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select
from typer.testing import CliRunner

from bot.bootstrap import build_registry
from bot.cli import app
from bot.core.registry import bot_session
from bot.decisions.audit_head import DAILY, JOB
from bot.decisions.jobs import close_vote
from storage.audit import AuditEvent, event_hash
from storage.audit_chain import last_posted_head
from storage.decisions import Decision
from tests.chat import Chat, text_of
from tests.decision_helpers import posts_of, vote
from tests.factories import Seeded, append_only_guard_lifted, seed
from tests.meeting_helpers import outbox_text

KEY = "correct horse battery staple"


@dataclass
class Story:
    """A closed vote on a keyed chain, and how to run `cibot` on its database."""

    engine: Engine
    url: str
    decision_id: int
    cast: Seeded

    def cibot(self, *args: str, key: str | None = KEY) -> Result:
        """Run `cibot ARGS` in process on this database, with or without the audit key."""
        env = {"DATABASE_URL": self.url, "CIBOT_AUDIT_KEY": key or "", "CIBOT_AUDIT_KEY_FILE": ""}
        return CliRunner().invoke(app, list(args), env=env)

    def events(self) -> list[AuditEvent]:
        with Session(self.engine) as s:
            return list(s.exec(select(AuditEvent).order_by(col(AuditEvent.id))).all())


@pytest.fixture
def story(engine: Engine, db_url: str, chat: Chat, monkeypatch: pytest.MonkeyPatch) -> Iterator[Story]:
    """Maria opens a vote, James agrees and Aisha disagrees, the vote closes: all with the key set."""
    monkeypatch.setenv("CIBOT_AUDIT_KEY", KEY)
    cast = seed(engine)
    reply = chat.as_("maria").say('/ci propose "Adopt the readiness measure" --closes 3d')
    assert "Decision #" in reply.title, text_of(reply)
    with Session(engine) as s:
        decision = s.exec(select(Decision)).one()
    vote(chat, "james", decision, "agree")
    vote(chat, "aisha", decision, "disagree")
    with bot_session(engine, chat.core.registry) as s:
        close_vote(s, decision.closes_at, decision.id)  # type: ignore[arg-type]
    yield Story(engine, db_url, decision.id, cast)  # type: ignore[arg-type]


def tamper(engine: Engine, sql: str, **params: object) -> None:
    """Run `sql` as someone with raw database access (the audit table's guard lifted)."""
    with append_only_guard_lifted(engine) as raw:
        raw.execute(text(sql), params)


def test_the_head_is_posted_to_the_backbone_after_a_close_and_verify_passes(story: Story) -> None:
    head = story.events()[-1]
    posts = posts_of(story.engine, "audit:head:")
    assert {p.channel_id for p in posts} == {"CBACK", "900000000000000000"}  # the backbone's channels
    assert head.hash in outbox_text(posts[0]) and f"cibot audit verify --head {head.hash}" in outbox_text(posts[0])
    with Session(story.engine) as s:
        assert last_posted_head(s) == (head.id, head.hash)
    ok = story.cibot("audit", "verify")
    assert ok.exit_code == 0, ok.output
    assert f"checked against the head {head.hash} (posted by the bot for event {head.id})" in ok.stdout
    assert "keyed with CIBOT_AUDIT_KEY" in ok.stdout and "every decision, vote and ballot row matches" in ok.stdout


def test_a_daily_job_posts_the_head_when_it_has_moved(story: Story, chat: Chat) -> None:
    registry = build_registry()
    assert [p.every for p in registry.periodic_jobs if p.job == JOB] == [DAILY]
    with bot_session(story.engine, registry) as s:
        assert registry.jobs[JOB](s) == 0  # the head posted at the close is still the head
    chat.as_("maria").say(f"/ci outcome {story.decision_id} Back to the data group")
    with bot_session(story.engine, registry) as s:
        assert registry.jobs[JOB](s) == 2  # the backbone's Slack and Discord channels
    with Session(story.engine) as s:
        assert last_posted_head(s) == (story.events()[-1].id, story.events()[-1].hash)


def test_a_whole_decision_life_replays_without_a_difference(story: Story, chat: Chat) -> None:
    """No false alarms: extensions, changed and proxy votes, secret ballots, withdrawals, outcomes, reviews."""
    maria = chat.as_("maria")
    maria.say('/ci propose "Second" --closes 3d')
    maria.say('/ci propose "Third" --closes 3d --anonymous yes')
    maria.say('/ci propose "Fourth" --closes 3d')
    assert "now closes" in text_of(maria.say("/ci decision extend 2 2d"))
    assert "can now vote for you" in text_of(chat.as_("aisha").say("/ci proxy 2 @james"))
    chat.as_("james").say("/ci vote 2 agree looks right")
    assert "Also recorded for Aisha" in text_of(chat.as_("james").say("/ci vote 2 disagree changed my mind"))
    chat.as_("james").say("/ci vote 3 agree quietly")
    chat.as_("aisha").say("/ci vote 3 disagree")
    assert "closed early: Did not pass." in text_of(maria.say("/ci decision close 3"))  # a 1-1 tie
    assert "withdrawn" in text_of(maria.say("/ci decision withdraw 4 Superseded"))
    maria.say(f"/ci outcome {story.decision_id} Back to the data group")
    assert "will come up for review" in text_of(maria.say(f"/ci decision review {story.decision_id} 2026-09-01"))
    ok = story.cibot("audit", "verify")
    assert ok.exit_code == 0, ok.output


def test_deleting_the_newest_event_is_found_by_the_posted_head(story: Story) -> None:
    last = story.events()[-1]
    tamper(story.engine, "DELETE FROM auditevent WHERE id = :i", i=last.id)
    broken = story.cibot("audit", "verify")
    assert broken.exit_code == 1
    assert f"The head {last.hash} is not in the chain" in broken.stderr and "cut" in broken.stderr
    explicit = story.cibot("audit", "verify", "--head", last.hash)
    assert explicit.exit_code == 1 and "cut" in explicit.stderr


def test_deleting_every_event_is_found(story: Story) -> None:
    tamper(story.engine, "DELETE FROM auditevent")
    broken = story.cibot("audit", "verify")
    assert broken.exit_code == 1
    assert "is not in the chain" in broken.stderr
    assert "Decision #1 has no event in the log" in broken.stderr


def test_an_event_edited_and_the_chain_recomputed_without_the_key_is_found(story: Story) -> None:
    events = story.events()
    target = next(e for e in events if e.kind == "decision.vote" and '"disagree"' in e.data)
    prev = next(e.hash for e in events if e.id == target.id - 1)  # type: ignore[operator]
    with append_only_guard_lifted(story.engine) as raw:  # rewrite the vote and every later link, as SHA-256
        for event in (e for e in events if e.id >= target.id):  # type: ignore[operator]
            if event.id == target.id:
                event.data = event.data.replace('"disagree"', '"agree"')
            event.prev_hash = prev
            event.hash = event_hash(prev, event)
            raw.execute(text("UPDATE auditevent SET data = :d, prev_hash = :p, hash = :h WHERE id = :i"),
                        {"d": event.data, "p": event.prev_hash, "h": event.hash, "i": event.id})
            prev = event.hash
    broken = story.cibot("audit", "verify")
    assert broken.exit_code == 1
    assert f"BROKEN at event {target.id}" in broken.stderr and "without the key" in broken.stderr


def test_a_chain_rebuilt_from_scratch_without_the_key_is_found(story: Story) -> None:
    events = story.events()
    prev = ""
    with append_only_guard_lifted(story.engine) as raw:
        for event in events:
            event.prev_hash, event.hash = prev, event_hash(prev, event)
            raw.execute(text("UPDATE auditevent SET prev_hash = :p, hash = :h WHERE id = :i"),
                        {"p": event.prev_hash, "h": event.hash, "i": event.id})
            prev = event.hash
    broken = story.cibot("audit", "verify")
    assert broken.exit_code == 1
    assert "no event is linked with it" in broken.stderr and "is not in the chain" in broken.stderr


def test_a_vote_row_edited_directly_is_found(story: Story) -> None:
    aisha = story.cast.members["aisha"]
    tamper(story.engine, "UPDATE decisionvote SET choice = 'agree' WHERE member_id = :m", m=aisha)
    tamper(story.engine, "UPDATE decision SET status = 'passed'")
    broken = story.cibot("audit", "verify")
    assert broken.exit_code == 1
    assert (f"Decision #{story.decision_id}, vote of member {aisha}: the table has agree but the log has disagree"
            in broken.stderr)
    assert "status is 'passed' in the table but 'failed' in the log" in broken.stderr


def test_without_the_key_verify_says_the_chain_cannot_be_checked(story: Story) -> None:
    out = story.cibot("audit", "verify", key=None)
    assert out.exit_code == 1 and "set CIBOT_AUDIT_KEY to check it" in out.stderr


def test_a_plain_chain_still_verifies_and_is_sealed_once_a_key_is_set(
        engine: Engine, db_url: str, chat: Chat, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CIBOT_AUDIT_KEY", raising=False)
    monkeypatch.delenv("CIBOT_AUDIT_KEY_FILE", raising=False)
    story = Story(engine, db_url, 1, seed(engine))
    chat.as_("maria").say('/ci propose "Adopt it" --closes 3d')
    before = len(story.events())
    plain = story.cibot("audit", "verify", key=None)
    assert plain.exit_code == 0, plain.output
    assert "links are plain hashes: no CIBOT_AUDIT_KEY is set" in plain.stdout
    unsealed = story.cibot("audit", "verify")
    assert unsealed.exit_code == 1 and "cibot audit seal" in unsealed.stderr
    sealed = story.cibot("audit", "seal")
    assert sealed.exit_code == 0 and "is linked with the key" in sealed.stdout
    ok = story.cibot("audit", "verify")
    assert ok.exit_code == 0, ok.output
    assert f"(1 keyed, {before} plain from before the key)" in ok.stdout


def test_the_key_can_come_from_a_file(story: Story, tmp_path: pytest.TempPathFactory) -> None:
    path = tmp_path / "audit.key"  # type: ignore[operator]
    path.write_text(KEY + "\n")
    env = {"DATABASE_URL": story.url, "CIBOT_AUDIT_KEY": "", "CIBOT_AUDIT_KEY_FILE": str(path)}
    assert CliRunner().invoke(app, ["audit", "verify"], env=env).exit_code == 0
    missing = CliRunner().invoke(app, ["audit", "verify"], env={**env, "CIBOT_AUDIT_KEY_FILE": str(path) + ".x"})
    assert missing.exit_code == 2 and "cannot be read" in missing.stderr
