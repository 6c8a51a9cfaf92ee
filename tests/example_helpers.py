"""The example initiative (examples/initiative.yaml) loaded into a test database, and its steering meeting."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from sqlalchemy.engine import Engine
from sqlmodel import select

from bot.initiative_file.sync import load_initiative
from storage.db import session_scope
from storage.meetings import Cadence
from storage.models import Group

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "initiative.yaml"


def load_example(engine: Engine) -> datetime:
    """Load the example initiative; the start of the steering committee's first meeting (its series' first)."""
    with session_scope(engine) as session:
        load_initiative(session, EXAMPLE)
    with session_scope(engine) as session:
        return session.exec(select(Cadence.dtstart).join(Group, Group.id == Cadence.group_id)  # type: ignore[arg-type]
                            .where(Group.key == "steering")).one()
