"""`cibot slack link`: a backbone volunteer fills in Slack ids from emails and channel names, not by hand."""

from __future__ import annotations

from pathlib import Path

import yaml
from sqlmodel import Session, select

from storage.db import make_engine
from storage.initiative import ChannelBinding, PlatformIdentity
from storage.models import Group, Member
from tests.fake_slack_api import TEAM_ID, FakeSlackApi
from tests.process_helpers import cibot

INITIATIVE = """\
# Our collective. Keep this comment.
initiative:
  slug: small
  name: Small Collective
  timezone: America/Chicago
groups:
  - key: steering  # decides
    name: Steering committee
    kind: steering
    members:
      ana: chair
      bo: member
  - key: data
    name: Data Working Group
    kind: working_group
    channels:
      discord: {guild: 981234567890123456, channel: 981234567890200003}
    members:
      bo: chair
  - key: families
    name: Families
    kind: working_group
    members:
      ana: member
members:
  - key: ana
    name: Ana Ruiz
    email: ana@example.org
  - key: bo  # the funder
    name: Bo Park
    email: bo@example.org
"""


def run_link(db: str, slack: FakeSlackApi, *args: str) -> tuple[int, str, str]:
    done = cibot("slack", "link", *args, db=db, SLACK_BOT_TOKEN="xoxb-test", SLACK_API_URL=slack.api_url)
    return done.returncode, done.stdout, done.stderr


def test_members_and_channels_are_found_shown_then_saved_and_written_back(db_url: str, tmp_path: Path) -> None:
    path = tmp_path / "initiative.yaml"
    path.write_text(INITIATIVE, encoding="utf-8")
    assert cibot("load", str(path), db=db_url).returncode == 0
    with FakeSlackApi() as slack:
        slack.users_by_email = {"ana@example.org": "UANA123"}
        slack.channels = [{"id": "CRANDOM", "name": "random"}, {"id": "CSTEER", "name": "steering"},
                          {"id": "CDATA", "name": "data-working-group"}]
        code, shown, _ = run_link(db_url, slack)
        assert code == 0
        assert "member ana: Slack user UANA123 (email ana@example.org)" in shown
        assert "not found: member bo: no Slack user has the email bo@example.org" in shown
        assert f"group steering: channel #steering (CSTEER) in workspace {TEAM_ID}" in shown
        assert "group data: channel #data-working-group (CDATA)" in shown  # found by its name, on page 2
        assert "not found: group families: no channel named #families" in shown
        assert "Nothing saved yet" in shown
        assert _linked(db_url) == (set(), set())

        code, saved, _ = run_link(db_url, slack, "--apply", "--write-yaml", str(path))
        assert code == 0 and "saved 3 link(s)" in saved and f"wrote 3 link(s) into {path}" in saved
        assert _linked(db_url) == ({("ana", "UANA123")}, {("steering", TEAM_ID, "CSTEER"), ("data", TEAM_ID, "CDATA")})
        code, again, _ = run_link(db_url, slack)  # nothing left to link but what Slack does not know
        assert "member ana" not in again and "group steering" not in again

    text = path.read_text(encoding="utf-8")
    assert text.startswith("# Our collective. Keep this comment.\n") and "  - key: bo  # the funder\n" in text
    written = yaml.safe_load(text)
    assert written["members"][0]["slack"] == "UANA123" and "slack" not in written["members"][1]
    groups = {g["key"]: g for g in written["groups"]}
    assert groups["steering"]["channels"] == {"slack": {"team": TEAM_ID, "channel": "CSTEER"}}
    assert groups["data"]["channels"]["slack"] == {"team": TEAM_ID, "channel": "CDATA"}
    assert groups["data"]["channels"]["discord"]["channel"] == 981234567890200003
    reloaded = cibot("load", str(path), db=db_url)
    assert reloaded.returncode == 0, reloaded.stderr
    assert _linked(db_url)[0] == {("ana", "UANA123")}  # the file and the database agree


def test_a_missing_scope_is_explained(db_url: str, tmp_path: Path) -> None:
    path = tmp_path / "initiative.yaml"
    path.write_text(INITIATIVE, encoding="utf-8")
    assert cibot("load", str(path), db=db_url).returncode == 0
    with FakeSlackApi() as slack:
        slack.fail("users.lookupByEmail", "missing_scope")
        code, _, error = run_link(db_url, slack, "--apply")
    assert code == 2 and "users:read.email" in error and "reinstall the app" in error
    assert _linked(db_url) == (set(), set())


def _linked(db: str) -> tuple[set[tuple[str, str]], set[tuple[str, str, str]]]:
    engine = make_engine(db)
    with Session(engine) as session:
        users = {(m.key, i.platform_user_id) for i, m in session.exec(
            select(PlatformIdentity, Member).where(PlatformIdentity.member_id == Member.id,
                                                   PlatformIdentity.platform == "slack")).all()}
        channels = {(g.key, b.team_id, b.channel_id) for b, g in session.exec(
            select(ChannelBinding, Group).where(ChannelBinding.group_id == Group.id,
                                                ChannelBinding.platform == "slack")).all()}
    engine.dispose()
    return users, channels
