"""Decisions by chat: propose (inline or by form), vote with buttons, proxies, outcomes, the decision log.

`/ci propose "TITLE" --closes 3d` opens a vote in the group's channel with Agree /
Abstain / Disagree (/ Block) buttons; a click records or changes the vote and
answers the voter privately. Backbone staff close early, extend and withdraw;
the proposer or the backbone records the outcome; `/ci decisions` searches the log.
"""

from __future__ import annotations

import re
from datetime import datetime, time, timedelta

from sqlmodel import col, select

from bot.core.args import Args, parse_id, read_id
from bot.core.completions import starts
from bot.core.context import Context
from bot.core.errors import UserError
from bot.core.members import find_member
from bot.core.messages import Button, Field, FieldKind, Form, FormErrors, FormField, Reply
from bot.core.registry import Access, AgendaView, Completion, Registry
from bot.core.render import Markup
from bot.core.time import moment_text, read_when, when_usage
from bot.decisions import domain as decisions
from bot.decisions import posts
from bot.decisions.cards import (
    VOTE_ACTION,
    log_line,
    proposal_card,
    vote_lines,
)
from bot.decisions.tally import Rule
from bot.measures.indicators import find_indicator
from bot.measures.visibility import viewer_of
from storage.decisions import Decision, DecisionStatus, outcome_of
from storage.ids import id_of
from storage.meetings import Meeting, MeetingNote, MeetingStatus, NoteKind
from storage.models import Group, GroupKind

PROPOSE_USAGE = ('/ci propose "TITLE" --closes 3d [--rule majority|two-thirds|consent|consensus] '
                 '[--quorum 3|50%] [--group KEY] [--body TEXT] [--why TEXT] [--evidence URL] [--indicators KEY,KEY] '
                 '[--anonymous yes] [--reasons required]')
WHEN_USAGE = when_usage("a closing time")
PROPOSE_ACTION = "decision.propose"
REASON_ACTION = "decision.reason"
AGREED_ACTION = "decision.record_agreed"
_RELATIVE = re.compile(r"^(\d+)\s*(m|min|h|d|w|mo)$")
AGENDA_ORDER = 20  # after the progress snapshot, before open actions
DEFAULT_LOOKBACK_DAYS = 31  # for a group's first meeting: decisions closed in the month before
_PING_OR_LINK = re.compile(r"<[@!#]|@\w|https?://", re.IGNORECASE)


BY_ID = {"ID": "decision"}  # an ID in these usages autocompletes open decisions


