"""Decisions as the initiative's rules see them: who may propose and vote, casting, closing, outcomes.

Every function takes an open session and works in the caller's transaction, so a
refusal (a `UserError`) leaves nothing half-written. Every change is an audit
event. Posting to channels and scheduling is left to the caller (`bot.decisions.posts`
and `bot.decisions.jobs`); this module only decides and records.
"""

from __future__ import annotations

import csv
import io
import json
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, delete, func, or_, text, update
from sqlmodel import Session, col, select

from bot.core.args import parse_id
from bot.core.errors import NotAllowed, UserError
from bot.decisions.tally import (
    Ballot,
    Choice,
    CountBy,
    Quorum,
    QuorumError,
    Rule,
    Settings,
    SplitAs,
    Tally,
    tally,
)
from storage.audit import record
from storage.decisions import (
    Decision,
    DecisionParticipation,
    DecisionPolicy,
    DecisionProxy,
    DecisionStatus,
    DecisionVote,
    SecretBallot,
    outcome_of,
)
from storage.ids import id_of
from storage.models import Group, GroupKind, Member, Membership

MAX_OPEN_DAYS = 90
FIND_DECISIONS = "Find decisions with /ci decisions."
MAX_REASON = 500


def policy_for(session: Session, group_id: int) -> DecisionPolicy:
    """The group's decision policy, or the default one (not saved) when it has none."""
    found = session.exec(select(DecisionPolicy).where(DecisionPolicy.group_id == group_id)).first()
    return found or DecisionPolicy(group_id=group_id)


def role_set(text: str) -> set[str]:
    """The roles in a comma-separated list."""
    return {r.strip().lower() for r in text.split(",") if r.strip()}


def is_backbone(session: Session, member_id: int) -> bool:
    """True when the member has a non-observer role in an active backbone group."""
    row = session.exec(
        select(Membership.id)
        .join(Group, col(Group.id) == Membership.group_id)
        .where(Membership.member_id == member_id, Group.kind == GroupKind.BACKBONE,
               Group.active == True, Membership.role != "observer")  # noqa: E712
    ).first()
    return row is not None


def role_in(session: Session, member_id: int, group_id: int) -> str | None:
    """The member's role in the group, or None when they are not in it."""
    return session.exec(
        select(Membership.role).where(Membership.member_id == member_id, Membership.group_id == group_id)
    ).first()


def require_proposer(session: Session, member: Member, group: Group) -> None:
    """Refuse unless `member` may open decisions in `group`."""
    policy = policy_for(session, id_of(group))
    if policy.backbone_proposes and is_backbone(session, id_of(member)):
        return
    if role_in(session, id_of(member), id_of(group)) in role_set(policy.propose_roles):
        return
    who = " or ".join(sorted(role_set(policy.propose_roles))) or "nobody"
    raise NotAllowed(
        f"You can't open decisions in {group.name}: proposals come from "
        f"{'backbone staff and ' if policy.backbone_proposes else ''}the group's {who}. "
        "Ask one of them to propose it."
    )


def eligible_members(session: Session, group_id: int, vote_roles: str) -> list[Member]:
    """Active members whose role in the group lets them vote, in id order."""
    return list(session.exec(
        select(Member)
        .join(Membership, col(Membership.member_id) == Member.id)
        .where(Membership.group_id == group_id, col(Membership.role).in_(role_set(vote_roles)),
               Member.active == True)  # noqa: E712
        .order_by(col(Member.id))
    ).all())


def _unit(member: Member) -> str:
    return Ballot(str(member.id), Choice.ABSTAIN, member.organization).unit


def eligible_count(members: Iterable[Member], count_by: str) -> int:
    """How many voters, or organizations when counting by organization, `members` make."""
    members = list(members)
    return len({_unit(m) for m in members}) if count_by == CountBy.ORGANIZATION else len(members)


def settings_of(decision: Decision) -> Settings:
    """The tally settings a decision was opened with."""
    return Settings(Rule(decision.rule), Quorum.parse(decision.quorum),
                    CountBy(decision.count_by), SplitAs(decision.split_as))


