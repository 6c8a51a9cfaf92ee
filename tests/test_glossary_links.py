"""Glossary terms in agendas and other messages get a footnote with their definition, once, where it is safe."""

from __future__ import annotations

import re
import time
from datetime import timedelta

from sqlalchemy.engine import Engine

from bot.adapters.discord.dialect import DISCORD
from bot.adapters.slack.blocks import fallback_text, reply_blocks
from bot.adapters.slack.dialect import SLACK
from bot.bootstrap import build_registry
from bot.core.clock import ManualClock
from bot.core.messages import Field, Reply
from bot.core.notes import annotate
from bot.core.registry import bot_session
from bot.core.render import PLAIN, Dialect, Markup
from bot.glossary import links
from tests.chat import Chat, text_of
from tests.example_helpers import load_example
from tests.meeting_helpers import outbox, outbox_text, running_scheduler, walk

MARK = "[¹²³⁴⁵⁶⁷⁸⁹⁰]+"


def noted(engine: Engine, markup: Dialect, template: str, **values: object) -> Reply:
    """A one-section message rendered from `template` for `markup`, annotated in the example initiative."""
    with bot_session(engine, build_registry()) as session:
        text = markup.render_string(template, **values)
        return annotate(session, 1, Reply(sections=[text], context="Reply with /ci agenda add"), markup)


async def test_the_example_steering_agenda_links_the_terms_of_its_items(chat: Chat, engine: Engine,
                                                                        clock: ManualClock) -> None:
    start = load_example(engine)
    clock.set(start - timedelta(days=6))
    chat.as_("james").say("/ci agenda add Ask the BBO to draft a DSA with the school district "
                          "--group steering --kind decision --minutes 20")
    chat.as_("maria").say("/ci agenda accept 1")
    async with running_scheduler(engine, clock) as scheduler:
        walk(scheduler, engine, start)
    for platform in ("slack", "discord"):
        posted = [outbox_text(m) for m in outbox(engine, "meeting.agenda", platform=platform)]
        steering = next(text for text in posted if "Agenda: Steering committee" in text)
        bbo = re.search(f"the BBO({MARK}) to draft a DSA({MARK})", steering)
        assert bbo is not None, steering
        assert (f"\n{bbo[1]} BBO (backbone organization): The dedicated staff and organization that coordinate "
                "the initiative") in steering
        assert steering.count("— /ci glossary BBO") == 1
        assert f"\n{bbo[2]} DSA (data sharing agreement): A signed agreement" in steering
        assert steering.rstrip().endswith("Propose items with /ci agenda add · send regrets with /ci regrets")
        assert not re.search(f"Steering committee{MARK}", steering)  # the meeting's own facts carry no notes


def test_each_term_is_noted_once_as_a_whole_word(chat: Chat, engine: Engine) -> None:
    load_example(engine)
    reply = noted(engine, PLAIN, "{{ t }}", t="The BBO and the backbone organization: ask the BBO. "
                  "CIA budget, ci tools, CI partners. ToC review, toc. KPIs of the working groups.")
    text = reply.sections[0]
    assert re.fullmatch("The BBO¹ and the backbone organization: ask the BBO. CIA budget, ci tools, CI² partners. "
                        "ToC³ review, toc. KPIs⁴ of the working groups⁵.", text), text
    assert reply.context.splitlines() == [
        "¹ BBO (backbone organization): The dedicated staff and organization that coordinate the initiative: "
        "they convene… — /ci glossary BBO",
        "² CI (collective impact): A structured way for organizations from different sectors to solve a complex "
        "social… — /ci glossary CI",
        "³ ToC (theory of change): An explanation of how and why the initiative's strategies are expected to lead "
        "to the… — /ci glossary ToC",
        "⁴ KPI (key performance indicator): One of the few measures an organization or working group tracks most "
        "closely to judge its… — /ci glossary KPI",
        "⁵ working group: A team of partners working on one strategy of the action plan, such as family "
        "engagement… — /ci glossary working group",
        "Reply with /ci agenda add",
    ]


def test_the_longest_name_wins_and_proposed_terms_are_not_linked(chat: Chat, engine: Engine) -> None:
    load_example(engine)
    reply = noted(engine, SLACK, "{{ t }}", t="Map every child care desert with our theory of change and "
                  "early care and education partners")
    assert reply.sections[0] == ("Map every child care desert with our theory of change¹ and "
                                 "early care and education² partners")
    assert reply.context.splitlines()[1].startswith("² early care and education (early childhood education): ")


