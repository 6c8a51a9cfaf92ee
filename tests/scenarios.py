"""End-to-end stories, written once and played on every platform adapter.

Each adapter's tests implement a `Driver` that turns the steps into that platform's
real traffic (signed Slack HTTP requests, Discord interaction payloads) and reads back
what a person would see. If the adapters drift apart, one of them fails this story.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from sqlalchemy.engine import Engine

from bot.glossary.book import TermEntry, upsert_terms
from storage.db import session_scope
from tests.factories import Seeded, seed


@dataclass
class Seen:
    """What a person sees after a step: the message text, its buttons, or form errors."""

    text: str = ""
    buttons: list[str] = field(default_factory=list)
    form_fields: list[str] = field(default_factory=list)  # names of a form that opened
    errors: dict[str, str] = field(default_factory=dict)  # field name -> message


@dataclass(frozen=True)
class Say:
    """`user` types `/ci TEXT`; the reply must contain every string in `expect`."""

    user: str
    text: str
    expect: tuple[str, ...] = ()
    buttons: tuple[str, ...] = ()
    absent: tuple[str, ...] = ()


@dataclass(frozen=True)
class Click:
    """`user` clicks the button labelled `label` on the last message they saw."""

    user: str
    label: str
    expect: tuple[str, ...] = ()
    opens_form: tuple[str, ...] = ()


@dataclass(frozen=True)
class Submit:
    """`user` submits the open form with `values`; expect text or field errors."""

    user: str
    values: dict[str, str]
    expect: tuple[str, ...] = ()
    errors: tuple[str, ...] = ()


@dataclass(frozen=True)
class ClickPosted:
    """After a restart, `user` clicks `label` on the bot's newest post in the steering channel.

    The post is a message the bot sent on its own: the outbox delivers it through the
    platform's sender first, and a freshly started bot handles the click.
    """

    user: str
    label: str
    expect: tuple[str, ...] = ()
    opens_form: tuple[str, ...] = ()


Step = Say | Click | Submit | ClickPosted


class Driver(Protocol):
    """Plays steps on one platform as its users would."""

    async def say(self, user: str, text: str) -> Seen: ...

    async def click(self, user: str, label: str) -> Seen: ...

    async def submit(self, user: str, values: dict[str, str]) -> Seen: ...

    async def click_posted(self, user: str, label: str) -> Seen: ...


HOSTILE = "Partners agree <!channel> @everyone <@UJAMES> [click](https://evil.example) <https://evil.example|here>"


def prepare(engine: Engine) -> Seeded:
    """The sample initiative plus two glossary terms: one agreed, one proposed with hostile text."""
    seeded = seed(engine)
    with session_scope(engine) as session:
        upsert_terms(session, seeded.initiative_id, [
            TermEntry(term="Shared measurement", aliases=["shared measures"],
                      definition="Collecting data and measuring results consistently across partners."),
            TermEntry(term="Common agenda", definition=HOSTILE, status="proposed"),
        ])
    return seeded


GLOSSARY_STORY: tuple[Step, ...] = (
    Say("aisha", "glossary SHARED MEASURES", expect=("Shared measurement", "measuring results")),
    Say("maria", "glossary common agenda", expect=("Common agenda", "proposed"), buttons=("Approve",)),
    Click("maria", "Approve", expect=("agreed",)),
    Say("aisha", "glossary shared measurment", expect=("Did you mean", "Shared measurement"),
        buttons=("Propose a definition",)),
    Click("aisha", "Propose a definition", opens_form=("term", "definition")),
    Submit("aisha", {"term": "Collective impact", "definition": ""}, errors=("definition",)),
    Submit("aisha", {"term": "Collective impact",
                     "definition": "Partners from many sectors commit to a common agenda."},
           expect=("Collective impact", "proposed")),
    Say("lena", "glossary collective impact", expect=("common agenda",)),
)


REASON = "Partners <!here> @everyone asked for it"

# A steering decision that asks every voter for a reason: proposed inline, voted on from
# the card the outbox posted in the channel (after a restart) and from a card asked for.
DECISION_STORY: tuple[Step, ...] = (
    Say("maria", 'propose "Adopt the readiness measure" --closes 3d --reasons required',
        expect=("Decision #1", "Adopt the readiness measure", "Posted in Steering committee"),
        buttons=("Agree", "Abstain", "Disagree")),
    ClickPosted("aisha", "Agree", opens_form=("reason",)),
    Submit("aisha", {"reason": ""}, errors=("reason",)),
    Submit("aisha", {"reason": REASON}, expect=("Recorded: agree on decision #1",)),
    Say("james", "decision 1", expect=("1 agree · 0 abstain · 0 disagree", REASON), buttons=("Disagree",)),
    Click("james", "Disagree", opens_form=("reason",)),
    Submit("james", {"reason": "Too costly this year."}, expect=("Recorded: disagree",)),
    Say("lena", "decision 1", expect=("1 agree · 0 abstain · 1 disagree",)),
    Say("aisha", "vote 1 maybe", expect=("maybe",), absent=("Recorded",)),
)


async def play(driver: Driver, steps: tuple[Step, ...] = GLOSSARY_STORY) -> None:
    """Run `steps` on `driver`, failing with the step and what was seen when one does not hold."""
    for step in steps:
        if isinstance(step, Say):
            seen = await driver.say(step.user, step.text)
        elif isinstance(step, Click):
            seen = await driver.click(step.user, step.label)
        elif isinstance(step, ClickPosted):
            seen = await driver.click_posted(step.user, step.label)
        else:
            seen = await driver.submit(step.user, step.values)
        where = f"{step!r} saw {seen!r}"
        for snippet in getattr(step, "expect", ()):
            assert snippet.lower() in seen.text.lower(), where
        for snippet in getattr(step, "absent", ()):
            assert snippet.lower() not in seen.text.lower(), where
        for label in getattr(step, "buttons", ()):
            assert label in seen.buttons, where
        for name in getattr(step, "opens_form", ()):
            assert name in seen.form_fields, where
        for name in getattr(step, "errors", ()):
            assert name in seen.errors, where