def parse_rule(text: str) -> Rule:
    """A rule from its name (``two-thirds``, ``2/3`` ...), or an error listing the rules."""
    cleaned = text.strip().lower().replace("_", "-").replace(" ", "-")
    cleaned = {"2/3": "two-thirds", "twothirds": "two-thirds", "majority-vote": "majority"}.get(cleaned, cleaned)
    try:
        return Rule(cleaned)
    except ValueError:
        raise UserError(f"“{text}” is not a decision rule. Use one of: "
                        + ", ".join(r.value for r in Rule) + ".") from None


@dataclass
class Proposal:
    """What a proposer fills in; empty rule/quorum take the group's defaults."""

    title: str
    closes_at: datetime
    body: str = ""
    rationale: str = ""
    evidence: str = ""
    indicators: str = ""
    rule: str = ""
    quorum: str = ""
    anonymous: bool | None = None
    reason_required: bool | None = None
    meeting_id: int | None = None


def propose(session: Session, member: Member, group: Group, proposal: Proposal, now: datetime) -> Decision:
    """Open a decision in `group` after checking who proposes, the closing time and the quorum."""
    require_proposer(session, member, group)
    title = proposal.title.strip()
    if not title:
        raise UserError("A proposal needs a title.", usage='/ci propose "TITLE" --closes 3d')
    if len(title) > 200:
        raise UserError(f"The title is {len(title)} characters long; keep it under 200 and put the rest in the body.")
    if proposal.closes_at <= now:
        raise UserError("The closing time is in the past. Give a time in the future, like --closes 3d "
                        "or --closes 2026-03-20 17:00.")
    _require_within_limit(proposal.closes_at, now)
    policy = policy_for(session, id_of(group))
    rule = parse_rule(proposal.rule or policy.rule)
    members = eligible_members(session, id_of(group), policy.vote_roles)
    eligible = eligible_count(members, policy.count_by)
    if eligible == 0:
        raise UserError(f"Nobody in {group.name} can vote (voting roles: {policy.vote_roles}). "
                        "Ask the backbone to set the group's voters first.")
    try:
        quorum = Quorum.parse(proposal.quorum or policy.quorum)
        unit = "organizations" if policy.count_by == CountBy.ORGANIZATION else "eligible voters"
        quorum.check(eligible, unit)
    except QuorumError as exc:
        raise UserError(str(exc), usage="--quorum 3 or --quorum 50%") from None
    decision = Decision(
        initiative_id=group.initiative_id, group_id=id_of(group), proposer_id=id_of(member),
        title=title, body=proposal.body.strip(), rationale=proposal.rationale.strip(),
        evidence=proposal.evidence.strip(), indicators=proposal.indicators.strip(),
        rule=rule.value, quorum=str(quorum), count_by=policy.count_by, split_as=policy.split_as,
        reason_required=policy.reason_required if proposal.reason_required is None else proposal.reason_required,
        anonymous=policy.anonymous if proposal.anonymous is None else proposal.anonymous,
        remind_hours=policy.remind_hours, created_at=now, closes_at=proposal.closes_at,
        meeting_id=proposal.meeting_id,
    )
    session.add(decision)
    session.flush()
    _audit(session, decision, "decision.proposed", member.id,
           title=title, rule=rule.value, quorum=str(quorum), closes_at=decision.closes_at.isoformat(),
           anonymous=decision.anonymous, count_by=decision.count_by)
    return decision


def record_agreed(session: Session, member: Member, group: Group, text: str, meeting_id: int,
                  now: datetime) -> Decision:
    """Record something a meeting agreed as a passed decision of `group` (no vote); once per text and meeting."""
    require_proposer(session, member, group)
    title = text.strip()[:200]
    existing = session.exec(select(Decision).where(Decision.meeting_id == meeting_id, Decision.title == title)).first()
    if existing is not None:
        raise UserError(f"That agreement is already recorded as decision #{existing.id}.")
    decision = Decision(
        initiative_id=group.initiative_id, group_id=id_of(group), proposer_id=id_of(member),
        title=title, body=text.strip() if len(text.strip()) > 200 else "", rule=Rule.CONSENSUS.value,
        status=DecisionStatus.PASSED, created_at=now, closes_at=now, closed_at=now, meeting_id=meeting_id,
        outcome="Agreed in the meeting.",
    )
    session.add(decision)
    session.flush()
    _audit(session, decision, "decision.recorded_from_meeting", member.id, title=title, meeting=meeting_id)
    return decision