def register(registry: Registry) -> None:
    """Add the decision commands, the vote buttons and the proposal and reason forms."""
    registry.command("propose", propose, access=Access.CHAIR, usage=PROPOSE_USAGE,
                     options=("closes", "rule", "quorum", "group", "body", "why", "evidence", "indicators", "anonymous",
                              "reasons"),
                     summary="Put a proposal to a group's vote (no arguments opens a form).",
                     details="Rules: " + "; ".join(f"{r.value} {r.explained}" for r in Rule) + ".")
    registry.command("vote", vote_command, access=Access.VOTER, completes=BY_ID,
                     usage="/ci vote ID agree|abstain|disagree|block [REASON]",
                     summary="Vote on an open decision (the channel buttons do the same).")
    registry.command("proxy", proxy_command, access=Access.VOTER, completes=BY_ID, usage="/ci proxy ID @member",
                     summary="Let another voting member of the same group vote for you on one decision.")
    registry.command("outcome", outcome_command, access=Access.CHAIR, completes=BY_ID, usage="/ci outcome ID TEXT",
                     summary="Record what was decided and why (proposer or backbone).")
    registry.command("decisions", log_command, options=("group", "status"),
                     usage="/ci decisions [QUERY] [--group KEY] [--status open|passed|failed|withdrawn]",
                     summary="Search the decision log (--status failed finds those that did not pass or were "
                             "not decided).")
    registry.command("decision", show_command, completes=BY_ID, usage="/ci decision ID",
                     summary="One decision: tally, votes, outcome, evidence and review date.")
    registry.command("decision close", close_command, completes=BY_ID, access=Access.BACKBONE,
                     usage="/ci decision close ID",
                     summary="Close a vote now and post the result.")
    registry.command("decision extend", extend_command, completes=BY_ID, access=Access.BACKBONE,
                     usage="/ci decision extend ID WHEN  (e.g. 2d or 2026-03-20 17:00)",
                     summary="Keep a vote open longer.")
    registry.command("decision withdraw", withdraw_command, completes=BY_ID, access=Access.BACKBONE,
                     usage="/ci decision withdraw ID [REASON]", summary="Withdraw an open proposal.")
    registry.command("decision review", review_command, access=Access.CHAIR, completes=BY_ID,
                     usage="/ci decision review ID DATE",
                     summary="Set when a decision should be looked at again (proposer or backbone).")
    registry.command("decision policy", policy_command, access=Access.BACKBONE,
                     options=("propose", "vote", "rule", "quorum", "count", "split", "anonymous", "reasons",
                              "backbone", "remind"),
                     usage="/ci decision policy GROUP [--propose chair,staff] [--vote chair,member] [--rule R] "
                           "[--quorum Q] [--count member|organization] [--split abstain|split] "
                           "[--anonymous yes|no] [--reasons required|optional] [--remind 24]",
                     summary="Who proposes and votes in a group, and its default vote settings.")
    registry.home(waiting_votes)
    registry.completer("decision", open_decisions)
    registry.action(AGREED_ACTION, record_agreed)
    registry.after("agreed", offer_on_agreed)
    registry.agenda_section("decisions", agenda_section, order=AGENDA_ORDER)
    registry.action(PROPOSE_ACTION, submit_proposal, access=Access.CHAIR)
    registry.action(VOTE_ACTION, vote_button, access=Access.VOTER)
    registry.action(REASON_ACTION, submit_reason, access=Access.VOTER)


# -- reading input ---------------------------------------------------------------------------


def parse_when(ctx: Context, text: str, default: time = time(17, 0), what: str = "a closing time") -> datetime:
    """A moment in any form the core's reader takes (``3d``, ``2026-03-20 17:00``, ``next friday 5pm``).

    A day without a time of day means `default` local time; errors say how to write `what`.
    """
    return read_when(text, ctx.timezone.key, ctx.now, what=what).instant(default)


def find_group(ctx: Context, key: str | None) -> Group:
    """The group named `key`, else the channel's group, else the initiative's only steering committee."""
    initiative = ctx.require_initiative()
    if key:
        group = ctx.session.exec(select(Group).where(Group.initiative_id == initiative.id,
                                                     Group.key == key.lower(), Group.active == True)).first()  # noqa: E712
        if group is None:
            raise UserError(f"There is no group “{key}”. Name a group by its key, like --group steering.")
        return group
    if ctx.group is not None:
        return ctx.group
    steering = ctx.session.exec(select(Group).where(Group.initiative_id == initiative.id,
                                                    Group.kind == GroupKind.STEERING,
                                                    Group.active == True)).all()  # noqa: E712
    if len(steering) == 1:
        return steering[0]
    raise UserError("Which group decides? Add --group KEY, e.g. --group steering.")


def cited_indicators(ctx: Context, text: str) -> str:
    """Indicator keys cited as evidence, checked to exist and be visible to the proposer."""
    initiative = ctx.require_initiative()
    keys = [k.strip() for k in text.split(",") if k.strip()]
    viewer = viewer_of(ctx)
    return ",".join(find_indicator(ctx.session, id_of(initiative), k, viewer, PROPOSE_USAGE).key
                    for k in keys)


def decision_ref(ctx: Context, args: Args, usage: str) -> Decision:
    """The decision named by the first word."""
    return decisions.get(ctx.session, id_of(ctx.require_initiative()), args.first("a decision number", usage))


