"""Shared measurement: indicators, submissions, reminders' content, progress, charts and exports.

`commands` holds the chat commands; `jobs` the escalation ladder (prompt, follow-up,
nudge, flag); `file_section` the initiative file's ``indicators:``; the other modules
the domain they are named for.
"""

from bot.core.registry import Registry


def register(registry: Registry) -> None:
    """Add shared measurement's commands, forms, completer, home and agenda sections, and jobs."""
    from bot.measures import commands, jobs

    commands.register(registry)
    jobs.register(registry)
