"""`/ci glossary`: look terms up, propose and approve definitions, browse, see history and gaps.

Anyone in an initiative's channel may read the glossary; members propose terms
(backbone staff add agreed ones); backbone staff and steering committee members (not
observers) approve other people's proposals and edit definitions, keeping the earlier
text in the term's history. The domain work is in `bot.glossary.book`; this module only turns
it into replies, buttons and forms.
"""

from __future__ import annotations

from rapidfuzz.distance import OSA

from bot.core.args import Args, tokenize
from bot.core.context import Context
from bot.core.errors import NotAllowed, UserError
from bot.core.messages import (
    Button,
    ButtonStyle,
    Field,
    FieldKind,
    Form,
    FormErrors,
    FormField,
    Reply,
)
from bot.core.permissions import permits
from bot.core.registry import Access, Registry
from bot.core.render import Markup
from bot.glossary import book
from storage.ids import id_of
from storage.models import GlossaryTerm, Member, TermStatus

ADD_USAGE = ('Write it like /ci glossary add "common agenda" = A shared vision for change. '
             "For the meaning a term has in one context, put the context in brackets before "
             "the =, like /ci glossary add indicator (health) = ...")
LIST_LIMIT = 60
MAX_BUTTON_VALUE = 70  # a button's action and value fit in 90 characters
_OPENING_QUOTES = {'"': '"', "\u201c": "\u201d", "\u201e": "\u201c"}
SUBCOMMANDS = ("add", "approve", "edit", "list", "history", "misses")
EDIT_USAGE = ("Write it like /ci glossary edit \"common agenda\" = NEW DEFINITION, or /ci glossary edit TERM "
              "(CONTEXT) = NEW DEFINITION for the meaning it has in one context; /ci glossary edit TERM "
              "alone opens a form with the current text.")


def register(registry: Registry) -> None:
    """Add the glossary commands, buttons, form, term completion and home section."""
    registry.command(
        "glossary", look_up, access=Access.ANYONE,
        summary="Look up a term of the initiative's shared vocabulary.",
        usage="/ci glossary TERM",
        details="Names, other names and acronyms all work, in any case and with or without accents.",
    )
    registry.command(
        "glossary add", add, access=Access.ACT,
        summary="Propose a term and its definition.", usage="/ci glossary add TERM = DEFINITION",
        details="Backbone staff add agreed terms; other members' terms stay proposed until approved. "
                "Add a meaning for one context with /ci glossary add TERM (CONTEXT) = DEFINITION.",
    )
    registry.command(
        "glossary approve", approve, access=Access.STEERING,
        summary="Agree a term someone else proposed (backbone and steering committee).",
        usage="/ci glossary approve TERM",
    )
    registry.command(
        "glossary edit", edit, access=Access.STEERING,
        summary="Change a definition; the earlier text stays in the history (backbone and steering committee).",
        usage="/ci glossary edit TERM [(CONTEXT)] = NEW DEFINITION",
        details="Without = it opens a form with the current text. /ci glossary history TERM shows every "
                "earlier definition.",
    )
    registry.command(
        "glossary list", list_terms, access=Access.ANYONE,
        summary="List the terms, or those starting with some letters.", usage="/ci glossary list [LETTER]",
    )
    registry.command(
        "glossary history", history, access=Access.MEMBER, summary="Who changed a term, when, and how.",
        usage="/ci glossary history TERM",
    )
    registry.command(
        "glossary misses", misses, access=Access.BACKBONE,
        summary="The words people looked up that have no entry yet.", usage="/ci glossary misses",
    )
    registry.action("glossary.propose", propose_form, access=Access.ACT)
    registry.action("glossary.add", submit_form, access=Access.ACT)
    registry.action("glossary.approve", approve_button, access=Access.STEERING)
    registry.action("glossary.edit", submit_edit, access=Access.STEERING)
    registry.completer("term", complete)
    registry.home(home)


# ---------------------------------------------------------------- commands

