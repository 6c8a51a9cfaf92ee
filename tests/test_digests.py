"""Weekly and monthly digests: each group's week in one message, posted once, as the group may read it.

The sample cast (tests.factories) with its indicators (tests.measures_factory). The
clock starts on Monday 2 March 2026; the digest of that week (2026-W10) is posted on
Monday 9 March from 08:00 in Chicago. 2025-Q4 data was due in January and nobody sent it.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from bot.core.clock import ManualClock
from bot.core.core import Core
from bot.core.registry import bot_session
from bot.digests import digest
from bot.initiative_file import InitiativeFileError, load_initiative
from bot.runtime.scheduler import Scheduler
from storage.db import session_scope
from storage.decisions import Decision
from storage.models import Group, Member, Membership
from tests.chat import Chat, text_of
from tests.email_helpers import deliver, email_only, mailbox, parts
from tests.factories import seed
from tests.measures_factory import add_indicators
from tests.meeting_helpers import add_series, outbox, outbox_text
from tests.process_helpers import EXAMPLE

MAR_9 = datetime(2026, 3, 9, 13, 30, tzinfo=UTC)  # Monday 08:30 in Chicago (daylight time since Sunday)
HOSTILE = "<!channel> review <b>data</b> @everyone"


def tick(engine: Engine, core: Core, now: datetime) -> int:
    """Run the hourly digest job once at `now`, as the scheduler does; how many messages it queued."""
    with bot_session(engine, core.registry) as s:
        return digest.tick(s, now)


def posts(engine: Engine, channel: str) -> list[str]:
    return [outbox_text(m) for m in outbox(engine, "digest:") if m.channel_id == channel]


def a_week_of_work(engine: Engine, clock: ManualClock, chat: Chat) -> None:
    """Monday 2 March: a decision made, one open, a meeting series, an action item; Friday: an agenda item
    for the next meeting."""
    seeded = seed(engine)
    add_indicators(engine, seeded)
    email_only(engine, seeded, "aisha", "aisha@firststeps.example")
    tom = chat.as_("tom")
    assert "Adopt the shared intake form" in text_of(tom.say('/ci propose "Adopt the shared intake form" '
                                                             '--closes 2d --group data'))
    tom.say('/ci propose "Fund a data fellow" --closes 10d --group data')
    with Session(engine) as s:
        first = s.exec(select(Decision).where(Decision.title == "Adopt the shared intake form")).one()
    chat.as_("maria").say(f"/ci decision close {first.id}")
    add_series(chat, "data", "Data working group meeting", "weekly on thu at 10:00")
    assert "Send the intake form" in text_of(tom.say("/ci action @aisha Send the intake form due 2026-03-20 "
                                                      "--group data"))
    clock.set(datetime(2026, 3, 6, 15, 0, tzinfo=UTC))
    added = text_of(tom.say(f'/ci agenda add "{HOSTILE}" --group data'))
    item = next(w.strip("#.:") for w in added.split() if w.strip("#.:").isdigit())
    assert "is now accepted" in text_of(chat.as_("maria").say(f"/ci agenda accept {item}"))


async def test_each_group_gets_its_week_once_and_only_the_backbone_sees_names(
        engine: Engine, clock: ManualClock, core: Core, chat: Chat) -> None:
    a_week_of_work(engine, clock, chat)
    assert tick(engine, core, MAR_9 - timedelta(hours=1)) == 0  # 07:30 in Chicago: not yet
    clock.set(MAR_9)
    assert tick(engine, core, MAR_9) > 0
    [data] = posts(engine, "CDATA")
    assert "Data working group: digest for 2026-W10" in data
    assert "what happened from Mon 02 Mar 2026 to Sun 08 Mar 2026" in data
    assert "#1 Adopt the shared intake form: Not decided" in data
    assert "Fund a data fellow: vote closes Thu 12 Mar 2026" in data
    assert "Data working group meeting, Thu 12 Mar 2026 10:00" in data
    assert "&lt;!channel&gt; review &lt;b&gt;data&lt;/b&gt;" in data  # Slack: nothing pings, nothing formats
    assert "Send the intake form (Aisha Bello, due Fri 20 Mar 2026)" in data
    assert "Kindergarten readiness 2025-Q4: 0 of 3 partners submitted, late since" in data
    assert "waiting for" not in data and "Parents Together" not in data  # no partner named to the group
    [back] = posts(engine, "CBACK")
    assert "waiting for" in back and "Parents Together" in back and "Wait for developmental screening" in back
    [steering] = posts(engine, "CSTEER")
    assert "From the working groups" in steering and "Data working group" in steering
    assert "Decided: #1 Adopt the shared intake form" in steering
    assert "Open action: #1 Aisha Bello: Send the intake form" in steering
    assert "waiting for" not in steering and "Wait for developmental screening" not in steering  # backbone-only
    discord = [m for m in outbox(engine, "digest:", platform="discord") if m.channel_id == "900000000000000002"]
    assert len(discord) == 1

    # Another replica, a restart, the next hourly run: the same week is never posted again.
    assert tick(engine, core, MAR_9) == 0
    assert tick(engine, core, MAR_9 + timedelta(hours=5)) == 0
    assert len(posts(engine, "CDATA")) == 1


async def test_members_without_chat_get_the_digest_by_email_escaped(
        engine: Engine, clock: ManualClock, core: Core, chat: Chat) -> None:
    a_week_of_work(engine, clock, chat)
    clock.set(MAR_9)
    tick(engine, core, MAR_9)
    emailed = outbox(engine, "digest:", platform="email")
    with Session(engine) as s:
        aisha = s.exec(select(Member).where(Member.key == "aisha")).one()
    assert {m.key.split("@")[0] for m in emailed} == {
        f"digest:{g}:2026-W10" for g in _groups_of(engine, "aisha")}  # the data group's and the steering's
    assert {m.user_id for m in emailed} == {str(aisha.id)}
    with mailbox() as box:
        assert (await deliver(engine, clock, box.settings())).get("sent") == len(emailed)
        data = next(m for m in box.messages if m["Subject"] == "Data working group: digest for 2026-W10")
    text, html = parts(data)
    assert HOSTILE in text  # plain text shows it as typed
    assert "<b>data</b>" not in html and "&lt;b&gt;data&lt;/b&gt;" in html
    assert "Stop these digests" in html and "/unsubscribe/" in data["List-Unsubscribe"]


def _groups_of(engine: Engine, key: str) -> set[int]:
    with Session(engine) as s:
        member = s.exec(select(Member).where(Member.key == key)).one()
        return set(s.exec(select(Membership.group_id).where(Membership.member_id == member.id)).all())


async def test_the_backbone_sets_the_cadence_and_anyone_previews_their_group(
        engine: Engine, clock: ManualClock, core: Core, chat: Chat) -> None:
    a_week_of_work(engine, clock, chat)
    maria, tom = chat.as_("maria"), chat.as_("tom")
    assert "Data working group: a digest every month" in text_of(maria.say("/ci digest every month --group data"))
    assert "Digests are off for Family engagement working group" in text_of(
        maria.say("/ci digest every off --group families"))
    for bad in ("/ci digest every fortnight --group data", "/ci digest every", "/ci digest every week please"):
        said = text_of(maria.say(bad))
        assert "week, month or off" in said and "/ci digest every week|month|off" in said, bad
    assert "Only backbone staff" in text_of(tom.say("/ci digest every week --group data"))
    nope = text_of(maria.say("/ci digest every week --group nope"))
    assert "There is no group “nope”. Groups: backbone, data" in nope

    preview = tom.say("/ci digest --group data")
    assert preview.ephemeral and "Data working group: digest for 2026-02" in text_of(preview)
    assert "Posted every month." in text_of(preview)
    assert "not in the Backbone team" in text_of(tom.say("/ci digest --group backbone"))  # not theirs to read

    clock.set(MAR_9)
    tick(engine, core, MAR_9)
    assert posts(engine, "CDATA") == [] and posts(engine, "CFAM") == []  # monthly, and off
    april = datetime(2026, 4, 1, 14, 0, tzinfo=UTC)
    clock.set(april)
    tick(engine, core, april)
    [march] = posts(engine, "CDATA")
    assert "digest for 2026-03" in march and "Adopt the shared intake form" in march
    assert posts(engine, "CFAM") == []


async def test_the_scheduler_posts_the_digests_on_its_own(
        engine: Engine, clock: ManualClock, core: Core, chat: Chat) -> None:
    a_week_of_work(engine, clock, chat)
    scheduler = Scheduler(engine, clock, core.registry)
    scheduler.install(only=("digests",))
    await scheduler.start()
    try:
        assert scheduler.next_run("digests:tick") is not None
        scheduler.run_due(MAR_9 + timedelta(hours=3))
    finally:
        await scheduler.shutdown()
    assert len(posts(engine, "CDATA")) == 1 and len(posts(engine, "CSTEER")) == 1


def test_the_initiative_file_sets_a_groups_digest_and_refuses_a_wrong_one(engine: Engine, tmp_path: Path) -> None:
    text = EXAMPLE.read_text(encoding="utf-8")
    marker = "  - key: backbone\n    name: Backbone team\n    kind: backbone\n"
    assert marker in text
    monthly = tmp_path / "monthly.yaml"
    monthly.write_text(text.replace(marker, marker + "    digest: month\n"), encoding="utf-8")
    with session_scope(engine) as s:
        lines = load_initiative(s, monthly).lines()
    assert "digest cadences: 0 created, 1 updated (backbone: every month)" in " ".join(lines)
    with session_scope(engine) as s:
        backbone = s.exec(select(Group).where(Group.key == "backbone")).one()
        assert digest.cadence_of(s, backbone.id or 0) == "month"
        again = load_initiative(s, monthly).lines()
    assert "digest cadences: unchanged (1)" in again
    wrong = tmp_path / "wrong.yaml"
    wrong.write_text(text.replace(marker, marker + "    digest: fortnightly\n"), encoding="utf-8")
    with pytest.raises(InitiativeFileError) as raised, session_scope(engine) as s:
        load_initiative(s, wrong)
    assert "groups[0].digest" in str(raised.value) and "week" in str(raised.value) and "month" in str(raised.value)
