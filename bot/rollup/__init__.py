"""Cascading groups: the working groups' roll-up to the steering committee.

`report` gathers each working group's progress, decisions and open actions from the
groups' own records (figures through `bot.measures`, so disclosure rules hold) and is
the steering agenda's "From the working groups" section; `commands` is `/ci rollup`.
"""

from bot.core.registry import Registry


def register(registry: Registry) -> None:
    """Add `/ci rollup` and the steering agenda's working-groups section."""
    from bot.rollup import commands

    commands.register(registry)
