"""Digests and email preferences: each group's weekly or monthly digest, `/ci digest`, `/ci email`.

`digest` builds a group's digest from the other capabilities' public functions and
posts it through the outbox on the group's cadence; `commands` holds the chat commands.
"""

from bot.core.registry import Registry


def register(registry: Registry) -> None:
    """Add the digest and email commands and the digest job."""
    from bot.digests import commands

    commands.register(registry)
