"""The Slack adapter driven over HTTP: signed requests in, Web API calls and response_url posts out.

The core is real (real database, identity, rendering); its registry holds the help
and home flows plus a small demo flow so these tests pin down the adapter's
translation without depending on any one feature flow.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy.engine import Engine

from bot.adapters.slack import app as slack_app
from bot.bootstrap import dialects_only
from bot.core import help, home
from bot.core.args import Args
from bot.core.clock import ManualClock
from bot.core.context import Context
from bot.core.core import Core
from bot.core.messages import (
    Button,
    ButtonStyle,
    Field,
    FieldKind,
    Form,
    FormErrors,
    FormField,
    Reply,
)
from bot.core.registry import Access, Registry
from tests.factories import seed
from tests.fake_slack_api import Call, FakeSlackApi, SlackSide, cibot_on_slack, deliver_outbox

HOSTILE_TYPED = "<!channel> <!here> <@UJAMES> <https://evil|click> &lt;"


def _slack_encoded(text: str) -> str:
    """Command text as Slack sends it: &, < and > as entities."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def register_demo(registry: Registry) -> None:
    """A tiny flow exercising every part of a Reply, a form, and a member-only command."""

    def echo(ctx: Context, args: Args) -> Reply:
        m = ctx.markup
        return Reply(
            title=f"Echo: {args.text}",
            sections=[m.render_string("You said: {{ text }}", text=args.text)],
            fields=[Field("Said in", m.escape(ctx.group.name if ctx.group else "a direct message"))],
            buttons=[Button("Again", "demo.again", args.text[:50], ButtonStyle.PRIMARY),
                     Button("Again, louder", "demo.again", args.text[:50].upper()),
                     Button("Tell us more", "demo.ask", "42")],
            context="Demo output <!here>",
        )

    def whoami(ctx: Context, args: Args) -> Reply:
        return Reply(sections=[ctx.markup.escape(ctx.require_member().name)], ephemeral=True)

    def slow(ctx: Context, args: Args) -> Reply:
        time.sleep(3.0)
        return Reply(sections=["done slowly"], ephemeral=True)

    def again(ctx: Context, value: str, fields: dict[str, str]) -> Reply:
        return Reply(sections=[ctx.markup.escape(f"again: {value}")], ephemeral=True)

    def ask(ctx: Context, value: str, fields: dict[str, str]) -> Reply:
        return Reply(form=Form(
            title="Tell us about a partner organisation",
            action="demo.slow_save" if value == "slow" else "demo.save",
            value=value,
            fields=(
                FormField("name", "Name", placeholder="Riverbend Library"),
                FormField("notes", "Notes", FieldKind.LONG_TEXT, required=False, max_length=500),
                FormField("count", "How many staff", FieldKind.NUMBER),
                FormField("sector", "Sector", FieldKind.CHOICE,
                          choices=(("nonprofit", "Nonprofit"), ("government", "Government"))),
            ),
        ), ephemeral=True)

    def save(ctx: Context, value: str, fields: dict[str, str]) -> Reply | FormErrors:
        if not fields.get("name"):
            return FormErrors({"name": "Please give the organisation's name."})
        m = ctx.markup
        return Reply(title="Saved", sections=[m.render_string(
            "{{ name }} ({{ sector }}, {{ count }} staff) saved as #{{ value }}.",
            name=fields["name"], sector=fields["sector"], count=fields["count"], value=value)])

    def slow_save(ctx: Context, value: str, fields: dict[str, str]) -> Reply | FormErrors:
        time.sleep(3.0)
        return save(ctx, value, fields)

    registry.command("echo", echo, access=Access.ANYONE, summary="Say it back.", usage="/ci echo TEXT")
    registry.command("whoami", whoami, summary="Who am I?", usage="/ci whoami")
    registry.command("slow", slow, access=Access.ANYONE, summary="Take a while.", usage="/ci slow")
    registry.action("demo.again", again, access=Access.ANYONE)
    registry.action("demo.ask", ask)
    registry.action("demo.save", save)
    registry.action("demo.slow_save", slow_save)


