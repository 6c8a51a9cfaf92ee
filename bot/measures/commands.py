"""`/ci submit`, `/ci progress`, `/ci status`, `/ci submissions`, `/ci indicators`: shared measurement in chat.

Members submit their partner's values by command or through the form the data prompt
opens; anyone in the initiative sees progress against targets, with a chart; backbone
staff declare indicators, watch who has submitted and read the correction history.
The domain work is in `bot.measures`; what each viewer may see is decided by
`bot.measures.visibility`.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from zoneinfo import ZoneInfo

from sqlmodel import select

from bot.core.args import Args, read_id
from bot.core.completions import starts
from bot.core.context import Context
from bot.core.errors import UserError
from bot.core.messages import Button, ButtonStyle, FormErrors, Reply
from bot.core.notes import annotate
from bot.core.registry import Access, AgendaView, Registry
from bot.core.render import Dialect, Markup
from bot.core.time import day_text, moment_text, month_text
from bot.glossary import book
from bot.measures import charts, declare, forms, messages
from bot.measures import jobs as measure_jobs
from bot.measures.entries import Refused, check_entry
from bot.measures.indicators import (
    IndicatorSpec,
    calendar_of,
    dimensions_of,
    find_indicator,
    reporters_of,
    upsert_indicator,
    visible_indicators,
)
from bot.measures.periods import BadPeriod, Period
from bot.measures.progress import Detail, Summary, detail, figure_text, headline_text, summaries, withheld_cells
from bot.measures.status import PeriodStatus, period_status
from bot.measures.submissions import (
    Recorded,
    choose_partner,
    choose_period,
    deadline,
    existing,
    history,
    outside_window,
    record,
)
from bot.measures.units import format_change, format_value
from bot.measures.visibility import Viewer, private_to_viewer, sees_all_partners, viewer_of
from storage.audit import record as audit
from storage.ids import id_of
from storage.measures import Indicator, IndicatorReporter, Unit
from storage.models import Group, GroupKind, Initiative, Member

SUBMIT_USAGE = ('/ci submit INDICATOR VALUE [--period 2026-Q1] [--note "TEXT"] '
                '[--for PARTNER] [--reason "why" (corrections)] [--late "why" (older periods, backbone)]')
AGENDA_ORDER = 10  # the progress snapshot comes right after the meeting facts
PROGRESS_USAGE = "/ci progress [INDICATOR]"
SECTION_LIMIT = 2800  # characters per reply section, under Slack's 3,000 per text block
DETAIL_PERIODS = 12


def register(registry: Registry) -> None:
    """Add the measurement commands, the form and re-send actions, and the home section."""
    registry.command(
        "submit", submit, access=Access.ACT,
        summary="Submit your organization's value of an indicator.", usage=SUBMIT_USAGE,
        options=("period", "note", "for", "reason", "late"),
        details="Without a VALUE the form opens, with a field per disaggregation category. "
                "The period defaults to the latest one that has ended. Partners can submit the last few "
                "periods (the indicator's open_periods, 4 unless set); backbone staff add older ones "
                "with --late and the reason.",
    )
    registry.command(
        "progress", progress, access=Access.ANYONE, usage=PROGRESS_USAGE,
        summary="Where the initiative stands against its targets, or one indicator in depth.",
    )
    registry.command(
        "status", status, access=Access.BACKBONE, usage="/ci status",
        summary="Who has submitted each indicator's latest period, who is outstanding or late.",
    )
    registry.command(
        "submissions", submissions, access=Access.BACKBONE, usage="/ci submissions INDICATOR",
        summary="Every value submitted for an indicator, with corrections and their reasons.",
    )
    registry.command(
        "indicators", list_indicators, access=Access.ANYONE, usage="/ci indicators",
        summary="The shared indicators: what each measures, its unit, period and who reports it.",
    )
    registry.command(
        "indicator add", add_indicator, access=Access.BACKBONE, usage=declare.USAGE, options=declare.OPTIONS,
        summary="Declare a shared indicator (backbone staff).",
        details="The initiative file's indicators: section says the same, and `cibot load` keeps them in step.",
    )
    registry.command(
        "indicator set", set_indicator, access=Access.BACKBONE, options=declare.OPTIONS,
        usage="/ci indicator set KEY [NEW NAME] [--targets 65@2026-12-31] [--reporters tom,aisha] [...]",
        summary="Change an indicator's name, targets, reporters, visibility or rules (backbone staff).",
    )
    registry.action(messages.FORM_ACTION, open_form, access=Access.ACT)
    registry.action(forms.SUBMIT_ACTION, submit_form, access=Access.ACT)
    registry.action("measures.resend", resend, access=Access.BACKBONE)
    registry.home(home)
    registry.completer("indicator", indicators)
    registry.agenda_section("progress", progress_snapshot, order=AGENDA_ORDER)


def _today(ctx: Context, initiative: Initiative) -> date:
    return ctx.now.astimezone(ZoneInfo(initiative.timezone)).date()


# ---------------------------------------------------------------- submitting

def submit(ctx: Context, args: Args) -> Reply:
    """Record one value by command, or open the form when no value is given."""
    member = ctx.require_member()
    initiative = ctx.require_initiative()
    initiative_id = id_of(initiative)
    indicator = find_indicator(ctx.session, initiative_id, args.first("an indicator", SUBMIT_USAGE),
                               viewer_of(ctx), SUBMIT_USAGE, submitting=True)
    reporter = choose_partner(ctx.session, indicator, id_of(member), backbone=ctx.is_backbone(),
                              named=args.options.get("for", ""))
    today = _today(ctx, initiative)
    late = args.options.get("late", "")
    period = choose_period(indicator, args.options.get("period"), today, late=late, backbone=ctx.is_backbone())
    late = late if outside_window(indicator, period, today) else ""
    if len(args.words) < 2:
        current = existing(ctx.session, id_of(indicator), id_of(reporter), period.label)
        return Reply(form=forms.submission_form(indicator, dimensions_of(indicator), period, id_of(reporter),
                                                ctx.markup, current, late=late or None), ephemeral=True)
    try:
        entry = check_entry(Unit(indicator.unit), [], " ".join(args.words[1:]))
    except Refused as exc:
        raise UserError(exc.message(), usage=SUBMIT_USAGE) from exc
    done = record(ctx.session, indicator, reporter, period, entry, by=id_of(member), now=ctx.now,
                  note=args.options.get("note", ""), reason=args.options.get("reason", ""))
    return _receipt(ctx, indicator, reporter, done, late)


def open_form(ctx: Context, value: str, _fields: dict[str, str]) -> Reply:
    """The Submit data button of a prompt: open the form for that partner and period."""
    indicator, reporter, period = _form_target(ctx, value)
    current = existing(ctx.session, id_of(indicator), id_of(reporter), period.label)
    return Reply(form=forms.submission_form(indicator, dimensions_of(indicator), period, id_of(reporter),
                                            ctx.markup, current), ephemeral=True)


def submit_form(ctx: Context, value: str, fields: dict[str, str]) -> Reply | FormErrors:
    """The submitted form: check everything, store it all or nothing, and say what was recorded."""
    member = ctx.require_member()
    late = fields.get("late", "").strip()
    if "late" in fields and not late:
        return FormErrors({"late": "Say why this period is added late."})
    indicator, reporter, period = _form_target(ctx, value, late)
    dims = dimensions_of(indicator)
    typed, problems = forms.read_form(dims, fields)
    if problems:
        return FormErrors(problems)
    try:
        entry = check_entry(Unit(indicator.unit), dims, typed.total, typed.cells)
    except Refused as exc:
        return FormErrors(forms.field_errors(dims, exc, fields))
    current = existing(ctx.session, id_of(indicator), id_of(reporter), period.label)
    if current is not None and not typed.reason:
        return FormErrors({"reason" if "reason" in fields else "value":
                           f"{period.label} was already submitted; say why it is being corrected."})
    try:
        done = record(ctx.session, indicator, reporter, period, entry, by=id_of(member), now=ctx.now,
                      note=typed.note, reason=typed.reason)
    except UserError as exc:
        return FormErrors({"value": exc.message})
    return _receipt(ctx, indicator, reporter, done, late)


def _form_target(ctx: Context, value: str, late: str = "") -> tuple[Indicator, IndicatorReporter, Period]:
    """The indicator, partner and period a button or form is about, checked against the caller."""
    member = ctx.require_member()
    initiative = ctx.require_initiative()
    initiative_id = id_of(initiative)
    parsed = forms.parse_form_value(value)
    indicator = ctx.session.get(Indicator, parsed[0]) if parsed else None
    reporter = ctx.session.get(IndicatorReporter, parsed[2]) if parsed else None
    if (parsed is None or indicator is None or reporter is None or indicator.initiative_id != initiative_id
            or not indicator.active or reporter.indicator_id != indicator.id):
        raise UserError("That form is out of date. Type /ci submit INDICATOR to open a fresh one.")
    owner = ctx.session.get(Member, reporter.member_id)
    allowed = choose_partner(ctx.session, indicator, id_of(member), backbone=ctx.is_backbone(),
                             named=owner.key if owner else "")
    return indicator, allowed, choose_period(indicator, parsed[1], _today(ctx, initiative), late=late,
                                             backbone=ctx.is_backbone())


def _receipt(ctx: Context, indicator: Indicator, reporter: IndicatorReporter, done: Recorded,
             late: str = "") -> Reply:
    unit = Unit(indicator.unit)
    sub = done.submission
    audit(ctx.session, "measures.correct" if done.previous is not None else "measures.submit",
          initiative_id=indicator.initiative_id, actor_id=ctx.member.id if ctx.member else None,
          subject=f"{indicator.key} {sub.period} {reporter.partner}",
          data={"value": sub.value, "previous": done.previous, "cells": sub.cells,
                **({"late": late[:500]} if late else {})})
    if done.previous is not None:
        said = Markup(f"Corrected {ctx.markup.bold(indicator.name)} for {ctx.markup.escape(reporter.partner)}, "
                f"{sub.period}: {format_value(unit, done.previous)} → {format_value(unit, sub.value)}.")
    else:
        said = Markup(f"Recorded {format_value(unit, sub.value)} as {ctx.markup.bold(indicator.name)} for "
                f"{ctx.markup.escape(reporter.partner)}, {sub.period}. Thank you!")
    if sub.cells:
        names = ", ".join(d.name for d in dimensions_of(indicator) if d.key in sub.cells)
        said = Markup(f"{said} Broken down by {ctx.markup.escape(names)}.")
    if done.kept:
        names = ", ".join(d.name for d in dimensions_of(indicator) if d.key in done.kept)
        said = Markup(f"{said} The breakdown by {ctx.markup.escape(names)} is kept as it was.")
    if late:
        said = Markup(f"{said} Added as a late period (why: {ctx.markup.escape(late[:500])}).")
    elif done.late:
        said = Markup(f"{said} (It arrived after the due date; the backbone sees it marked late.)")
    return Reply(title="Data received", sections=[said], ephemeral=True)


# ---------------------------------------------------------------- progress

def progress(ctx: Context, args: Args) -> Reply:
    """Every indicator at a glance, or one in depth with its chart."""
    initiative = ctx.require_initiative()
    initiative_id = id_of(initiative)
    viewer = viewer_of(ctx)
    today = _today(ctx, initiative)
    if args.words:
        indicator = find_indicator(ctx.session, initiative_id, args.joined(), viewer, PROGRESS_USAGE)
        found = detail(ctx.session, indicator, viewer, today)
        reply = _detail_reply(ctx.markup, found, _glossary_definition(ctx, indicator))
        reply.ephemeral = _for_caller_only(ctx, viewer, [indicator], own_values=bool(found.own))
        return reply
    indicators = visible_indicators(ctx.session, initiative_id, viewer)
    if not indicators:
        return Reply(title="Progress", sections=[ctx.markup.escape("No indicators are being tracked yet.")],
                     ephemeral=True)
    lines = [_summary_text(ctx.markup, s, sees_all_partners(viewer, s.indicator))
             for s in summaries(ctx.session, indicators, viewer, today)]
    return Reply(title=f"Progress: {initiative.name}", sections=_chunks(lines),
                 context="Type /ci progress INDICATOR for periods, partners, categories and a chart.",
                 ephemeral=_for_caller_only(ctx, viewer, indicators, own_values=False))


def _for_caller_only(ctx: Context, viewer: Viewer, indicators: list[Indicator], *, own_values: bool) -> bool:
    """True when a progress reply shows `viewer` a figure not everyone in the channel may see
    (`bot.measures.visibility.private_to_viewer`), unless it was asked in a backbone channel."""
    if ctx.group is not None and ctx.group.kind == GroupKind.BACKBONE:
        return False
    return private_to_viewer(viewer, indicators, own_values=own_values)


def _summary_text(m: Dialect, s: Summary, everyone: bool) -> Markup:
    """One indicator at a glance; `everyone`: the reader sees every partner, so partner counts of final periods too.

    Members do not see how many partners a final figure is built from: a count that grows
    with a late value would attribute the revision to the late partner.
    """
    unit = Unit(s.indicator.unit)
    head, pending = s.headline, s.in_progress
    change = s.change
    if head is None:
        completeness = "" if pending else f"{s.expected} partners report it"
    else:
        completeness = f"{head.submitted} of {s.expected} partners reported {head.period}" if everyone else ""
    return m.render(
        "measures/measure_summary.j2", s=s, latest=headline_text(s),
        target=f"{format_value(unit, s.target.value)} by {month_text(s.target.by)}" if s.target else "",
        percent=f"{s.percent_of_target:.0f}%" if s.percent_of_target is not None else "",
        way=_way_text(unit, s),
        change=format_change(unit, change) if change is not None else "",
        completeness=completeness,
        pending=f"{pending.period} in progress: {pending.reported}" if pending and head else "",
    )


def _way_text(unit: Unit, s: Summary) -> str:
    """"68% of the way from 58.0% to 65.0%": progress from the baseline toward the target."""
    way = s.percent_of_way
    if way is None or s.target is None or s.indicator.baseline_value is None:
        return ""
    return (f"{way:.0f}% of the way from {format_value(unit, s.indicator.baseline_value)} "
            f"to {format_value(unit, s.target.value)}")


def _glossary_definition(ctx: Context, indicator: Indicator) -> str:
    """The agreed glossary definition of the indicator's linked term, if the glossary has it."""
    term = book.find(ctx.session, indicator.initiative_id, indicator.term) if indicator.term else None
    if term is None:
        return ""
    senses = book.load_entry(ctx.session, term).senses
    return senses[0].definition if senses else ""