def _flag(value: str | None, name: str) -> bool | None:
    return None if value is None else decisions.parse_flag(value, name)


# -- proposing -------------------------------------------------------------------------------


def propose(ctx: Context, args: Args) -> Reply:
    """`/ci propose`: a form with no arguments, else an inline proposal."""
    member = ctx.require_member()
    group = find_group(ctx, args.options.get("group"))
    decisions.require_proposer(ctx.session, member, group)
    if not args.words and set(args.options) <= {"group"}:
        return Reply(form=proposal_form(group), ephemeral=True)
    if not args.words:
        raise UserError("A proposal needs a title.", usage=PROPOSE_USAGE)
    if "closes" not in args.options:
        raise UserError("Say when voting closes with --closes, like --closes 3d.", usage=PROPOSE_USAGE)
    proposal = decisions.Proposal(
        title=args.joined(), closes_at=parse_when(ctx, args.options["closes"]),
        body=args.options.get("body", ""), rationale=args.options.get("why", ""),
        evidence=args.options.get("evidence", ""), rule=args.options.get("rule", ""),
        indicators=cited_indicators(ctx, args.options.get("indicators", "")),
        quorum=args.options.get("quorum", ""), anonymous=_flag(args.options.get("anonymous"), "anonymous"),
        reason_required=_flag(args.options.get("reasons"), "reasons"),
    )
    return _opened(ctx, decisions.propose(ctx.session, member, group, proposal, ctx.now))


def proposal_form(group: Group) -> Form:
    """The proposal form for `group`."""
    rules = tuple((r.value, f"{r.value}: {r.explained}") for r in Rule)
    return Form(
        title="New proposal",
        action=PROPOSE_ACTION,
        value=str(group.id),
        submit_label="Open the vote",
        fields=(
            FormField("title", "Title", max_length=200, placeholder="Adopt the shared kindergarten readiness measure"),
            FormField("body", "Proposal", FieldKind.LONG_TEXT, required=False, max_length=4000),
            FormField("rationale", "Why", FieldKind.LONG_TEXT, required=False, max_length=4000),
            FormField("evidence", "Evidence", FieldKind.LONG_TEXT, required=False, max_length=4000,
                      hint="Links or notes, one per line."),
            FormField("closes", "Voting closes", placeholder="3d, 48h or 2026-03-20 17:00", initial="3d",
                      max_length=40),
            FormField("rule", "Rule", FieldKind.CHOICE, choices=rules, initial="majority"),
            FormField("quorum", "Quorum", required=False, max_length=16, placeholder="3 or 50%",
                      hint="How many must vote: a number or a share of the voters. Empty: the group's default."),
        ),
    )


def submit_proposal(ctx: Context, value: str, fields: dict[str, str]) -> Reply | FormErrors:
    """The proposal form was submitted: open the vote, or say which fields are wrong."""
    member = ctx.require_member()
    group_id = read_id(value)
    group = ctx.session.get(Group, group_id) if group_id else None
    if group is None or ctx.initiative is None or group.initiative_id != ctx.initiative.id:
        raise UserError("That form belongs to a group I can't find any more. Run /ci propose again.")
    errors: dict[str, str] = {}
    closes = None
    try:
        closes = parse_when(ctx, fields.get("closes", ""))
    except UserError as exc:
        errors["closes"] = f"{exc.message} {WHEN_USAGE}"
    if not fields.get("title", "").strip():
        errors["title"] = "Give the proposal a title."
    if errors or closes is None:
        return FormErrors(errors)
    proposal = decisions.Proposal(
        title=fields["title"], closes_at=closes, body=fields.get("body", ""),
        rationale=fields.get("rationale", ""), evidence=fields.get("evidence", ""), rule=fields.get("rule", ""),
        quorum=fields.get("quorum", ""))
    try:
        decision = decisions.propose(ctx.session, member, group, proposal, ctx.now)
    except UserError as exc:
        field = "closes" if "closing time" in exc.message or "open for" in exc.message else (
            "quorum" if "quorum" in exc.message else "rule" if "rule" in exc.message else "title")
        return FormErrors({field: exc.message})
    return _opened(ctx, decision)


