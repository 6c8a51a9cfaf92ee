"""The router, help, identity and error paths, through the in-memory chat."""

from __future__ import annotations

import pytest

from bot.core.args import parse_args, tokenize
from bot.core.errors import UserError
from tests.chat import Chat, text_of
from tests.factories import seed


def test_quoted_phrases_stay_together_and_apostrophes_are_letters() -> None:
    assert tokenize('add "common agenda" = children\'s “shared goal”') == [
        "add", "common agenda", "=", "children's", "shared goal"]


def test_unbalanced_quote_is_explained() -> None:
    with pytest.raises(UserError, match="opening quote without a closing one"):
        tokenize('glossary "backbone')


def test_options_are_parsed_and_unknown_options_named() -> None:
    args = parse_args("Fix the data --kind report --minutes=10", frozenset({"kind", "minutes"}))
    assert args.words == ["Fix", "the", "data"]
    assert args.options == {"kind": "report", "minutes": "10"}
    with pytest.raises(UserError, match="Unknown option --colour. This command takes --kind, --minutes"):
        parse_args("x --colour red", frozenset({"kind", "minutes"}))


def test_help_lists_commands(chat: Chat, engine) -> None:
    seed(engine)
    reply = chat.say("/ci help")
    assert reply.ephemeral
    assert "/ci help" in text_of(reply)


def test_a_bare_ci_shows_the_help(chat: Chat, engine) -> None:
    seed(engine)
    reply = chat.say("/ci")
    assert reply.title == "cibot commands"
    assert "/ci glossary" in text_of(reply)


def test_unknown_command_suggests_the_closest(chat: Chat, engine) -> None:
    seed(engine)
    reply = chat.say("/ci hlep")
    assert "Did you mean /ci help" in text_of(reply)


def test_unknown_console_user_is_told_how_to_register(chat: Chat, engine) -> None:
    seed(engine)
    reply = chat.as_("nobody").say("/ci help")
    assert "/ci help" in text_of(reply)  # anyone can read help
    home = chat.core.home_sync(chat.as_("nobody").origin)
    assert "cibot shell --as KEY" in text_of(home.replies[0])


def test_slack_user_in_unbound_channel_is_told_how_to_bind(engine) -> None:
    seed(engine)
    from bot.bootstrap import build_core
    stranger = Chat(build_core(engine), platform="slack", user_id="UNOBODY", channel_id="CRANDOM", team_id="T9")
    assert "not bound to an initiative" in text_of(stranger.say("/ci help"))
