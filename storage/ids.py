"""The primary key of a row that has been saved."""

from __future__ import annotations

from typing import Protocol


class Saved(Protocol):
    """Any table row: its `id` is None until the session flushes it."""

    @property
    def id(self) -> int | None: ...


def id_of(row: Saved) -> int:
    """The primary key of `row`, which must already be flushed; a row without one is a bug."""
    if row.id is None:
        raise ValueError(f"{type(row).__name__} has no id yet; flush the session first")
    return row.id
