"""The glossary as members use it: lookups, proposals, approvals, history, misses, escaping."""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import func
from sqlmodel import select

from bot.core.errors import UserError
from bot.core.messages import FieldKind, FormErrors, Reply
from bot.glossary import book
from bot.glossary.book import TermEntry, normalize, upsert_terms
from storage.db import session_scope
from storage.models import AuditEvent, GlossaryRevision, GlossaryTerm
from tests.chat import Chat, text_of
from tests.factories import seed

EVIL = "Ping <!channel> @everyone <@U123> and [click](https://evil.example) now"


def load(engine, initiative_id: int, *entries: TermEntry):
    """Load `entries` the way the initiative YAML does."""
    with session_scope(engine) as session:
        return upsert_terms(session, initiative_id, list(entries))


def count(engine, model) -> int:
    with session_scope(engine) as session:
        return session.exec(select(func.count()).select_from(model)).one()


def rendered(reply: Reply) -> str:
    """Every piece of rendered markup in a reply (sections and field values)."""
    return "\n".join([*reply.sections, *(f.value for f in reply.fields)])


@pytest.fixture
def seeded(engine):
    return seed(engine)


def test_normalize_ignores_case_accents_and_punctuation() -> None:
    assert normalize("Résultats") == normalize("resultats") == "resultats"
    assert normalize("Collective-Impact") == normalize("  collective   impact ") == "collective impact"
    assert normalize("Children’s ready") == normalize("childrens READY")


def test_lookup_matches_any_case_accent_alias_or_acronym(chat: Chat, engine, seeded) -> None:
    load(engine, seeded.initiative_id,
         TermEntry("Collective impact", "Organisations working together on one agenda.",
                   aliases=["collective-impact approach"], acronyms=["CI"]),
         TermEntry("Résultats", "Outcomes, in French."))
    for typed in ("collective IMPACT", "Collective-Impact", "ci", "Collective impact approach"):
        reply = chat.say(f"/ci glossary {typed}")
        assert reply.title == "Collective impact", typed
        assert "Organisations working together on one agenda." in reply.sections
    card = chat.say("/ci glossary ci")
    assert ("Acronyms", "CI") in [(f.label, f.value) for f in card.fields]
    assert ("Also called", "collective-impact approach") in [(f.label, f.value) for f in card.fields]
    assert chat.say("/ci glossary RESULTATS").title == "Résultats"
    assert chat.say("/ci glossary résultats").title == "Résultats"


def test_a_miss_suggests_close_terms_and_offers_members_a_proposal(chat: Chat, engine, seeded) -> None:
    load(engine, seeded.initiative_id,
         TermEntry("Collective impact", "Working together."), TermEntry("Common agenda", "Shared vision."),
         TermEntry("Backbone", "The staff who support the initiative."))
    reply = chat.as_("lena").say("/ci glossary colective impakt")
    assert reply.sections[0].startswith("No entry for colective impakt. Did you mean Collective impact")
    assert reply.ephemeral
    assert [(b.label, b.action, b.value) for b in reply.buttons] == [
        ("Propose a definition", "glossary.propose", "colective impakt")]
    stranger = chat.as_("nobody").say("/ci glossary agenda")
    assert "Did you mean Common agenda?" in text_of(stranger)
    assert stranger.buttons == []


def test_a_misspelt_glossary_command_is_pointed_out(chat: Chat, seeded) -> None:
    typo = chat.say("/ci glossary aprove data walk")
    assert "Or did you mean the command /ci glossary approve?" in text_of(typo)
    assert "Or did you mean the command /ci glossary add?" in text_of(chat.say("/ci glossary adn KPI = x"))
    for term in ("/ci glossary theory of chnge", "/ci glossary listen to families", "/ci glossary lst"):
        assert "did you mean the command" not in text_of(chat.say(term))


def test_misses_are_counted_for_the_backbone(chat: Chat, engine, seeded) -> None:
    chat.as_("lena").say("/ci glossary KPI")
    chat.as_("tom").say("/ci glossary kpi")
    chat.as_("tom").say("/ci glossary theory of change")
    chat.say("/ci glossary help me")
    misses = chat.say("/ci glossary misses")
    lines = misses.sections[0].splitlines()
    assert lines[0] == "2 × kpi"
    assert "1 × theory of change" in lines
    refused = chat.as_("lena").say("/ci glossary misses")
    assert "Only backbone staff" in text_of(refused)
    chat.say("/ci glossary add KPI = Key performance indicator.")
    assert "kpi" not in chat.say("/ci glossary misses").sections[0].lower()


