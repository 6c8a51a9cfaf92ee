"""`/ci publish`: what the public progress page shows, and the backbone's switch for each item."""

from __future__ import annotations

from bot.core.args import Args
from bot.core.context import Context
from bot.core.messages import Reply
from bot.core.registry import Access, Registry
from bot.core.render import Markup
from bot.core.tokens import public_url
from bot.publish.items import ITEM_FORMS, check_item, parse_item, published, set_published
from storage.ids import id_of

LIST_USAGE = "/ci publish"
ON_USAGE = "/ci publish on agenda | glossary | indicator KEY | decisions GROUP | meetings GROUP"
OFF_USAGE = ON_USAGE.replace(" on ", " off ")


def register(registry: Registry) -> None:
    """Add `/ci publish`, `/ci publish on` and `/ci publish off`."""
    registry.command(
        "publish", list_published, summary="What the public progress page shows, and where it is.",
        usage=LIST_USAGE,
    )
    registry.command(
        "publish on", publish_on, access=Access.BACKBONE, summary="Show an item on the public progress page.",
        usage=ON_USAGE, details=f"Items: {ITEM_FORMS}. Nothing is public until the backbone publishes it; "
                                "indicators visible to the backbone only cannot be published.",
    )
    registry.command(
        "publish off", publish_off, access=Access.BACKBONE, summary="Take an item off the public progress page.",
        usage=OFF_USAGE,
    )


def list_published(ctx: Context, _args: Args) -> Reply:
    """The items the page shows, and its address under `cibot serve`."""
    initiative = ctx.require_initiative()
    items = published(ctx.session, id_of(initiative))
    m = ctx.markup
    if not items:
        return Reply(sections=[m.escape("Nothing is published: the initiative has no public page yet.")],
                     context=f"Backbone staff publish items with {ON_USAGE}.", ephemeral=True)
    lines = [m.escape(f"• {item.label}") for item in items]
    return Reply(title="Published on the public progress page", sections=[Markup("\n").join(lines)],
                 context=f"cibot serve shows it at {public_url(f'/p/{initiative.slug}')}; "
                         "cibot publish DIR writes it as files.",
                 ephemeral=True)


def publish_on(ctx: Context, args: Args) -> Reply:
    """Publish one item (backbone staff)."""
    return _switch(ctx, args, on=True)


def publish_off(ctx: Context, args: Args) -> Reply:
    """Withdraw one item (backbone staff)."""
    return _switch(ctx, args, on=False)


def _switch(ctx: Context, args: Args, *, on: bool) -> Reply:
    member = ctx.require_backbone("change what the public page shows")
    initiative_id = id_of(ctx.require_initiative())
    usage = ON_USAGE if on else OFF_USAGE
    item = parse_item(args.words, usage)
    if on:
        check_item(ctx.session, initiative_id, item, usage)
    changed = set_published(ctx.session, initiative_id, item, on, member.id)
    if on:
        said = f"Published {item.label}." if changed else f"{item.label} was already published."
    else:
        said = f"Took {item.label} off the public page." if changed else f"{item.label} was not published."
    return Reply(sections=[ctx.markup.escape(said)], ephemeral=True)
