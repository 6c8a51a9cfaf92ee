"""Running a meeting: notes, actions (by key, name or platform mention), undo, minutes and carry-over."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from sqlalchemy.engine import Engine

from bot.core.clock import ManualClock
from tests.chat import Chat, text_of
from tests.factories import SLACK_TEAM, seed
from tests.meeting_helpers import add_series, outbox, outbox_text

MEETING = datetime(2026, 3, 10, 15, 0, tzinfo=UTC)  # Tue 10 Mar 10:00 in Chicago


def _in_meeting(chat: Chat, engine: Engine, clock: ManualClock) -> None:
    seed(engine)
    add_series(chat, "steering", "Steering", "monthly on 2nd tue at 10:00")
    chat.as_("aisha").say("/ci agenda add Data sharing agreement --group steering --kind decision")
    chat.as_("aisha").say("/ci agenda add Parent survey --group steering")
    chat.as_("maria").say("/ci agenda accept 1")
    chat.as_("maria").say("/ci agenda accept 2")
    chat.as_("maria").say("/ci agenda done 2")
    clock.set(MEETING)
    started = chat.as_("james").say("/ci meeting start")
    assert "has started" in text_of(started), text_of(started)


def test_nothing_is_recorded_without_a_meeting_in_progress(chat: Chat, engine: Engine, clock: ManualClock) -> None:
    seed(engine)
    add_series(chat, "steering", "Steering", "monthly on 2nd tue at 10:00")
    assert "no meeting in progress" in text_of(chat.as_("james").say("/ci agreed Something"))
    assert "no meeting within 12 hours" in text_of(chat.as_("james").say("/ci meeting start"))
    assert "The next one is Tue 10 Mar 2026 10:00" in text_of(chat.as_("james").say("/ci meeting start"))


def test_a_meeting_from_start_to_minutes(chat: Chat, engine: Engine, clock: ManualClock) -> None:
    _in_meeting(chat, engine, clock)
    james = chat.as_("james")
    assert "already in progress" in text_of(james.say("/ci meeting start"))
    chat.as_("aisha").say("/ci here --group steering")
    chat.as_("olga").say("/ci regrets 2026-03-10 at a conference")  # late regrets still count
    james.say("/ci agreed Adopt the shared indicator list")
    assert "Action #1 for Tom Nguyen" in text_of(james.say("/ci action @tom Share the attendance file due mar 20"))
    james.say("/ci action Aisha Draft the data sharing memo")
    assert "Removed your last line (action): Draft the data sharing memo" in text_of(james.say("/ci undo"))
    james.say("/ci action aisha Draft the memo, properly this time")
    james.say("/ci info Budget arrives in April <!channel>")
    assert "nothing to undo" in text_of(chat.as_("aisha").say("/ci undo --group steering"))
    assert "Only the Steering committee's chair" in text_of(chat.as_("aisha").say("/ci meeting end --group steering"))
    minutes = text_of(james.say("/ci meeting end"))
    assert "Present: Aisha Bello, James Carter" in minutes
    assert "Regrets: Olga Petrova (at a conference)" in minutes
    assert "Absent: Maria Lopez" in minutes
    assert "Agreed\n- Adopt the shared indicator list" in minutes
    assert re.search(r"Actions\nAisha Bello:\n  #\d+ Draft the memo, properly this time\n"
                     r"Tom Nguyen:\n  #1 Share the attendance file \(due Fri 20 Mar 2026\)\n", minutes), minutes
    assert "Draft the data sharing memo" not in minutes
    assert "For information\n- Budget arrives in April <!channel>" in minutes  # console shows it as typed
    assert "1 unfinished agenda item carried over" in minutes
    posted = outbox(engine, "meeting.minutes")
    assert len(posted) == 1 and posted[0].channel_id == "CSTEER"
    assert "*Agreed*" in outbox_text(posted[0])
    assert "Budget arrives in April &lt;!channel&gt;" in outbox_text(posted[0])  # inert in Slack
    assert len(outbox(engine, "meeting.minutes", platform="discord")) == 1
    kept = text_of(chat.as_("olga").say("/ci minutes"))
    assert "Adopt the shared indicator list" in kept and "Minutes: Steering committee, Steering" in kept
    assert "no meeting in progress" in text_of(james.say("/ci agreed Too late"))


def test_unfinished_items_carry_over_and_actions_stay_open(chat: Chat, engine: Engine, clock: ManualClock) -> None:
    _in_meeting(chat, engine, clock)
    chat.as_("james").say("/ci action tom Share the attendance file")
    chat.as_("james").say("/ci meeting end")
    draft = text_of(chat.as_("maria").say("/ci agenda --group steering"))
    assert "Tue 14 Apr 2026 10:00" in draft
    assert "#3 Data sharing agreement (decision, Aisha Bello) · carried over" in draft
    assert "Parent survey" not in draft  # it was done
    mine = chat.as_("tom").say("/ci actions")
    assert "#1 Share the attendance file · Steering committee" in text_of(mine)
    assert "belongs to someone else" in text_of(chat.as_("aisha").say("/ci action done 1"))
    assert "is done" in text_of(chat.as_("tom").click(mine.buttons[0]))
    assert "already done" in text_of(chat.as_("tom").say("/ci action done 1"))
    assert "no open action items" in text_of(chat.as_("tom").say("/ci actions"))


def test_actions_name_people_by_mention_and_refuse_bad_input(chat: Chat, engine: Engine, clock: ManualClock) -> None:
    _in_meeting(chat, engine, clock)
    slack = Chat(chat.core, platform="slack", user_id="UJAMES", channel_id="CSTEER", team_id=SLACK_TEAM)
    assert "Action #1 for *Tom Nguyen*" in text_of(slack.say("/ci action <@UTOM> Send the file"))
    discord = Chat(chat.core, platform="discord", user_id="100000000000000002", channel_id="900000000000000001",
                   team_id="800000000000000001")
    assert "for **Lena Fischer**" in text_of(discord.say("/ci action <@!100000000000000005> Invite parents"))
    james = chat.as_("james")
    assert "not a member of this initiative" in text_of(slack.say("/ci action <@UNOBODY> Anything"))
    assert "There is no member “zed”" in text_of(james.say("/ci action @zed Anything"))
    assert "is in the past" in text_of(james.say("/ci action tom Anything due 2026-03-01"))
    assert "Say when it is due" in text_of(james.say("/ci action tom Anything due"))
    assert "February has no day 30" in text_of(james.say("/ci action tom Anything due feb 30"))
    assert "Review the due diligence report." in text_of(james.say("/ci action tom Review the due diligence report"))
    assert "Please name who does it and what" in text_of(james.say("/ci action tom"))


def test_the_home_page_shows_next_meetings_and_open_actions(chat: Chat, engine: Engine, clock: ManualClock) -> None:
    _in_meeting(chat, engine, clock)
    chat.as_("james").say("/ci action james Share the attendance file due 2026-03-11")
    clock.set(datetime(2026, 3, 12, 15, 0, tzinfo=UTC))
    home = chat.core.home_sync(chat.as_("james").origin)
    titles = [r.title for r in home.replies]
    assert "Your next meetings" in titles and "Your open action items" in titles
    actions = home.replies[titles.index("Your open action items")]
    assert "Share the attendance file · Steering committee · due Wed 11 Mar 2026 (overdue)" in text_of(actions)
    assert [b.label for b in actions.buttons] == ["Done #1"]
    assert "Your open action items" not in [r.title for r in chat.core.home_sync(chat.as_("lena").origin).replies]


def test_owners_are_told_of_their_actions_by_direct_message(chat: Chat, engine: Engine, clock: ManualClock) -> None:
    _in_meeting(chat, engine, clock)
    james = chat.as_("james")
    james.say("/ci action tom Share the attendance file due mar 20")
    james.say("/ci action aisha Draft the memo")
    james.say("/ci undo")  # taken back before the end: Aisha hears nothing of it
    james.say("/ci action james Book the room")  # his own: no message to himself
    assert outbox(engine, "meeting.actions") == []  # nothing until the meeting ends
    james.say("/ci meeting end")
    told = outbox(engine, "meeting.actions")
    assert [(m.user_id, m.channel_id) for m in told] == [("UTOM", "")]
    assert "At the Steering committee meeting “Steering”, you were given:\n#1 Share the attendance file " \
           "(due Fri 20 Mar 2026) · from James Carter" in outbox_text(told[0])
    assert len(outbox(engine, "meeting.actions", platform="discord")) == 1
    chat.as_("maria").say("/ci action olga Send the funder report --group steering")  # outside a meeting: at once
    told = outbox(engine, "action.assigned")
    assert len(told) == 1 and "Send the funder report" in outbox_text(told[0]) and told[0].user_id == "UOLGA"
    draft = text_of(chat.as_("maria").say("/ci agenda --group steering"))
    assert "Open action items" in draft and "Olga Petrova: Send the funder report" in draft