def test_members_propose_and_backbone_staff_agree(chat: Chat, engine, seeded) -> None:
    proposed = chat.as_("lena").say("/ci glossary add Family voice = Parents shape decisions.")
    assert proposed.title == "Family voice (proposed)"
    assert ("Status", "Proposed: not agreed yet") in [(f.label, f.value) for f in proposed.fields]
    assert ("Proposed by", "Lena Fischer") in [(f.label, f.value) for f in proposed.fields]
    assert proposed.buttons == []  # lena may not approve
    agreed = chat.say('/ci glossary add "Shared measurement" = The same indicators for everyone.')
    assert agreed.title == "Shared measurement"
    assert ("Status", "Agreed") in [(f.label, f.value) for f in agreed.fields]
    assert chat.as_("nobody").say("/ci glossary family voice").title == "Family voice (proposed)"
    assert "not a member of this initiative" in text_of(chat.as_("nobody").say("/ci glossary add X = y"))


def test_only_backbone_and_steering_may_approve(chat: Chat, engine, seeded) -> None:
    chat.as_("lena").say("/ci glossary add Family voice = Parents shape decisions.")
    chat.as_("lena").say("/ci glossary add Data walk = Looking at the data together.")
    refused = chat.as_("tom").say("/ci glossary approve family voice")
    assert "Only backbone staff and steering committee members" in text_of(refused)
    assert chat.as_("tom").say("/ci glossary family voice").buttons == []
    card = chat.as_("aisha").say("/ci glossary family voice")
    (button,) = card.buttons
    assert (button.label, button.action) == ("Approve", "glossary.approve")
    assert "Only backbone staff and steering" in text_of(chat.as_("tom").click(button))
    approved = chat.as_("aisha").click(button)
    assert isinstance(approved, Reply)
    assert approved.title == "Family voice"
    assert approved.context == "Approved by Aisha Bello."
    by_command = chat.as_("james").say("/ci glossary approve data walk")
    assert by_command.title == "Data walk"
    assert "already agreed" in text_of(chat.say("/ci glossary approve data walk"))
    assert "No entry for “data wolk”. Did you mean Data walk?" in text_of(
        chat.say("/ci glossary approve data wolk"))


def test_the_propose_form_checks_its_fields(chat: Chat, engine, seeded) -> None:
    chat.say("/ci glossary add Backbone = The staff who support the initiative.")
    lena = chat.as_("lena")
    miss = lena.say("/ci glossary theory of change")
    opened = lena.click(miss.buttons[0])
    assert isinstance(opened, Reply) and opened.form is not None
    form = opened.form
    assert form.action == "glossary.add"
    fields = {f.name: f for f in form.fields}
    assert fields["term"].initial == "theory of change"
    assert fields["definition"].kind == FieldKind.LONG_TEXT
    assert not fields["context"].required
    empty = lena.submit(form, {"term": "theory of change", "definition": "  "})
    assert isinstance(empty, FormErrors) and "definition is empty" in empty.errors["definition"]
    long = lena.submit(form, {"term": "x" * 101, "definition": "ok"})
    assert isinstance(long, FormErrors) and "101 characters" in long.errors["term"]
    duplicate = lena.submit(form, {"term": "BACKBONE", "definition": "Something else."})
    assert isinstance(duplicate, FormErrors) and "already has a definition" in duplicate.errors["term"]
    assert count(engine, GlossaryTerm) == 1
    created = lena.submit(form, {"term": "Theory of change", "definition": "How we think change happens.",
                                 "context": "evaluation"})
    assert isinstance(created, Reply)
    assert created.title == "Theory of change (proposed)"
    assert created.sections == ["evaluation: How we think change happens."]


