"""The glossary's domain operations: normalising, loading, proposing, approving, looking up.

No chat wording lives here beyond the error messages a user acts on; flows and the
file importer build on these functions. Lookups go through an in-memory index per
initiative (normalised names and aliases -> term id) that each process caches and
rebuilds when the database says the glossary changed, so every replica stays right.
"""

from __future__ import annotations

import heapq
import threading
import time
import unicodedata
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from itertools import chain, islice

from rapidfuzz import fuzz, process
from sqlalchemy import Table, bindparam, func, insert
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import URL
from sqlalchemy.sql import Executable
from sqlmodel import Session, SQLModel, col, select

from bot.core.args import read_id
from bot.core.errors import UserError
from storage.audit import record
from storage.ids import id_of
from storage.models import (
    GlossaryAlias,
    GlossaryMiss,
    GlossaryRevision,
    GlossarySense,
    GlossaryTerm,
    Member,
    TermStatus,
)
from storage.types import utcnow

MAX_TERM = 100
MAX_CONTEXT = 100
MAX_DEFINITION = 2000
CANDIDATES = 30  # keys sharing the most 4-grams that a fuzzy lookup scores
RAREST_GRAMS = 8  # the most telling 4-grams of a query are enough to find candidates
COMMON_GRAM = 500  # a 4-gram found in more keys than this tells nothing
SHORT_QUERY = 10  # up to this length, also compare with every key of about the same length
BRUTE_FORCE = 3000  # ... when there are at most this many; else with those sharing the most 3-grams
SUGGEST_CUTOFF = 60  # the lowest WRatio worth suggesting
STATUSES = tuple(s.value for s in TermStatus)
_APOSTROPHES = "'\u2019\u02bc`"


_ASCII_KEY = {code: None if chr(code) in _APOSTROPHES else " " for code in range(128) if not chr(code).isalnum()}


def normalize(text: str) -> str:
    """The key two spellings of one term share: no case, accents, punctuation or extra spaces.

    ``Résultats`` and ``resultats`` give the same key, as do ``Collective-Impact`` and
    ``collective  impact``; apostrophes vanish (``children's`` -> ``childrens``).
    """
    if text.isascii():  # most names: one C-level pass instead of a loop over characters
        return " ".join(text.translate(_ASCII_KEY).casefold().split())[:MAX_TERM]
    decomposed = unicodedata.normalize("NFKD", text)
    chars = []
    for char in decomposed:
        if unicodedata.combining(char) or char in _APOSTROPHES:
            continue
        chars.append(char if char.isalnum() else " ")
    return " ".join("".join(chars).casefold().split())[:MAX_TERM]


@dataclass
class TermEntry:
    """A term as a file or a form gives it: name, definition and/or senses, other names, status."""

    term: str
    definition: str = ""
    aliases: list[str] = field(default_factory=list)
    acronyms: list[str] = field(default_factory=list)
    senses: list[tuple[str, str]] = field(default_factory=list)  # (context, definition)
    status: str = TermStatus.AGREED.value

    def field_errors(self) -> dict[str, str]:
        """What is wrong with this entry, keyed by field name (empty when it is valid)."""
        errors: dict[str, str] = {}
        term = self.term.strip()
        if not normalize(term):
            errors["term"] = "the term is empty; give the word or phrase to define"
        elif len(term) > MAX_TERM:
            errors["term"] = f"the term is {len(term)} characters long; the limit is {MAX_TERM}"
        if not self.definition.strip() and not any(d.strip() for _, d in self.senses):
            errors["definition"] = "the definition is empty; say what the term means"
        elif len(self.definition.strip()) > MAX_DEFINITION:
            errors["definition"] = (f"the definition is {len(self.definition.strip())} characters "
                                    f"long; the limit is {MAX_DEFINITION}")
        for context, definition in self.senses:
            where = f"the meaning for “{context}”" if context.strip() else "a meaning without context"
            if not definition.strip():
                errors.setdefault("senses", f"{where} has no definition")
            elif len(definition.strip()) > MAX_DEFINITION:
                errors.setdefault("senses", f"{where} is {len(definition.strip())} characters long; "
                                            f"the limit is {MAX_DEFINITION}")
            if len(context.strip()) > MAX_CONTEXT:
                errors.setdefault("context", f"the context “{context[:30]}…” is longer than "
                                             f"{MAX_CONTEXT} characters")
        contexts = [normalize(c) for c, _ in self.senses_to_store()]
        if len(set(contexts)) != len(contexts):
            errors.setdefault("senses", "two meanings have the same context; give each its own")
        for kind, names in (("aliases", self.aliases), ("acronyms", self.acronyms)):
            for name in names:
                if not normalize(name):
                    errors[kind] = f"an entry in {kind} is empty"
                elif len(name.strip()) > MAX_TERM:
                    errors[kind] = f"“{name[:30]}…” is longer than {MAX_TERM} characters"
        if self.status not in STATUSES:
            errors["status"] = f"status “{self.status}” is not one of {', '.join(STATUSES)}"
        return errors

    def validate(self) -> list[str]:
        """What is wrong with this entry, as messages naming the field (empty when valid)."""
        return [f"{name}: {message}" for name, message in self.field_errors().items()]

    def senses_to_store(self) -> list[tuple[str, str]]:
        """The meanings in storage order: the plain definition first, then each sense."""
        plain = [("", self.definition.strip())] if self.definition.strip() else []
        return plain + [(c.strip(), d.strip()) for c, d in self.senses]

    def names_to_store(self) -> list[tuple[str, bool]]:
        """The other names (alias, is_acronym), deduplicated, without the term itself."""
        seen = {normalize(self.term)}
        names: list[tuple[str, bool]] = []
        for name, acronym in [(a, False) for a in self.aliases] + [(a, True) for a in self.acronyms]:
            key = normalize(name)
            if key not in seen:
                seen.add(key)
                names.append((name.strip(), acronym))
        return names


