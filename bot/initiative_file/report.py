"""What a load changed, counted per kind of row, in words a person can check."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Tally:
    """Rows of one kind that a load created, updated, brought back or took away.

    Each list holds one short description per row (``maria: organization``);
    `gone_word` is what taking away means for this kind (deactivated, removed), or
    empty for kinds a load never takes away.
    """

    label: str
    gone_word: str = "removed"
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    reactivated: list[str] = field(default_factory=list)
    gone: list[str] = field(default_factory=list)
    unchanged: int = 0

    @property
    def changed(self) -> bool:
        """True when the load changed any row of this kind."""
        return bool(self.created or self.updated or self.reactivated or self.gone)

    def line(self) -> str:
        """One line such as ``members: 1 created, 1 updated (maria: organization), 0 deactivated``."""
        if not self.changed:
            return f"{self.label}: unchanged ({self.unchanged})"
        parts = [f"{len(self.created)} created", _counted(self.updated, "updated")]
        if self.reactivated:
            parts.append(_counted(self.reactivated, "reactivated"))
        if self.gone_word:
            parts.append(_counted(self.gone, self.gone_word))
        if self.unchanged:
            parts.append(f"{self.unchanged} unchanged")
        return f"{self.label}: " + ", ".join(parts)

    def counts(self) -> dict[str, int]:
        """The tally as numbers, for the audit trail."""
        counts = {"created": len(self.created), "updated": len(self.updated),
                  "reactivated": len(self.reactivated), "unchanged": self.unchanged}
        if self.gone_word:
            counts[self.gone_word] = len(self.gone)
        return counts


def _counted(details: list[str], word: str) -> str:
    described = [d for d in details if d]
    return f"{len(details)} {word}" + (f" ({'; '.join(described)})" if described else "")


@dataclass
class LoadReport:
    """The outcome of loading an initiative file: what happened to each kind of row."""

    slug: str
    initiative: str  # "created", "updated (name, timezone)" or "unchanged"
    tallies: list[Tally] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        """True when the load changed anything at all."""
        return self.initiative != "unchanged" or any(t.changed for t in self.tallies)

    def lines(self) -> list[str]:
        """A human summary: the initiative, then one line per kind of row."""
        lines = [f"initiative {self.slug}: {self.initiative}", *(t.line() for t in self.tallies)]
        if not self.changed:
            lines.append("nothing changed: the database already matched the file")
        return lines

    def counts(self) -> dict[str, Any]:
        """Every tally as numbers, for the audit trail."""
        return {"initiative": self.initiative, **{t.label: t.counts() for t in self.tallies}}