class Spy:
    """Records every call the adapter makes into the core."""

    def __init__(self, core: Core) -> None:
        self.calls: list[tuple[str, tuple[Any, ...]]] = []
        for name in ("command", "interact", "home"):
            setattr(core, name, self._wrap(name, getattr(core, name)))

    def _wrap(self, name: str, method: Any) -> Any:
        async def recorded(*args: Any, **kwargs: Any) -> Any:
            self.calls.append((name, args))
            return await method(*args, **kwargs)
        return recorded


@pytest.fixture
def demo_core(engine: Engine, clock: ManualClock) -> Core:
    seed(engine)
    registry = dialects_only()
    for register in (help.register, home.register, register_demo):
        register(registry)
    return Core(engine, registry, clock)


@pytest.fixture
def spy(demo_core: Core) -> Spy:
    return Spy(demo_core)


@pytest.fixture
async def slack(demo_core: Core, spy: Spy, api: FakeSlackApi) -> AsyncIterator[SlackSide]:
    async with cibot_on_slack(demo_core, api) as side:
        yield side


def texts(blocks: list[dict[str, Any]]) -> str:
    """Every text Slack would show for `blocks`, one per line."""
    found: list[str] = []
    for block in blocks:
        if "text" in block:
            found.append(block["text"]["text"])
        found += [f["text"] for f in block.get("fields", [])]
        found += [e["text"]["text"] if isinstance(e.get("text"), dict) else e.get("text", "")
                  for e in block.get("elements", [])]
    return "\n".join(found)


def mrkdwn(blocks: list[dict[str, Any]]) -> str:
    """Only the texts Slack parses for mentions and links (mrkdwn), one per line."""
    found: list[str] = []
    for block in blocks:
        parts = [block.get("text") or {}, *block.get("fields", []), *block.get("elements", [])]
        found += [p["text"] for p in parts if isinstance(p, dict) and p.get("type") == "mrkdwn"]
    return "\n".join(found)


def buttons(call: Call) -> dict[str, dict[str, Any]]:
    """The buttons of a posted message, by their label."""
    return {e["text"]["text"]: e for b in call.blocks if b["type"] == "actions" for e in b["elements"]}


async def say(slack: SlackSide, user: str, text: str, **where: Any) -> Call:
    """`user` types /ci TEXT; returns the reply posted to the command's response_url."""
    before = len(slack.api.of("response_url"))
    status, body = await slack.command(user, _slack_encoded(text), **where)
    assert (status, body) == (200, "")
    return await slack.api.wait_for("response_url", before + 1)


async def test_forged_signature_is_refused_before_the_core(slack: SlackSide, spy: Spy) -> None:
    status, _ = await slack.command("UMARIA", "help", signature="v0=" + "0" * 64)
    assert status == 401
    await slack.settle()
    assert spy.calls == []
    assert slack.api.of("response_url") == []


async def test_stale_request_is_refused_before_the_core(slack: SlackSide, spy: Spy) -> None:
    status, _ = await slack.command("UMARIA", "help", timestamp=int(time.time()) - 6 * 60)
    assert status == 401
    await slack.settle()
    assert spy.calls == []


async def test_command_reply_is_block_kit_in_the_channel(slack: SlackSide, spy: Spy) -> None:
    call = await say(slack, "UJAMES", "echo Quarterly review")
    assert call.params["response_type"] == "in_channel"
    assert call.params["replace_original"] is False
    kinds = [b["type"] for b in call.blocks]
    assert kinds == ["header", "section", "section", "context", "actions"]
    assert call.blocks[0]["text"] == {"type": "plain_text", "text": "Echo: Quarterly review", "emoji": True}
    assert call.blocks[1]["text"] == {"type": "mrkdwn", "text": "You said: Quarterly review"}
    assert call.blocks[2]["fields"][0]["text"] == "*Said in*\nSteering committee"
    assert call.blocks[3]["elements"] == [{"type": "plain_text", "text": "Demo output <!here>", "emoji": True}]
    assert [(e["action_id"], e["value"], e.get("style")) for e in call.blocks[4]["elements"]] == [
        ("demo.again", "Quarterly review", "primary"),
        ("demo.again#2", "QUARTERLY REVIEW", None),
        ("demo.ask", "42", None),
    ]
    assert "You said: Quarterly review" in call.params["text"]
    assert spy.calls[0] == ("command", (spy.calls[0][1][0], "echo Quarterly review"))
    origin = spy.calls[0][1][0]
    assert (origin.platform, origin.user_id, origin.channel_id, origin.team_id) == ("slack", "UJAMES", "CSTEER", "T1")


