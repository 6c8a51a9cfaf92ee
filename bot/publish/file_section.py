"""The `publish:` section of the initiative file: what the public progress page shows.

    publish:
      common_agenda: yes                        # the initiative's common agenda statement
      indicators: [readiness, prek-enrolled]    # indicator keys (never backbone-only ones)
      decisions: [steering]                     # group keys: decisions those groups made
      meetings: [steering]                      # group keys: those groups' upcoming meetings
      glossary: yes                             # the agreed terms

Without the section nothing changes; with it, the page shows exactly what it lists (items
published in chat and not listed are withdrawn, and the load report names them).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from bot.initiative_file.nodes import At, Field, Invalid, items, record
from bot.initiative_file.problems import Problems, Where, did_you_mean
from bot.initiative_file.report import Tally
from bot.initiative_file.values import key, yes_no
from bot.publish.items import Item, replace_published
from storage.measures import Visibility
from storage.publish import PublishKind

if TYPE_CHECKING:
    from bot.initiative_file.spec import InitiativeSpec
    from bot.initiative_file.sync import Run


@dataclass
class PublishSpec:
    """The `publish:` section, checked: the items it lists and where each list was written."""

    items: set[Item] = field(default_factory=set)
    where: dict[PublishKind, Where] = field(default_factory=dict)


def _keys(at: At, problems: Problems) -> list[str]:
    """A list of keys (a single key counts as a list of one)."""
    found = []
    for item in items(at, problems, "keys", single_ok=True):
        try:
            found.append(key(item, problems))
        except Invalid as exc:
            problems.add(item.where, str(exc))
    return found


FIELDS = {
    "common_agenda": Field(yes_no),
    "indicators": Field(_keys),
    "decisions": Field(_keys),
    "meetings": Field(_keys),
    "glossary": Field(yes_no),
}
_KINDS = {"common_agenda": PublishKind.AGENDA, "indicators": PublishKind.INDICATOR,
          "decisions": PublishKind.DECISIONS, "meetings": PublishKind.MEETINGS, "glossary": PublishKind.GLOSSARY}


def read_publish(at: At, problems: Problems) -> PublishSpec | None:
    """The `publish:` section."""
    found = record(at, FIELDS, problems, "publish")
    if found is None:
        return None
    spec = PublishSpec()
    for name, value in found.values.items():
        kind = _KINDS[name]
        spec.where[kind] = found.spot(name)
        if isinstance(value, bool):
            spec.items |= {Item(kind)} if value else set()
        else:
            spec.items |= {Item(kind, key) for key in value}
    return spec


def check_publish(spec: InitiativeSpec, problems: Problems) -> None:
    """Published indicators and groups exist in the file, and no backbone-only indicator is published."""
    if spec.publish is None:
        return
    indicators = {ind.key: ind for ind in spec.indicators}
    groups = {g.key for g in spec.groups}
    for item in sorted(spec.publish.items):
        where = spec.publish.where[item.kind]
        if item.kind == PublishKind.INDICATOR:
            ind = indicators.get(item.key)
            if ind is None:
                problems.add(where, f"{item.key!r} is not an indicator key{did_you_mean(item.key, indicators)}")
            elif ind.visibility == Visibility.BACKBONE:
                problems.add(where, f"{item.key} is visible to backbone staff only and cannot be published; "
                             "remove it here or change its visibility")
        elif item.kind in (PublishKind.DECISIONS, PublishKind.MEETINGS) and item.key not in groups:
            problems.add(where, f"{item.key!r} is not a group key{did_you_mean(item.key, groups)}")


def sync_publish_section(run: Run) -> Tally | None:
    """The load step for `publish:`: the page shows exactly the listed items."""
    if run.spec.publish is None:
        return None
    added, gone = replace_published(run.session, run.initiative_id, run.spec.publish.items)
    unchanged = len(run.spec.publish.items) - len(added)
    return Tally("published items", gone_word="withdrawn", created=[i.label for i in added],
                 gone=[i.label for i in gone], unchanged=unchanged)
