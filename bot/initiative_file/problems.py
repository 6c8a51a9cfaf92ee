"""Where something is in the initiative file, and the list of everything wrong with it."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass

from bot.core.errors import UserError


class InitiativeFileError(UserError):
    """The initiative file is wrong; `errors` names the file, line and field of every problem."""

    def __init__(self, errors: list[str]) -> None:
        self.errors = list(errors)
        count = len(self.errors)
        heading = "1 problem" if count == 1 else f"{count} problems"
        super().__init__(
            f"{heading} in the initiative file; nothing was loaded:\n" + "\n".join(self.errors),
            usage="Fix the file and run cibot load FILE again.",
        )


@dataclass(frozen=True)
class Where:
    """A line (1-based) and a field path such as ``members[3].timezone``."""

    line: int
    path: str

    def field(self, name: str) -> str:
        """The path of field `name` inside this place."""
        return f"{self.path}.{name}" if self.path else name


class Problems:
    """Every error found in one file, each prefixed with the file, line and field."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.errors: list[str] = []

    def add(self, where: Where, message: str) -> None:
        """Record that the value at `where` is wrong, and why."""
        place = f", {where.path}" if where.path else ""
        self.errors.append(f"{self.source} line {where.line}{place}: {message}")

    def raise_if_any(self) -> None:
        """Raise `InitiativeFileError` with every recorded error, if there are any."""
        if self.errors:
            raise InitiativeFileError(self.errors)


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """`` (did you mean X?)`` for the closest of `choices` to `word`, or an empty string."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean {close[0]}?)" if close else ""
