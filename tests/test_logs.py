"""Logs an operator can ship and search: level and format from the environment, request ids, quiet libraries."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import pytest

from bot.core import logs


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    libraries = {name: logging.getLogger(name).level for name in logs.LIBRARIES}
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    for name, old in libraries.items():
        logging.getLogger(name).setLevel(old)


def test_json_lines_carry_the_request_id_and_libraries_stay_quiet(restore_logging: None,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    logs.configure({"LOG_LEVEL": "info", "LOG_FORMAT": "json"})
    with logs.request_scope("cmd") as ident:
        logging.getLogger("bot.core.core").info("answered %s", "glossary")
        logging.getLogger("alembic.runtime.migration").info("Running upgrade 0006 -> 0007")
    logging.getLogger("bot.runtime.dispatcher").warning("outside any request")
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    assert [(line["message"], line["request_id"]) for line in lines] == [
        ("answered glossary", ident), ("outside any request", "-")]
    assert ident.startswith("cmd-") and lines[0]["level"] == "INFO" and lines[0]["logger"] == "bot.core.core"


def test_text_is_the_default_and_debug_lets_libraries_speak(restore_logging: None,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    logs.configure({"LOG_LEVEL": "DEBUG"})
    logging.getLogger("alembic.runtime.migration").info("Running upgrade")
    assert "INFO alembic.runtime.migration [-]: Running upgrade" in capsys.readouterr().err


@pytest.mark.parametrize(("env", "said"), [({"LOG_LEVEL": "loud"}, "LOG_LEVEL 'LOUD' is not a level"),
                                           ({"LOG_FORMAT": "xml"}, "LOG_FORMAT 'xml' is not known")])
def test_a_bad_setting_is_refused_with_what_would_work(env: dict[str, str], said: str) -> None:
    with pytest.raises(logs.LogSettingError, match=said):
        logs.configure(env)