def _detail_reply(m: Dialect, d: Detail, glossary: str = "") -> Reply:
    ind = d.summary.indicator
    unit = Unit(ind.unit)
    everyone = d.partners is not None
    sections = [m.render(
        "measures/measure_detail.j2", indicator=ind, unit=unit.value.replace("_", " "), polarity=ind.polarity,
        glossary=glossary,
        baseline=(f"{format_value(unit, ind.baseline_value)} ({ind.baseline_period})"
                  if ind.baseline_value is not None else ""),
        targets=[f"{format_value(unit, t.value)} by {day_text(t.by)}" for t in d.targets],
    ), _summary_text(m, d.summary, everyone)]
    rows = [(t.period, figure_text(unit, t) + (f" ({t.submitted} of {t.expected} partners)"
                                                 if everyone and t.final else ""))
            for t in d.summary.totals[-DETAIL_PERIODS:]]
    if rows:
        sections.append(m.render("measures/measure_periods.j2", rows=rows))
    shown = d.partners if d.partners is not None else d.own
    if shown:
        heading = "By partner" if d.partners is not None else "Your organization"
        sections.append(Markup(f"{m.bold(heading)}, {d.period}:\n" + "\n".join(
            f"{m.escape(p.partner)}: {format_value(unit, p.value)}" for p in shown)))
    if d.partners is not None and d.missing:
        sections.append(Markup(f"Not yet in for {d.period}: {m.escape(', '.join(d.missing))}"))
    if d.partners is None:
        sections.append(m.escape("Partner values of this indicator are shared with the backbone only; "
                                 "you see the totals."))
    for dim in d.dimensions:
        if cells := d.cells.get(dim.key):
            sections.append(Markup(f"{m.bold('By ' + dim.name)}, {d.period}:\n" + "\n".join(
                f"{m.escape(cat)}: {'withheld' if cells[cat] is None else format_value(unit, cells[cat])}"
                for cat in dim.categories if cat in cells)))
    if note := withheld_cells(d):
        sections.append(m.escape(note))
    if (gap := d.gap) is not None:
        sections.append(Markup(f"Largest gap: {m.escape(gap.dimension)}, {m.escape(gap.high[0])} "
                        f"{format_value(unit, gap.high[1])} vs {m.escape(gap.low[0])} {format_value(unit, gap.low[1])} "
                        f"({format_change(unit, gap.size).lstrip('+')})."))
    return Reply(title=ind.name, sections=sections,
                 image=charts.progress_chart(ind, d.summary.totals, d.targets))


