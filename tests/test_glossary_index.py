"""The glossary's lookup index across replicas: another replica's write arrives within
`CHECK_EVERY`, by re-reading only the terms it changed, and lookups arriving together
while the glossary changed wait for one reader instead of each reading it."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from sqlalchemy.engine import Engine

from bot.glossary import book
from bot.glossary.book import TermEntry, upsert_terms
from storage.db import session_scope
from tests.chat import Chat, text_of
from tests.factories import seed

THREADS = 8


@pytest.fixture
def seeded(engine: Engine) -> Any:
    return seed(engine)


def load(engine: Engine, initiative_id: int, *entries: TermEntry) -> None:
    with session_scope(engine) as session:
        upsert_terms(session, initiative_id, list(entries))


def counting(monkeypatch: pytest.MonkeyPatch, name: str, pause: float = 0.0) -> list[int]:
    """Count the calls of `book.NAME`, each held `pause` seconds so that others can pile up behind it."""
    calls: list[int] = []
    real = getattr(book, name)

    def counted(*args: Any) -> Any:
        calls.append(1)
        time.sleep(pause)
        return real(*args)

    monkeypatch.setattr(book, name, counted)
    return calls


def another_replica_writes(monkeypatch: pytest.MonkeyPatch, engine: Engine, initiative_id: int,
                           *entries: TermEntry) -> None:
    """Write as another process would: this one is not told, it has to notice in the database."""
    with monkeypatch.context() as patched:
        patched.setattr(book, "_changed", lambda: None)
        load(engine, initiative_id, *entries)


def test_another_replicas_changes_arrive_term_by_term(chat: Chat, engine: Engine, seeded: Any,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    load(engine, seeded.initiative_id, TermEntry("Backbone", "Support staff.", acronyms=["BB"]),
         TermEntry("Bulletin board", "A wall."))
    assert chat.say("/ci glossary bb").title == "Backbone"  # read and kept
    builds = counting(monkeypatch, "_build_index")
    another_replica_writes(monkeypatch, engine, seeded.initiative_id,
                           TermEntry("Backbone", "The staff who support the initiative."),
                           TermEntry("Bulletin board", "A wall.", acronyms=["BB"]),
                           TermEntry("Common agenda", "A shared vision of change."))
    time.sleep(book.CHECK_EVERY)
    assert chat.say("/ci glossary bb").title == "Bulletin board"  # the acronym moved
    card = chat.say("/ci glossary backbone")
    assert "The staff who support the initiative." in text_of(card)  # its card was read again
    assert "Support staff." not in text_of(card)
    assert chat.say("/ci glossary common agenda").title == "Common agenda"
    assert "Did you mean Common agenda?" in text_of(chat.say("/ci glossary comon agenda"))
    assert builds == []  # only the changed terms were read, not the whole glossary


def test_lookups_arriving_together_read_the_glossary_once(engine: Engine, seeded: Any,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    load(engine, seeded.initiative_id, *(TermEntry(f"term {n}", f"Meaning {n}.") for n in range(50)))
    book.forget_indexes()  # as a freshly started replica
    builds = counting(monkeypatch, "_build_index", pause=0.2)
    applies = counting(monkeypatch, "_apply", pause=0.2)

    def all_at_once(name: str) -> list[str | None]:
        barrier = threading.Barrier(THREADS)

        def look_up(_: int) -> str | None:
            with session_scope(engine) as session:
                barrier.wait()
                found = book.find(session, seeded.initiative_id, name)
                return found.term if found else None

        with ThreadPoolExecutor(THREADS) as pool:
            return list(pool.map(look_up, range(THREADS)))

    assert all_at_once("TERM 7") == ["term 7"] * THREADS
    assert len(builds) == 1
    another_replica_writes(monkeypatch, engine, seeded.initiative_id, TermEntry("term 50", "Meaning 50."))
    time.sleep(book.CHECK_EVERY)
    assert all_at_once("term 50") == ["term 50"] * THREADS
    assert (len(builds), len(applies)) == (1, 1)