@dataclass
class UpsertResult:
    """How many terms a load created, changed, or found already as given."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0


class EntryError(UserError):
    """A problem with one field of a term being added; `field` names it for forms."""

    def __init__(self, field_name: str, message: str, *, usage: str = "") -> None:
        super().__init__(message, usage=usage)
        self.field = field_name


class AlreadyDefined(EntryError):
    """The term already has a meaning for the context being added."""

    def __init__(self, message: str) -> None:
        super().__init__("term", message)


@dataclass
class Entry:
    """Everything a card shows about one term."""

    term: GlossaryTerm
    senses: list[GlossarySense]
    aliases: list[GlossaryAlias]
    proposer: Member | None

    @property
    def proposed(self) -> bool:
        """True while the term awaits agreement."""
        return self.term.status == TermStatus.PROPOSED


@dataclass
class Lookup:
    """The answer to a lookup: the entry on an exact hit, otherwise the closest term names."""

    entry: Entry | None
    suggestions: list[str]


# ---------------------------------------------------------------- loading files and forms

def upsert_terms(
    session: Session,
    initiative_id: int,
    entries: Sequence[TermEntry],
    actor_id: int | None = None,
    now: datetime | None = None,
) -> UpsertResult:
    """Create or update the terms in `entries`; never deletes a term.

    Idempotent: entries that match what is stored change nothing and write no
    revision. Everything is checked before anything is written, so a bad entry or
    an alias that already names another term raises `UserError` with nothing written.
    """
    now = now or utcnow()
    problems = [f"“{e.term.strip()[:40]}”: {message}" for e in entries for message in e.validate()]
    if problems:
        raise UserError("The glossary has problems: " + "; ".join(problems[:10]))
    terms = {t.normalized: t for t in session.exec(
        select(GlossaryTerm).where(GlossaryTerm.initiative_id == initiative_id))}
    by_id = {t.id: t for t in terms.values()}
    aliases: dict[int, list[GlossaryAlias]] = {}
    for alias in session.exec(select(GlossaryAlias).where(GlossaryAlias.initiative_id == initiative_id)):
        aliases.setdefault(alias.term_id, []).append(alias)
    _check_names(entries, terms, by_id, aliases)
    result = UpsertResult()
    senses = _senses_of(session, initiative_id)
    created: list[TermEntry] = []
    updated: list[tuple[GlossaryTerm, TermEntry]] = []
    for entry in entries:
        term = terms.get(normalize(entry.term))
        if term is None:
            created.append(entry)
            continue
        term_id = id_of(term)
        summary = _differences(term, senses.get(term_id, []), aliases.get(term_id, []), entry)
        if not summary:
            result.unchanged += 1
            continue
        term.term, term.status, term.updated_at = entry.term.strip(), TermStatus(entry.status), now
        session.add(term)
        session.add(GlossaryRevision(term_id=term_id, at=now, member_id=actor_id,
                                     action="updated", summary=summary[:4000]))
        for outdated in [*senses.get(term_id, []), *aliases.get(term_id, [])]:
            session.delete(outdated)
        updated.append((term, entry))
    session.flush()
    for term, entry in updated:
        _add_parts(session, term, entry)
    _insert_terms(session, initiative_id, created, actor_id, now)
    result.created, result.updated = len(created), len(updated)
    if created or updated:
        record(session, "glossary.load", initiative_id=initiative_id, actor_id=actor_id,
               subject=f"{result.created} created, {result.updated} updated",
               data={"created": [e.term.strip() for e in created][:50],
                     "updated": [t.term for t, _ in updated][:50]})
        session.flush()
        _changed()
    return result


def _insert_terms(session: Session, initiative_id: int, entries: list[TermEntry], actor_id: int | None,
                  now: datetime) -> None:
    """Store new terms with their revisions, senses and other names: a few multi-row statements,
    not one object each, so a file of 100,000 terms loads in seconds."""
    if not entries:
        return
    terms = _table(GlossaryTerm)
    ids = session.execute(insert(terms).returning(terms.c.id, sort_by_parameter_order=True), [
        {"initiative_id": initiative_id, "term": e.term.strip(), "normalized": normalize(e.term),
         "status": TermStatus(e.status), "proposed_by_id": actor_id, "created_at": now, "updated_at": now}
        for e in entries]).scalars().all()
    pairs = list(zip(ids, entries, strict=True))
    session.execute(insert(_table(GlossaryRevision)), [
        {"term_id": term_id, "at": now, "member_id": actor_id, "action": "created",
         "summary": _describe(entry)[:4000]} for term_id, entry in pairs])
    senses = [{"term_id": term_id, "position": position, "context": context, "definition": definition}
              for term_id, entry in pairs for position, (context, definition) in enumerate(entry.senses_to_store())]
    aliases = [{"initiative_id": initiative_id, "term_id": term_id, "alias": name, "normalized": normalize(name),
                "is_acronym": acronym} for term_id, entry in pairs for name, acronym in entry.names_to_store()]
    for model, rows in ((GlossarySense, senses), (GlossaryAlias, aliases)):
        if rows:
            session.execute(insert(_table(model)), rows)


def _table(model: type[SQLModel]) -> Table:
    """The model's table, for multi-row statements that skip the ORM's per-object work."""
    return model.__table__  # type: ignore[attr-defined]


def _check_names(
    entries: Sequence[TermEntry],
    terms: dict[str, GlossaryTerm],
    by_id: dict[int | None, GlossaryTerm],
    aliases: dict[int, list[GlossaryAlias]],
) -> None:
    """Refuse a batch in which one name would point at two terms."""
    loading = {normalize(e.term) for e in entries}
    owner = {key: key for key in terms}  # name or alias key -> key of the term it names
    display = {key: t.term for key, t in terms.items()}
    for term_id, names in aliases.items():
        term = by_id[term_id]
        if term.normalized not in loading:
            for alias in names:
                owner[alias.normalized] = term.normalized
    seen: set[str] = set()
    for entry in entries:
        key = normalize(entry.term)
        if key in seen:
            raise UserError(f"“{entry.term.strip()}” is listed twice; merge the two entries into one.")
        seen.add(key)
        if owner.get(key, key) != key:
            raise UserError(f"“{entry.term.strip()}” is already another name for "
                            f"“{display[owner[key]]}”; remove it from that term's aliases first.")
        owner[key] = key
        display[key] = entry.term.strip()
    for entry in entries:
        key = normalize(entry.term)
        for name, _ in entry.names_to_store():
            other = owner.setdefault(normalize(name), key)
            if other != key:
                raise UserError(f"The alias “{name}” of “{entry.term.strip()}” already names "
                                f"“{display[other]}”; an alias can belong to one term only.")


def _senses_of(session: Session, initiative_id: int, term_id: int | None = None) -> dict[int, list[GlossarySense]]:
    """The senses of the initiative's terms (or of one term), by term id, in order."""
    query = (select(GlossarySense).join(GlossaryTerm, col(GlossaryTerm.id) == GlossarySense.term_id)
             .where(GlossaryTerm.initiative_id == initiative_id))
    if term_id is not None:
        query = query.where(GlossarySense.term_id == term_id)
    found: dict[int, list[GlossarySense]] = {}
    for sense in session.exec(query.order_by(col(GlossarySense.term_id), col(GlossarySense.position))):
        found.setdefault(sense.term_id, []).append(sense)
    return found


