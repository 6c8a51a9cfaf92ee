"""Who may do what: every command, run by every kind of person through the real core, against the matrix.

The matrix comes from the `access=` each command declares (`bot.core.permissions`); the
README prints it. Here each command runs once per person on a fresh copy of the same
initiative (a steering committee with a meeting under way, an open decision, an agenda
item, an action, glossary terms and an indicator everyone reports), asked in the
steering committee's Slack channel. A refusal must be a refusal (not a crash or a typo
in the test); everything else must go through without any error.

The rules do not depend on the database, so this runs on SQLite copies (a fresh copy
per run keeps one person's change from deciding the next person's answer).
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from bot import cli
from bot.bootstrap import build_registry
from bot.core import core as core_module
from bot.core.clock import ManualClock
from bot.core.core import Core
from bot.core.errors import NotAllowed, NotRegistered, UserError
from bot.core.messages import Reply
from bot.core.permissions import Who, allowed, matrix
from bot.core.registry import Registry
from storage.db import make_engine
from tests.chat import Chat, text_of
from tests.conftest import START
from tests.factories import CAST, SLACK_TEAM, seed
from tests.measures_factory import add_indicators

README = Path(__file__).resolve().parent.parent / "README.md"
SLACK_USER = {Who.BACKBONE: "UMARIA", Who.CHAIR: "UJAMES", Who.MEMBER: "UAISHA", Who.OBSERVER: "UOLGA",
              Who.OTHER_GROUP: "ULENA", Who.OUTSIDER: "UNOBODY"}

# One invocation per command that an allowed person can run without any error.
RUN = {
    "action": "action @aisha Share the numbers due 2026-03-20",
    "action done": "action done 1",
    "actions": "actions",
    "agenda": "agenda",
    "agenda accept": "agenda accept 1",
    "agenda add": "agenda add Talk about the budget",
    "agenda defer": "agenda defer 1",
    "agenda done": "agenda done 1",
    "agenda order": "agenda order 1",
    "agenda remove": "agenda remove 1",
    "agreed": "agreed We fund the pilot",
    "attendance": "attendance steering",
    "decision": "decision 1",
    "decision close": "decision close 1",
    "decision extend": "decision extend 1 5d",
    "decision policy": "decision policy steering --remind 12",
    "decision review": "decision review 1 2026-09-01",
    "decision withdraw": "decision withdraw 1 Not needed any more",
    "decisions": "decisions",
    "digest": "digest",
    "digest every": "digest every month",
    "email": "email off",
    "glossary": "glossary backbone",
    "glossary add": "glossary add Family voice = Parents shape decisions.",
    "glossary approve": "glossary approve data walk",
    "glossary edit": "glossary edit backbone = The team that supports the partners.",
    "glossary history": "glossary history backbone",
    "glossary list": "glossary list",
    "glossary misses": "glossary misses",
    "help": "help",
    "here": "here",
    "indicator add": 'indicator add visits "Home visits" --unit count',
    "indicator set": 'indicator set enrolled "Children enrolled in pre-K"',
    "indicators": "indicators",
    "info": "info The budget is due",
    "meeting add": 'meeting add data "Data WG" every 2 weeks on wed at 15:00',
    "meeting calendar": "meeting calendar rotate steering",
    "meeting end": "meeting end",
    "meeting move": "meeting move 2026-03-09 to 2026-03-10 10:00",
    "meeting pause": "meeting pause",
    "meeting resume": "meeting resume",
    "meeting skip": "meeting skip 2026-03-09",
    "meeting start": "meeting start",
    "meetings": "meetings",
    "minutes": "minutes",
    "outcome": "outcome 2 We go ahead with the measure.",
    "progress": "progress enrolled",
    "publish": "publish",
    "publish off": "publish off glossary",
    "publish on": "publish on glossary",
    "propose": 'propose "Fund the pilot" --closes 3d',
    "proxy": "proxy 1 @{other_voter}",
    "regrets": "regrets 2026-03-09 Travelling",
    "rollup": "rollup",
    "status": "status",
    "submissions": "submissions enrolled",
    "submit": "submit enrolled 120{for_partner}",
    "undo": "undo",
    "vote": "vote 1 agree",
}
BEFORE_THE_MEETING = {"meeting start", "meeting pause", "meeting resume", "meeting skip", "meeting move", "regrets"}
OTHER_VOTER = {Who.CHAIR: "aisha"}  # whom each person names as proxy: another voter ("james" otherwise)


class Initiative:
    """Snapshots of the sample initiative to copy for each run: before, during and after the steering meeting."""

    def __init__(self, folder: Path, template: Path, registry: Registry) -> None:
        self.registry = registry
        self.before = folder / "before.db"
        self.during = folder / "during.db"
        shutil.copy(template, self.before)
        engine = make_engine(f"sqlite:///{self.before}")
        self._prepare(engine)
        engine.dispose()
        shutil.copy(self.before, self.during)
        engine = make_engine(f"sqlite:///{self.during}")
        maria, james = self.chat(engine, "UMARIA"), self.chat(engine, "UJAMES")
        for chat, text in ((james, "meeting start"), (maria, "action @aisha Send the file"),
                           (maria, "info Notes are shared"), (james, "info The chair was late"),
                           (self.chat(engine, "UAISHA"), "info Aisha's note")):
            _must_pass(chat, text)
        engine.dispose()
        self.after = folder / "after.db"
        shutil.copy(self.during, self.after)
        engine = make_engine(f"sqlite:///{self.after}")
        _must_pass(self.chat(engine, "UJAMES"), "meeting end")
        engine.dispose()
        paused = folder / "paused.db"
        shutil.copy(self.before, paused)
        self.paused = paused
        engine = make_engine(f"sqlite:///{paused}")
        _must_pass(self.chat(engine, "UMARIA"), "meeting pause")
        engine.dispose()

    def chat(self, engine: Engine, user: str) -> Chat:
        core = Core(engine, self.registry, ManualClock(START))
        return Chat(core, platform="slack", user_id=user, channel_id="CSTEER", team_id=SLACK_TEAM)

    def _prepare(self, engine: Engine) -> None:
        cast = seed(engine)
        add_indicators(engine, cast, enrolled={"reporters": [(key, "") for key in CAST]})
        maria = self.chat(engine, "UMARIA")
        preview = maria.say('meeting add steering "Steering" every week on mon at 9:30')
        assert preview.buttons, text_of(preview)
        assert isinstance(maria.click(preview.buttons[0]), Reply)
        james = self.chat(engine, "UJAMES")  # the chair proposes; proposer or backbone record outcomes
        for chat, text in ((james, 'propose "Adopt the readiness measure" --closes 3d'),
                           (james, 'propose "Hire a data analyst" --closes 3d'), (maria, "decision close 2"),
                           (maria, "agenda add Review the data"),
                           (maria, "glossary add Backbone = The staff."),
                           (self.chat(engine, "ULENA"), "glossary add Data walk = Looking at data together.")):
            _must_pass(chat, text)

    def run(self, folder: Path, command: str, who: Who) -> str:
        """"allowed", "refused", or what else went wrong, when `who` runs `command` on a fresh copy."""
        snapshot = (self.paused if command == "meeting resume" else self.after if command == "minutes" else
                    self.before if command in BEFORE_THE_MEETING else self.during)
        copy = folder / f"{command.replace(' ', '-')}-{who.name}.db"
        shutil.copy(snapshot, copy)
        engine = make_engine(f"sqlite:///{copy}")
        try:
            text = RUN[command].format(other_voter=OTHER_VOTER.get(who, "james"),
                                       for_partner=' --for "Parents Together"' if who == Who.BACKBONE else "")
            return _outcome(self.chat(engine, SLACK_USER[who]), text)
        finally:
            engine.dispose()


_raised: list[UserError] = []


@pytest.fixture(scope="module")
def initiative(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Initiative]:
    original = core_module.error_reply

    def remembering(error: UserError, markup):  # the reply stays the core's own; we note why
        _raised.append(error)
        return original(error, markup)

    core_module.error_reply = remembering
    try:
        yield Initiative(tmp_path_factory.mktemp("permissions"), sqlite_template, build_registry())
    finally:
        core_module.error_reply = original


def _outcome(chat: Chat, text: str) -> str:
    _raised.clear()
    reply = chat.say(text)
    if not _raised:
        return "allowed" if "Something went wrong" not in reply.title else f"crashed: {text_of(reply)}"
    error = _raised[0]
    return "refused" if isinstance(error, NotAllowed | NotRegistered) else f"error: {error.message}"


def _must_pass(chat: Chat, text: str) -> None:
    assert _outcome(chat, text) == "allowed", (text, _raised and _raised[0].message)


def test_every_command_has_an_invocation() -> None:
    missing = sorted(c.name for c in build_registry().commands.values() if c.name not in RUN)
    assert not missing, f"add a line to RUN in tests/test_permissions.py for: {', '.join(missing)}"


@pytest.mark.parametrize("command", sorted(RUN))
def test_each_person_is_allowed_or_refused_as_the_matrix_says(
        initiative: Initiative, tmp_path: Path, command: str) -> None:
    declared = initiative.registry.commands.get(tuple(command.split()))
    assert declared is not None, f"/ci {command} is in RUN but no longer registered: remove its line"
    seen = {who: initiative.run(tmp_path, command, who) for who in Who}
    expected = {who: "allowed" if allowed(declared.access, who) else "refused" for who in Who}
    assert seen == expected, f"/ci {command} declared {declared.access.value}"


def test_observers_never_act_and_outsiders_only_read() -> None:
    for command in build_registry().commands.values():
        if command.access.acting:
            assert not allowed(command.access, Who.OBSERVER), command.name
        assert allowed(command.access, Who.OUTSIDER) == (command.access.value == "anyone"), command.name


def test_the_readme_prints_the_matrix_the_registry_makes(capsys: pytest.CaptureFixture[str]) -> None:
    cli.permissions()
    printed = capsys.readouterr().out
    assert printed == matrix(build_registry())
    found = re.search(r"<!-- permissions -->\n(.*?)<!-- /permissions -->", README.read_text(encoding="utf-8"), re.S)
    assert found, "README.md has no <!-- permissions --> section"
    assert found.group(1) == printed, "the README's matrix is out of date: paste the output of `cibot permissions`"
