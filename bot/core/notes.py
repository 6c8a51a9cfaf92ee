"""Footnotes on the words of a message: glossary terms (and whatever else a capability notes).

A capability registers an annotator (``registry.annotator``): given the initiative and
the stretches of a message where words may carry a note (the dialect leaves out code,
quotes, links and addresses), it says which words to note and with what. `annotate`
marks the first occurrence of each note in the message (``BBO¹``) and adds the notes,
numbered, to the reply's context line, which every platform shows as plain text under
the message (a Slack context block, a Discord embed footer, a console line).
Flows call it once, where they build a message: agendas, decisions, minutes, indicators.
"""

from __future__ import annotations

from dataclasses import replace

from sqlmodel import Session

from bot.core.messages import Reply
from bot.core.registry import registry_of
from bot.core.render import Dialect, Markup, Mention, Note

MAX_NOTES = 8  # notes per message: enough for a dense agenda, short enough for a footer


def annotate(session: Session, initiative_id: int, reply: Reply, markup: Dialect, *, after: int = 0) -> Reply:
    """`reply` with the first occurrence of each noted word marked and the notes added to its context.

    Sections before index `after` (a heading such as a meeting's facts) are left as they
    are; field values are annotated too. A reply with nothing to note, or built in a
    session a tool opened without the bot's registry, comes back unchanged.
    """
    try:
        annotators = registry_of(session).annotators
    except LookupError:
        return reply
    texts: list[str] = [*reply.sections, *(f.value for f in reply.fields)]
    pieces: list[tuple[int, int]] = []  # (index in texts, offset) of each stretch handed to the annotators
    stretches: list[str] = []
    for index, text in enumerate(texts):
        if index < after:
            continue
        for start, end in markup.linkable(text):
            pieces.append((index, start))
            stretches.append(text[start:end])
    if not annotators or not stretches:
        return reply
    found = [m for annotator in annotators for m in annotator(session, initiative_id, stretches)]
    chosen = _first_of_each(found, pieces)
    if not chosen:
        return reply
    marks: dict[int, list[tuple[int, str]]] = {}
    for number, (index, end, _) in enumerate(chosen, start=1):
        marks.setdefault(index, []).append((end, markup.note_mark(number)))
    for index, inserts in marks.items():
        text = texts[index]
        for end, mark in sorted(inserts, reverse=True):
            text = text[:end] + mark + text[end:]
        texts[index] = text
    notes = [f"{markup.note_mark(number)} {note.text}" for number, (_, _, note) in enumerate(chosen, start=1)]
    count = len(reply.sections)
    return replace(reply, sections=[Markup(t) for t in texts[:count]],
                   fields=[replace(f, value=Markup(t)) for f, t in zip(reply.fields, texts[count:], strict=True)],
                   context="\n".join([*notes, reply.context] if reply.context else notes))


def _first_of_each(found: list[Mention], pieces: list[tuple[int, int]]) -> list[tuple[int, int, Note]]:
    """(text index, end offset, note) of the first mention of each note key, in reading order, overlaps dropped."""
    chosen: list[tuple[int, int, Note]] = []
    seen: set[str] = set()
    reached: dict[int, int] = {}  # text index -> end of the last mention kept in it
    for mention in sorted(found, key=lambda m: (pieces[m.piece], m.start, -m.end)):
        index, offset = pieces[mention.piece]
        if mention.note.key in seen or offset + mention.start < reached.get(index, 0):
            continue
        seen.add(mention.note.key)
        reached[index] = offset + mention.end
        chosen.append((index, offset + mention.end, mention.note))
        if len(chosen) == MAX_NOTES:
            break
    return chosen