def _differences(
    term: GlossaryTerm, senses: list[GlossarySense], aliases: list[GlossaryAlias], entry: TermEntry
) -> str:
    """What `entry` would change in the stored term, as a short summary ("" for nothing)."""
    changes = []
    if term.term != entry.term.strip():
        changes.append(f"renamed from “{term.term}”")
    if term.status != entry.status:
        changes.append(f"status {entry.status}")
    if [(s.context, s.definition) for s in senses] != entry.senses_to_store():
        changes.append(_describe_senses(entry))
    if sorted((a.alias, a.is_acronym) for a in aliases) != sorted(entry.names_to_store()):
        changes.append(_describe_names(entry) or "other names removed")
    return "; ".join(changes)


def _describe(entry: TermEntry) -> str:
    return "; ".join(p for p in (_describe_senses(entry), _describe_names(entry)) if p)


def _describe_senses(entry: TermEntry) -> str:
    return " | ".join(f"({c}) {d}" if c else d for c, d in entry.senses_to_store())


def _describe_names(entry: TermEntry) -> str:
    return ", ".join(f"{n} (acronym)" if acronym else n for n, acronym in entry.names_to_store())


def _add_parts(session: Session, term: GlossaryTerm, entry: TermEntry) -> None:
    """Store the senses and other names of `entry` for `term`."""
    assert term.id is not None
    for position, (context, definition) in enumerate(entry.senses_to_store()):
        session.add(GlossarySense(term_id=term.id, position=position, context=context,
                                  definition=definition))
    for name, acronym in entry.names_to_store():
        session.add(GlossaryAlias(initiative_id=term.initiative_id, term_id=term.id, alias=name,
                                  normalized=normalize(name), is_acronym=acronym))