def _opened(ctx: Context, decision: Decision) -> Reply:
    posts.announce(ctx.session, decision)
    group = ctx.session.get(Group, decision.group_id)
    reply = proposal_card(ctx.session, ctx.markup, decision)
    reply.context += (f"\nPosted in {group.name if group else 'the group'}'s channel. "  # after the card's notes
                      f"Voting closes {moment_text(decision.closes_at, ctx.timezone, with_zone=True)}.")
    reply.ephemeral = True
    return reply


# -- voting ----------------------------------------------------------------------------------


def vote_button(ctx: Context, value: str, _fields: dict[str, str]) -> Reply:
    """A vote button: record the vote, or open the reason form when the decision asks for one."""
    decision_id, choice = _vote_value(value)
    try:
        return _cast(ctx, decision_id, choice, "")
    except decisions.ReasonNeeded:
        return Reply(ephemeral=True, form=Form(
            title=f"Your vote: {choice}", action=REASON_ACTION, value=value, submit_label="Vote",
            fields=(FormField("reason", "Your reason", FieldKind.LONG_TEXT, max_length=decisions.MAX_REASON),)))


def submit_reason(ctx: Context, value: str, fields: dict[str, str]) -> Reply | FormErrors:
    """The reason form of a vote was submitted."""
    decision_id, choice = _vote_value(value)
    if not fields.get("reason", "").strip():
        return FormErrors({"reason": "This decision asks every voter for a reason."})
    return _cast(ctx, decision_id, choice, fields["reason"])


def vote_command(ctx: Context, args: Args) -> Reply:
    """`/ci vote ID CHOICE [REASON]`."""
    usage = "/ci vote ID agree|abstain|disagree|block [REASON]"
    if len(args.words) < 2:
        raise UserError("Say which decision and how you vote.", usage=usage)
    number = parse_id(args.words[0], "decision", hint=decisions.FIND_DECISIONS, usage=usage)
    return _cast(ctx, number, args.words[1], " ".join(args.words[2:]))


def _vote_value(value: str) -> tuple[int, str]:
    ref, _, choice = value.partition(":")
    number = read_id(ref)
    if number is None or not choice:
        raise UserError("That vote button is damaged. Vote with /ci vote ID CHOICE instead.")
    return number, choice


def _cast(ctx: Context, decision_id: int, choice: str, reason: str) -> Reply:
    member = ctx.require_member()
    roles = {group_id: role for group_id, (_group, role) in ctx.groups.items()}
    result = decisions.cast(ctx.session, decision_id, member, choice, reason, ctx.now, roles)
    decision = result.decision
    m = ctx.markup
    if not result.changed:
        how = "secret ballot is already cast and cannot be changed" if decision.anonymous else (
            f"vote is already {result.choice.value}")
        return Reply(sections=[m.escape(f"Your {how} on decision #{decision.id}; nothing changed.")],
                     ephemeral=True)
    lines = [f"Recorded: {result.choice.value} on decision #{decision.id}, {decision.title}."]
    if result.for_others:
        lines.append("Also recorded for " + ", ".join(result.for_others) + " (by proxy).")
    if _PING_OR_LINK.search(reason):
        lines.append("Your reason is kept as plain text: mentions in it notify nobody and links cannot hide "
                     "where they go.")
    if decision.anonymous:
        lines.append("This is a secret ballot: it cannot be changed, and nobody can see how you voted.")
    else:
        lines.append(f"You can change it until voting closes "
                     f"{moment_text(decision.closes_at, ctx.timezone, with_zone=True)}.")
    return Reply(sections=[m.escape(" ".join(lines))], ephemeral=True)