def _chunks(lines: Iterable[Markup]) -> list[Markup]:
    sections: list[Markup] = []
    for line in lines:
        if sections and len(sections[-1]) + len(line) + 2 <= SECTION_LIMIT:
            sections[-1] = Markup(f"{sections[-1]}\n\n{line}")
        else:
            sections.append(line)
    return sections


# ---------------------------------------------------------------- backbone views

def status(ctx: Context, _args: Args) -> Reply:
    """For each indicator's latest ended period: who submitted, who is outstanding or late; re-send buttons.

    The period before it is listed too while it is unfinished: some partners sent it, others not yet.
    """
    initiative = ctx.require_initiative()
    initiative_id = id_of(initiative)
    today = _today(ctx, initiative)
    lines: list[Markup] = []
    buttons: list[Button] = []
    for indicator in visible_indicators(ctx.session, initiative_id, viewer_of(ctx)):
        calendar = calendar_of(indicator)
        latest = calendar.last_ended(today)
        earlier = period_status(ctx.session, indicator, calendar.before(latest), ctx.now)
        unfinished = [earlier] if earlier.submitted and earlier.outstanding else []
        for state in [period_status(ctx.session, indicator, latest, ctx.now), *unfinished]:
            _status_line(ctx, state, lines, buttons)
    if not lines:
        return Reply(title="Data status", sections=[ctx.markup.escape("No indicators are being tracked yet.")],
                     ephemeral=True)
    return Reply(title="Data status", sections=_chunks(lines), buttons=buttons[:25], ephemeral=True)