# ---------------------------------------------------------------- chat changes

def add_definition(
    session: Session,
    initiative_id: int,
    entry: TermEntry,
    *,
    actor_id: int | None,
    agreed: bool,
    now: datetime,
) -> tuple[GlossaryTerm, bool]:
    """Add a new term, or a meaning for a new context to an existing one.

    Returns the term and whether it was created. `entry` holds one definition and at
    most one sense (its context). A term that already has a meaning for that context
    is refused, as is a name that is already another term's alias. A meaning added by
    someone who may not agree terms puts the term back to proposed.
    """
    problems = form_problems(entry)
    if problems:
        raise EntryError(*next(iter(problems.items())))
    key = normalize(entry.term)
    term = _stored_named(session, initiative_id, key)
    status = TermStatus.AGREED if agreed else TermStatus.PROPOSED
    ((context, definition),) = entry.senses_to_store()
    if term is None:
        term = GlossaryTerm(initiative_id=initiative_id, term=entry.term.strip(), normalized=key,
                            status=status, proposed_by_id=actor_id, created_at=now, updated_at=now)
        session.add(term)
        session.flush()
        assert term.id is not None
        session.add(GlossarySense(term_id=term.id, position=0, context=context, definition=definition))
        _log(session, term, actor_id, now, "created", _describe(entry))
        return term, True
    if term.normalized != key:
        raise EntryError("term", f"“{entry.term.strip()}” is another name for “{term.term}”, which "
                                 "is already in the glossary.",
                         usage=f"To add the meaning it has in one context, use its name: /ci glossary "
                               f"add \"{term.term}\" (CONTEXT) = DEFINITION")
    senses = _senses_of(session, initiative_id, term.id).get(term.id or 0, [])
    same = next((s for s in senses if normalize(s.context) == normalize(context)), None)
    if same is not None:
        where = f" for “{same.context}”" if same.context else ""
        raise AlreadyDefined(f"“{term.term}” already has a definition{where}.")
    session.add(GlossarySense(term_id=id_of(term), position=len(senses), context=context,
                              definition=definition))
    if not agreed:
        term.status = TermStatus.PROPOSED
    term.updated_at = now
    session.add(term)
    _log(session, term, actor_id, now, "sense added", _describe(entry))
    return term, False


def form_problems(entry: TermEntry) -> dict[str, str]:
    """`entry.field_errors()` as sentences keyed by the form's fields: term, definition, context."""
    problems: dict[str, str] = {}
    for name, message in entry.field_errors().items():
        problems.setdefault("definition" if name == "senses" else name, message[0].upper() + message[1:] + ".")
    return problems


def approve(session: Session, term: GlossaryTerm, *, actor_id: int | None, now: datetime) -> bool:
    """Mark a proposed term agreed; False when it already was."""
    if term.status == TermStatus.AGREED:
        return False
    term.status = TermStatus.AGREED
    term.updated_at = now
    session.add(term)
    _log(session, term, actor_id, now, "approved", "")
    return True


def edit_definition(session: Session, term: GlossaryTerm, context: str, definition: str, *,
                    actor_id: int | None, now: datetime) -> None:
    """Replace the definition of `term`'s meaning in `context` ("" for the general one).

    The revision keeps the earlier text, so the history shows every definition the term had.
    An unknown context, or a definition that is empty, too long or unchanged, is refused.
    """
    problems = form_problems(TermEntry(term=term.term, definition=definition))
    if "definition" in problems:
        raise EntryError("definition", problems["definition"])
    senses = _senses_of(session, term.initiative_id, term.id).get(id_of(term), [])
    sense = next((s for s in senses if normalize(s.context) == normalize(context)), None)
    if sense is None:
        known = ", ".join(f"“{s.context}”" if s.context else "the general meaning" for s in senses)
        where = f"for “{context}”" if context else "without a context"
        raise EntryError("context", f"“{term.term}” has no meaning {where}; it has {known}.")
    if sense.definition == definition.strip():
        raise EntryError("definition", "That is already the definition; nothing was changed.")
    earlier, sense.definition = sense.definition, definition.strip()
    session.add(sense)
    term.updated_at = now
    session.add(term)
    label = f"({sense.context}) " if sense.context else ""
    _log(session, term, actor_id, now, "edited", f"{label}was: {earlier[:1900]} | now: {sense.definition[:1900]}")


def edit_count(session: Session, term: GlossaryTerm) -> int:
    """How many times a definition of `term` was edited in chat."""
    return session.exec(select(func.count()).select_from(GlossaryRevision).where(
        GlossaryRevision.term_id == term.id, GlossaryRevision.action == "edited")).one()


