"""Meetings: series and their recurrence, agendas, reminders, attendance, minutes and the calendar feed.

`series` and `recurrence` are the domain; `commands`, `agenda_commands` and `minutes`
the chat commands; `agenda` builds the posted agenda from the registry's sections;
`jobs` posts agendas and reminders; `file_section` reads the initiative file's
``cadences:``; `calendar` serves the iCalendar feed.
"""

from bot.core.registry import Registry


def register(registry: Registry) -> None:
    """Add the meetings' commands, buttons, home sections, agenda sections and jobs."""
    from bot.meetings import agenda, agenda_commands, commands, jobs, minutes

    commands.register(registry)
    agenda_commands.register(registry)
    minutes.register(registry)
    agenda.register_sections(registry)
    jobs.register(registry)