def proxy_command(ctx: Context, args: Args) -> Reply:
    """`/ci proxy ID @member`: hand your vote on one decision to another member."""
    usage = "/ci proxy ID @member"
    member = ctx.require_member()
    decision = decision_ref(ctx, args, usage)
    if len(args.words) < 2:
        raise UserError("Name the member who will vote for you.", usage=usage)
    proxy = find_member(ctx, " ".join(args.words[1:]))
    decisions.name_proxy(ctx.session, decision, member, proxy, ctx.now)
    return Reply(sections=[ctx.markup.escape(
        f"{proxy.name} can now vote for you on decision #{decision.id}. If you vote yourself, "
        "your own vote counts instead.")], ephemeral=True)


# -- outcomes and backbone actions --------------------------------------------------------------


def outcome_command(ctx: Context, args: Args) -> Reply:
    """`/ci outcome ID TEXT`."""
    usage = "/ci outcome ID TEXT"
    decision = decision_ref(ctx, args, usage)
    decisions.record_outcome(ctx.session, decision, ctx.require_member(), " ".join(args.words[1:]), ctx.now)
    posts.refresh(ctx.session, decision)
    return Reply(sections=[ctx.markup.escape(f"Outcome of decision #{decision.id} recorded.")], ephemeral=True)


def close_command(ctx: Context, args: Args) -> Reply:
    """`/ci decision close ID`: close early and post the result."""
    decision = decision_ref(ctx, args, "/ci decision close ID")
    decisions.require_open(decision, ctx.now, "close the vote")
    result = decisions.close(ctx.session, id_of(decision), ctx.now, actor=ctx.require_member())
    if result is None:
        raise UserError(f"Decision #{decision.id} is not open.")
    posts.closed(ctx.session, decision, result)
    return Reply(sections=[ctx.markup.escape(f"Voting on #{decision.id} closed early: "
                                             f"{outcome_of(decision)}.")],
                 ephemeral=True)


def extend_command(ctx: Context, args: Args) -> Reply:
    """`/ci decision extend ID WHEN`."""
    usage = "/ci decision extend ID WHEN"
    decision = decision_ref(ctx, args, usage)
    if len(args.words) < 2:
        raise UserError("Say until when.", usage=usage)
    closes = parse_when(ctx, " ".join(args.words[1:]))
    if _RELATIVE.match(args.words[1].lower()):
        try:
            closes = decision.closes_at + (closes - ctx.now)
        except OverflowError:
            raise UserError(f"“{args.words[1][:40]}” is further away than any date I can write.",
                            usage=WHEN_USAGE) from None
    decisions.extend(ctx.session, decision, ctx.require_member(), closes, ctx.now)
    posts.refresh(ctx.session, decision)
    return Reply(sections=[ctx.markup.escape(
        f"Voting on #{decision.id} now closes "
        f"{moment_text(decision.closes_at, ctx.timezone, with_zone=True)}.")], ephemeral=True)


def withdraw_command(ctx: Context, args: Args) -> Reply:
    """`/ci decision withdraw ID [REASON]`."""
    decision = decision_ref(ctx, args, "/ci decision withdraw ID [REASON]")
    decisions.withdraw(ctx.session, decision, ctx.require_member(), " ".join(args.words[1:]), ctx.now)
    posts.refresh(ctx.session, decision)
    return Reply(sections=[ctx.markup.escape(f"Decision #{decision.id} withdrawn.")], ephemeral=True)


def review_command(ctx: Context, args: Args) -> Reply:
    """`/ci decision review ID DATE`."""
    usage = "/ci decision review ID DATE"
    decision = decision_ref(ctx, args, usage)
    if len(args.words) < 2:
        raise UserError("Say when to review it.", usage=f"{usage}. {when_usage('a review date')}")
    moment = parse_when(ctx, " ".join(args.words[1:]), default=time(9, 0), what="a review date")
    decisions.set_review(ctx.session, decision, ctx.require_member(), moment, ctx.now)
    return Reply(sections=[ctx.markup.escape(
        f"Decision #{decision.id} will come up for review on "
        f"{moment_text(moment, ctx.timezone, with_zone=True)}.")], ephemeral=True)


