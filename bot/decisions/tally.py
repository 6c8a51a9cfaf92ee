"""Counting votes: decision rules, quorum, and one-organization-one-vote, as pure functions.

Nothing here touches the database or the clock. `tally(ballots, eligible, settings)`
turns the ballots of one decision into counts, whether quorum was met and whether
the rule passed; the result never depends on the order of the ballots.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from fractions import Fraction


class Rule(StrEnum):
    """How a decision passes."""

    MAJORITY = "majority"  # more agree than disagree
    TWO_THIRDS = "two-thirds"  # at least two thirds of agree + disagree agree
    CONSENT = "consent"  # passes unless someone blocks
    CONSENSUS = "consensus"  # every vote agrees; abstentions allowed

    @property
    def allows_block(self) -> bool:
        """True when the rule gives voters a Block choice."""
        return self in (Rule.CONSENT, Rule.CONSENSUS)

    @property
    def explained(self) -> str:
        """The rule in one plain sentence."""
        return _RULE_TEXT[self]


_RULE_TEXT = {
    Rule.MAJORITY: "passes when more vote agree than disagree",
    Rule.TWO_THIRDS: "passes when at least two thirds of agree and disagree votes agree",
    Rule.CONSENT: "passes unless someone blocks",
    Rule.CONSENSUS: "passes when every vote agrees (abstentions allowed)",
}


class Choice(StrEnum):
    """What a voter can say."""

    AGREE = "agree"
    ABSTAIN = "abstain"
    DISAGREE = "disagree"
    BLOCK = "block"


class CountBy(StrEnum):
    """Whose votes count: every member, or one vote per organization."""

    MEMBER = "member"
    ORGANIZATION = "organization"


class SplitAs(StrEnum):
    """What a divided organization's one vote becomes under per-organization counting."""

    ABSTAIN = "abstain"  # members who disagree with each other abstain together
    SPLIT = "split"  # the one vote is shared out in proportion to its members' choices


class QuorumError(ValueError):
    """A quorum that cannot be written or cannot be met; the message says which."""


@dataclass(frozen=True)
class Quorum:
    """How many must vote: a fixed count, a share of those eligible, or nobody in particular."""

    count: int | None = None
    share: Fraction | None = None

    @classmethod
    def parse(cls, text: str) -> Quorum:
        """Read ``3``, ``50%`` or an empty string (no quorum)."""
        raw = text.strip()
        if not raw or raw.lower() == "none":
            return cls()
        bad = f"“{raw}” is not a quorum. Write a number of voters like 3 or a share like 50%."
        if raw.endswith("%"):
            try:
                share = Fraction(raw[:-1].strip()) / 100
            except (ValueError, ZeroDivisionError) as exc:
                raise QuorumError(bad) from exc
            if not 0 < share <= 1:
                raise QuorumError(f"A quorum share must be above 0% and at most 100%, not {raw}.")
            return cls(share=share)
        try:
            count = int(raw)
        except ValueError as exc:
            raise QuorumError(bad) from exc
        if count < 0:
            raise QuorumError("A quorum cannot be negative.")
        return cls(count=count)

    def required(self, eligible: int) -> int:
        """How many voters (or organizations) out of `eligible` must take part."""
        if self.count is not None:
            return self.count
        if self.share is not None:
            return math.ceil(self.share * eligible)
        return 0

    def check(self, eligible: int, unit: str = "eligible voters") -> None:
        """Refuse a quorum larger than the `eligible` voters (or organizations) there are."""
        if self.count is not None and self.count > eligible:
            raise QuorumError(
                f"A quorum of {self.count} is more than the {eligible} {unit} of this group. "
                f"Use a number up to {eligible}, or a share like 50%."
            )

    def __str__(self) -> str:
        if self.count is not None:
            return str(self.count)
        if self.share is not None:
            pct = self.share * 100
            return f"{pct.numerator if pct.denominator == 1 else float(pct):g}%"
        return "none"


@dataclass(frozen=True)
class Settings:
    """The counting settings of one decision."""

    rule: Rule = Rule.MAJORITY
    quorum: Quorum = Quorum()
    count_by: CountBy = CountBy.MEMBER
    split_as: SplitAs = SplitAs.ABSTAIN


@dataclass(frozen=True)
class Ballot:
    """One member's vote: who (any stable key), their choice and organization."""

    voter: str
    choice: Choice
    organization: str = ""
    by_proxy: bool = False

    @property
    def unit(self) -> str:
        """The organization that counts this ballot; a member without one counts alone."""
        return self.organization.strip().casefold() or f"member:{self.voter}"


@dataclass(frozen=True)
class Tally:
    """The counted result of one decision."""

    counts: dict[Choice, Fraction]
    voted: int  # members (or organizations) that took part
    eligible: int
    required: int  # quorum in the same unit as `voted`
    passed_rule: bool
    settings: Settings
    split_units: tuple[str, ...] = field(default=())  # organizations that were divided
    proxies: int = 0

    @property
    def quorum_met(self) -> bool:
        """True when enough took part."""
        return self.voted >= self.required

    @property
    def passed(self) -> bool:
        """True when quorum was met and the rule passed."""
        return self.quorum_met and self.passed_rule

    def count(self, choice: Choice) -> str:
        """The count for `choice` as a short number (fractions only under split counting)."""
        value = self.counts.get(choice, Fraction(0))
        return str(value.numerator) if value.denominator == 1 else f"{float(value):.2f}".rstrip("0")


def tally(ballots: Iterable[Ballot], eligible: int, settings: Settings) -> Tally:
    """Count `ballots` under `settings`; `eligible` is in voters, or organizations when counting by them.

    A voter appearing more than once is a caller bug and raises ValueError.
    """
    ballots = sorted(ballots, key=lambda b: b.voter)
    voters = [b.voter for b in ballots]
    if len(set(voters)) != len(voters):
        raise ValueError("a voter appears twice in one tally")
    counts: dict[Choice, Fraction] = {choice: Fraction(0) for choice in Choice}
    split: list[str] = []
    if settings.count_by == CountBy.ORGANIZATION:
        units: dict[str, list[Choice]] = defaultdict(list)
        for ballot in ballots:
            units[ballot.unit].append(ballot.choice)
        for unit, choices in sorted(units.items()):
            distinct = set(choices)
            if len(distinct) == 1:
                counts[choices[0]] += 1
                continue
            split.append(unit)
            if settings.split_as == SplitAs.ABSTAIN:
                counts[Choice.ABSTAIN] += 1
            else:
                for choice in distinct:
                    counts[choice] += Fraction(choices.count(choice), len(choices))
        voted = len(units)
    else:
        for ballot in ballots:
            counts[ballot.choice] += 1
        voted = len(ballots)
    return Tally(
        counts=counts,
        voted=voted,
        eligible=eligible,
        required=settings.quorum.required(eligible),
        passed_rule=rule_passes(settings.rule, counts),
        settings=settings,
        split_units=tuple(split),
        proxies=sum(1 for b in ballots if b.by_proxy),
    )


def rule_passes(rule: Rule, counts: dict[Choice, Fraction]) -> bool:
    """Whether `counts` pass `rule`, before quorum is considered."""
    agree, disagree = counts[Choice.AGREE], counts[Choice.DISAGREE]
    block = counts[Choice.BLOCK]
    if rule == Rule.MAJORITY:
        return agree > disagree + block
    if rule == Rule.TWO_THIRDS:
        return agree > 0 and 3 * agree >= 2 * (agree + disagree + block)
    if rule == Rule.CONSENT:
        return block == 0
    return agree > 0 and disagree == 0 and block == 0