def test_an_existing_term_takes_a_new_context_but_not_a_second_plain_definition(chat: Chat, seeded) -> None:
    chat.say("/ci glossary add Backbone = The staff who support the initiative.")
    again = chat.as_("lena").say("/ci glossary add backbone = Something else.")
    assert "“Backbone” already has a definition." in text_of(again)
    assert "/ci glossary add backbone (CONTEXT) = DEFINITION" in text_of(again)
    added = chat.as_("lena").say("/ci glossary add backbone (funders) = The grantee that convenes.")
    assert added.title == "Backbone (proposed)"
    assert added.sections == ["The staff who support the initiative.", "funders: The grantee that convenes."]
    twice = chat.as_("lena").say("/ci glossary add Backbone (Funders) = Again.")
    assert "already has a definition for “funders”" in text_of(twice)


def test_quoted_terms_and_definitions_keep_their_text(chat: Chat, seeded) -> None:
    reply = chat.say('/ci glossary add "common agenda" = A shared vision; "equal" = fair.')
    assert reply.title == "common agenda"
    assert reply.sections == ['A shared vision; "equal" = fair.']
    curly = chat.say("/ci glossary add \u201cdata walk\u201d = \u201cLooking together.\u201d")
    assert (curly.title, curly.sections) == ("data walk", ["Looking together."])


@pytest.mark.parametrize("typed, message", [
    ("/ci glossary add = A definition without a term", "term is empty"),
    ("/ci glossary add " + "x" * 101 + " = too long", "101 characters long; the limit is 100"),
    ("/ci glossary add common agenda a shared vision", "Put an = between the term and its definition"),
    ('/ci glossary add "common agenda = a shared vision', "opening quote without a closing one"),
    ("/ci glossary add common agenda =   ", "definition is empty"),
    ("/ci glossary add common agenda = " + "y" * 2001, "2001 characters long; the limit is 2000"),
])
def test_bad_input_is_explained_and_writes_nothing(chat: Chat, engine, seeded, typed, message) -> None:
    reply = chat.say(typed)
    assert message in text_of(reply)
    assert reply.ephemeral
    assert count(engine, GlossaryTerm) == 0
    assert count(engine, GlossaryRevision) == 0
    assert count(engine, AuditEvent) == 0


def test_an_over_long_lookup_says_the_limit_and_counts_no_miss(chat: Chat, engine, seeded) -> None:
    for typed in ("/ci glossary " + "x" * 101, "/ci glossary history " + "x" * 101):
        reply = chat.say(typed)
        assert "That term is 101 characters long; glossary terms have at most 100." in text_of(reply)
        assert reply.ephemeral
    assert "Nobody has looked up a missing term yet." in text_of(chat.say("/ci glossary misses"))


def test_adding_under_another_name_points_at_the_terms_own_name(chat: Chat, engine, seeded) -> None:
    load(engine, seeded.initiative_id, TermEntry("Backbone organization", "Support staff.", acronyms=["BBO"]))
    refused = chat.say("/ci glossary add BBO (health) = The clinic network's coordinator.")
    assert "“BBO” is another name for “Backbone organization”" in text_of(refused)
    assert '/ci glossary add "Backbone organization" (CONTEXT) = DEFINITION' in text_of(refused)
    added = chat.say('/ci glossary add "Backbone organization" (health) = The clinic network\'s coordinator.')
    assert added.sections[-1] == "health: The clinic network's coordinator."


def test_list_shows_all_terms_or_those_starting_with_a_letter(chat: Chat, engine, seeded) -> None:
    assert "The glossary is empty" in text_of(chat.say("/ci glossary list"))
    load(engine, seeded.initiative_id, TermEntry("Backbone", "b"), TermEntry("Évaluation", "e"),
         TermEntry("equity", "q"), TermEntry("Collective impact", "c", status="proposed"))
    everything = chat.as_("nobody").say("/ci glossary list")
    assert everything.sections[0].splitlines() == [
        "• Backbone", "• Collective impact (proposed)", "• equity", "• Évaluation"]
    assert chat.say("/ci glossary list e").sections[0].splitlines() == ["• equity", "• Évaluation"]
    assert "No terms start with z" in text_of(chat.say("/ci glossary list z"))
    assert "4 terms in the shared vocabulary" in text_of(chat.as_("nobody").say("/ci glossary"))


