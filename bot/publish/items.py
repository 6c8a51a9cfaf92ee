"""What an initiative publishes: reading an item's name, checking it, and switching it on or off.

An item is `agenda` (the common agenda statement), `glossary` (the agreed terms),
`indicator KEY`, `decisions GROUP` (decisions that group made) or `meetings GROUP` (that
group's upcoming meetings). Nothing is published until the backbone says so, and an
indicator only the backbone may see can never be published.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session, select

from bot.core.errors import UserError
from storage import audit
from storage.measures import Indicator, Visibility
from storage.models import Group
from storage.publish import PublishedItem, PublishKind

ITEM_FORMS = "agenda, glossary, indicator KEY, decisions GROUP or meetings GROUP"
KEYED = (PublishKind.INDICATOR, PublishKind.DECISIONS, PublishKind.MEETINGS)


@dataclass(frozen=True, order=True)
class Item:
    """One thing the public page may show."""

    kind: PublishKind
    key: str = ""

    @property
    def label(self) -> str:
        """How commands and reports name the item, e.g. ``indicator readiness``."""
        return f"{self.kind.value} {self.key}".strip()


def parse_item(words: list[str], usage: str) -> Item:
    """The item named by `words` (``indicator readiness``), or an error saying how to name one."""
    if not words:
        raise UserError(f"Please name what to publish: {ITEM_FORMS}.", usage=usage)
    try:
        kind = PublishKind(words[0].lower())
    except ValueError:
        raise UserError(f"{words[0][:40]!r} is not something the page can show; name {ITEM_FORMS}.",
                        usage=usage) from None
    keyed = kind in KEYED
    if keyed and len(words) != 2 or not keyed and len(words) != 1:
        form = f"{kind.value} {'GROUP' if kind != PublishKind.INDICATOR else 'KEY'}" if keyed else kind.value
        raise UserError(f"Write it like `{form}`.", usage=usage)
    return Item(kind, words[1].lower() if keyed else "")


def check_item(session: Session, initiative_id: int, item: Item, usage: str) -> None:
    """Refuse an item whose indicator or group does not exist, or an indicator only the backbone may see."""
    if item.kind == PublishKind.INDICATOR:
        indicator = session.exec(select(Indicator).where(
            Indicator.initiative_id == initiative_id, Indicator.key == item.key, Indicator.active == True  # noqa: E712
        )).first()
        if indicator is None:
            raise UserError(f"There is no indicator {item.key[:40]!r}; /ci indicators lists them.", usage=usage)
        if indicator.visibility == Visibility.BACKBONE:
            raise UserError(f"{item.key} is visible to backbone staff only, so it cannot be published. "
                            "Change its visibility first if partners agreed to share it.", usage=usage)
    elif item.kind in KEYED and session.exec(select(Group.id).where(
            Group.initiative_id == initiative_id, Group.key == item.key)).first() is None:
        raise UserError(f"There is no group {item.key[:40]!r}; name a group by its key.", usage=usage)


def published(session: Session, initiative_id: int) -> list[Item]:
    """Every item the initiative publishes, sorted by kind and key."""
    rows = session.exec(select(PublishedItem).where(PublishedItem.initiative_id == initiative_id))
    return sorted(Item(PublishKind(row.kind), row.key) for row in rows)


def set_published(session: Session, initiative_id: int, item: Item, on: bool, actor_id: int | None) -> bool:
    """Publish `item` (`on`) or withdraw it; True when that changed anything (recorded in the audit log)."""
    row = session.exec(select(PublishedItem).where(
        PublishedItem.initiative_id == initiative_id, PublishedItem.kind == item.kind, PublishedItem.key == item.key
    )).first()
    if (row is not None) == on:
        return False
    if on:
        session.add(PublishedItem(initiative_id=initiative_id, kind=item.kind, key=item.key))
    else:
        session.delete(row)
    audit.record(session, "publish.on" if on else "publish.off", initiative_id=initiative_id,
                 actor_id=actor_id, subject=item.label)
    session.flush()
    return True


def replace_published(session: Session, initiative_id: int, items: set[Item]) -> tuple[list[Item], list[Item]]:
    """Make `items` exactly what the initiative publishes; returns (added, withdrawn)."""
    current = set(published(session, initiative_id))
    added, gone = sorted(items - current), sorted(current - items)
    if gone:
        for row in session.exec(select(PublishedItem).where(PublishedItem.initiative_id == initiative_id)):
            if Item(PublishKind(row.kind), row.key) in gone:
                session.delete(row)
    for item in added:
        session.add(PublishedItem(initiative_id=initiative_id, kind=item.kind, key=item.key))
    session.flush()
    return added, gone


def published_keys(items: list[Item], kind: PublishKind) -> list[str]:
    """The keys of the published items of `kind`, in order."""
    return [item.key for item in items if item.kind == kind]

