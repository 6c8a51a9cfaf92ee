"""Decisions: proposals, votes by rule and quorum, proxies, outcomes, the decision log.

`domain` and `tally` hold the rules; `cards` draws proposals and results; `posts` keeps
the channel posts current; `commands` the chat commands; `jobs` the reminders,
closings and reviews.
"""

from bot.core.registry import Registry


def register(registry: Registry) -> None:
    """Add the decisions' commands, buttons, forms, agenda section, after-hook and jobs."""
    from bot.decisions import commands, jobs

    commands.register(registry)
    jobs.register(registry)