def test_history_says_who_changed_what_when_in_the_readers_timezone(chat: Chat, engine, clock, seeded) -> None:
    chat.as_("lena").say("/ci glossary add Data walk = Looking at data together.")
    clock.advance(timedelta(days=1, hours=2))
    chat.as_("aisha").say("/ci glossary approve data walk")
    maria = chat.say("/ci glossary history DATA WALK").sections[0].splitlines()
    assert maria == ["2 Mar 2026 09:00 CST, Lena Fischer: created: Looking at data together.",
                     "3 Mar 2026 11:00 CST, Aisha Bello: approved"]
    lena = chat.as_("lena").say("/ci glossary history data walk")
    assert lena.sections[0].splitlines()[0].startswith("2 Mar 2026 16:00 CET, Lena Fischer")
    assert lena.context == "Times are in Europe/Berlin."
    assert "No entry for “nothing”" in text_of(chat.say("/ci glossary history nothing"))


@pytest.mark.parametrize("platform, user, channel, team", [
    ("slack", "UMARIA", "CSTEER", "T1"),
    ("discord", "100000000000000001", "900000000000000001", "800000000000000001"),
])
def test_user_text_arrives_inert_on_slack_and_discord(core, seeded, platform, user, channel, team) -> None:
    chat = Chat(core, platform=platform, user_id=user, channel_id=channel, team_id=team)
    card = chat.say(f"/ci glossary add Mass ping (<!here> @here) = {EVIL}")
    assert isinstance(card, Reply) and card.sections, text_of(card)
    looked_up = chat.say("/ci glossary mass ping")
    missing = chat.say("/ci glossary <!here> @everyone [x](https://evil.example)")
    listing = chat.say("/ci glossary list")
    live = ["<!channel>", "<!here>", "<@U123>", "<https://"]
    if platform == "discord":  # Slack mrkdwn has no [label](url) links; Discord does
        live += ["[click](https", "[x](https", "@everyone", "@here"]
    for reply in (card, looked_up, missing, listing):
        text = rendered(reply)
        assert not [token for token in live if token in text], text
    if platform == "slack":
        assert looked_up.sections[0] == (
            "*&lt;!here&gt; @here*: Ping &lt;!channel&gt; @everyone &lt;@U123&gt; and "
            "[click](https://evil.example) now")
    else:
        assert looked_up.sections[0] == (
            "**\\<!here\\> @\u200bhere**: Ping \\<!channel\\> @\u200beveryone \\<@U123\\> and "
            "\\[click\\]\\(https\\://evil.example\\) now")


def test_terms_complete_from_a_prefix_or_a_fragment(chat: Chat, engine, seeded) -> None:
    load(engine, seeded.initiative_id, TermEntry("Common agenda", "a"), TermEntry("Collective impact", "c"),
         TermEntry("Shared measurement", "m", acronyms=["SM"]), TermEntry("Backbone", "b"))
    complete = chat.core.complete_sync
    assert complete(chat.origin, "term", "co") == ["Collective impact", "Common agenda"]
    assert complete(chat.origin, "term", "mea") == ["Shared measurement"]
    assert complete(chat.origin, "term", "sm") == ["Shared measurement"]
    assert len(complete(chat.origin, "term", "")) == 4


def test_home_shows_the_glossary_and_proposals_to_those_who_approve(chat: Chat, seeded) -> None:
    chat.say("/ci glossary add Backbone = b")
    chat.as_("lena").say("/ci glossary add Family voice = f")
    maria = [r for r in chat.core.home_sync(chat.origin).replies if r.title == "Glossary"]
    assert "2 terms in the shared vocabulary" in maria[0].sections[0]
    assert "1 proposed term awaiting approval: Family voice." in maria[0].sections[1]
    lena = [r for r in chat.core.home_sync(chat.as_("lena").origin).replies if r.title == "Glossary"]
    assert len(lena[0].sections) == 1


