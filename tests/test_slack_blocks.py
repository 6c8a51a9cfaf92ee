"""Reply -> Block Kit and Form -> modal translation, including Slack's size limits."""

from __future__ import annotations

import json

from bot.adapters.slack.blocks import (
    HOME_BLOCKS_MAX,
    MESSAGE_BLOCKS_MAX,
    action_name,
    fallback_text,
    home_view,
    reply_blocks,
    split_mrkdwn,
)
from bot.adapters.slack.dialect import SLACK
from bot.adapters.slack.modals import FormOrigin, form_values, form_view, modal_errors
from bot.core.messages import Button, Field, FieldKind, Form, FormErrors, FormField, Home, Reply


def test_plain_parts_stay_plain_and_markup_passes_through_untouched() -> None:
    section = SLACK.escape("Partners <!channel> & funders")
    blocks = reply_blocks(Reply(title="<!here> Agenda & notes", sections=[section],
                                fields=[Field("Owner <@UJAMES>", "*Tom*")]))
    assert blocks[0]["text"] == {"type": "plain_text", "text": "<!here> Agenda & notes", "emoji": True}
    assert blocks[1]["text"]["text"] == "Partners &lt;!channel&gt; &amp; funders"
    assert blocks[2]["fields"][0]["text"] == "*Owner &lt;@UJAMES&gt;*\n*Tom*"
    assert fallback_text(Reply(title="<!here> Agenda", sections=["*x*"], context="<@U1> & co")) == (
        "&lt;!here&gt; Agenda\n*x*\n&lt;@U1&gt; &amp; co")
    assert reply_blocks(Reply(context="<!channel>"))[0]["elements"][0] == {
        "type": "plain_text", "text": "<!channel>", "emoji": True}


def test_text_is_cut_to_slack_limits_at_safe_places() -> None:
    title = "T" * 200
    label = "B" * 100
    value = "v" * 2500
    blocks = reply_blocks(Reply(title=title, buttons=[Button(label, "demo.go", value)]))
    assert len(blocks[0]["text"]["text"]) == 150 and blocks[0]["text"]["text"].endswith("…")
    button = blocks[1]["elements"][0]
    assert len(button["text"]["text"]) == 75 and len(button["value"]) == 2000
    # a long line is cut before an entity or a link, never inside one
    line = "a" * 2996 + "&amp;" + "b" * 10
    pieces = split_mrkdwn(line, 3000)
    assert pieces[0] == "a" * 2996 and pieces[1].startswith("&amp;")
    linked = "x" * 2990 + "<https://example.org|site>"
    assert split_mrkdwn(linked, 3000)[0] == "x" * 2990


def test_long_sections_split_at_line_ends() -> None:
    lines = [f"line {i} " + "z" * 90 for i in range(80)]
    blocks = reply_blocks(Reply(sections=["\n".join(lines)]))
    assert all(b["type"] == "section" and len(b["text"]["text"]) <= 3000 for b in blocks)
    assert "\n".join(b["text"]["text"] for b in blocks) == "\n".join(lines)


def test_inline_fields_share_sections_of_ten_wide_fields_stand_alone() -> None:
    fields = [Field(f"F{i}", str(i)) for i in range(12)] + [Field("Notes", "long text", inline=False)]
    blocks = reply_blocks(Reply(fields=fields))
    assert [len(b.get("fields", [])) for b in blocks] == [10, 2, 0]
    assert blocks[2]["text"]["text"] == "*Notes*\nlong text"


def test_too_many_blocks_keep_the_buttons_and_say_what_is_missing() -> None:
    reply = Reply(title="Terms", sections=[f"term {i}" for i in range(80)], context="fine print",
                  buttons=[Button("More", "glossary.more", "2")])
    blocks = reply_blocks(reply)
    assert len(blocks) == MESSAGE_BLOCKS_MAX
    assert blocks[-1]["type"] == "actions" and blocks[-2]["type"] == "context"
    assert "could not be shown" in blocks[-3]["elements"][0]["text"]


def test_repeated_actions_get_unique_ids_that_map_back() -> None:
    buttons = [Button(v, "decision.vote", v) for v in ("yes", "no", "abstain")]
    ids = [e["action_id"] for e in reply_blocks(Reply(buttons=buttons))[0]["elements"]]
    assert ids == ["decision.vote", "decision.vote#2", "decision.vote#3"]
    assert {action_name(i) for i in ids} == {"decision.vote"}
    home = home_view(Home("Riverbend", [Reply(buttons=buttons[:1]), Reply(buttons=buttons[:1])]))
    home_ids = [e["action_id"] for b in home["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert home_ids == ["decision.vote", "decision.vote#2"]


def test_home_view_caps_at_one_hundred_blocks() -> None:
    home = home_view(Home("Riverbend", [Reply(title=f"S{i}", sections=["a", "b"]) for i in range(40)]))
    assert home["type"] == "home" and len(home["blocks"]) == HOME_BLOCKS_MAX


FORM = Form(
    title="Propose a definition",
    action="glossary.add",
    value="collective impakt",
    fields=(
        FormField("term", "Term", initial="collective impakt", max_length=100),
        FormField("definition", "Definition", FieldKind.LONG_TEXT, max_length=5000, hint="Plain words"),
        FormField("target", "Target", FieldKind.NUMBER, required=False, placeholder="e.g. 75"),
        FormField("status", "Status", FieldKind.CHOICE, initial="agreed",
                  choices=(("proposed", "Proposed"), ("agreed", "Agreed"))),
    ),
)


def test_form_becomes_a_modal_that_remembers_where_it_came_from() -> None:
    view = form_view(FORM, FormOrigin("collective impakt", "CSTEER", "https://hooks.slack.com/x"))
    assert view["callback_id"] == "glossary.add"
    assert FormOrigin.decode(view["private_metadata"]) == FormOrigin(
        "collective impakt", "CSTEER", "https://hooks.slack.com/x")
    term, definition, target, status = view["blocks"]
    assert term["element"] == {"action_id": "term", "type": "plain_text_input", "max_length": 100,
                               "initial_value": "collective impakt"}
    assert definition["element"]["multiline"] is True and definition["element"]["max_length"] == 3000
    assert definition["hint"]["text"] == "Plain words"
    assert target["element"]["type"] == "number_input" and target["optional"] is True
    assert target["element"]["placeholder"]["text"] == "e.g. 75"
    assert status["element"]["initial_option"]["value"] == "agreed"


def test_submitted_state_and_errors_map_to_field_names() -> None:
    view = form_view(FORM, FormOrigin())
    view["state"] = {"values": {
        "term": {"term": {"type": "plain_text_input", "value": "Collective impact"}},
        "definition": {"definition": {"type": "plain_text_input", "value": None}},
        "target": {"target": {"type": "number_input", "value": "75"}},
        "status": {"status": {"type": "static_select", "selected_option": {"value": "proposed"}}},
    }}
    assert form_values(view) == {"term": "Collective impact", "definition": "", "target": "75",
                                 "status": "proposed"}
    errors = modal_errors(view, FormErrors({"definition": "Please write a definition.", "other": "Too late."}))
    assert errors == {"definition": "Please write a definition.", "term": "Too late."}
    assert json.loads(FormOrigin("v").encode()) == {"v": "v", "c": "", "u": ""}