async def test_hostile_text_arrives_inert(slack: SlackSide) -> None:
    call = await say(slack, "UAISHA", f"echo {HOSTILE_TYPED}")
    shown = call.blocks[1]["text"]["text"]
    assert shown == ("You said: &lt;!channel&gt; &lt;!here&gt; &lt;@UJAMES&gt; "
                     "&lt;https://evil|click&gt; &amp;lt;")
    assert call.blocks[0]["text"]["type"] == "plain_text"  # the title is never parsed for mentions
    assert mrkdwn(call.blocks).startswith("You said: &lt;!channel&gt;")
    for posted in (mrkdwn(call.blocks), call.params["text"]):
        assert "<!" not in posted and "<@" not in posted and "<http" not in posted


async def test_unregistered_user_is_told_how_to_register(slack: SlackSide) -> None:
    call = await say(slack, "UNOBODY", "whoami")
    assert call.params["response_type"] == "ephemeral"
    shown = texts(call.blocks)
    assert "I don't know who you are in this initiative yet" in shown
    assert "UNOBODY" in shown and "cibot load" in shown


async def test_unbound_channel_is_told_how_to_bind(slack: SlackSide) -> None:
    call = await say(slack, "UNOBODY", "help", channel="C999", team="T9")
    assert call.params["response_type"] == "ephemeral"
    shown = texts(call.blocks)
    assert "This channel (C999) is not bound to an initiative" in shown
    assert "team: T9, channel: C999" in shown


async def test_empty_command_shows_help(slack: SlackSide) -> None:
    call = await say(slack, "UMARIA", "")
    assert "cibot commands" in texts(call.blocks)


async def test_ack_comes_before_slow_work(slack: SlackSide) -> None:
    started = time.monotonic()
    status, body = await slack.command("UMARIA", "slow")
    assert (status, body) == (200, "")
    assert time.monotonic() - started < 2.5  # acknowledged long before the 3 s of work end
    call = await slack.api.wait_for("response_url")
    assert "done slowly" in texts(call.blocks)


async def test_button_click_round_trip(slack: SlackSide, spy: Spy) -> None:
    message = await say(slack, "UJAMES", "echo Budget")
    status, body = await slack.click("UJAMES", buttons(message)["Again, louder"])
    assert (status, body) == (200, "")
    answer = await slack.api.wait_for("response_url", 2)
    assert answer.params["response_type"] == "ephemeral"
    assert texts(answer.blocks) == "again: BUDGET"
    name, (origin, action, value) = spy.calls[-1]
    assert (name, action, value, origin.channel_id) == ("interact", "demo.again", "BUDGET", "CSTEER")


async def test_form_opens_as_modal_and_shows_field_errors(slack: SlackSide, spy: Spy) -> None:
    message = await say(slack, "UAISHA", "echo partners")
    await slack.click("UAISHA", buttons(message)["Tell us more"])
    opened = await slack.api.wait_for("views.open")
    assert opened.params["trigger_id"].startswith("trigger.UAISHA.")
    view = opened.view
    assert view["type"] == "modal" and view["callback_id"] == "demo.save"
    assert view["title"]["text"] == "Tell us about a partner…"
    assert len(view["title"]["text"]) <= 24
    elements = {b["block_id"]: (b["element"]["type"], b["optional"]) for b in view["blocks"]}
    assert elements == {"name": ("plain_text_input", False), "notes": ("plain_text_input", True),
                        "count": ("number_input", False), "sector": ("static_select", False)}
    assert view["blocks"][1]["element"]["multiline"] is True
    assert view["blocks"][1]["element"]["max_length"] == 500
    assert [o["value"] for o in view["blocks"][3]["element"]["options"]] == ["nonprofit", "government"]

    status, body = await slack.submit("UAISHA", view, {"name": "", "count": "3", "sector": "nonprofit"})
    assert status == 200
    assert json.loads(body) == {"response_action": "errors",
                                "errors": {"name": "Please give the organisation's name."}}

    status, body = await slack.submit("UAISHA", view, {"name": "<!here> Library & Co", "count": "12",
                                                       "sector": "government"})
    assert (status, body) == (200, "")
    saved = await slack.api.wait_for("response_url", 2)
    assert saved.path.startswith("/response/click/")  # shown where the button was clicked
    assert saved.params["response_type"] == "in_channel"
    assert texts(saved.blocks) == "Saved\n&lt;!here&gt; Library &amp; Co (government, 12 staff) saved as #42."
    name, (origin, action, value, fields) = spy.calls[-1]
    assert (action, value, origin.channel_id) == ("demo.save", "42", "CSTEER")
    assert fields == {"name": "<!here> Library & Co", "notes": "", "count": "12", "sector": "government"}


