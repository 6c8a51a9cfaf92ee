"""What the bot says on its own about data: prompts, follow-ups, channel nudges and backbone flags.

Each builder takes the platform `Dialect` (the outbox renders a message once per
platform) and a `PeriodStatus`, and returns a neutral Reply.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from bot.core import tokens
from bot.core.messages import Button, ButtonStyle, Reply
from bot.core.render import Dialect, Markup
from bot.core.time import day_text
from bot.measures.entries import Dimension
from bot.measures.forms import form_value
from bot.measures.status import PartnerStatus, PeriodStatus
from bot.measures.units import format_value
from storage.ids import id_of
from storage.measures import Submission, Unit

FORM_ACTION = "measures.form"
LINK_VALID = timedelta(days=60)  # after the due date


def due_text(status: PeriodStatus) -> str:
    """The due date as people read it (``Fri 10 Apr 2026``)."""
    return day_text(status.ladder.due_date)


def prompt(m: Dialect, status: PeriodStatus, partner: PartnerStatus, dims: list[Dimension],
           last: Submission | None, *, reminder: bool = False) -> Reply:
    """The direct message asking `partner`'s contact for the period's data, with the form button."""
    ind = status.indicator
    unit = Unit(ind.unit)
    on_behalf = partner.member.name if partner.contact is not None and partner.contact.id != partner.member.id else ""
    for_option = f" --for {partner.member.key}" if on_behalf else ""
    value = form_value(id_of(ind), status.period.label, id_of(partner.reporter))
    web_form, until = Markup(""), datetime.combine(status.ladder.due_date, time(), UTC) + LINK_VALID
    if m.web_links and partner.contact is not None:
        token = tokens.sign(tokens.SUBMIT_FORM, {"m": id_of(partner.contact), "v": value}, until)
        web_form = m.link(tokens.public_url(f"/submit/{token}"), f"Submit {ind.name} for {status.period.label}")
    text = m.render(
        "measures/measure_prompt.j2", indicator=ind, period=status.period.label, due=due_text(status),
        partner=partner.reporter.partner or partner.member.name, on_behalf=on_behalf, reminder=reminder,
        submitted=len(status.submitted), expected=len(status.partners),
        last=format_value(unit, last.value) if last else "", last_period=last.period if last else "",
        dimensions=", ".join(d.name for d in dims),
        command=f"/ci submit {ind.key} VALUE --period {status.period.label}{for_option}",
        web_form=web_form, web_form_until=day_text(until.date()),
    )
    return Reply(
        title=f"{'Reminder: ' if reminder else ''}{ind.name} data due {due_text(status)}",
        sections=[text],
        buttons=[Button("Submit data", FORM_ACTION, value, ButtonStyle.PRIMARY)],
    )


def nudge(m: Dialect, status: PeriodStatus, mention_ids: dict[int, str]) -> Reply:
    """The due-date message in the working group's channel naming who is outstanding.

    Names are plain text; a member is pinged only when `mention_ids` has their platform id.
    """
    names = [Markup(f"<@{mention_ids[id_of(p.member)]}>") if p.member.id in mention_ids else m.escape(p.name)
             for p in status.outstanding]
    text = m.render("measures/measure_nudge.j2", indicator=status.indicator, period=status.period.label,
                    due=due_text(status), submitted=len(status.submitted), expected=len(status.partners),
                    outstanding=names)
    return Reply(title=f"{status.indicator.name}: data due today", sections=[text],
                 mentions=[mention_ids[id_of(p.member)] for p in status.outstanding if p.member.id in mention_ids])


def flag(m: Dialect, status: PeriodStatus) -> Reply:
    """The backbone's notice that a period is overdue, naming the late partners, with a re-send button."""
    ind = status.indicator
    text = m.render("measures/measure_flag.j2", indicator=ind, period=status.period.label, due=due_text(status),
                    late=[p.name for p in status.outstanding], submitted=len(status.submitted),
                    expected=len(status.partners))
    return Reply(title=f"Overdue: {ind.name} {status.period.label}", sections=[text],
                 buttons=[resend_button(status)])


def resend_button(status: PeriodStatus) -> Button:
    """A button that re-sends the prompt to every outstanding partner of the period."""
    return Button(f"Re-send {status.indicator.key} {status.period.label} ({len(status.outstanding)})"[:75],
                  "measures.resend", f"{status.indicator.id}:{status.period.label}")