def test_no_note_inside_code_quotes_links_or_addresses(chat: Chat, engine: Engine) -> None:
    load_example(engine)
    template = ("{{ 'BBO'|code }} {{ quoted }} {{ link('https://example.org/shared-measurement', label) }} "
                "{{ address }}\n> {{ equity }}")
    values = {"quoted": "“common agenda” and \"logic model\"", "label": "the data walk",
              "address": "www.equity.example and baseline@riverbend.example", "equity": "equity for all"}
    for markup in (SLACK, DISCORD):
        reply = noted(engine, markup, template, **values)
        assert reply.context == "Reply with /ci agenda add", (markup.platform, reply.sections, reply.context)
    reply = noted(engine, SLACK, template + "\nThe BBO, the data walk and equity", **values)
    assert reply.sections[0].endswith("The BBO¹, the data walk² and equity³")


def test_user_text_that_looks_like_markup_is_not_mistaken_for_it(chat: Chat, engine: Engine) -> None:
    load_example(engine)
    typed = "`BBO` > shared measures &amp; Pre-K <!here> [DSA](https://evil.example)"
    slack = noted(engine, SLACK, "{{ t }}", t=typed).sections[0]
    assert slack == ("`BBO` &gt; shared measures¹ &amp;amp; Pre-K &lt;!here&gt; [DSA²](https://evil.example)")
    discord = noted(engine, DISCORD, "{{ t }}", t=typed).sections[0]  # escaped backticks are no code span there
    assert discord.startswith("\\`BBO¹\\` \\> shared measures² &amp; Pre\\-K \\<!here\\> \\[DSA³\\]")


def test_a_hostile_definition_stays_plain_text_in_the_footnote(chat: Chat, engine: Engine) -> None:
    load_example(engine)
    added = chat.as_("maria").say('/ci glossary add "parent café" = Gatherings <!channel> @everyone '
                                  "<https://evil.example|click> for parents")
    assert "parent café" in text_of(added)
    reply = noted(engine, SLACK, "{{ t }}", t="Plan the spring Parent Cafes")
    assert reply.sections[0] == "Plan the spring Parent Cafes¹"
    context = [b for b in reply_blocks(reply) if b["type"] == "context"][0]["elements"][0]
    assert context["type"] == "plain_text" and "<!channel> @everyone <https://evil.example|click>" in context["text"]
    assert "&lt;!channel&gt;" in fallback_text(reply) and "<!channel>" not in fallback_text(reply)


def test_fields_are_noted_and_a_message_without_terms_is_unchanged(chat: Chat, engine: Engine) -> None:
    load_example(engine)
    with bot_session(engine, build_registry()) as session:
        plain = Reply(sections=[Markup("Lunch at noon")], context="hint")
        assert annotate(session, 1, plain, SLACK) is plain
        card = Reply(sections=[Markup("Fund the MOU")], fields=[Field("Evidence", Markup("The MOU and the KEA"))])
        noted_card = annotate(session, 1, card, SLACK)
    assert noted_card.sections == ["Fund the MOU¹"] and noted_card.fields[0].value == "The MOU and the KEA²"
    assert [line[:5] for line in noted_card.context.splitlines()] == ["¹ MOU", "² KEA"]


def test_finding_terms_costs_the_same_with_a_hundred_thousand_terms() -> None:
    """The matcher probes the name index a bounded number of times per word; it never walks the glossary."""

    class Probed(dict[str, int]):
        probes = 0

        def __contains__(self, key: object) -> bool:
            Probed.probes += 1
            return super().__contains__(key)

    big = Probed({f"term number {n}": n for n in range(100_000)})
    big["backbone organization"] = 100_001
    text = " ".join(["Our backbone organization reports the term number 4711 to partners."] * 40)
    began = time.perf_counter()
    found = links._runs(big, 0, text)
    elapsed = time.perf_counter() - began
    words = len(text.split())
    assert {f.term_id for f in found} == {100_001, 4711}
    assert Probed.probes <= 2 * words * links.MAX_WORDS
    assert elapsed < 0.5, elapsed


def test_decision_cards_and_indicator_definitions_link_terms(chat: Chat, engine: Engine, clock: ManualClock) -> None:
    start = load_example(engine)
    clock.set(start - timedelta(days=6))
    proposed = chat.as_("tom").say('/ci propose "Sign the DSA with the school district" --closes 2d '
                                   "--group readiness-data --body \"The KEA data stays with the district\"")
    card = chat.as_("tom").say("/ci decision 1")
    for reply in (proposed, card):
        assert "The KEA¹ data stays with the district" in text_of(reply)
        assert "¹ KEA (kindergarten entry assessment): The observation-based assessment" in reply.context
    indicators = chat.as_("aisha").say("/ci indicators")
    assert "programs rated 3 stars or higher in the quality rating and improvement system¹" in text_of(indicators)
    assert indicators.context.startswith("¹ quality rating and improvement system: The state's system")
