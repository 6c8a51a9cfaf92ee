"""Splitting `/ci` command text into words, quoted phrases and `--options`."""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.core.errors import UserError

_QUOTES = {'"': '"', "\u201c": "\u201d", "\u201e": "\u201c"}
MAX_COMMAND_LENGTH = 4000


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

    An option not in `options` is an error listing the ones the command accepts.
    """
    tokens = tokenize(text)
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
                found[name] = tokens[i + 1]
                i += 1
            else:
                raise UserError(f"--{name} needs a value, like --{name} VALUE.")
        else:
            words.append(token)
        i += 1
    return Args(words=words, text=text.strip(), options=found)