def get(session: Session, initiative_id: int, ref: str, *, lock: bool = False) -> Decision:
    """The decision numbered `ref` (``12`` or ``#12``) in this initiative, or a clear error."""
    number = parse_id(ref, "decision", hint=FIND_DECISIONS)
    where = (col(Decision.id) == number, col(Decision.initiative_id) == initiative_id)
    found = _locked(session, *where) if lock else session.exec(select(Decision).where(*where)).first()
    if found is None:
        raise UserError(f"There is no decision #{number}. {FIND_DECISIONS}")
    return found


def _locked(session: Session, *where: ColumnElement[bool]) -> Decision | None:
    """The decision matching `where`, read by a no-op update that locks its row for the transaction.

    One statement on every database (SQLite ignores FOR UPDATE but takes its write
    lock here): reads before a write are then serialized, so two concurrent clicks
    cannot both see "no vote yet".
    """
    statement = update(Decision).where(*where).values(version=Decision.version).returning(Decision)
    return session.exec(statement.execution_options(populate_existing=True)).scalars().first()


def _require_within_limit(closes_at: datetime, now: datetime) -> None:
    if closes_at > now + timedelta(days=MAX_OPEN_DAYS):
        raise UserError(f"A vote can stay open for at most {MAX_OPEN_DAYS} days.")


def require_open(decision: Decision, now: datetime, doing: str = "vote") -> None:
    """Refuse `doing` on a decision that is withdrawn, closed, or past its closing time."""
    if decision.status == DecisionStatus.WITHDRAWN:
        raise UserError(f"Decision #{decision.id} was withdrawn, so you can't {doing} on it any more.")
    if decision.status != DecisionStatus.OPEN or decision.closes_at <= now:
        raise UserError(f"Voting on decision #{decision.id} has closed, so you can't {doing} on it any more. "
                        f"See the result with /ci decision {decision.id}.")


class ReasonNeeded(UserError):
    """The decision asks every voter for a reason and none was given."""


@dataclass
class CastResult:
    """What a click did: the votes recorded (member names) and those left as they were."""

    decision: Decision
    choice: Choice
    recorded: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    for_others: list[str] = field(default_factory=list)  # names voted for by proxy

    @property
    def changed(self) -> bool:
        """True when at least one vote was recorded or changed."""
        return bool(self.recorded)


def cast(session: Session, decision_id: int, member: Member, choice_text: str, reason: str,
         now: datetime, roles: Mapping[int, str] | None = None) -> CastResult:
    """Record (or change) `member`'s vote, and the votes of those who named them proxy.

    The decision row is locked for the transaction, so concurrent clicks on one
    decision are counted one after another; a member has at most one vote.
    `roles` are `member`'s roles by group id where the caller has them already
    (a click's context does), which spares reading the role again.
    """
    decision = get(session, member.initiative_id, str(decision_id), lock=True)
    require_open(decision, now)
    choice = _choice(choice_text, Rule(decision.rule))
    reason = reason.strip()
    if len(reason) > MAX_REASON:
        raise UserError(f"Your reason is {len(reason)} characters long; keep it under {MAX_REASON}.")
    policy = policy_for(session, decision.group_id)
    voting_self = may_vote(session, decision, member, policy, roles)
    principals = [m for m in _principals_of(session, decision, member)
                  if may_vote(session, decision, m, policy)] if voting_self else []
    if not voting_self and not principals:
        raise NotAllowed(_not_eligible_message(session, decision, member, policy.vote_roles))
    if decision.reason_required and not reason:
        raise ReasonNeeded(f"Decision #{decision.id} asks every voter for a reason. Add one after your vote, "
                           f"like /ci vote {decision.id} {choice.value} because ...")
    result = CastResult(decision, choice)
    if voting_self:
        _put_vote(session, decision, member, None, choice, reason, now, result)
    for principal in principals:
        _put_vote(session, decision, principal, member, choice, reason, now, result)
        if principal.name in result.recorded:
            result.for_others.append(principal.name)
    if result.changed:
        decision.version += 1
        session.add(decision)
    return result