def look_up(ctx: Context, args: Args) -> Reply:
    """Show the entry for a term, or the closest ones and a way to propose it."""
    initiative_id = _initiative_id(ctx)
    query = args.joined()
    if not query:
        return Reply(title="Glossary", sections=[ctx.markup.render(
            "glossary/glossary_home.j2", count=book.term_count(ctx.session, initiative_id))], ephemeral=True)
    _check_length(query, "/ci glossary TERM")
    found = book.lookup(ctx.session, initiative_id, query, ctx.now)
    if found.entry is not None:
        return card(ctx, found.entry)
    reply = Reply(sections=[ctx.markup.render("glossary/glossary_missing.j2", query=query,
                                              suggestions=found.suggestions)], ephemeral=True)
    meant = _meant_subcommand(query)
    if meant:
        reply.sections.append(ctx.markup.escape(
            f"Or did you mean the command /ci glossary {meant}? Type /ci help glossary {meant} "
            "to see how to write it."))
    if ctx.member is not None and len(query) <= MAX_BUTTON_VALUE:
        reply.buttons.append(Button("Propose a definition", "glossary.propose", query))
    return reply


def add(ctx: Context, args: Args) -> Reply:
    """Add a term (or a meaning for a new context) from `TERM [(CONTEXT)] = DEFINITION`."""
    member = ctx.require_member()
    term, context, definition = parse_definition(args.text)
    entry = _entry(term, context, definition)
    try:
        saved, created = book.add_definition(ctx.session, _initiative_id(ctx), entry,
                                             actor_id=member.id, agreed=ctx.is_backbone(), now=ctx.now)
    except book.EntryError as exc:
        raise UserError(exc.message, usage=_refusal_help(ctx, exc, term)) from exc
    return _added(ctx, saved, created)


def approve(ctx: Context, args: Args) -> Reply:
    """Agree a proposed term named by the caller."""
    member = ctx.require_member()
    term = _require_term(ctx, args.joined(), "/ci glossary approve TERM")
    _refuse_own(term, member)
    if not book.approve(ctx.session, term, actor_id=member.id, now=ctx.now):
        return Reply(sections=[ctx.markup.render_string("{{ t|b }} is already agreed.", t=term.term)],
                     ephemeral=True)
    reply = card(ctx, book.load_entry(ctx.session, term))
    reply.context = f"Approved by {member.name}."
    return reply


def edit(ctx: Context, args: Args) -> Reply:
    """Replace a definition from `TERM [(CONTEXT)] = NEW DEFINITION`, or open the edit form for `TERM`."""
    member = ctx.require_member()
    if "=" not in args.text:
        term = _require_term(ctx, args.joined(), EDIT_USAGE)
        return Reply(form=_edit_form(book.load_entry(ctx.session, term)), ephemeral=True)
    name, context, definition = parse_definition(args.text)
    term = _require_term(ctx, name, EDIT_USAGE)
    try:
        return _edited(ctx, term, member, context, definition)
    except book.EntryError as exc:
        raise UserError(exc.message, usage=EDIT_USAGE) from exc


def list_terms(ctx: Context, args: Args) -> Reply:
    """The terms in alphabetical order, all of them or those starting with the given letters."""
    initiative_id = _initiative_id(ctx)
    prefix = args.joined()
    terms = book.list_terms(ctx.session, initiative_id, prefix)
    m = ctx.markup
    if not terms:
        if prefix:
            text = m.render_string("No terms start with {{ p|b }}.", p=prefix)
        else:
            text = m.render_string("The glossary is empty. Add a term with {{ c|code }}.",
                                   c="/ci glossary add TERM = DEFINITION")
        return Reply(sections=[text], ephemeral=True)
    lines = [m.render("glossary/glossary_list_line.j2", term=t) for t in terms[:LIST_LIMIT]]
    more = len(terms) - LIST_LIMIT
    hint = (f"{more} more not shown; narrow the list with /ci glossary list LETTERS." if more > 0
            else "Type /ci glossary TERM to read one.")
    title = f"Glossary: {prefix}…" if prefix else "Glossary"
    return Reply(title=title, sections=[Markup("\n").join(lines)], context=hint, ephemeral=True)


