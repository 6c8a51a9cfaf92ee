"""`cibot config check` and secrets from files, as an operator setting up a deployment meets them."""

from __future__ import annotations

import signal
from pathlib import Path

from sqlalchemy.engine import make_url

from tests.db_helpers import PG_URL
from tests.fake_slack_api import FakeSlackApi
from tests.process_helpers import cibot, free_port
from tests.test_serve import loaded_database, start_serving

SLACK = {"SLACK_BOT_TOKEN": "xoxb-1234-abcd-secret", "SLACK_SIGNING_SECRET": "0123456789abcdef-secret"}


def test_a_complete_slack_setup_is_all_set_and_no_secret_is_printed(tmp_path: Path) -> None:
    checked = cibot("config", "check", "--platform", "slack", db=f"sqlite:///{tmp_path}/c.db", **SLACK)
    assert checked.returncode == 0, checked.stdout
    assert "ok  SLACK_BOT_TOKEN: set (21 characters)" in checked.stdout and "all set" in checked.stdout
    assert not any(value in checked.stdout + checked.stderr for value in SLACK.values())


def test_missing_wrong_and_unreachable_settings_are_each_named(tmp_path: Path) -> None:
    url = f"postgresql+psycopg://cibot:hunter2-secret@127.0.0.1:{free_port()}/cibot"
    checked = cibot("config", "check", db=url, SLACK_BOT_TOKEN="xoxp-user-token-secret", DISCORD_TOKEN="t",
                    DISCORD_APPLICATION_ID="not-a-number")
    assert checked.returncode == 1
    lines = checked.stdout.splitlines()
    assert any(line.startswith("BAD DATABASE_URL: cannot connect") for line in lines)
    assert "BAD SLACK_BOT_TOKEN: set, but it should start with xoxb-" in lines
    assert "BAD SLACK_SIGNING_SECRET: missing" in lines
    assert any(line.startswith("BAD DISCORD_APPLICATION_ID") and "digits only" in line for line in lines)
    assert lines[-1] == "4 problem(s)"
    assert "hunter2-secret" not in checked.stdout and "xoxp-user-token-secret" not in checked.stdout


def test_secrets_can_come_from_files_as_docker_and_kubernetes_mount_them(tmp_path: Path) -> None:
    token, secret = tmp_path / "token", tmp_path / "secret"
    token.write_text(SLACK["SLACK_BOT_TOKEN"] + "\n")
    secret.write_text(SLACK["SLACK_SIGNING_SECRET"])
    checked = cibot("config", "check", "--platform", "slack", db=f"sqlite:///{tmp_path}/c.db",
                    SLACK_BOT_TOKEN_FILE=str(token), SLACK_SIGNING_SECRET_FILE=str(secret))
    assert checked.returncode == 0 and "all set" in checked.stdout, checked.stdout
    unreadable = cibot("config", "check", db=f"sqlite:///{tmp_path}/c.db", DISCORD_TOKEN_FILE=str(tmp_path / "nope"))
    assert unreadable.returncode == 2 and "DISCORD_TOKEN_FILE names" in unreadable.stderr


def test_the_address_comes_from_port_and_host_and_postgres_urls_are_accepted(tmp_path: Path) -> None:
    with FakeSlackApi() as api:
        served = start_serving(loaded_database(tmp_path), api, address_in_env=True)
        code, _ = served.stop(signal.SIGTERM)
    assert code == 0
    url = make_url(PG_URL).set(drivername="postgres").render_as_string(hide_password=False)
    checked = cibot("config", "check", "--platform", "slack", db=url, **SLACK)
    assert checked.returncode == 0 and f"ok  DATABASE_URL: {url} answers" in checked.stdout, checked.stdout