def may_vote(session: Session, decision: Decision, member: Member, policy: DecisionPolicy,
             roles: Mapping[int, str] | None = None) -> bool:
    """True when `member` is active and holds a voting role in the deciding group.

    `roles` (the member's roles by group id), when they hold the deciding group, spare a read.
    """
    if not member.active:
        return False
    known = roles or {}
    role = known[decision.group_id] if decision.group_id in known else role_in(session, id_of(member),
                                                                                  decision.group_id)
    return role in role_set(policy.vote_roles)


def _choice(text: str, rule: Rule) -> Choice:
    try:
        choice = Choice(text.strip().lower())
    except ValueError:
        raise UserError(f"“{text}” is not a vote. Vote agree, abstain, disagree"
                        + (" or block." if rule.allows_block else ".")) from None
    if choice == Choice.BLOCK and not rule.allows_block:
        raise UserError(f"Block is only for consent and consensus decisions; this one is decided by {rule.value}. "
                        "Vote disagree instead.")
    return choice


def _principals_of(session: Session, decision: Decision, proxy: Member) -> list[Member]:
    """Members who named `proxy` to vote for them on `decision`."""
    return list(session.exec(
        select(Member).join(DecisionProxy, col(DecisionProxy.member_id) == Member.id)
        .where(DecisionProxy.decision_id == decision.id, DecisionProxy.proxy_id == proxy.id)
        .order_by(col(Member.id))
    ).all())


def _not_eligible_message(session: Session, decision: Decision, member: Member, vote_roles: str) -> str:
    group = session.get(Group, decision.group_id)
    name = group.name if group else "this group"
    role = role_in(session, id_of(member), decision.group_id)
    if role == "observer":
        return f"Observers of {name} can read decisions but not vote. Your vote was not recorded."
    roles = " or ".join(sorted(role_set(vote_roles)))
    if role is None:
        return f"Only members of {name} ({roles}) vote on decision #{decision.id}. Your vote was not recorded."
    return f"In {name} only the {roles} roles vote; yours is {role}. Your vote was not recorded."


def _put_vote(session: Session, decision: Decision, voter: Member, proxy: Member | None, choice: Choice,
              reason: str, now: datetime, result: CastResult) -> None:
    """Insert or change one member's vote; a proxy never overrides a member's own vote."""
    by = proxy.id if proxy else None
    if decision.anonymous:
        seen = session.exec(select(DecisionParticipation).where(
            DecisionParticipation.decision_id == decision.id, DecisionParticipation.member_id == voter.id)).first()
        if seen is not None:
            result.unchanged.append(voter.name)
            return
        session.add(DecisionParticipation(decision_id=id_of(decision), member_id=id_of(voter), cast_by_id=by, at=now))
        organization = voter.organization if decision.count_by == CountBy.ORGANIZATION else ""
        session.add(SecretBallot(decision_id=id_of(decision), choice=choice.value,
                                 organization=organization, reason=reason))
        _audit(session, decision, "decision.ballot", (proxy or voter).id, for_member=voter.id, by_proxy=bool(proxy))
        result.recorded.append(voter.name)
        return
    vote = session.exec(select(DecisionVote).where(
        DecisionVote.decision_id == decision.id, DecisionVote.member_id == voter.id)).first()
    if vote is not None and (
        (proxy is not None and vote.cast_by_id is None)
        or (vote.choice == choice.value and vote.reason == reason and vote.cast_by_id == by)
    ):
        result.unchanged.append(voter.name)
        return
    kind = "decision.vote" if vote is None else "decision.vote_changed"
    before = vote.choice if vote else None
    if vote is None:
        vote = DecisionVote(decision_id=id_of(decision), member_id=id_of(voter), choice=choice.value)
    vote.choice, vote.reason, vote.cast_by_id, vote.at = choice.value, reason, by, now
    session.add(vote)
    session.flush()
    _audit(session, decision, kind, (proxy or voter).id, member=voter.id, choice=choice.value,
           before=before, reason=reason, by_proxy=bool(proxy))
    result.recorded.append(voter.name)


