"""The glossary: the initiative's common vocabulary, looked up, proposed, agreed and exported.

`book` holds the terms and their lookup; `commands` the chat commands; `files` the CSV
and YAML import and export; `links` notes terms found in other messages.
"""

from bot.core.registry import Registry


def register(registry: Registry) -> None:
    """Add the glossary's commands, buttons, completer, home section and term notes."""
    from bot.glossary import commands, links

    commands.register(registry)
    links.register(registry)
