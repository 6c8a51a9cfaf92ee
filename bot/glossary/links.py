"""Glossary terms found in messages, each noted with its definition (see `bot.core.notes`).

Agreed terms, their other names and acronyms are found in agenda items, decisions,
minutes and indicator definitions, and the first occurrence of each gets a footnote:
``BBO¹`` … ``¹ BBO (backbone organization): The dedicated staff … — /ci glossary BBO``.

The cost does not grow with the glossary: the text is cut into words and every run of
up to `MAX_WORDS` words joined by spaces or hyphens is looked up in the book's index of
normalised names (one dictionary probe each); only the few hits are read from the
database. Matching is whole-word, leftmost and longest first (``backbone organization``
wins over ``backbone``), ignores case and accents and takes a plural ``s``, except that
acronyms match only as written or in capitals (``CI`` but not ``ci``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from sqlmodel import Session, col, select

from bot.core.registry import Registry
from bot.core.render import Mention, Note
from bot.glossary import book
from storage.models import GlossaryAlias, GlossarySense, GlossaryTerm, TermStatus

MAX_WORDS = 8  # the longest term name looked for, in words
NOTE_DEFINITION = 90  # characters of the definition a note shows
_WORD = re.compile(r"[^\W_¹²³⁰⁴-⁹]+(?:['\u2019][^\W_¹²³⁰⁴-⁹]+)*")  # footnote marks end a word
_JOINER = re.compile(r"(?:\s|\\?[-\u2010\u2011]){1,3}")  # what may stand between the words of one term
_ESCAPES = re.compile(r"\\(?=\W)")  # Discord's backslash escapes, dropped from the text as written


def register(registry: Registry) -> None:
    """Note glossary terms wherever a flow annotates a message."""
    registry.annotator(term_notes)


@dataclass(frozen=True)
class _Found:
    """A run of words whose key names a term: where it is, the key, and the words as written."""

    piece: int
    start: int
    end: int
    key: str
    term_id: int
    written: str  # the words as the message has them (a plural's "s" dropped)


@dataclass(frozen=True)
class _Name:
    """A name of a term as the glossary writes it, and whether it is an acronym."""

    written: str
    acronym: bool


def term_notes(session: Session, initiative_id: int, texts: Sequence[str]) -> list[Mention]:
    """The agreed glossary terms in `texts`, leftmost and longest first, each with its note."""
    by_key = book.term_index(session, initiative_id).by_key
    found = [hit for piece, text in enumerate(texts) for hit in _runs(by_key, piece, text)]
    if not found:
        return []
    terms = {t.id: t for t in session.exec(select(GlossaryTerm).where(
        col(GlossaryTerm.id).in_({f.term_id for f in found}), GlossaryTerm.status == TermStatus.AGREED))}
    names = _names(session, initiative_id, {f.key for f in found}, terms)
    fitting = [f for f in found if f.term_id in terms and f.key in names and _fits(f.written, names[f.key])]
    chosen = _leftmost_longest(fitting)
    if not chosen:
        return []
    meanings = _meanings(session, {f.term_id for f in chosen})
    return [Mention(f.piece, f.start, f.end, _note(terms[f.term_id], names[f.key], meanings.get(f.term_id, [])))
            for f in chosen]


def _runs(by_key: dict[str, int], piece: int, text: str) -> list[_Found]:
    """Every run of words in `text` whose key (or, for a plural, its singular) names a term."""
    words = [(m.start(), m.end(), book.normalize(m.group())) for m in _WORD.finditer(text)]
    found: list[_Found] = []
    for first, (start, _, key) in enumerate(words):
        parts = [key]
        for last in range(first, min(first + MAX_WORDS, len(words))):
            if last > first:
                if not _JOINER.fullmatch(text[words[last - 1][1]:words[last][0]]):
                    break
                parts.append(words[last][2])
            joined, end = " ".join(parts), words[last][1]
            if len(joined) > book.MAX_TERM:
                break
            written = _ESCAPES.sub("", text[start:end])
            if joined in by_key:
                found.append(_Found(piece, start, end, joined, by_key[joined], written))
            elif joined.endswith("s") and joined[:-1] in by_key and len(joined) > 3:
                found.append(_Found(piece, start, end, joined[:-1], by_key[joined[:-1]], written[:-1]))
    return found


def _names(session: Session, initiative_id: int, keys: set[str], terms: dict[int | None, GlossaryTerm],
           ) -> dict[str, _Name]:
    """How the glossary writes each of `keys` that names one of `terms`: the term's name or an alias."""
    names = {t.normalized: _Name(t.term, _capitals(t.term)) for t in terms.values() if t.normalized in keys}
    for alias in session.exec(select(GlossaryAlias).where(
            GlossaryAlias.initiative_id == initiative_id, col(GlossaryAlias.normalized).in_(keys - names.keys()))):
        if alias.term_id in terms:
            names[alias.normalized] = _Name(alias.alias, alias.is_acronym or _capitals(alias.alias))
    return names


def _capitals(name: str) -> bool:
    """True for a name written like an acronym: two or more letters, all capitals (``KPI``, ``ECE``)."""
    letters = [c for c in name if c.isalpha()]
    return len(letters) >= 2 and all(c.isupper() for c in letters)


def _fits(written: str, name: _Name) -> bool:
    """True when the words as written may stand for `name`: any case, but acronyms as written or in capitals."""
    return not name.acronym or written == name.written or _capitals(written)


def _leftmost_longest(found: list[_Found]) -> list[_Found]:
    """Of overlapping runs, the one that starts first and, among those, the longest."""
    chosen: list[_Found] = []
    for hit in sorted(found, key=lambda f: (f.piece, f.start, -f.end)):
        if chosen and chosen[-1].piece == hit.piece and hit.start < chosen[-1].end:
            continue
        chosen.append(hit)
    return chosen


def _meanings(session: Session, term_ids: set[int]) -> dict[int, list[str]]:
    """The definitions of each term, in order (the general meaning first)."""
    meanings: dict[int, list[str]] = {}
    for sense in session.exec(select(GlossarySense).where(col(GlossarySense.term_id).in_(term_ids))
                              .order_by(col(GlossarySense.term_id), col(GlossarySense.position))):
        meanings.setdefault(sense.term_id, []).append(
            f"({sense.context}) {sense.definition}" if sense.context else sense.definition)
    return meanings


def _opening(definition: str) -> str:
    """The first `NOTE_DEFINITION` characters of `definition`, cut after a whole word."""
    text = " ".join(definition.split())
    if len(text) <= NOTE_DEFINITION:
        return text
    return text[:NOTE_DEFINITION].rsplit(" ", 1)[0].rstrip(",;:") + "…"


def _note(term: GlossaryTerm, name: _Name, meanings: list[str]) -> Note:
    """The footnote of `term` found as `name`: what it stands for, the start of its meaning, how to read more."""
    label = name.written if name.written == term.term else f"{name.written} ({term.term})"
    meaning = _opening(meanings[0]) if meanings else ""
    if len(meanings) > 1:
        meaning += f" ({len(meanings)} meanings)"
    return Note(f"glossary:{term.id}", f"{label}: {meaning} — /ci glossary {name.written}")
