"""The glossary: the initiative's common vocabulary, looked up, proposed, agreed and exported.

`book` holds the terms and their lookup; `commands` the chat commands; `files` the CSV
and YAML import and export.
"""

from bot.core.registry import Registry


def register(registry: Registry) -> None:
    """Add the glossary's commands, buttons, completer and home section."""
    from bot.glossary import commands

    commands.register(registry)
