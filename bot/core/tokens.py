"""Signed, expiring tokens for links the bot sends by email (data forms, one-click unsubscribe).

A token is ``payload.signature``: the payload is URL-safe base64 of compact JSON with
the purpose and an expiry, the signature an HMAC-SHA256 of it under the server's
secret key (`CIBOT_SECRET_KEY`, or the file `CIBOT_SECRET_KEY_FILE` names). A changed
byte, another purpose or a passed expiry makes `verify` refuse it; nothing in the
token is secret, it only cannot be forged.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import os
import secrets
from collections.abc import Mapping
from datetime import datetime
from typing import Any

log = logging.getLogger(__name__)
KEY_VARIABLE = "CIBOT_SECRET_KEY"
SUBMIT_FORM = "submit"  # the purpose of the links in data prompts to the web form
_ephemeral: list[bytes] = []


class BadToken(Exception):
    """The token was not made by this server, or was changed, or is for something else."""


class ExpiredToken(BadToken):
    """The token was genuine but its time has passed."""


def secret_key(env: Mapping[str, str] = os.environ) -> bytes:
    """The server's signing key; without `CIBOT_SECRET_KEY`, a random key for this process (logged once)."""
    text = env.get(KEY_VARIABLE, "").strip()
    if text:
        return text.encode()
    if not _ephemeral:
        log.warning("%s is not set: links in emails are signed with a random key and stop working when the "
                    "bot restarts (and on other replicas); set it to a long random string", KEY_VARIABLE)
        _ephemeral.append(secrets.token_bytes(32))
    return _ephemeral[0]


def sign(purpose: str, data: Mapping[str, Any], expires: datetime, key: bytes | None = None) -> str:
    """A token carrying `data` (plain JSON values) for `purpose`, valid until `expires`."""
    body = json.dumps({"p": purpose, "x": int(expires.timestamp()), "d": dict(data)}, separators=(",", ":"),
                      sort_keys=True).encode()
    payload = _b64(body)
    return f"{payload}.{_b64(_mac(key or secret_key(), payload))}"


def verify(purpose: str, token: str, now: datetime, key: bytes | None = None) -> dict[str, Any]:
    """The data of a genuine, unexpired `token` for `purpose`; `BadToken` or `ExpiredToken` otherwise."""
    payload, dot, signature = token.partition(".")
    if not dot or len(token) > 2000:
        raise BadToken("not a token")
    try:
        given = base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4))
    except ValueError:
        raise BadToken("not a token") from None
    if not hmac.compare_digest(given, _mac(key or secret_key(), payload)):
        raise BadToken("wrong signature")
    body = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    if body.get("p") != purpose:
        raise BadToken("token for something else")
    if now.timestamp() > body.get("x", 0):
        raise ExpiredToken("expired")
    data: dict[str, Any] = body.get("d", {})
    return data


def _mac(key: bytes, payload: str) -> bytes:
    return hmac.new(key, payload.encode(), hashlib.sha256).digest()


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def public_url(path: str, env: Mapping[str, str] = os.environ) -> str:
    """The address of `path` on `cibot serve` as people reach it (`CIBOT_PUBLIC_URL`, else localhost:PORT)."""
    base = env.get("CIBOT_PUBLIC_URL", "").strip().rstrip("/") or f"http://localhost:{env.get('PORT', '3000')}"
    return f"{base}{path}"