def name_proxy(session: Session, decision: Decision, member: Member, proxy: Member, now: datetime) -> None:
    """Let `proxy` vote for `member` on `decision` (replacing an earlier proxy)."""
    require_open(decision, now, "name a proxy")
    policy = policy_for(session, decision.group_id)
    if not may_vote(session, decision, member, policy):
        raise NotAllowed(_not_eligible_message(session, decision, member, policy.vote_roles)
                         .replace("Your vote was not recorded.", "So you have no vote to hand to a proxy."))
    if proxy.id == member.id:
        raise UserError("You can't name yourself as your own proxy.")
    if not proxy.active or proxy.initiative_id != member.initiative_id:
        raise UserError(f"{proxy.name} is not an active member of this initiative.")
    if not may_vote(session, decision, proxy, policy):
        group = session.get(Group, decision.group_id)
        voters = " or ".join(sorted(role_set(policy.vote_roles)))
        raise NotAllowed(f"{proxy.name} does not vote in {group.name if group else 'this group'}, so can't vote "
                         f"for you: a proxy must be another voting member ({voters}) of the same group. "
                         "Observers read and never act. Nothing was changed.")
    row = session.exec(select(DecisionProxy).where(
        DecisionProxy.decision_id == decision.id, DecisionProxy.member_id == member.id)).first()
    row = row or DecisionProxy(decision_id=id_of(decision), member_id=id_of(member), proxy_id=id_of(proxy))
    row.proxy_id, row.at = id_of(proxy), now
    session.add(row)
    _audit(session, decision, "decision.proxy", member.id, proxy=proxy.id)


def current_tally(session: Session, decision: Decision) -> Tally:
    """The count of `decision` as it stands (or stood at its close)."""
    policy = policy_for(session, decision.group_id)
    members = eligible_members(session, decision.group_id, policy.vote_roles)
    eligible = eligible_count(members, decision.count_by)
    if decision.anonymous:
        rows = session.exec(select(SecretBallot).where(SecretBallot.decision_id == decision.id)).all()
        ballots = [Ballot(b.id, Choice(b.choice), b.organization) for b in rows]
        proxied = session.exec(select(func.count()).select_from(DecisionParticipation).where(
            DecisionParticipation.decision_id == decision.id,
            DecisionParticipation.cast_by_id != None)).one()  # noqa: E711
    else:
        votes = session.exec(
            select(DecisionVote, Member).join(Member, col(Member.id) == DecisionVote.member_id)
            .where(DecisionVote.decision_id == decision.id)
        ).all()
        ballots = [Ballot(str(m.id), Choice(v.choice), m.organization, v.cast_by_id is not None) for v, m in votes]
        proxied = 0
    result = tally(ballots, eligible, settings_of(decision))
    return replace(result, proxies=proxied) if proxied else result


def tally_json(result: Tally, reasons: list[str] | None = None) -> str:
    """The tally as the JSON kept on a closed decision; `reasons` are a secret ballot's, unattributed."""
    kept: dict[str, object] = {
        "counts": {c.value: result.count(c) for c in Choice}, "voted": result.voted,
        "eligible": result.eligible, "required": result.required, "quorum_met": result.quorum_met,
        "passed": result.passed, "proxies": result.proxies, "split": list(result.split_units),
    }
    if reasons is not None:
        kept["reasons"] = reasons
    return json.dumps(kept, sort_keys=True)