def test_loading_is_idempotent_and_revises_only_what_changed(engine, seeded) -> None:
    entries = [TermEntry("Backbone", "Support staff.", aliases=["backbone organisation"], acronyms=["BBO"]),
               TermEntry("Equity", senses=[("health", "Fair access to care."), ("education", "Fair schooling.")])]
    first = load(engine, seeded.initiative_id, *entries)
    assert (first.created, first.updated, first.unchanged) == (2, 0, 0)
    revisions, events = count(engine, GlossaryRevision), count(engine, AuditEvent)
    again = load(engine, seeded.initiative_id, *entries)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 2)
    assert (count(engine, GlossaryRevision), count(engine, AuditEvent)) == (revisions, events)
    entries[0].definition = "The staff who support the initiative."
    changed = load(engine, seeded.initiative_id, *entries)
    assert (changed.created, changed.updated, changed.unchanged) == (0, 1, 1)
    assert count(engine, GlossaryRevision) == revisions + 1


def test_an_alias_naming_another_term_is_refused_with_both_names(engine, seeded) -> None:
    load(engine, seeded.initiative_id, TermEntry("Backbone", "Support staff.", acronyms=["BB"]))
    with pytest.raises(UserError, match="“BB” of “Bulletin board” already names “Backbone”"):
        load(engine, seeded.initiative_id, TermEntry("Bulletin board", "A wall.", acronyms=["BB"]))
    with pytest.raises(UserError, match="“bb” is already another name for “Backbone”"):
        load(engine, seeded.initiative_id, TermEntry("bb", "Two letters."))
    assert count(engine, GlossaryTerm) == 1


def test_a_term_written_by_another_replica_is_found(chat: Chat, engine, seeded) -> None:
    assert chat.say("/ci glossary backbone").title == ""  # a miss; the lookup index is now cached
    with session_scope(engine) as session:  # another replica's write: this process is not told
        term = GlossaryTerm(initiative_id=seeded.initiative_id, term="Backbone", normalized="backbone",
                            status="agreed")
        session.add(term)
        session.flush()
        session.add(GlossaryRevision(term_id=term.id, action="created", summary="Support staff."))
    time.sleep(book.CHECK_EVERY)  # how long another replica's write may stay unseen
    assert chat.say("/ci glossary backbone").title == "Backbone"


def test_an_alias_can_move_between_terms_loaded_together(chat: Chat, engine, seeded) -> None:
    load(engine, seeded.initiative_id, TermEntry("Backbone", "Support staff.", acronyms=["BB"]),
         TermEntry("Bulletin board", "A wall."))
    moved = load(engine, seeded.initiative_id, TermEntry("Bulletin board", "A wall.", acronyms=["BB"]),
                 TermEntry("Backbone", "Support staff."))
    assert (moved.created, moved.updated) == (0, 2)
    assert chat.say("/ci glossary bb").title == "Bulletin board"


def test_entries_name_what_is_wrong() -> None:
    assert TermEntry("Backbone", "Support staff.").validate() == []
    problems = TermEntry(" ", "", aliases=[""], status="maybe").validate()
    assert problems == ["term: the term is empty; give the word or phrase to define",
                        "definition: the definition is empty; say what the term means",
                        "aliases: an entry in aliases is empty",
                        "status: status “maybe” is not one of proposed, agreed"]
    assert TermEntry("x" * 101, "d").validate() == [
        "term: the term is 101 characters long; the limit is 100"]


def test_observers_read_the_glossary_but_never_approve_or_propose(chat: Chat, engine, seeded) -> None:
    olga = chat.as_("olga")  # observer on the steering committee
    chat.as_("lena").say("/ci glossary add Family voice = Parents shape decisions.")
    card = olga.say("/ci glossary family voice")
    assert card.title == "Family voice (proposed)" and card.buttons == []
    assert "not observers" in text_of(olga.say("/ci glossary approve family voice"))
    assert "do not act" in text_of(olga.say("/ci glossary add Her term = Her own definition."))
    button = chat.as_("james").say("/ci glossary family voice").buttons[0]
    assert "not observers" in text_of(olga.click(button))  # a button seen elsewhere does not help


def test_nobody_approves_their_own_proposal(chat: Chat, engine, seeded) -> None:
    aisha = chat.as_("aisha")  # steering member: she may approve other people's terms
    proposed = aisha.say("/ci glossary add Data walk = Looking at the data together.")
    assert proposed.title == "Data walk (proposed)" and proposed.buttons == []
    refused = aisha.say("/ci glossary approve data walk")
    assert "You proposed “Data walk”, so someone else must approve it" in text_of(refused)
    assert aisha.say("/ci glossary data walk").title == "Data walk (proposed)"
    approved = chat.as_("james").say("/ci glossary approve data walk")
    assert approved.title == "Data walk" and approved.context == "Approved by James Carter."


