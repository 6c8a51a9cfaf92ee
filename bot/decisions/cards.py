"""What a decision looks like in chat: the channel post with vote buttons, results, reminders, the log.

Every function takes the target's `Dialect`, so the same card renders for Slack,
Discord or the console; user text goes through the templates' escaping.
"""

from __future__ import annotations

import re
from datetime import date
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from bot.core.messages import Button, ButtonStyle, Field, Reply
from bot.core.notes import annotate
from bot.core.render import Dialect, Markup
from bot.core.time import moment_text
from bot.decisions import domain as decisions
from bot.decisions.tally import Choice, CountBy, Rule, Tally
from bot.measures.progress import headline_text, summaries
from bot.measures.visibility import Viewer, sees_indicator
from storage.decisions import Decision, DecisionStatus, outcome_of
from storage.measures import Indicator
from storage.models import Group, Initiative, Member

VOTE_ACTION = "decision.vote"
_URL = re.compile(r"^https?://[A-Za-z0-9\-._~:/?#@!$&'*+,;=%]+$")
_LABELS = {Choice.AGREE: "Agree", Choice.ABSTAIN: "Abstain", Choice.DISAGREE: "Disagree", Choice.BLOCK: "Block"}
_STYLES = {Choice.AGREE: ButtonStyle.PRIMARY, Choice.BLOCK: ButtonStyle.DANGER}




def zone_of(session: Session, decision: Decision) -> ZoneInfo:
    """The initiative's timezone, for posts that many people read."""
    initiative = session.get(Initiative, decision.initiative_id)
    return ZoneInfo(initiative.timezone if initiative else "UTC")


def evidence_items(m: Dialect, evidence: str) -> list[str]:
    """Evidence lines: a line that is exactly an http(s) URL becomes a link, the rest is escaped text."""
    items: list[str] = []
    for line in evidence.splitlines():
        line = line.strip().lstrip("•-* ").strip()
        if not line:
            continue
        items.append(m.link(line, line) if _URL.match(line) else m.escape(line))
    return items


def indicator_items(session: Session, m: Dialect, decision: Decision, today: date) -> list[str]:
    """The indicators a decision cites, each with its latest value as anyone in the channel may see it."""
    keys = [k.strip().lower() for k in decision.indicators.split(",") if k.strip()]
    if not keys:
        return []
    found = session.exec(select(Indicator).where(Indicator.initiative_id == decision.initiative_id,
                                                 col(Indicator.key).in_(keys))).all()
    public = Viewer(None, False)
    items: list[str] = []
    for summary in summaries(session, [i for i in found if sees_indicator(public, i)], public, today):
        items.append(m.escape(f"{summary.indicator.name} ({summary.indicator.key}): {headline_text(summary)}"))
    return items


def vote_buttons(decision: Decision) -> list[Button]:
    """Agree, Abstain, Disagree and (under consent or consensus) Block, each carrying ``ID:choice``."""
    rule = Rule(decision.rule)
    return [Button(_LABELS[c], VOTE_ACTION, f"{decision.id}:{c.value}", _STYLES.get(c, ButtonStyle.DEFAULT))
            for c in Choice if c != Choice.BLOCK or rule.allows_block]


def count_text(m: Dialect, decision: Decision, tally: Tally) -> Markup:
    """The running or final count in one or two lines; an open secret ballot shows only how many voted."""
    unit = "organizations" if decision.count_by == CountBy.ORGANIZATION else "eligible voters"
    is_open = decision.status == DecisionStatus.OPEN
    return m.render("decisions/decision_count.j2", tally=tally, unit=unit, open=is_open,
                    hidden=is_open and decision.anonymous)