def secret_reasons(decision: Decision) -> list[str]:
    """The reasons given on a closed secret ballot, sorted and linked to nobody and to no choice."""
    if not decision.anonymous or not decision.tally:
        return []
    return list(json.loads(decision.tally).get("reasons", []))


def _shuffle_ballots(session: Session, decision: Decision) -> list[str]:
    """Rewrite a secret ballot's rows in random order with new ids, in the caller's transaction.

    What the rows were written with while voting (their order, ids, the transaction
    that also wrote the voter's participation: PostgreSQL's xmin and ctid, SQLite's
    rowid) no longer links any ballot to a participation. Reasons leave the ballots
    and come back sorted, apart from the choices; SQLite is told to zero the freed pages.
    """
    rows = session.exec(select(SecretBallot).where(SecretBallot.decision_id == decision.id)).all()
    kept = [(b.choice, b.organization) for b in rows]
    reasons = sorted(b.reason for b in rows if b.reason)
    secrets.SystemRandom().shuffle(kept)
    if session.get_bind().dialect.name == "sqlite":
        session.execute(text("PRAGMA secure_delete = ON"))
    session.execute(delete(SecretBallot).where(col(SecretBallot.decision_id) == decision.id))
    for choice, organization in kept:
        session.add(SecretBallot(decision_id=id_of(decision), choice=choice, organization=organization))
        session.flush()  # one insert at a time, in the shuffled order
    return reasons


def close(session: Session, decision_id: int, now: datetime, actor: Member | None = None) -> Tally | None:
    """Close the vote and record the result; None when it was already closed or withdrawn.

    With an `actor` this is an early close, which only the backbone may do.
    """
    decision = _locked(session, col(Decision.id) == decision_id)
    if decision is None or decision.status != DecisionStatus.OPEN:
        return None
    if actor is None and decision.closes_at > now:
        return None
    result = current_tally(session, decision)
    reasons = _shuffle_ballots(session, decision) if decision.anonymous else None
    decision.status = DecisionStatus.PASSED if result.passed else DecisionStatus.FAILED
    decision.closed_at = now
    decision.tally = tally_json(result, reasons)
    session.add(decision)
    _audit(session, decision, "decision.closed_early" if actor else "decision.closed",
           actor.id if actor else None, status=str(decision.status), tally=json.loads(decision.tally))
    return result


def require_manager(session: Session, member: Member, doing: str) -> None:
    """Refuse unless `member` is backbone staff."""
    if not is_backbone(session, id_of(member)):
        raise NotAllowed(f"Only backbone staff can {doing}. Ask your backbone team if this needs doing.")


def _require_proposer_or_backbone(session: Session, decision: Decision, member: Member, doing: str) -> None:
    if decision.proposer_id != member.id and not is_backbone(session, id_of(member)):
        raise NotAllowed(f"Only the proposer or backbone staff can {doing}.")


def extend(session: Session, decision: Decision, member: Member, closes_at: datetime, now: datetime) -> None:
    """Move the closing time of an open decision later (backbone only)."""
    require_manager(session, member, "extend a vote")
    require_open(decision, now, "extend the vote")
    if closes_at <= decision.closes_at:
        raise UserError("The new closing time must be later than the current one; to close now use "
                        f"/ci decision close {decision.id}.")
    _require_within_limit(closes_at, now)
    before = decision.closes_at
    decision.closes_at = closes_at
    session.add(decision)
    _audit(session, decision, "decision.extended", member.id, before=before.isoformat(), after=closes_at.isoformat())


def withdraw(session: Session, decision: Decision, member: Member, reason: str, now: datetime) -> None:
    """Withdraw an open decision (backbone only); its votes stay, nothing is tallied."""
    require_manager(session, member, "withdraw a proposal")
    require_open(decision, now, "withdraw")
    decision.status = DecisionStatus.WITHDRAWN
    decision.closed_at = now
    decision.outcome = reason.strip()[:4000]
    session.add(decision)
    _audit(session, decision, "decision.withdrawn", member.id, reason=decision.outcome)


