"""The pages email links open on `cibot serve`: a prompt's data form and one-click unsubscribe.

The signed token in the address says who the member is and what the page is for
(see `bot.core.tokens`); the form is the chat's own (the measures capability's form
and submit actions, run through the core as that member), so it validates exactly as
in Slack or Discord and shows only that partner's indicator and values. Nothing is
written on GET; a POST needs the token, so another site cannot forge a submission.
A changed token answers 403 and an expired one 410, with a page saying what to do.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

from aiohttp import web

from bot.adapters.email.dialect import EMAIL
from bot.core import tokens
from bot.core.context import Origin
from bot.core.core import Core
from bot.core.messages import Form, FormErrors, Reply
from bot.core.registry import bot_session
from bot.core.render import Markup
from bot.runtime import mail
from storage.mail import EmailMode

OPEN_FORM, SEND_FORM = "measures.form", "measures.submit"
HEADERS = {"Cache-Control": "no-store", "X-Frame-Options": "DENY", "Referrer-Policy": "no-referrer",
           "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'"}
EXPIRED = ("This link has expired", "Links in emails work for a limited time. Type /ci submit in the chat, "
           "or ask your backbone team to send the request again.")
INVALID = ("This link is not valid", "The address was changed or cut short. Open the link from the email again, "
           "copying all of it.")


def routes(core: Core) -> list[web.RouteDef]:
    """`GET|POST /submit/{token}` (the data form) and `GET|POST /unsubscribe/{token}`."""

    async def submit(request: web.Request) -> web.Response:
        data = _verified(request, tokens.SUBMIT_FORM, core.clock.now())
        if isinstance(data, web.Response):
            return data
        origin = Origin(mail.PLATFORM, str(data.get("m", "")))
        value = str(data.get("v", ""))
        if request.method == "GET":
            reply = await core.interact(origin, OPEN_FORM, value)
            return _form_page(request, reply, {}, {})
        posted = await request.post()
        opened = await core.interact(origin, OPEN_FORM, value)
        if not isinstance(opened, Reply) or opened.form is None:
            return _form_page(request, opened, {}, {})
        typed = {f.name: str(posted.get(f.name, "")) for f in opened.form.fields}
        result = await core.interact(origin, SEND_FORM, value, typed)
        if isinstance(result, FormErrors):
            return _form_page(request, opened, typed, result.errors, status=422)
        return _page(result.title or "Thank you", result.sections, status=200)

    async def unsubscribe(request: web.Request) -> web.Response:
        data = _verified(request, mail.UNSUBSCRIBE, core.clock.now())
        if isinstance(data, web.Response):
            return data
        kind = str(data.get("k", ""))
        label = mail.KINDS.get(kind, "emails")
        if request.method == "GET":
            return _page(f"Stop {label}?", [EMAIL.escape(f"Press the button and no more {label} are emailed to you. "
                                                         "/ci email on in the chat starts them again.")],
                         confirm=f"Stop {label}", action=request.path)
        await asyncio.to_thread(_unsubscribe, core, int(data.get("m", 0)), kind)
        return _page(f"No more {label}", [EMAIL.escape(f"You will not get {label} by email any more. "
                                                       "/ci email on in the chat starts them again.")])

    return [web.get("/submit/{token}", submit), web.post("/submit/{token}", submit),
            web.get("/unsubscribe/{token}", unsubscribe), web.post("/unsubscribe/{token}", unsubscribe)]


def _verified(request: web.Request, purpose: str, now: datetime) -> dict[str, Any] | web.Response:
    try:
        return tokens.verify(purpose, request.match_info["token"], now)
    except tokens.ExpiredToken:
        return _page(EXPIRED[0], [EMAIL.escape(EXPIRED[1])], status=410)
    except (tokens.BadToken, ValueError):
        return _page(INVALID[0], [EMAIL.escape(INVALID[1])], status=403)


def _unsubscribe(core: Core, member_id: int, kind: str) -> None:
    with bot_session(core.engine, core.registry) as session:
        if kind in mail.KINDS:
            mail.unsubscribe(session, member_id, kind, core.clock.now())
        else:
            mail.set_mode(session, member_id, EmailMode.OFF, core.clock.now())


def _form_page(request: web.Request, reply: Reply | FormErrors, values: dict[str, str], errors: dict[str, str], *,
               status: int = 200) -> web.Response:
    if not isinstance(reply, Reply) or reply.form is None:  # refused: not theirs, out of date, ...
        sections = reply.sections if isinstance(reply, Reply) else []
        return _page("This form cannot be opened", sections, status=403)
    form: Form = reply.form
    return _page(form.title, [], form=form, values=values, errors=errors, action=request.path, status=status)


def _page(title: str, sections: list[Markup], *, status: int = 200, form: Form | None = None,
          values: dict[str, str] | None = None, errors: dict[str, str] | None = None, confirm: str = "",
          action: str = "") -> web.Response:
    body = EMAIL.render("email/page.j2", title=title, sections=sections, form=form, values=values or {},
                        errors=errors or {}, confirm=confirm, action=action)
    return web.Response(text=body, content_type="text/html", charset="utf-8", status=status, headers=HEADERS)