def _status_line(ctx: Context, state: PeriodStatus, lines: list[Markup], buttons: list[Button]) -> None:
    """Add one indicator period's standing to `lines`, and its re-send button while someone is outstanding."""
    lines.append(ctx.markup.render(
        "measures/measure_status.j2", indicator=state.indicator, period=state.period.label,
        due=messages.due_text(state), total=len(state.partners), submitted=[(p.name, p.late) for p in state.submitted],
        outstanding=[p.name + ("" if p.contact else " (away, no delegate)") for p in state.outstanding],
        late=ctx.now >= state.ladder.late_after))
    if state.outstanding:
        buttons.append(messages.resend_button(state))


def resend(ctx: Context, value: str, _fields: dict[str, str]) -> Reply:
    """Re-send the prompt to every outstanding partner of one indicator's period."""
    initiative_id = id_of(ctx.require_initiative())
    indicator_id, _, period_label = value.partition(":")
    number = read_id(indicator_id)
    indicator = ctx.session.get(Indicator, number) if number else None
    try:
        period = calendar_of(indicator).parse(period_label) if indicator else None
    except BadPeriod:
        period = None
    if indicator is None or period is None or indicator.initiative_id != initiative_id:
        raise UserError("That button is out of date. Run /ci status again.")
    state = period_status(ctx.session, indicator, period, ctx.now)
    sent = measure_jobs.ask(ctx.session, state, state.outstanding,
                            f"measures.resend:{indicator.id}:{period_label}:{ctx.now:%Y%m%dT%H%M%S}", reminder=True)
    names = ", ".join(p.contact.name + ("" if p.contact.id == p.member.id else f" (for {p.member.name})")
                      for p in state.outstanding if p.contact) or "nobody (everyone is in or away)"
    return Reply(sections=[ctx.markup.escape(f"Re-sent the {indicator.key} {period_label} prompt to {names} "
                                             f"({sent} messages).")], ephemeral=True)