def _log(session: Session, term: GlossaryTerm, actor_id: int | None, now: datetime,
         action: str, summary: str) -> None:
    """Write the revision and the audit event for a change made in chat."""
    assert term.id is not None
    session.add(GlossaryRevision(term_id=term.id, at=now, member_id=actor_id, action=action,
                                 summary=summary[:4000]))
    record(session, f"glossary.{action.replace(' ', '_')}", initiative_id=term.initiative_id,
           actor_id=actor_id, subject=term.term, data={"term_id": term.id, "summary": summary[:500]})
    session.flush()
    _changed()


# ---------------------------------------------------------------- reading

@dataclass
class TermIndex:
    """Every name and alias of an initiative's terms, normalised, for exact and fuzzy lookup.

    Changed in place when terms change (`_apply`): a changed term's key positions are
    retired (their term id becomes -1) and its current keys appended. Other threads may
    read meanwhile, so every shared collection is replaced whole, never edited under them.
    """

    keys: list[str] = field(default_factory=list)        # normalised names and aliases
    key_terms: list[int] = field(default_factory=list)   # the term id of each key, -1 once retired
    by_key: dict[str, int] = field(default_factory=dict)
    names: dict[int, str] = field(default_factory=dict)  # term id -> the term as written
    grams: dict[str, tuple[int, ...]] = field(default_factory=dict)  # a 4-gram -> positions in `keys`
    by_length: dict[int, dict[int, str]] = field(default_factory=dict)  # short keys by length: position -> key
    short_grams: dict[str, tuple[int, ...]] = field(default_factory=dict)  # a 3-gram -> positions of short keys
    positions: dict[int, tuple[int, ...]] = field(default_factory=dict)  # term id -> positions of its keys
    cards: dict[int, Entry] = field(default_factory=dict)  # term id -> its entry as last read (detached)


@dataclass
class _Cached:
    """One process's index of one initiative, with what it last saw of the glossary's revisions."""

    index: TermIndex
    revisions: frozenset[tuple[int, int, datetime]]  # the newest revisions (id, term id, time): a late commit
    # may still add one among them, a restored or rolled back database changes them
    newest: int
    generation: int
    checked: float
    lock: threading.Lock = field(default_factory=threading.Lock)


CHECK_EVERY = 0.25  # seconds: how stale another replica's write may look; this process's own show at once
LOOKBACK = 200  # revision ids below the newest whose commit may arrive late (concurrent writers)
MAX_CARDS = 5000  # entries kept read per initiative
_INDEXES: dict[tuple[URL, int], _Cached] = {}
_generation = 0
_lock = threading.Lock()


def _changed() -> None:
    """Note a write in this process so cached indexes look for changes on the next lookup."""
    global _generation
    with _lock:
        _generation += 1


def forget_indexes() -> None:
    """Drop every cached index, for a database replaced under this process (its ids reused)."""
    with _lock:
        _INDEXES.clear()


def term_index(session: Session, initiative_id: int) -> TermIndex:
    """The initiative's lookup index, brought up to date with the terms changed since it was read.

    Every change to a term writes a revision. A process asks for the newest revisions
    when it wrote itself, or at most every `CHECK_EVERY` seconds, and re-reads only the
    terms they name; one thread at a time does so per initiative, the others then use
    its result. The first lookup reads the whole glossary.
    """
    cache_key = (session.get_bind().engine.url, initiative_id)
    cached = _INDEXES.get(cache_key)
    if cached is not None and _fresh(cached):
        return cached.index
    with _lock:
        cached = _INDEXES.get(cache_key)
        if cached is None:
            cached = _INDEXES[cache_key] = _Cached(TermIndex(), frozenset(), -1, -1, 0.0)
    with cached.lock:
        if not _fresh(cached):
            _refresh(session, initiative_id, cached)
        return cached.index


def _fresh(cached: _Cached) -> bool:
    return cached.generation == _generation and time.monotonic() - cached.checked < CHECK_EVERY


def _refresh(session: Session, initiative_id: int, cached: _Cached) -> None:
    """Apply the revisions `cached` has not seen; read everything again on the first call or after a rollback."""
    generation, checked = _generation, time.monotonic()
    seen = cached.newest if cached.newest >= 0 else session.exec(select(func.max(GlossaryRevision.id))).one() or 0
    floor = max(seen - LOOKBACK, 0)
    recent = frozenset((revision, term_id, at) for revision, term_id, at in session.exec(
        select(GlossaryRevision.id, GlossaryRevision.term_id, GlossaryRevision.at)
        .where(col(GlossaryRevision.id) > floor)) if revision is not None)
    newest = max((revision for revision, _, _ in recent), default=floor)
    if cached.newest < 0 or newest < cached.newest or cached.revisions - recent:  # first read, rollback, restore
        cached.index = _build_index(session, initiative_id)
    elif changed := {term_id for _, term_id, _ in recent - cached.revisions}:
        _apply(session, cached.index, initiative_id, changed)
    cached.revisions, cached.newest = recent, newest
    cached.generation, cached.checked = generation, checked