def policy_command(ctx: Context, args: Args) -> Reply:
    """`/ci decision policy GROUP [--option value ...]`: show or change a group's decision policy."""
    group = find_group(ctx, args.first("a group key", "/ci decision policy GROUP"))
    policy = (decisions.set_policy(ctx.session, group, ctx.require_member(), args.options)
              if args.options else decisions.policy_for(ctx.session, id_of(group)))
    return Reply(title=f"Decisions in {group.name}", ephemeral=True, fields=[
        Field("Propose", ctx.markup.escape(("backbone staff, " if policy.backbone_proposes else "")
                                           + policy.propose_roles)),
        Field("Vote", ctx.markup.escape(policy.vote_roles)), Field("Rule", ctx.markup.escape(policy.rule)),
        Field("Quorum", ctx.markup.escape(policy.quorum)),
        Field("Counting", ctx.markup.escape(f"per {policy.count_by}" + (f", divided: {policy.split_as}"
                                                     if policy.count_by == "organization" else ""))),
        Field("Reasons", ctx.markup.escape("required" if policy.reason_required else "optional")),
        Field("Ballot", ctx.markup.escape("secret" if policy.anonymous else "open")),
        Field("Reminder", ctx.markup.escape(f"{policy.remind_hours} h before close")),
    ])


def waiting_votes(ctx: Context) -> list[Reply]:
    """The member's home: open decisions they may vote on and have not voted on yet."""
    member = ctx.require_member()
    waiting = [d for d in decisions.search(ctx.session, member.initiative_id, status=DecisionStatus.OPEN, limit=50)
               if d.closes_at > ctx.now and member.id in {m.id for m in decisions.non_voters(ctx.session, d)}]
    if not waiting:
        return []
    return [Reply(title="Votes waiting for you",
                  sections=[Markup("\n").join(log_line(ctx.session, ctx.markup, d, ctx.timezone) for d in waiting)],
                  context="Vote with the buttons in the channel or /ci vote ID agree|abstain|disagree.")]


# -- meetings: agreements and the agenda -------------------------------------------------------


def offer_on_agreed(ctx: Context, _args: Args, reply: Reply) -> None:
    """After `/ci agreed` notes an agreement in a meeting, offer to record it as a decision."""
    ctx.session.flush()
    note = ctx.session.exec(select(MeetingNote).where(
        MeetingNote.author_id == (ctx.member.id if ctx.member else None), MeetingNote.kind == NoteKind.AGREED)
        .order_by(col(MeetingNote.id).desc())).first()
    if note is not None:
        reply.buttons.append(Button("Record as decision", AGREED_ACTION, str(note.id)))


def record_agreed(ctx: Context, value: str, _fields: dict[str, str]) -> Reply:
    """The "Record as decision" button under an agreement in the minutes."""
    note_id = read_id(value)
    note = ctx.session.get(MeetingNote, note_id) if note_id else None
    meeting = ctx.session.get(Meeting, note.meeting_id) if note else None
    group = ctx.session.get(Group, meeting.group_id) if meeting else None
    if note is None or note.kind != NoteKind.AGREED or group is None or group.initiative_id != (
            ctx.initiative.id if ctx.initiative else None):
        raise UserError("That agreement is no longer in the minutes (it may have been undone).")
    decision = decisions.record_agreed(ctx.session, ctx.require_member(), group, note.text, note.meeting_id, ctx.now)
    return Reply(sections=[ctx.markup.escape(
        f"Recorded as decision #{decision.id} of {group.name}. Add the outcome or a review date with "
        f"/ci outcome {decision.id} TEXT or /ci decision review {decision.id} DATE.")], ephemeral=True)