def history(ctx: Context, args: Args) -> Reply:
    """Every change to a term: when (in the reader's timezone), by whom, what."""
    term = _require_term(ctx, args.joined(), "/ci glossary history TERM")
    tz = ctx.timezone
    lines = []
    for revision, member in book.history(ctx.session, term):
        at = revision.at.astimezone(tz)
        lines.append(ctx.markup.render(
            "glossary/glossary_history_line.j2", when=f"{at.day} {at:%b %Y %H:%M %Z}",
            who=member.name if member else "the glossary file", action=revision.action,
            summary=revision.summary))
    return Reply(title=f"History of {term.term}",
                 sections=[Markup("\n").join(lines) or ctx.markup.escape("No changes recorded.")],
                 context=f"Times are in {tz.key}.", ephemeral=True)


def misses(ctx: Context, args: Args) -> Reply:
    """The most looked-up words that have no entry, for the backbone to fill in."""
    found = book.top_misses(ctx.session, _initiative_id(ctx))
    if not found:
        return Reply(sections=[ctx.markup.escape("Nobody has looked up a missing term yet.")], ephemeral=True)
    lines = [ctx.markup.render("glossary/glossary_miss_line.j2", miss=miss) for miss in found]
    return Reply(title="Looked up, not in the glossary", sections=[Markup("\n").join(lines)],
                 context="Add one with /ci glossary add TERM = DEFINITION.", ephemeral=True)


# ---------------------------------------------------------------- buttons and the form

def propose_form(ctx: Context, value: str, fields: dict[str, str]) -> Reply:
    """Open the form that proposes a definition, with the looked-up term filled in."""
    ctx.require_member()
    form = Form(
        title="Propose a definition",
        action="glossary.add",
        fields=(
            FormField("term", "Term", initial=value, max_length=book.MAX_TERM),
            FormField("definition", "Definition", kind=FieldKind.LONG_TEXT,
                      max_length=book.MAX_DEFINITION, placeholder="What the term means in this initiative"),
            FormField("context", "Context (optional)", required=False, max_length=book.MAX_CONTEXT,
                      hint="A sector or setting in which the term has this meaning, e.g. health"),
        ),
        submit_label="Propose",
    )
    return Reply(form=form, ephemeral=True)


def submit_form(ctx: Context, value: str, fields: dict[str, str]) -> Reply | FormErrors:
    """Create the proposed term from the form, or say which fields need fixing."""
    member = ctx.require_member()
    term = fields.get("term", "").strip()
    entry = _entry(term, fields.get("context", "").strip(), fields.get("definition", "").strip())
    problems = book.form_problems(entry)
    if problems:
        return FormErrors(problems)
    try:
        saved, created = book.add_definition(ctx.session, _initiative_id(ctx), entry,
                                             actor_id=member.id, agreed=ctx.is_backbone(), now=ctx.now)
    except book.EntryError as exc:
        return FormErrors({exc.field: exc.message})
    return _added(ctx, saved, created)


def approve_button(ctx: Context, value: str, fields: dict[str, str]) -> Reply:
    """The Approve button on a proposed term's card."""
    member = ctx.require_member()
    term = book.term_by_id(ctx.session, _initiative_id(ctx), value)
    if term is None:
        raise UserError("That term is no longer in the glossary.")
    _refuse_own(term, member)
    approved = book.approve(ctx.session, term, actor_id=member.id, now=ctx.now)
    reply = card(ctx, book.load_entry(ctx.session, term))
    reply.context = f"Approved by {member.name}." if approved else "Already agreed."
    return reply


def submit_edit(ctx: Context, value: str, fields: dict[str, str]) -> Reply | FormErrors:
    """Save the edit form: the new definition of the term's meaning for the chosen context."""
    member = ctx.require_member()
    term = book.term_by_id(ctx.session, _initiative_id(ctx), value)
    if term is None:
        raise UserError("That term is no longer in the glossary.")
    try:
        return _edited(ctx, term, member, fields.get("context", "").strip(), fields.get("definition", "").strip())
    except book.EntryError as exc:
        return FormErrors({exc.field: exc.message})


