"""The public progress page: what the backbone publishes for the community and funders.

`items` holds what is published and its switches; `page` builds and renders the page from
the same disclosure-checked figures as chat (`bot.measures.progress` for the public
viewer); `svg` draws its charts; `site` writes it as static files; `commands` is
`/ci publish`; `file_section` is the initiative file's `publish:` section.
"""

from bot.core.registry import Registry


def register(registry: Registry) -> None:
    """Add the `/ci publish` commands."""
    from bot.publish import commands

    commands.register(registry)
