"""Splitting `/ci` command text into words, quoted phrases and `--options`; reading typed ids.

Phones type smart punctuation: curly quotes group words like straight ones, and an em
or en dash (``—kind``, ``–kind``) right before one of the command's option names reads
as ``--kind``. Every id a user types, or a button or form carries, goes through
`read_id` / `parse_id`: ASCII digits only, within the database's integer range.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from bot.core.errors import UserError
from bot.core.time import when_length

_QUOTES = {'"': '"', "\u201c": "\u201d", "\u201e": "\u201c"}
_DASHES = ("\u2014", "\u2013")  # em dash, en dash: what "--" becomes under smart punctuation
MAX_COMMAND_LENGTH = 4000
MAX_ID = 2_147_483_647  # the largest value of the databases' integer id columns
_ID = re.compile(r"#?([0-9]+)")  # [0-9], not \d: "²", "٣" and "１" are digits to str.isdigit, not ids
_SHOWN = 20  # characters of a bad id echoed back in a reply
WHEN_OPTIONS = frozenset({"closes", "due", "review", "since", "until"})  # options whose value is a date or time


def read_id(text: object) -> int | None:
    """The id written as `text` (``12`` or ``#12``), or None when no stored row can have it.

    Only ASCII digits count; zero, negative numbers and anything above `MAX_ID` are
    None, as are values that are not strings (a button or JSON payload may carry anything).
    """
    if not isinstance(text, str):
        return None
    match = _ID.fullmatch(text.strip())
    if match is None:
        return None
    digits = match[1].lstrip("0")
    if not digits or len(digits) > len(str(MAX_ID)):
        return None
    value = int(digits)
    return value if value <= MAX_ID else None


def parse_id(text: str, what: str, *, hint: str = "", usage: str = "") -> int:
    """The id of a `what` (``decision``, ``agenda item``) typed as `text`, or the ordinary refusal.

    A number that no row can have gets "There is no decision #N."; anything else
    "“x” is not a decision number". `hint` (where to find the ids) follows either.
    """
    value = read_id(text)
    if value is not None:
        return value
    typed = text.strip()
    shown = typed if len(typed) <= _SHOWN else typed[:_SHOWN] + "…"
    tail = f" {hint}" if hint else ""
    if _ID.fullmatch(typed):
        stop = "" if shown.endswith("…") else "."
        raise UserError(f"There is no {what} #{shown.lstrip('#')}{stop}{tail}", usage=usage)
    raise UserError(f"“{shown}” is not {_article(what)} {what} number; write it like 12 or #12.{tail}",
                    usage=usage)


def _article(noun: str) -> str:
    return "an" if noun[:1].lower() in "aeiou" else "a"


def tokenize(text: str) -> list[str]:
    """Split `text` on spaces, keeping "double-quoted phrases" together.

    Apostrophes are ordinary letters (``children's``); straight and curly double
    quotes group words. An unclosed quote is an error that says how to fix it.
    """
    if len(text) > MAX_COMMAND_LENGTH:
        raise UserError(f"That command is {len(text)} characters long; the limit is {MAX_COMMAND_LENGTH}.")
    tokens: list[str] = []
    current: list[str] = []
    quote: str | None = None
    started = False
    for char in text:
        if quote:
            if char == quote or (quote != '"' and char == '"'):
                quote = None
            else:
                current.append(char)
        elif char in _QUOTES:
            quote = _QUOTES[char]
            started = True
        elif char.isspace():
            if started:
                tokens.append("".join(current))
                current, started = [], False
        else:
            current.append(char)
            started = True
    if quote:
        raise UserError(
            "There is an opening quote without a closing one.",
            usage='Put quotes around a phrase, like /ci glossary add "common agenda" = ...',
        )
    if started:
        tokens.append("".join(current))
    return tokens


@dataclass
class Args:
    """The words after a command, with the raw text kept for free-form input."""

    words: list[str]
    text: str
    options: dict[str, str] = field(default_factory=dict)

    def first(self, what: str, usage: str) -> str:
        """The first word, or an error naming `what` is missing."""
        if not self.words:
            raise UserError(f"Please give {what}.", usage=usage)
        return self.words[0]

    def joined(self) -> str:
        """The positional words joined by single spaces."""
        return " ".join(self.words)


def parse_args(text: str, options: frozenset[str] = frozenset()) -> Args:
    """Parse `text` into positional words and the `--name value` options listed in `options`.

    An option not in `options` is an error listing the ones the command accepts. The value
    of an option in `WHEN_OPTIONS` takes as many words as make a date (``--closes dec 10
    17:00``), so the time is not glued to the positional words.
    """
    tokens = [_dashed(token, options) for token in tokenize(text)]
    words: list[str] = []
    found: dict[str, str] = {}
    i = 0
    while i < len(tokens):
        token = tokens[i]
        if token.startswith("--") and len(token) > 2:
            name, _, inline = token[2:].partition("=")
            if name not in options:
                known = ", ".join(f"--{o}" for o in sorted(options)) or "no options"
                raise UserError(f"Unknown option --{name}. This command takes {known}.")
            if inline:
                found[name] = inline
            elif i + 1 < len(tokens) and not tokens[i + 1].startswith("--"):
                length = 1
                if name in WHEN_OPTIONS:
                    following = tokens[i + 1:]
                    following = following[:next((k for k, t in enumerate(following) if t.startswith("--")),
                                                len(following))]
                    length = when_length(following)
                found[name] = " ".join(tokens[i + 1:i + 1 + length])
                i += length
            else:
                raise UserError(f"--{name} needs a value, like --{name} VALUE.")
        else:
            words.append(token)
        i += 1
    return Args(words=words, text=text.strip(), options=found)


def _dashed(token: str, options: frozenset[str]) -> str:
    """`token` with a leading em or en dash read as ``--`` when one of `options` follows it.

    ``—kind`` is ``--kind`` for a command taking --kind; a dash in text (``Q3 — review``,
    ``—note`` for a command without --note) stays as typed.
    """
    if token[:1] in _DASHES:
        name = token[1:].partition("=")[0]
        if name in options:
            return "--" + token[1:]
    return token