def _build_index(session: Session, initiative_id: int) -> TermIndex:
    index = TermIndex()
    terms = session.exec(select(GlossaryTerm.id, GlossaryTerm.term, GlossaryTerm.normalized)
                         .where(GlossaryTerm.initiative_id == initiative_id)).all()
    aliases = session.exec(select(GlossaryAlias.normalized, GlossaryAlias.term_id)
                           .where(GlossaryAlias.initiative_id == initiative_id)).all()
    _add_keys(index, terms, aliases)
    return index


def _apply(session: Session, index: TermIndex, initiative_id: int, term_ids: set[int]) -> None:
    """Re-read the terms `term_ids` (of any initiative; others are ignored) into `index`."""
    ids = sorted(term_ids)
    terms = session.exec(select(GlossaryTerm.id, GlossaryTerm.term, GlossaryTerm.normalized)
                         .where(GlossaryTerm.initiative_id == initiative_id, col(GlossaryTerm.id).in_(ids))).all()
    aliases = session.exec(select(GlossaryAlias.normalized, GlossaryAlias.term_id)
                           .where(GlossaryAlias.initiative_id == initiative_id,
                                  col(GlossaryAlias.term_id).in_(ids))).all()
    retired: set[int] = set()
    for term_id in ids:
        index.cards.pop(term_id, None)
        for position in index.positions.pop(term_id, ()):
            retired.add(position)
            key = index.keys[position]
            if index.by_key.get(key) == term_id:
                del index.by_key[key]
            index.key_terms[position] = -1
    for postings, size in ((index.grams, 4), (index.short_grams, 3)):
        for gram in {gram for position in retired for gram in _grams(index.keys[position], size)} & postings.keys():
            postings[gram] = tuple(p for p in postings[gram] if p not in retired)
    for length in {len(index.keys[position]) for position in retired} & index.by_length.keys():
        index.by_length[length] = {p: k for p, k in index.by_length[length].items() if p not in retired}
    _add_keys(index, terms, aliases)


def _add_keys(index: TermIndex, terms: Sequence[tuple[int | None, str, str]],
              aliases: Sequence[tuple[str, int]]) -> None:
    """Append the keys of `terms` (id, name, key) and their `aliases` (key, term id) to `index`."""
    pairs: list[tuple[str, int]] = [(key, term_id) for term_id, _, key in terms if term_id is not None]
    pairs += aliases
    first = len(index.keys)
    grams: dict[str, list[int]] = {}
    short_grams: dict[str, list[int]] = {}
    short: dict[int, dict[int, str]] = {}
    positions: dict[int, list[int]] = {}
    for position, (key, term_id) in enumerate(pairs, start=first):
        for gram in _grams(key):
            grams.setdefault(gram, []).append(position)
        if len(key) <= SHORT_QUERY + 1:
            short.setdefault(len(key), {})[position] = key
            for gram in _grams(key, 3):
                short_grams.setdefault(gram, []).append(position)
        positions.setdefault(term_id, []).append(position)
    index.key_terms.extend(term_id for _, term_id in pairs)  # first: readers walk `keys` by position
    index.keys.extend(key for key, _ in pairs)
    index.names.update((named, name) for named, name, _ in terms if named is not None)
    index.by_key.update(pairs)
    for postings, new in ((index.grams, grams), (index.short_grams, short_grams)):
        for gram, found in new.items():
            postings[gram] = postings.get(gram, ()) + tuple(found)
    for length, keys in short.items():
        index.by_length[length] = {**index.by_length.get(length, {}), **keys}
    for term_id, found in positions.items():
        index.positions[term_id] = index.positions.get(term_id, ()) + tuple(found)


def _grams(key: str, size: int = 4) -> set[str]:
    padded = f" {key} "
    return {padded[i:i + size] for i in range(len(padded) - size + 1)}


def _sharing(postings: dict[str, tuple[int, ...]], grams: set[str]) -> set[int]:
    """The positions of the (up to `CANDIDATES`) keys sharing the most of the rarest of `grams`."""
    found = sorted((postings.get(g, ()) for g in grams), key=len)
    shared = Counter(chain.from_iterable(p for p in found[:RAREST_GRAMS] if len(p) <= COMMON_GRAM))
    return set(heapq.nlargest(CANDIDATES, shared, key=shared.__getitem__))


def find(session: Session, initiative_id: int, text: str) -> GlossaryTerm | None:
    """The term named `text` (its name, an alias or an acronym, in any case or accents)."""
    return _named(session, term_index(session, initiative_id), text)


