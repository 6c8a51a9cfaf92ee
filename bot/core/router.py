"""Finding the command a user meant, and the help that explains them all."""

from __future__ import annotations

from rapidfuzz import process

from bot.core.args import tokenize
from bot.core.errors import UserError
from bot.core.registry import Command, Registry


def match(registry: Registry, text: str) -> tuple[Command, str]:
    """The command named at the start of `text` and the rest of the text.

    The longest registered word sequence wins (``glossary add`` before
    ``glossary``). A bare ``/ci`` shows the help; unknown commands raise an error
    with the closest names.
    """
    words = text.split()
    if not words and ("help",) in registry.commands:
        return registry.commands[("help",)], ""
    for length in range(min(len(words), 3), 0, -1):
        path = tuple(w.lower() for w in words[:length])
        command = registry.commands.get(path)
        if command is not None:
            rest = text.strip()
            for word in words[:length]:
                rest = rest[rest.index(word) + len(word):]
            return command, rest.strip()
    typed = " ".join(tokenize(text)[:2]) if text.strip() else ""
    raise UserError(unknown_message(registry, typed), usage="Type /ci help to see every command.")


def unknown_message(registry: Registry, typed: str) -> str:
    """"No such command" with up to three suggestions of what was meant."""
    names = sorted({c.name for c in registry.commands.values()})
    first = typed.split()[0] if typed else ""
    candidates = process.extract(typed, names, limit=3, score_cutoff=60)
    candidates += process.extract(first, names, limit=3, score_cutoff=70)
    seen: list[str] = []
    for name, _score, _ in sorted(candidates, key=lambda c: -c[1]):
        if name not in seen:
            seen.append(name)
    if not seen:
        return f"I don't know the command “{typed}”."
    suggestions = " or ".join(f"/ci {name}" for name in seen[:3])
    return f"I don't know the command “{typed}”. Did you mean {suggestions}?"


def help_topics(registry: Registry, topic: str = "") -> list[Command]:
    """The commands under `topic` (all of them when empty), in help order."""
    words = tuple(topic.lower().split())
    chosen = [c for path, c in registry.commands.items() if path[: len(words)] == words]
    if not chosen:
        raise UserError(unknown_message(registry, topic), usage="Type /ci help to see every command.")
    return sorted(chosen, key=lambda c: c.path)
