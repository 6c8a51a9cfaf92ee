"""Every flow's forms, buttons, charts and home sections as Slack shows them.

The meetings, agenda, minutes, measures and decisions flows landed after the Slack
adapter; these tests drive their forms (proposal, data submission with a field per
disaggregation cell, vote reason), the progress chart and App Home through signed
requests against the fake Web API.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import pytest
from sqlalchemy.engine import Engine

from bot.adapters.slack.post import IN_YOUR_DMS
from bot.core.core import Core
from tests.factories import Seeded
from tests.fake_slack_api import FakeSlackApi, SlackSide, cibot_on_slack
from tests.measures_factory import add_indicators
from tests.scenarios import prepare
from tests.test_slack_app import buttons, texts


@pytest.fixture
def seeded(engine: Engine) -> Seeded:
    seeded = prepare(engine)
    add_indicators(engine, seeded)
    return seeded


@pytest.fixture
async def slack(core: Core, api: FakeSlackApi, seeded: Seeded) -> AsyncIterator[SlackSide]:
    async with cibot_on_slack(core, api) as side:
        yield side


async def command_view(slack: SlackSide, user: str, text: str) -> dict:
    """The modal `/ci TEXT` opens for `user`."""
    opened = len(slack.api.of("views.open"))
    assert await slack.command(user, text) == (200, "")
    return (await slack.api.wait_for("views.open", opened + 1)).view


async def submitted(slack: SlackSide, user: str, view: dict, values: dict[str, str]) -> dict | str:
    """Submit `view`: the field errors Slack shows, else the text of the answer posted."""
    answers = len(slack.api.of("response_url"))
    status, body = await slack.submit(user, view, values)
    assert status == 200
    if body:
        answer = json.loads(body)
        assert answer["response_action"] == "errors"
        return answer["errors"]
    return texts((await slack.api.wait_for("response_url", answers + 1)).blocks)


async def test_proposal_form_is_a_modal_with_a_rule_menu_and_field_errors(slack: SlackSide) -> None:
    view = await command_view(slack, "UMARIA", "propose")
    assert view["callback_id"] == "decision.propose"
    elements = {b["block_id"]: b["element"] for b in view["blocks"]}
    assert list(elements)[:6] == ["title", "body", "rationale", "evidence", "closes", "rule"]
    assert elements["rule"]["type"] == "static_select"
    assert elements["rule"]["initial_option"]["value"] == "majority"
    assert elements["closes"]["initial_value"] == "3d"

    errors = await submitted(slack, "UMARIA", view, {"title": "Adopt the measure", "closes": "someday",
                                                     "rule": "majority"})
    assert set(errors) == {"closes"} and "someday" in errors["closes"]
    shown = await submitted(slack, "UMARIA", view, {"title": "Adopt the measure", "closes": "2d",
                                                    "rule": "consent"})
    assert "Decision #1: Adopt the measure" in shown and "consent" in shown


async def test_data_form_has_a_field_per_cell_and_shows_cell_errors(slack: SlackSide) -> None:
    view = await command_view(slack, "UAISHA", "submit readiness")
    names = [b["block_id"] for b in view["blocks"]]
    assert names == ["value", "c.0.0", "c.0.1", "c.0.2", "c.0.3", "note"]
    labels = [b["label"]["text"] for b in view["blocks"]]
    assert labels[1] == "Race/ethnicity: Black"
    assert all(b["element"]["type"] == "number_input" for b in view["blocks"][:5])

    errors = await submitted(slack, "UAISHA", view, {"value": "61", "c.0.0": "140"})
    assert list(errors) == ["c.0.0"]
    shown = await submitted(slack, "UAISHA", view, {"value": "61", "c.0.0": "55", "c.0.1": "60", "c.0.2": "66",
                                                     "c.0.3": "58", "note": "Fall screening"})
    assert "Recorded 61" in shown and "Broken down by Race/ethnicity" in shown


async def test_vote_reason_form_opens_from_the_button_and_insists_on_a_reason(slack: SlackSide) -> None:
    await slack.command("UMARIA", 'propose "Adopt the measure" --closes 3d --reasons required')
    card = await slack.api.wait_for("response_url")
    views = len(slack.api.of("views.open"))
    await slack.click("UJAMES", buttons(card)["Disagree"])
    view = (await slack.api.wait_for("views.open", views + 1)).view
    assert (view["callback_id"], [b["block_id"] for b in view["blocks"]]) == ("decision.reason", ["reason"])
    assert await submitted(slack, "UJAMES", view, {"reason": ""}) == {
        "reason": "This decision asks every voter for a reason."}
    assert "Recorded: disagree" in await submitted(slack, "UJAMES", view, {"reason": "Too costly"})


async def test_a_private_chart_goes_to_the_askers_direct_messages(slack: SlackSide) -> None:
    for user, text in (("UAISHA", "submit readiness 61"), ("UTOM", "submit readiness 57"),
                       ("ULENA", "submit readiness 60"), ("UMARIA", "progress readiness")):
        answers = len(slack.api.of("response_url"))
        await slack.command(user, text)
        answer = await slack.api.wait_for("response_url", answers + 1)
    assert answer.params["response_type"] == "ephemeral"
    assert IN_YOUR_DMS in texts(answer.blocks)
    assert (await slack.api.wait_for("conversations.open")).params["users"] == "UMARIA"
    shared = await slack.api.wait_for("files.completeUploadExternal")
    assert shared.params["channel_id"] == "DMARIA"
    assert (await slack.api.wait_for("upload")).params["size"] > 1000


async def test_home_shows_every_flows_section_and_its_buttons_work(slack: SlackSide) -> None:
    await slack.command("UMARIA", 'propose "Adopt the measure" --closes 3d')
    await slack.api.wait_for("response_url")
    await slack.open_home("UAISHA")
    view = (await slack.api.wait_for("views.publish")).view
    headers = [b["text"]["text"] for b in view["blocks"] if b["type"] == "header"]
    assert headers[1:] == ["Your groups and roles", "Glossary", "Votes waiting for you", "Data to submit"]
    home_buttons = {e["text"]["text"]: e for b in view["blocks"] if b["type"] == "actions" for e in b["elements"]}
    submit = next(b for label, b in home_buttons.items() if label.startswith("Submit readiness"))
    await slack.click("UAISHA", submit, channel=None)
    form = (await slack.api.wait_for("views.open")).view
    assert form["callback_id"] == "measures.submit" and "c.0.3" in [b["block_id"] for b in form["blocks"]]