def _stored_named(session: Session, initiative_id: int, key: str) -> GlossaryTerm | None:
    """The term whose name or other name normalises to `key`, as stored now: writes decide on this, not on the cache.

    (A concurrent writer's term may be newer than the cached index; the core's rerun
    after a unique violation must see it.)
    """
    term = session.exec(select(GlossaryTerm).where(GlossaryTerm.initiative_id == initiative_id,
                                                   GlossaryTerm.normalized == key)).first()
    if term is not None:
        return term
    term_id = session.exec(select(GlossaryAlias.term_id).where(GlossaryAlias.initiative_id == initiative_id,
                                                                GlossaryAlias.normalized == key)).first()
    return session.get(GlossaryTerm, term_id) if term_id is not None else None


def _named(session: Session, index: TermIndex, text: str) -> GlossaryTerm | None:
    """The term of `index` whose name or other name normalises as `text` does."""
    term_id = index.by_key.get(normalize(text))
    return session.get(GlossaryTerm, term_id) if term_id is not None else None


def suggest(index: TermIndex, text: str, limit: int = 3) -> list[str]:
    """Up to `limit` term names closest to `text`, best first.

    Candidates are the keys sharing the most of the rarest 4-grams of `text` (a typo, a
    missing word, a different word order) and, for short words and acronyms whose
    4-grams say little, the closest keys of about the same length (or, in a large
    glossary, the short keys sharing the most of its 3-grams); rapidfuzz's WRatio ranks
    the few dozen candidates, so the cost hardly grows with the glossary.
    """
    key = normalize(text)
    if not key:
        return []
    candidates = _sharing(index.grams, _grams(key))
    if len(key) <= SHORT_QUERY:
        buckets = [index.by_length.get(length, {}) for length in range(len(key) - 1, len(key) + 2)]
        if sum(len(bucket) for bucket in buckets) > BRUTE_FORCE:
            candidates |= _sharing(index.short_grams, _grams(key, 3))
            buckets = []
        for bucket in buckets:
            for _, _, position in process.extract(key, bucket, scorer=fuzz.ratio, processor=None,
                                                  limit=limit + 2, score_cutoff=SUGGEST_CUTOFF):
                candidates.add(position)
    scored: dict[int, float] = {}
    for position in candidates:
        score = fuzz.WRatio(key, index.keys[position], processor=None, score_cutoff=SUGGEST_CUTOFF)
        term_id = index.key_terms[position]
        if score and score > scored.get(term_id, 0):
            scored[term_id] = score
    best = sorted(scored.items(), key=lambda item: (-item[1], index.names[item[0]].casefold()))
    return [index.names[term_id] for term_id, _ in best[:limit]]


def lookup(session: Session, initiative_id: int, text: str, now: datetime) -> Lookup:
    """Look `text` up; a miss is counted and answered with the closest term names."""
    index = term_index(session, initiative_id)
    term_id = index.by_key.get(normalize(text))
    if term_id is not None:
        card = index.cards.get(term_id)
        if card is None:
            card = _read_card(session, term_id)
            if card is not None:
                if len(index.cards) >= MAX_CARDS:
                    index.cards.pop(next(iter(index.cards), term_id), None)
                index.cards[term_id] = card
        if card is not None:
            proposer = session.get(Member, card.term.proposed_by_id) if card.term.proposed_by_id else None
            return Lookup(Entry(card.term, card.senses, card.aliases, proposer), [])
    _count_miss(session, initiative_id, text, now)
    return Lookup(None, suggest(index, text))


def _read_card(session: Session, term_id: int) -> Entry | None:
    """The term with its senses (one statement) and aliases (another), taken out of the session to keep
    between lookups; without the proposer, whose name may change while the term does not."""
    rows = session.exec(select(GlossaryTerm, GlossarySense)
                        .join(GlossarySense, col(GlossarySense.term_id) == GlossaryTerm.id, isouter=True)
                        .where(GlossaryTerm.id == term_id).order_by(col(GlossarySense.position))).all()
    if not rows:
        return None
    aliases = session.exec(select(GlossaryAlias).where(GlossaryAlias.term_id == term_id)
                           .order_by(col(GlossaryAlias.alias))).all()
    entry = Entry(rows[0][0], [sense for _, sense in rows if sense is not None], list(aliases), None)
    for row in (entry.term, *entry.senses, *entry.aliases):
        session.expunge(row)
    return entry


def _count_miss(session: Session, initiative_id: int, text: str, now: datetime) -> None:
    key = normalize(text)
    if key:
        session.execute(_miss_upsert(session.get_bind().dialect.name), {
            "initiative_id": initiative_id, "query": text.strip()[:MAX_TERM], "normalized": key, "at": now})


@cache
def _miss_upsert(dialect: str) -> Executable:
    """One statement that adds a miss or counts it again, safe when two arrive at once."""
    table = GlossaryMiss.__table__  # type: ignore[attr-defined]
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(table).values(initiative_id=bindparam("initiative_id"), query=bindparam("query"),
                                     normalized=bindparam("normalized"), count=1, last_at=bindparam("at"))
    return statement.on_conflict_do_update(
        index_elements=["initiative_id", "normalized"],
        set_={"count": table.c.count + 1, "last_at": statement.excluded.last_at,
              "query": statement.excluded.query},
    )