def submissions(ctx: Context, args: Args) -> Reply:
    """Every submission of one indicator with who, when, late or not, and each correction."""
    initiative_id = id_of(ctx.require_initiative())
    usage = "/ci submissions INDICATOR"
    indicator = find_indicator(ctx.session, initiative_id, args.first("an indicator", usage), viewer_of(ctx), usage)
    unit = Unit(indicator.unit)
    names = {m.id: m.name for m in ctx.session.exec(select(Member).where(Member.initiative_id == initiative_id))}
    zone = ctx.timezone
    calendar = calendar_of(indicator)
    rows = []
    for sub, reporter, revisions in history(ctx.session, id_of(indicator)):
        rows.append({
            "period": sub.period, "partner": reporter.partner, "value": format_value(unit, sub.value),
            "late": sub.submitted_at >= deadline(ctx.session, indicator, calendar.parse(sub.period)),
            "by": names.get(sub.submitted_by_id, "unknown"), "at": moment_text(sub.submitted_at, zone),
            "note": sub.note,
            "revisions": [{"at": moment_text(r.changed_at, zone), "by": names.get(r.changed_by_id, "unknown"),
                           "old": format_value(unit, r.old_value), "new": format_value(unit, r.new_value),
                           "reason": r.reason} for r in revisions],
        })
    if not rows:
        return Reply(title=f"Submissions: {indicator.name}",
                     sections=[ctx.markup.escape("Nothing has been submitted yet.")], ephemeral=True)
    return Reply(title=f"Submissions: {indicator.name}",
                 sections=_chunks(Markup(part) for part in
                                  ctx.markup.render("measures/measure_history.j2", rows=rows).split("\n\n")),
                 ephemeral=True)