def agenda_section(view: AgendaView) -> Markup:
    """The agenda's decisions: votes open or due, decisions closed since the last meeting, reviews due."""
    session, group, starts = view.session, view.group, view.starts_at
    previous = session.exec(select(Meeting.starts_at).where(
        Meeting.group_id == group.id, Meeting.starts_at < starts,
        Meeting.status != MeetingStatus.SKIPPED).order_by(col(Meeting.starts_at).desc())).first()
    since = previous or starts - timedelta(days=DEFAULT_LOOKBACK_DAYS)
    rows = session.exec(select(Decision).where(Decision.group_id == group.id).order_by(col(Decision.id))).all()
    tz = view.timezone
    open_ = [d for d in rows if d.status == DecisionStatus.OPEN]
    closed = [d for d in rows if d.status in (DecisionStatus.PASSED, DecisionStatus.FAILED)
              and d.closed_at and since <= d.closed_at < starts]
    review = [d for d in rows if d.review_at and since < d.review_at <= starts]
    if not (open_ or closed or review):
        return Markup()
    return view.markup.render("decisions/decision_agenda.j2",
                              open=[(d, moment_text(d.closes_at, tz, with_zone=True)) for d in open_],
                              closed=[(d, outcome_of(d)) for d in closed], review=review)


# -- the log ---------------------------------------------------------------------------------


def log_command(ctx: Context, args: Args) -> Reply:
    """`/ci decisions [QUERY] [--group KEY] [--status S]`."""
    initiative = ctx.require_initiative()
    status = args.options.get("status", "").lower() or None
    if status and status not in {s.value for s in DecisionStatus}:
        raise UserError(f"--status takes one of: {', '.join(s.value for s in DecisionStatus)}.")
    group = find_group(ctx, args.options["group"]) if "group" in args.options else None
    found = decisions.search(ctx.session, id_of(initiative), args.joined(), group.id if group else None, status)
    if not found:
        return Reply(sections=[ctx.markup.escape("No decisions match that.")], ephemeral=True)
    lines = [log_line(ctx.session, ctx.markup, d, ctx.timezone) for d in found]
    return Reply(title="Decisions", sections=[Markup("\n").join(lines)], ephemeral=True,
                 context="See one with /ci decision ID.")


def show_command(ctx: Context, args: Args) -> Reply:
    """`/ci decision ID`: the decision with its tally, votes (unless anonymous), outcome and review date."""
    decision = decision_ref(ctx, args, "/ci decision ID")
    m = ctx.markup
    reply = proposal_card(ctx.session, m, decision)
    reply.ephemeral = True
    lines = vote_lines(ctx.session, m, decision)
    if lines:
        reply.fields.append(Field("Votes", Markup("\n").join(lines), inline=False))
    elif decision.anonymous:
        reply.fields.append(Field("Votes", m.escape("Secret ballot: only the counts are kept."), inline=False))
    if decision.review_at:
        reply.fields.append(Field("Review",
                                  ctx.markup.escape(moment_text(decision.review_at, ctx.timezone, with_zone=True))))
    return reply


def open_decisions(ctx: Context, prefix: str) -> list[Completion]:
    """The initiative's open decisions, newest first, as ``#12 · title`` filling in ``12``.

    `prefix` matches the start of the number (``12`` or ``#12``) or of any word of
    the title. Every member sees every decision of the initiative, as in ``/ci decisions``.
    """
    initiative = ctx.require_initiative()
    rows = ctx.session.exec(select(Decision).where(Decision.initiative_id == initiative.id,
                                                   Decision.status == DecisionStatus.OPEN)
                            .order_by(col(Decision.id).desc())).all()
    typed = prefix.strip().lstrip("#")
    return [Completion(str(d.id), f"#{d.id} · {d.title}") for d in rows
            if starts(typed, str(d.id), d.title, *d.title.split())]