def load_entry(session: Session, term: GlossaryTerm) -> Entry:
    """The term with its senses, aliases and proposer, ready for a card."""
    assert term.id is not None
    senses = _senses_of(session, term.initiative_id, term.id).get(term.id, [])
    aliases = list(session.exec(select(GlossaryAlias).where(GlossaryAlias.term_id == term.id)
                                .order_by(col(GlossaryAlias.alias))))
    proposer = session.get(Member, term.proposed_by_id) if term.proposed_by_id else None
    return Entry(term, senses, aliases, proposer)


def term_by_id(session: Session, initiative_id: int, term_id: str) -> GlossaryTerm | None:
    """The term with id `term_id` (as a button carries it) if it belongs to the initiative."""
    number = read_id(term_id)
    term = session.get(GlossaryTerm, number) if number else None
    return term if term is not None and term.initiative_id == initiative_id else None


def list_terms(session: Session, initiative_id: int, prefix: str = "") -> list[GlossaryTerm]:
    """The initiative's terms in alphabetical order, those starting with `prefix` when given."""
    query = select(GlossaryTerm).where(GlossaryTerm.initiative_id == initiative_id)
    key = normalize(prefix)
    if key:
        query = query.where(col(GlossaryTerm.normalized).startswith(key))
    return list(session.exec(query.order_by(col(GlossaryTerm.normalized))))


def proposed_terms(session: Session, initiative_id: int) -> list[GlossaryTerm]:
    """Terms awaiting approval, oldest first."""
    return list(session.exec(select(GlossaryTerm).where(
        GlossaryTerm.initiative_id == initiative_id, GlossaryTerm.status == TermStatus.PROPOSED)
        .order_by(col(GlossaryTerm.created_at), col(GlossaryTerm.id))))


def term_count(session: Session, initiative_id: int) -> int:
    """How many terms the initiative's glossary holds."""
    return session.exec(select(func.count()).select_from(GlossaryTerm)
                        .where(GlossaryTerm.initiative_id == initiative_id)).one()


def history(session: Session, term: GlossaryTerm) -> list[tuple[GlossaryRevision, Member | None]]:
    """The term's revisions, oldest first, each with the member who made it (None for a file load)."""
    rows = session.exec(
        select(GlossaryRevision, Member)
        .join(Member, col(Member.id) == GlossaryRevision.member_id, isouter=True)
        .where(GlossaryRevision.term_id == term.id)
        .order_by(col(GlossaryRevision.at), col(GlossaryRevision.id)))
    return [(revision, member) for revision, member in rows]


def top_misses(session: Session, initiative_id: int, limit: int = 20) -> list[GlossaryMiss]:
    """The most looked-up words that still have no entry, most asked first."""
    index = term_index(session, initiative_id)
    rows = session.exec(select(GlossaryMiss).where(GlossaryMiss.initiative_id == initiative_id)
                        .order_by(col(GlossaryMiss.count).desc(), col(GlossaryMiss.normalized)))
    return list(islice((miss for miss in rows if miss.normalized not in index.by_key), limit))


def complete(session: Session, initiative_id: int, prefix: str, limit: int = 25) -> list[str]:
    """Term names whose name or alias starts with `prefix`, then those containing it."""
    index = term_index(session, initiative_id)
    key = normalize(prefix)
    starting: dict[int, None] = {}
    containing: dict[int, None] = {}
    for position, name in enumerate(index.keys):
        if index.key_terms[position] < 0:
            continue
        if name.startswith(key):
            starting[index.key_terms[position]] = None
        elif key in name:
            containing[index.key_terms[position]] = None
    ordered = sorted(starting, key=lambda t: index.names[t].casefold())
    ordered += sorted(containing.keys() - starting.keys(), key=lambda t: index.names[t].casefold())
    return [index.names[t] for t in ordered[:limit]]


def entries_of(session: Session, initiative_id: int) -> list[TermEntry]:
    """Every term as a `TermEntry`, alphabetically: what loading would recreate exactly."""
    terms = list_terms(session, initiative_id)
    senses = _senses_of(session, initiative_id)
    aliases: dict[int, list[GlossaryAlias]] = {}
    for alias in session.exec(select(GlossaryAlias).where(GlossaryAlias.initiative_id == initiative_id)
                              .order_by(col(GlossaryAlias.id))):
        aliases.setdefault(alias.term_id, []).append(alias)
    found = []
    for term in terms:
        meanings = [(s.context, s.definition) for s in senses.get(term.id or 0, [])]
        definition = ""
        if meanings and not meanings[0][0]:
            definition = meanings.pop(0)[1]
        names = aliases.get(term.id or 0, [])
        found.append(TermEntry(
            term=term.term, definition=definition, senses=meanings, status=str(term.status),
            aliases=[a.alias for a in names if not a.is_acronym],
            acronyms=[a.alias for a in names if a.is_acronym]))
    return found

