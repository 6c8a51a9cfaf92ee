"""The initiative file: one YAML file that sets up an initiative, loaded idempotently.

`parse_initiative(text, source)` checks a file without a database and returns an
`InitiativeSpec`; `load_initiative(session, path)` makes the database match the file
and returns a `LoadReport`. A wrong file raises `InitiativeFileError`, whose errors
each name the file, the line and the field. See examples/initiative.yaml for the format.
"""

from bot.initiative_file.parse import SECTIONS, parse_initiative
from bot.initiative_file.problems import InitiativeFileError
from bot.initiative_file.report import LoadReport, Tally
from bot.initiative_file.spec import InitiativeSpec
from bot.initiative_file.sync import apply_initiative, load_initiative

__all__ = [
    "SECTIONS",
    "InitiativeFileError",
    "InitiativeSpec",
    "LoadReport",
    "Tally",
    "apply_initiative",
    "load_initiative",
    "parse_initiative",
]
