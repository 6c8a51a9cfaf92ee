"""Issue 12, reproduction 6: a forged or replayed Slack request leaves no trace of its payload in the logs.

`cibot serve` runs for real at LOG_LEVEL=DEBUG (text lines, where Bolt's and the SDKs' own
formatting reaches the log as it is) and at INFO; forged commands, button clicks, form
submissions and events, and a genuine request replayed after Slack's five-minute window,
all carry a marker, user ids and channel ids. The captured log must name none of them,
nor the signing secret, the bot token or a calendar feed's token, while still saying
that requests were refused.
"""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path

import aiohttp
import pytest

from bot.meetings.calendar import feed_token
from storage.db import make_engine, session_scope
from tests.fake_slack_api import SIGNING_SECRET, FakeSlackApi, SlackSide
from tests.test_serve import TEAM, loaded_database, start_serving

MARKER = "ConfidentialGrantAmount8812"
INTRUDER = "UMALLORY77"
CHANNEL = "CSECRETROOM9"


async def _attack(url: str, api: FakeSlackApi) -> None:
    async with aiohttp.ClientSession() as http:
        forged = SlackSide(http, url + "/slack/events", "not-the-signing-secret", api)
        genuine = SlackSide(http, url + "/slack/events", SIGNING_SECRET, api)
        stale = int(time.time()) - 600
        answers = [
            await forged.command(INTRUDER, f"submit readiness 61.5 --note {MARKER}", team=TEAM, channel=CHANNEL),
            await genuine.command(INTRUDER, f"propose {MARKER} --closes 3d", team=TEAM, channel=CHANNEL,
                                  timestamp=stale),  # a real request replayed after the window
            await forged.interactive({"type": "block_actions", "user": {"id": INTRUDER}, "team": {"id": TEAM},
                                      "channel": {"id": CHANNEL},
                                      "actions": [{"action_id": "decision.vote", "value": MARKER}]}),
            await forged.interactive({"type": "view_submission", "user": {"id": INTRUDER}, "team": {"id": TEAM},
                                      "view": {"callback_id": "decision.propose",
                                               "state": {"values": {"title": {"v": {"value": MARKER}}}}}}),
            await forged.event({"type": "message", "user": INTRUDER, "channel": CHANNEL, "text": MARKER}),
            await genuine.post(json.dumps({"type": "event_callback", "event": {"text": MARKER, "user": INTRUDER}}),
                               "application/json", signature="v0=" + "0" * 64),
        ]
        assert [status for status, _ in answers] == [401] * len(answers)


@pytest.mark.parametrize("level", ["DEBUG", "INFO"])
async def test_forged_and_replayed_requests_leave_no_payload_or_secret_in_the_logs(tmp_path: Path,
                                                                                   level: str) -> None:
    db = loaded_database(tmp_path)
    engine = make_engine(db)
    with session_scope(engine) as session:
        token = feed_token(session, 1)
    engine.dispose()
    with FakeSlackApi() as api:
        served = start_serving(db, api, LOG_LEVEL=level, LOG_FORMAT="text")
        try:
            await _attack(served.url, api)
            async with aiohttp.ClientSession() as http, \
                    http.get(f"{served.url}/calendar/backbone/{token}.ics") as response:  # a secret in a URL
                assert response.status in (200, 404)
        finally:
            code, err = served.stop(signal.SIGTERM)
    assert code == 0, err
    for secret in (MARKER, INTRUDER, CHANNEL, SIGNING_SECRET, "not-the-signing-secret", "xoxb-test", token):
        assert secret not in err, f"{secret} is in the {level} log:\n{err}"
    assert "body:" not in err or "body: (withheld)" in err
    if level == "DEBUG":
        assert "Refused a request whose signature is wrong or more than 5 minutes old" in err
        assert " DEBUG " in err  # the libraries did speak
    else:
        assert "Invalid request signature" not in err and "Refused a request" not in err  # Bolt's INFO stays quiet