def proposal_card(session: Session, m: Dialect, decision: Decision) -> Reply:
    """The channel post of a decision: text, evidence, settings, count, outcome and, while open, vote buttons."""
    group = session.get(Group, decision.group_id)
    proposer = session.get(Member, decision.proposer_id) if decision.proposer_id else None
    tz = zone_of(session, decision)
    tally = decisions.current_tally(session, decision)
    today = (decision.closed_at or decision.created_at).astimezone(tz).date()
    body = m.render("decisions/decision_card.j2", decision=decision, evidence=evidence_items(m, decision.evidence)
                    + indicator_items(session, m, decision, today))
    rule = Rule(decision.rule)
    fields = [
        Field("Rule", m.escape(f"{rule.value}: {rule.explained}")),
        Field("Closes" if decision.status == DecisionStatus.OPEN else "Closed",
              m.escape(moment_text(decision.closed_at or decision.closes_at, tz, with_zone=True))),
        Field("Quorum", m.escape(decision.quorum)),
    ]
    if decision.count_by == CountBy.ORGANIZATION:
        fields.append(Field("Counting", m.escape(f"one vote per organization; "
                                                 f"divided organizations {decision.split_as}")))
    if decision.anonymous:
        fields.append(Field("Ballot", m.escape("secret: nobody, not even the bot, can show who voted what")))
    if decision.outcome:
        label = "Reason for withdrawal" if decision.status == DecisionStatus.WITHDRAWN else "Outcome"
        fields.append(Field(label, m.escape(decision.outcome), inline=False))
    is_open = decision.status == DecisionStatus.OPEN
    counted = m.escape("Agreed in a meeting; no vote was held.") if decision.meeting_id else count_text(
        m, decision, tally)
    sections: list[Markup] = [s for s in (body, counted) if s]
    if not is_open:
        sections.append(m.escape(f"Status: {outcome_of(decision)}."))
    reasons = decisions.secret_reasons(decision)
    if reasons:
        fields.append(Field("Reasons given (linked to no voter and no choice)",
                            Markup("\n").join(m.escape(f"• {r}") for r in reasons), inline=False))
    by = f" by {proposer.name}" if proposer else ""
    card = Reply(
        title=f"Decision #{decision.id}: {decision.title}",
        sections=sections,
        fields=fields,
        buttons=vote_buttons(decision) if is_open else [],
        context=f"Proposed{by} in {group.name if group else 'a group'}."
                + (" A reason is asked with every vote." if decision.reason_required and is_open else ""),
    )
    return annotate(session, decision.initiative_id, card, m)  # glossary notes


def result_card(session: Session, m: Dialect, decision: Decision, tally: Tally) -> Reply:
    """The post announcing a closed vote: counts, quorum and the rule's result."""
    unit = "organizations" if decision.count_by == CountBy.ORGANIZATION else "voters"
    return Reply(
        title=f"Vote closed on #{decision.id}: {decision.title}",
        sections=[count_text(m, decision, tally),
                  m.render("decisions/decision_result.j2", tally=tally, decision=decision,
                           outcome=outcome_of(decision), rule_text=Rule(decision.rule).explained,
                           unit=unit)],
    )


def reminder_card(session: Session, m: Dialect, decision: Decision, member: Member) -> Reply:
    """A private nudge to an eligible member who has not voted."""
    group = session.get(Group, decision.group_id)
    tz = ZoneInfo(member.timezone) if member.timezone else zone_of(session, decision)
    text = m.render("decisions/decision_reminder.j2", decision=decision, group=group.name if group else "",
                    closes=moment_text(decision.closes_at, tz, with_zone=True))
    return Reply(title=f"Your vote on #{decision.id}", sections=[text], buttons=vote_buttons(decision))


def review_card(session: Session, m: Dialect, decision: Decision) -> Reply:
    """The reminder to the backbone that a decision is due for review."""
    group = session.get(Group, decision.group_id)
    return Reply(title=f"Review decision #{decision.id}",
                 sections=[m.render("decisions/decision_review.j2", decision=decision,
                                    group=group.name if group else "")])


def log_line(session: Session, m: Dialect, decision: Decision, tz: ZoneInfo) -> Markup:
    """One decision in the log."""
    group = session.get(Group, decision.group_id)
    return m.render("decisions/decision_line.j2", decision=decision, group=group.name if group else "",
                    outcome=outcome_of(decision), closes=moment_text(decision.closes_at, tz, with_zone=True))


def vote_lines(session: Session, m: Dialect, decision: Decision) -> list[Markup]:
    """Who voted what (never for an anonymous decision)."""
    return [m.render("decisions/decision_vote_line.j2", voter=voter.name, choice=vote.choice,
                     proxy=proxy.name if proxy else "", reason=vote.reason)
            for voter, vote, proxy in decisions.votes_of(session, decision)]
