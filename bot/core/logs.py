"""How cibot logs: one line per event, text or JSON, with the id of the request or job it belongs to.

`configure` reads LOG_LEVEL (default INFO) and LOG_FORMAT (``text`` or ``json``); libraries
(Bolt, discord.py, APScheduler, Alembic, aiohttp) log at WARNING unless the level is DEBUG;
SQLAlchemy always does, since its lower levels print SQL parameters. `request_scope` tags
every line logged inside it with a request id, so one command's or one job's lines can be
found together. No line carries a request body or
a secret, at any level: cibot's own code logs ids and keys, and every line (libraries'
included, such as Bolt's note of a forged request with its body) passes `redact` first.
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import logging
import os
import re
import sys
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

LIBRARIES = ("slack_bolt", "slack_sdk", "discord", "apscheduler", "alembic", "aiohttp", "asyncio")
ALWAYS_QUIET = ("sqlalchemy",)  # its INFO and DEBUG lines carry SQL parameters: message text, ids, values
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s]: %(message)s"
_request_id: contextvars.ContextVar[str] = contextvars.ContextVar("cibot_request_id", default="-")


class LogSettingError(ValueError):
    """LOG_LEVEL or LOG_FORMAT holds something cibot cannot use; the message says what would work."""


@contextlib.contextmanager
def request_scope(prefix: str) -> Iterator[str]:
    """Tag every line logged inside the block with a fresh id ``PREFIX-xxxxxxxx``; yields the id."""
    ident = f"{prefix}-{uuid.uuid4().hex[:8]}"
    token = _request_id.set(ident)
    try:
        yield ident
    finally:
        _request_id.reset(token)


class _RequestId(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = _request_id.get()
        return True


SECRET_SETTINGS = ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN", "DISCORD_TOKEN")
_BODY = re.compile(r"\bbody: .*", re.DOTALL)  # Bolt: "Invalid request signature detected (..., body: ...)"
_PAYLOAD = re.compile(r"\b(\w*(?:params|data|json|body|payload)): [{\[].*", re.DOTALL)  # SDK dumps: json_body: {...}
_FORM = re.compile(r"\b[\w.]+=[^&\s]*(?:&[\w.]+=[^&\s]*)+")  # a form-encoded request body
_TOKEN = re.compile(r"\b(?:xox[abepr]|xapp)-[\w-]+")
_PASSWORD = re.compile(r"(://[^:/@\s]+:)[^@\s]+@")


def redact(text: str, secrets: tuple[str, ...] = ()) -> str:
    """`text` without request bodies, tokens, URL passwords or any of `secrets`."""
    text = _BODY.sub("body: (withheld)", text)
    text = _PAYLOAD.sub(r"\1: (withheld)", text)
    text = _FORM.sub("(form data withheld)", text)
    text = _TOKEN.sub("(token withheld)", text)
    text = _PASSWORD.sub(r"\1***@", text)
    for secret in secrets:
        text = text.replace(secret, "(secret withheld)")
    return text


class _Redact(logging.Filter):
    def __init__(self, secrets: tuple[str, ...]) -> None:
        super().__init__()
        self.secrets = secrets

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message, self.secrets)
        if cleaned != message:
            record.msg, record.args = cleaned, ()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request id, and the traceback if any."""

    def format(self, record: logging.LogRecord) -> str:
        line = {"time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
                "level": record.levelname, "logger": record.name, "message": record.getMessage(),
                "request_id": getattr(record, "request_id", "-")}
        if record.exc_info:
            line["error"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False)


def configure(environ: dict[str, str] | None = None) -> None:
    """Set up the root logger from LOG_LEVEL and LOG_FORMAT; raise `LogSettingError` on a bad value."""
    env = os.environ if environ is None else environ
    level_name = (env.get("LOG_LEVEL") or "INFO").upper()
    level = logging.getLevelName(level_name)
    if not isinstance(level, int):
        raise LogSettingError(f"LOG_LEVEL {level_name!r} is not a level; use DEBUG, INFO, WARNING or ERROR")
    style = (env.get("LOG_FORMAT") or "text").lower()
    if style not in ("text", "json"):
        raise LogSettingError(f"LOG_FORMAT {style!r} is not known; use text or json")
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(_RequestId())
    handler.addFilter(_Redact(tuple(value for name in SECRET_SETTINGS if len(value := env.get(name, "")) >= 8)))
    handler.setFormatter(JsonFormatter() if style == "json" else logging.Formatter(TEXT_FORMAT))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    for library in LIBRARIES:
        logging.getLogger(library).setLevel(level if level <= logging.DEBUG else max(level, logging.WARNING))
    for library in ALWAYS_QUIET:
        logging.getLogger(library).setLevel(max(level, logging.WARNING))