def complete(ctx: Context, prefix: str) -> list[str]:
    """Term names for autocompletion of a `term` option."""
    return book.complete(ctx.session, _initiative_id(ctx), prefix)


def home(ctx: Context) -> list[Reply]:
    """The glossary's part of the home page: its size, and proposals for those who approve."""
    initiative_id = _initiative_id(ctx)
    m = ctx.markup
    sections: list[Markup] = [m.render("glossary/glossary_home.j2", count=book.term_count(ctx.session, initiative_id))]
    if _may_approve(ctx):
        pending = book.proposed_terms(ctx.session, initiative_id)
        sections.append(m.render("glossary/glossary_pending.j2", pending=pending[:10], total=len(pending)))
    return [Reply(title="Glossary", sections=sections)]


# ---------------------------------------------------------------- the card and helpers

def card(ctx: Context, entry: book.Entry) -> Reply:
    """The entry card: the senses, other names, status and, for approvers, an Approve button."""
    m = ctx.markup
    term = entry.term
    fields = []
    aliases = [a.alias for a in entry.aliases if not a.is_acronym]
    acronyms = [a.alias for a in entry.aliases if a.is_acronym]
    if aliases:
        fields.append(Field("Also called", m.escape(", ".join(aliases))))
    if acronyms:
        fields.append(Field("Acronyms", m.escape(", ".join(acronyms))))
    fields.append(Field("Status", m.render("glossary/glossary_status.j2", proposed=entry.proposed)))
    if entry.proposer is not None:
        fields.append(Field("Proposed by" if entry.proposed else "Added by", m.escape(entry.proposer.name)))
    edits = book.edit_count(ctx.session, term) if _may_approve(ctx) else 0
    if edits:
        fields.append(Field("Earlier definitions", m.escape(f"{edits}: /ci glossary history {term.term}")))
    reply = Reply(
        title=f"{term.term} (proposed)" if entry.proposed else term.term,
        sections=[m.render("glossary/glossary_sense.j2", context=s.context, definition=s.definition)
                  for s in entry.senses],
        fields=fields,
    )
    if entry.proposed:
        reply.context = ("A proposed definition: backbone staff or the steering committee "
                         "have not agreed it yet.")
        if _may_approve(ctx) and not _own(term, ctx.member):
            reply.buttons.append(Button("Approve", "glossary.approve", str(term.id), ButtonStyle.PRIMARY))
    return reply


def parse_definition(text: str) -> tuple[str, str, str]:
    """Split `TERM [(CONTEXT)] = DEFINITION` into its parts; quotes keep a term together."""
    left, right = _split_at_equals(text)
    left = left.strip()
    context = ""
    opening = left.rfind("(")
    if left.endswith(")") and opening > max(left.rfind(q) for q in '"\u201c\u201d\u201e'):
        context, left = left[opening + 1:-1].strip(), left[:opening]
    term = " ".join(tokenize(left))
    definition = right.strip()
    if len(definition) > 1 and definition[0] in _OPENING_QUOTES and definition[-1] == _OPENING_QUOTES[definition[0]]:
        definition = definition[1:-1].strip()
    return term, context, definition


def _split_at_equals(text: str) -> tuple[str, str]:
    """`text` split at its first = outside quotes; a missing = is explained."""
    closing = None
    for position, char in enumerate(text):
        if closing:
            if char == closing or char == '"':
                closing = None
        elif char in _OPENING_QUOTES:
            closing = _OPENING_QUOTES[char]
        elif char == "=":
            return text[:position], text[position + 1:]
    raise UserError("Put an = between the term and its definition.", usage=ADD_USAGE)


def _entry(term: str, context: str, definition: str) -> book.TermEntry:
    """A one-meaning entry; with a context, the meaning is a sense for that context."""
    if context:
        return book.TermEntry(term=term, senses=[(context, definition)])
    return book.TermEntry(term=term, definition=definition)