# ---------------------------------------------------------------- declaring indicators

def list_indicators(ctx: Context, _args: Args) -> Reply:
    """What each visible indicator measures, how it is reported and by how many partners."""
    initiative_id = id_of(ctx.require_initiative())
    m = ctx.markup
    lines = []
    for ind in visible_indicators(ctx.session, initiative_id, viewer_of(ctx)):
        reporters = len(reporters_of(ctx.session, id_of(ind)))
        lines.append(Markup(f"{m.bold(ind.name)} ({m.code(ind.key)}): {Unit(ind.unit).value.replace('_', ' ')}, "
                     f"{ind.polarity} is better, {ind.period_kind}, due {ind.due_days} days after; "
                     f"{reporters} partners; {ind.visibility}"
                     + (f"\n{m.escape(ind.definition)}" if ind.definition else "")))
    listed = Reply(title="Shared indicators",
                   sections=_chunks(lines) or [m.escape("No indicators are being tracked yet.")],
                   context="Type /ci progress INDICATOR to see where one stands.", ephemeral=True)
    return annotate(ctx.session, initiative_id, listed, m)  # glossary notes on the definitions


def add_indicator(ctx: Context, args: Args) -> Reply:
    """Declare a new indicator from the command's options."""
    member = ctx.require_backbone("declare indicators")
    initiative_id = id_of(ctx.require_initiative())
    key = args.first("a key for the indicator, like readiness", declare.USAGE).lower()
    name = " ".join(args.words[1:]).strip()
    if not declare.valid_key(key) or not name or "unit" not in args.options:
        raise UserError("Give a key (lowercase letters, digits, - or _), a name and --unit.", usage=declare.USAGE)
    if ctx.session.exec(select(Indicator).where(Indicator.initiative_id == initiative_id,
                                                Indicator.key == key)).first():
        raise UserError(f"There is already an indicator {key!r}; change it with /ci indicator set {key} ...")
    spec = declare.apply_options(ctx.session, initiative_id, IndicatorSpec(key=key, name=name[:200], unit="count"),
                                 args.options)
    return _declared(ctx, member, initiative_id, spec, None)


def set_indicator(ctx: Context, args: Args) -> Reply:
    """Change an existing indicator; options not given stay as they are."""
    member = ctx.require_backbone("change indicators")
    initiative_id = id_of(ctx.require_initiative())
    usage = "/ci indicator set KEY [NEW NAME] [--option value ...]"
    indicator = find_indicator(ctx.session, initiative_id, args.first("the indicator's key", usage),
                               viewer_of(ctx), usage)
    spec = declare.spec_of(ctx.session, indicator)
    if len(args.words) > 1:
        spec.name = " ".join(args.words[1:])[:200]
    return _declared(ctx, member, initiative_id, declare.apply_options(ctx.session, initiative_id, spec, args.options),
                     indicator)