def test_backbone_and_steering_edit_a_definition_and_the_history_keeps_the_old_text(
        chat: Chat, engine, clock, seeded) -> None:
    chat.say("/ci glossary add Backbone = The staff.")
    clock.advance(timedelta(hours=1))
    edited = chat.say("/ci glossary edit backbone = The staff who <!channel> support the partners.")
    assert edited.title == "Backbone"
    assert edited.context.startswith("Definition changed by Maria Lopez")
    assert ("Earlier definitions", "1: /ci glossary history Backbone") in [(f.label, f.value) for f in edited.fields]
    lena_card = chat.as_("lena").say("/ci glossary backbone")
    assert "Earlier definitions" not in [f.label for f in lena_card.fields]
    chat.as_("james").say("/ci glossary edit Backbone = The team that supports the partners.")
    lines = chat.as_("lena").say("/ci glossary history backbone").sections[0].splitlines()
    assert lines[0].endswith("Maria Lopez: created: The staff.")
    assert "Maria Lopez: edited: was: The staff. | now: The staff who" in lines[1]
    assert "James Carter: edited: was: The staff who" in lines[2]
    assert lines[2].endswith("now: The team that supports the partners.")
    with session_scope(engine) as session:
        assert session.exec(select(AuditEvent.kind).where(AuditEvent.kind == "glossary.edited")).all()


def test_members_and_observers_cannot_edit_and_bad_edits_change_nothing(chat: Chat, engine, seeded) -> None:
    chat.say("/ci glossary add Backbone = The staff.")
    chat.say("/ci glossary add Backbone (health) = The clinic network.")
    assert "Only backbone staff and steering committee members" in text_of(
        chat.as_("lena").say("/ci glossary edit backbone = Mine now."))
    assert "not observers" in text_of(chat.as_("olga").say("/ci glossary edit backbone = Mine now."))
    assert "Please name the term" in text_of(chat.say("/ci glossary edit = Something."))
    assert "No entry for “bakbone”. Did you mean Backbone?" in text_of(chat.say("/ci glossary edit bakbone = x"))
    assert "has no meaning for “housing”; it has the general meaning, “health”" in text_of(
        chat.say("/ci glossary edit backbone (housing) = x"))
    assert "already the definition" in text_of(chat.say("/ci glossary edit backbone = The staff."))
    assert "The definition is empty; say what the term means." in text_of(chat.say("/ci glossary edit backbone = "))
    assert "2001 characters long; the limit is 2000" in text_of(chat.say("/ci glossary edit backbone = " + "x" * 2001))
    assert chat.say("/ci glossary backbone").sections[0].endswith("The staff.")
    health = chat.say("/ci glossary edit backbone (HEALTH) = The county clinics.")
    assert any("The county clinics." in s for s in health.sections)
    assert count(engine, GlossaryRevision) == 3  # created, sense added, one edit


def test_edit_without_a_definition_opens_a_form_with_the_current_text(chat: Chat, engine, seeded) -> None:
    chat.say("/ci glossary add Backbone = The staff.")
    opened = chat.as_("james").say("/ci glossary edit backbone")
    assert opened.form is not None and opened.form.action == "glossary.edit"
    assert [f.initial for f in opened.form.fields] == ["The staff.", ""]
    errors = chat.as_("james").submit(opened.form, {"definition": "", "context": ""})
    assert isinstance(errors, FormErrors) and "definition" in errors.errors
    saved = chat.as_("james").submit(opened.form, {"definition": "The people who convene us.", "context": ""})
    assert isinstance(saved, Reply) and "The people who convene us." in saved.sections[0]
    assert "not observers" in text_of(chat.as_("olga").submit(opened.form, {"definition": "x", "context": ""}))
    forged = replace(opened.form, value="999")  # a term id that is not in this glossary
    assert "no longer in the glossary" in text_of(chat.as_("james").submit(forged, {"definition": "x", "context": ""}))
    assert count(engine, GlossaryRevision) == 2  # created, one edit