def record_outcome(session: Session, decision: Decision, member: Member, text: str, now: datetime) -> None:
    """Record the outcome statement of a closed decision (its proposer or the backbone)."""
    _require_proposer_or_backbone(session, decision, member, "record the outcome of a decision")
    if decision.status == DecisionStatus.OPEN:
        raise UserError(f"Decision #{decision.id} is still open until the vote closes; record the outcome after that.")
    if decision.status == DecisionStatus.WITHDRAWN:
        raise UserError(f"Decision #{decision.id} was withdrawn; it has no outcome to record.")
    text = text.strip()
    if not text:
        raise UserError("Say what was decided and why.", usage=f"/ci outcome {decision.id} TEXT")
    before = decision.outcome
    decision.outcome, decision.outcome_by_id, decision.outcome_at = text[:4000], member.id, now
    session.add(decision)
    _audit(session, decision, "decision.outcome", member.id, before=before, outcome=decision.outcome)


def set_review(session: Session, decision: Decision, member: Member, when: datetime, now: datetime) -> None:
    """Set the date the decision should be looked at again (proposer or backbone)."""
    _require_proposer_or_backbone(session, decision, member, "set a review date")
    if when <= now:
        raise UserError("The review date is in the past. Give a future date like 2026-09-01 or 6mo (six months).")
    decision.review_at = when
    session.add(decision)
    _audit(session, decision, "decision.review_set", member.id, review_at=when.isoformat())


_FLAGS = {"yes": True, "no": False, "required": True, "optional": False, "true": True, "false": False}


def parse_flag(value: str, option: str) -> bool:
    """A yes/no option value (``required``/``optional`` also read as yes/no)."""
    if value.strip().lower() not in _FLAGS:
        raise UserError(f"--{option} takes yes or no" + (" (or required/optional)." if option == "reasons" else "."))
    return _FLAGS[value.strip().lower()]


def set_policy(session: Session, group: Group, member: Member, changes: dict[str, str]) -> DecisionPolicy:
    """Change a group's decision policy (backbone only) from option text; returns the saved policy."""
    require_manager(session, member, "change who proposes and votes")
    policy = policy_for(session, id_of(group))
    valid_roles = {"chair", "staff", "member", "observer"}
    for key, raw in changes.items():
        value = raw.strip().lower()
        if key in ("propose", "vote"):
            roles = role_set(value)
            if not roles <= valid_roles:
                raise UserError(f"Unknown roles {', '.join(sorted(roles - valid_roles))}; use chair, staff, member.")
            setattr(policy, f"{key}_roles", ",".join(sorted(roles)))
        elif key == "rule":
            policy.rule = parse_rule(value).value
        elif key == "quorum":
            try:
                policy.quorum = str(Quorum.parse(value))
            except QuorumError as exc:
                raise UserError(str(exc)) from None
        elif key in ("count", "split"):
            enum = CountBy if key == "count" else SplitAs
            if value not in {e.value for e in enum}:
                raise UserError(f"--{key} takes " + " or ".join(e.value for e in enum) + ".")
            setattr(policy, "count_by" if key == "count" else "split_as", value)
        elif key in ("anonymous", "reasons", "backbone"):
            setattr(policy, {"anonymous": "anonymous", "reasons": "reason_required",
                             "backbone": "backbone_proposes"}[key], parse_flag(value, key))
        elif key == "remind":
            if not (value.isascii() and value.isdigit()) or not 0 < int(value) <= 24 * 14:
                raise UserError("--remind takes a number of hours before the close, like 24.")
            policy.remind_hours = int(value)
    session.add(policy)
    _audit_group(session, group, member, changes)
    return policy


def _audit_group(session: Session, group: Group, member: Member, changes: dict[str, str]) -> None:
    record(session, "decision.policy", initiative_id=group.initiative_id, actor_id=member.id,
           subject=f"group:{group.key}", data=changes)