def _declared(ctx: Context, member: Member, initiative_id: int, spec: IndicatorSpec,
              indicator: Indicator | None) -> Reply:
    members = dict(ctx.session.exec(select(Member.key, Member.id).where(Member.initiative_id == initiative_id)).all())
    groups = dict(ctx.session.exec(select(Group.key, Group.id).where(Group.initiative_id == initiative_id)).all())
    outcome = upsert_indicator(ctx.session, initiative_id, spec, members, groups, indicator)  # type: ignore[arg-type]
    audit(ctx.session, f"measures.indicator_{outcome}", initiative_id=initiative_id, actor_id=member.id,
          subject=spec.key, data={"name": spec.name, "unit": spec.unit, "period": spec.period,
                                  "visibility": spec.visibility, "min_contributors": spec.min_contributors,
                                  "reporters": [k for k, _ in spec.reporters],
                                  "targets": [[value, by.isoformat()] for value, by, _ in spec.targets]})
    said = {"created": "Declared", "updated": "Updated", "unchanged": "Nothing changed for"}[outcome]
    return Reply(sections=[Markup(f"{said} {ctx.markup.bold(spec.name)} ({ctx.markup.code(spec.key)}): "
                           f"{ctx.markup.escape(spec.unit)}, {ctx.markup.escape(spec.period)}, "
                           f"{len(spec.reporters)} reporters, {ctx.markup.escape(spec.visibility)}. "
                           "Prompts follow its reporting calendar from the next period end.")], ephemeral=True)


# ---------------------------------------------------------------- agenda

def progress_snapshot(view: AgendaView) -> Markup:
    """The agenda's progress section: the group's own indicators (or all), as totals the whole group may see."""
    viewer = Viewer(None, view.group.kind == GroupKind.BACKBONE)
    initiative = view.session.get(Initiative, view.group.initiative_id)
    if initiative is None or initiative.id is None:
        return Markup()
    indicators = visible_indicators(view.session, initiative.id, viewer)
    own = [ind for ind in indicators if ind.group_id == view.group.id]
    today = view.now.astimezone(ZoneInfo(initiative.timezone)).date()
    rows = []
    for s in summaries(view.session, own or indicators, viewer, today):
        unit, percent, pending = Unit(s.indicator.unit), s.percent_of_target, s.in_progress
        rows.append({"name": s.indicator.name, "latest": headline_text(s), "trend": s.trend,
                     "percent": f"{percent:.0f}%" if percent is not None else "", "way": _way_text(unit, s),
                     "pending": f"{pending.period} in progress: {pending.reported}" if pending and s.headline else ""})
    return view.markup.render("measures/measure_snapshot.j2", rows=rows) if rows else Markup()


# ---------------------------------------------------------------- home

def home(ctx: Context) -> list[Reply]:
    """The member's pending submissions: each partner and latest period not yet submitted, with its button."""
    if ctx.member is None or ctx.initiative is None or ctx.initiative.id is None:
        return []
    viewer = viewer_of(ctx)
    today = _today(ctx, ctx.initiative)
    buttons, lines = [], []
    for indicator in visible_indicators(ctx.session, ctx.initiative.id, viewer, submitting=True):
        if indicator.id not in viewer.reports:  # no partner of the viewer's: nothing of theirs is due
            continue
        period = calendar_of(indicator).last_ended(today)
        state = period_status(ctx.session, indicator, period, ctx.now)
        for partner in state.outstanding:
            if partner.reporter.id in viewer.reporter_ids:
                lines.append(Markup(f"{ctx.markup.bold(indicator.name)} {period.label} for "
                             f"{ctx.markup.escape(partner.reporter.partner)}, due {messages.due_text(state)}"
                             + (" (late)" if partner.late else "")))
                buttons.append(Button(f"Submit {indicator.key} {period.label}"[:75], messages.FORM_ACTION,
                                      forms.form_value(id_of(indicator), period.label, id_of(partner.reporter)),
                                      ButtonStyle.PRIMARY))
    if not lines:
        return []
    return [Reply(title="Data to submit", sections=[Markup("\n").join(lines)], buttons=buttons[:25])]


def indicators(ctx: Context, prefix: str) -> list[str]:
    """Keys of the indicators the caller may see whose key or name starts with `prefix`."""
    initiative = ctx.require_initiative()
    shown = visible_indicators(ctx.session, initiative.id or 0, viewer_of(ctx))
    return [ind.key for ind in shown if starts(prefix, ind.key, ind.name)]
