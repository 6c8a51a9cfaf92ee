"""The public page as the server answers it and as static files for any web host."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from sqlalchemy.engine import Engine

from bot.core.errors import UserError
from bot.publish.page import public_page, render_page
from storage.db import session_scope

# No script, no outside resource: the page's own inline CSS and nothing else.
HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; "
                               "form-action 'none'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "public, max-age=300",
}


def page_html(engine: Engine, slug: str, now: datetime) -> str | None:
    """The HTML of initiative `slug`'s public page, or None when it has none."""
    with session_scope(engine) as session:
        page = public_page(session, slug, now)
        return None if page is None else render_page(page)


def write_site(engine: Engine, slug: str, directory: Path, now: datetime) -> Path:
    """Write the page of `slug` as DIRECTORY/index.html (self-contained, opens from the file system); returns it."""
    html = page_html(engine, slug, now)
    if html is None:
        raise UserError(f"Initiative {slug!r} publishes nothing (or does not exist): nothing to write.",
                        usage="Publish items first: the initiative file's publish: section or /ci publish on ITEM.")
    try:
        directory.mkdir(parents=True, exist_ok=True)
        target = directory / "index.html"
        target.write_text(html, encoding="utf-8")
    except OSError as exc:
        raise UserError(f"Cannot write to {directory}: {exc.strerror or exc}.") from None
    return target
