"""Logs an operator can ship and search: level and format from the environment, request ids, quiet libraries."""

from __future__ import annotations

import json
import logging
import signal
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest

from bot.core import logs


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    libraries = {name: logging.getLogger(name).level for name in logs.LIBRARIES + logs.ALWAYS_QUIET}
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


async def test_a_run_with_forged_requests_logs_no_body_and_no_secret(tmp_path: Path) -> None:
    """`cibot serve` at DEBUG, in JSON: forged and real requests come and go; the log names none of their text."""
    from tests.fake_slack_api import SIGNING_SECRET, FakeSlackApi, SlackSide
    from tests.test_serve import TEAM, loaded_database, start_serving

    marker = "PrivateBudgetFigure4711"
    with FakeSlackApi() as api:
        served = start_serving(loaded_database(tmp_path), api, LOG_LEVEL="DEBUG", LOG_FORMAT="json")
        try:
            async with aiohttp.ClientSession() as http:
                forged = SlackSide(http, served.url + "/slack/events", "not-the-secret", api)
                real = SlackSide(http, served.url + "/slack/events", SIGNING_SECRET, api)
                assert (await forged.command("UMALLORY", f"glossary {marker}", team=TEAM))[0] == 401
                assert (await forged.command("UMALLORY", f"submit readiness 1 --note {marker}", team=TEAM,
                                             timestamp=1))[0] == 401  # stale as well as forged
                before = len(api.of("response_url"))
                assert (await real.command("U05LFISCHER", f"glossary {marker}", team=TEAM,
                                           channel="C05FAMILIES"))[0] == 200
                await api.wait_for("response_url", count=before + 1, timeout=10)
        finally:
            code, err = served.stop(signal.SIGTERM)
    assert code == 0, err
    lines = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
    assert lines and all({"time", "level", "logger", "message", "request_id"} <= line.keys() for line in lines)
    assert any(line["level"] == "DEBUG" for line in lines)  # the libraries did speak
    assert any(line["request_id"].startswith("cmd-") for line in lines)
    for secret in (marker, SIGNING_SECRET, "xoxb-test", "UMALLORY"):
        assert secret not in err
    assert "As you gave `client` as well" not in err