async def test_slow_submission_closes_modal_and_answers_later(
        slack: SlackSide, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(slack_app, "SUBMIT_BUDGET", 0.05)
    message = await say(slack, "UAISHA", "echo partners")
    await slack.click("UAISHA", {**buttons(message)["Tell us more"], "value": "slow"})
    view = (await slack.api.wait_for("views.open")).view
    started = time.monotonic()
    status, body = await slack.submit("UAISHA", view, {"name": "Ada", "count": "1", "sector": "nonprofit"})
    assert (status, body) == (200, "")
    assert time.monotonic() - started < 2.5  # acknowledged long before the 3 s of work end
    saved = await slack.api.wait_for("response_url", 2)
    assert "Ada (nonprofit, 1 staff) saved as #slow." in texts(saved.blocks)


async def test_app_home_shows_groups_and_roles(slack: SlackSide) -> None:
    status, _ = await slack.open_home("UAISHA")
    assert status == 200
    published = await slack.api.wait_for("views.publish")
    assert published.params["user_id"] == "UAISHA"
    view = published.view
    assert view["type"] == "home"
    assert view["blocks"][0]["text"]["text"] == "Riverbend Early Childhood Collective"
    shown = texts(view["blocks"])
    assert "Your groups and roles" in shown
    assert "*Data working group*\nMember · working group" in shown
    assert "*Steering committee*\nMember · steering committee" in shown
    assert "Family engagement" not in shown


async def test_app_home_for_a_stranger_explains_registration(slack: SlackSide) -> None:
    await slack.open_home("UNOBODY")
    shown = texts((await slack.api.wait_for("views.publish")).view["blocks"])
    assert "Welcome" in shown and "I don't know who you are" in shown and "UNOBODY" in shown


async def test_home_button_answers_by_direct_message(slack: SlackSide, demo_core: Core) -> None:
    button = {"action_id": "demo.again", "value": "from home", "text": {"type": "plain_text", "text": "Again"}}
    status, _ = await slack.click("UTOM", button, channel=None)
    assert status == 200
    await slack.settle()
    await deliver_outbox(demo_core.engine, slack.api)  # no response_url: the answer goes through the outbox
    posted = await slack.api.wait_for("chat.postMessage")
    assert posted.params["channel"] == "DTOM"
    assert texts(posted.blocks) == "again: from home"


async def test_slack_markup_in_typed_text_becomes_plain(slack: SlackSide) -> None:
    """With should_escape on, Slack wraps links, channels and picked members; the core gets plain text."""
    before = len(slack.api.of("response_url"))
    markup = "echo see <https://example.org/q3|example.org/q3> in <#C0ABC|data> ask <@UJAMES|james>"
    assert await slack.command("UAISHA", markup) == (200, "")
    call = await slack.api.wait_for("response_url", before + 1)
    assert call.blocks[1]["text"]["text"] == (
        "You said: see https://example.org/q3 in #data ask &lt;@UJAMES|james&gt;")


def test_typed_text_keeps_member_mentions_for_the_core() -> None:
    from bot.adapters.slack.app import typed_text

    assert typed_text("action <@UTOM|tom> send &lt;file&gt; &amp; notes") == "action <@UTOM|tom> send <file> & notes"