def search(session: Session, initiative_id: int, query: str = "", group_id: int | None = None,
           status: str | None = None, limit: int = 20) -> list[Decision]:
    """Decisions whose title, body or outcome contain `query`, newest first."""
    statement = select(Decision).where(Decision.initiative_id == initiative_id)
    for word in query.split():
        pattern = f"%{word.lower()}%"
        statement = statement.where(or_(func.lower(Decision.title).like(pattern),
                                        func.lower(Decision.body).like(pattern),
                                        func.lower(Decision.outcome).like(pattern)))
    if group_id is not None:
        statement = statement.where(Decision.group_id == group_id)
    if status:
        statement = statement.where(Decision.status == status)
    return list(session.exec(statement.order_by(col(Decision.id).desc()).limit(limit)).all())


def votes_of(session: Session, decision: Decision) -> list[tuple[Member, DecisionVote, Member | None]]:
    """Who voted what on a non-anonymous decision (voter, vote, proxy), by name; empty when anonymous."""
    if decision.anonymous:
        return []
    rows = session.exec(
        select(Member, DecisionVote).join(DecisionVote, col(DecisionVote.member_id) == Member.id)
        .where(DecisionVote.decision_id == decision.id).order_by(Member.name)
    ).all()
    proxies = {m.id: m for m in session.exec(select(Member).where(
        col(Member.id).in_({v.cast_by_id for _, v in rows if v.cast_by_id}))).all()}
    return [(m, v, proxies.get(v.cast_by_id)) for m, v in rows]


def non_voters(session: Session, decision: Decision) -> list[Member]:
    """Eligible members who have not voted yet (directly or by proxy)."""
    policy = policy_for(session, decision.group_id)
    table = DecisionParticipation if decision.anonymous else DecisionVote
    voted = set(session.exec(select(table.member_id).where(table.decision_id == decision.id)).all())
    return [m for m in eligible_members(session, decision.group_id, policy.vote_roles) if m.id not in voted]


EXPORT_COLUMNS = ("id", "group", "title", "status", "result", "rule", "quorum", "count_by", "anonymous", "proposer",
                  "created_at", "closes_at", "closed_at", "agree", "abstain", "disagree", "block", "voted",
                  "eligible", "quorum_met", "outcome", "review_at", "evidence")


def export_decisions(session: Session, initiative_id: int) -> str:
    """Every decision of the initiative as CSV (counts only; never who voted what).

    An open secret ballot shows only how many have voted: its count stays hidden until close.
    """
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(EXPORT_COLUMNS)
    groups = {g.id: g.key for g in session.exec(select(Group).where(Group.initiative_id == initiative_id)).all()}
    names = {m.id: m.name for m in session.exec(select(Member).where(Member.initiative_id == initiative_id)).all()}
    decisions = session.exec(select(Decision).where(Decision.initiative_id == initiative_id)
                             .order_by(col(Decision.id))).all()
    for d in decisions:
        final = json.loads(d.tally) if d.tally else None
        if final is None and d.status == DecisionStatus.OPEN:
            final = json.loads(tally_json(current_tally(session, d)))
        hidden = d.anonymous and d.status == DecisionStatus.OPEN
        counts = final["counts"] if final and not hidden else {}
        writer.writerow([
            d.id, groups.get(d.group_id, ""), _cell(d.title), str(d.status), outcome_of(d).value, d.rule,
            d.quorum, d.count_by,
            "yes" if d.anonymous else "no", _cell(names.get(d.proposer_id, "")),
            d.created_at.isoformat(), d.closes_at.isoformat(), d.closed_at.isoformat() if d.closed_at else "",
            *(counts.get(c.value, "") for c in Choice),
            final["voted"] if final else "", final["eligible"] if final else "",
            ("yes" if final["quorum_met"] else "no") if final and not hidden else "",
            _cell(d.outcome), d.review_at.isoformat() if d.review_at else "", _cell(d.evidence),
        ])
    return out.getvalue()


def _cell(text: str) -> str:
    """Text made safe for spreadsheets: formulas are neutralised with a leading quote."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _audit(session: Session, decision: Decision, kind: str, actor_id: int | None, **data: object) -> None:
    record(session, kind, initiative_id=decision.initiative_id, actor_id=actor_id,
           subject=f"decision:{decision.id}", data={"decision": decision.id, **data})