def _added(ctx: Context, term: GlossaryTerm, created: bool) -> Reply:
    reply = card(ctx, book.load_entry(ctx.session, term))
    if term.status == "agreed":
        reply.context = "Added to the glossary." if created else "New meaning added."
    else:
        done = "Added as a proposed term" if created else "New meaning added; the term is proposed again"
        reply.context = f"{done} until backbone staff or the steering committee approve it."
    return reply


def _refusal_help(ctx: Context, error: book.EntryError, term: str) -> str:
    if error.usage:
        return error.usage
    if isinstance(error, book.AlreadyDefined):
        change = (f"change the existing text with /ci glossary edit {term} = NEW DEFINITION" if _may_approve(ctx)
                  else "to change the existing text, ask your backbone team or the steering committee")
        return (f"Read it with /ci glossary {term}. To add the meaning it has in one context, write "
                f"/ci glossary add {term} (CONTEXT) = DEFINITION; {change}.")
    return ADD_USAGE


def _edited(ctx: Context, term: GlossaryTerm, member: Member, context: str, definition: str) -> Reply:
    """Save a new definition for `term`'s meaning in `context` and show the card (`book.EntryError` if refused)."""
    book.edit_definition(ctx.session, term, context, definition, actor_id=member.id, now=ctx.now)
    reply = card(ctx, book.load_entry(ctx.session, term))
    reply.context = f"Definition changed by {member.name}; the earlier text is in /ci glossary history {term.term}."
    return reply


def _edit_form(entry: book.Entry) -> Form:
    """The form that edits one meaning of a term, filled in with its first meaning."""
    first = entry.senses[0] if entry.senses else None
    return Form(
        title=f"Edit {entry.term.term}"[:60],
        action="glossary.edit",
        value=str(entry.term.id),
        fields=(
            FormField("definition", "Definition", kind=FieldKind.LONG_TEXT, max_length=book.MAX_DEFINITION,
                      initial=first.definition if first else ""),
            FormField("context", "Context (empty for the general meaning)", required=False,
                      max_length=book.MAX_CONTEXT, initial=first.context if first else "",
                      hint="Which meaning to change, when the term has one per context"),
        ),
        submit_label="Save",
    )


def _may_approve(ctx: Context) -> bool:
    """Backbone staff and steering committee members who are not observers approve and edit terms."""
    return permits(ctx, Access.STEERING)


def _own(term: GlossaryTerm, member: Member | None) -> bool:
    return member is not None and term.proposed_by_id == member.id


def _refuse_own(term: GlossaryTerm, member: Member) -> None:
    """Nobody approves their own proposal: agreement needs a second person."""
    if _own(term, member) and term.status == TermStatus.PROPOSED:
        raise NotAllowed(f"You proposed “{term.term}”, so someone else must approve it: another backbone "
                         "staff member or a steering committee member.")


def _require_term(ctx: Context, text: str, usage: str) -> GlossaryTerm:
    """The term named `text`, or an error with the closest names."""
    if not text:
        raise UserError("Please name the term.", usage=usage)
    _check_length(text, usage)
    initiative_id = _initiative_id(ctx)
    term = book.find(ctx.session, initiative_id, text)
    if term is None:
        close = book.suggest(book.term_index(ctx.session, initiative_id), text)
        hint = f" Did you mean {' or '.join(close)}?" if close else ""
        raise UserError(f"No entry for “{text}”.{hint}", usage=usage)
    return term


def _meant_subcommand(query: str) -> str:
    """The glossary command whose name the first of several words looks like a typo of, if any."""
    first, _, rest = query.partition(" ")
    if not rest.strip():
        return ""
    typed = first.lower()
    # letters wrong, missing, extra or swapped: one in a short command name, two in a long one
    return next((name for name in SUBCOMMANDS
                 if OSA.distance(typed, name) <= (1 if len(name) <= 4 else 2)), "")


def _check_length(text: str, usage: str) -> None:
    """Refuse a term longer than any the glossary can hold, saying the limit."""
    if len(text) > book.MAX_TERM:
        raise UserError(f"That term is {len(text)} characters long; glossary terms have at most "
                        f"{book.MAX_TERM}.", usage=usage)


def _initiative_id(ctx: Context) -> int:
    return id_of(ctx.require_initiative())
