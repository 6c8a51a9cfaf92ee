"""The counting rules on worked examples: rules, quorum, ties, blocks, organizations, proxies."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.decisions.tally import (
    Ballot,
    Choice,
    CountBy,
    Quorum,
    QuorumError,
    Rule,
    Settings,
    SplitAs,
    tally,
)

A, AB, D, B = Choice.AGREE, Choice.ABSTAIN, Choice.DISAGREE, Choice.BLOCK


def ballots(*choices: Choice, orgs: str = "") -> list[Ballot]:
    """One ballot per choice, voters v0, v1, ...; `orgs` gives each voter's organization letter."""
    return [Ballot(f"v{i}", c, orgs[i] if orgs else "") for i, c in enumerate(choices)]


@pytest.mark.parametrize(("rule", "votes", "passed"), [
    (Rule.MAJORITY, (A, A, D), True),
    (Rule.MAJORITY, (A, D), False),  # a tie does not pass
    (Rule.MAJORITY, (A, D, AB, AB, AB), False),  # abstentions do not break ties
    (Rule.MAJORITY, (A, AB, AB), True),
    (Rule.MAJORITY, (AB, AB), False),
    (Rule.TWO_THIRDS, (A, A, D), True),  # exactly two thirds passes
    (Rule.TWO_THIRDS, (A, A, D, D), False),
    (Rule.TWO_THIRDS, (A, A, A, A, A, D, D, D), False),  # 5/8 < 2/3
    (Rule.TWO_THIRDS, (A, A, D, AB, AB), True),  # abstentions left out of the base
    (Rule.TWO_THIRDS, (AB,), False),
    (Rule.CONSENT, (A, D, D, AB), True),  # concerns, but no block
    (Rule.CONSENT, (A, A, A, B), False),
    (Rule.CONSENT, (AB, AB), True),
    (Rule.CONSENSUS, (A, A, AB), True),  # abstentions allowed
    (Rule.CONSENSUS, (A, A, D), False),
    (Rule.CONSENSUS, (A, B), False),
    (Rule.CONSENSUS, (AB, AB), False),  # nobody agreed
])
def test_rules_on_worked_examples(rule: Rule, votes: tuple[Choice, ...], passed: bool) -> None:
    result = tally(ballots(*votes), eligible=len(votes), settings=Settings(rule=rule))
    assert result.quorum_met
    assert result.passed is passed


def test_counts_are_reported_per_choice() -> None:
    result = tally(ballots(A, A, D, AB, B), eligible=7, settings=Settings(rule=Rule.CONSENT))
    assert [result.count(c) for c in (A, AB, D, B)] == ["2", "1", "1", "1"]
    assert result.voted == 5 and result.eligible == 7


@pytest.mark.parametrize(("text", "eligible", "required"), [
    ("3", 10, 3), ("50%", 10, 5), ("50%", 7, 4), ("66.7%", 3, 3), ("100%", 4, 4), ("", 9, 0), ("none", 9, 0),
])
def test_quorum_as_count_or_share(text: str, eligible: int, required: int) -> None:
    assert Quorum.parse(text).required(eligible) == required


@pytest.mark.parametrize("text", ["many", "0%", "150%", "-1", "%"])
def test_bad_quorums_are_explained(text: str) -> None:
    with pytest.raises(QuorumError):
        Quorum.parse(text)


def test_quorum_larger_than_the_group_is_refused() -> None:
    with pytest.raises(QuorumError, match="more than the 4 eligible voters"):
        Quorum.parse("5").check(4)
    Quorum.parse("4").check(4)
    Quorum.parse("100%").check(4)


def test_quorum_not_met_fails_even_when_everyone_agrees() -> None:
    result = tally(ballots(A, A), eligible=5, settings=Settings(quorum=Quorum.parse("3")))
    assert result.passed_rule and not result.quorum_met and not result.passed
    assert tally(ballots(A, A, AB), eligible=5, settings=Settings(quorum=Quorum.parse("3"))).passed


def test_abstentions_count_toward_quorum() -> None:
    result = tally(ballots(A, AB, AB, AB), eligible=6, settings=Settings(quorum=Quorum.parse("50%")))
    assert result.required == 3 and result.quorum_met and result.passed


def test_one_organization_one_vote() -> None:
    # x: 3 members agree; y: 1 disagrees; z: 1 disagrees -> per member 3:2 passes, per org 1:2 fails.
    votes = ballots(A, A, A, D, D, orgs="xxxyz")
    assert tally(votes, 5, Settings()).passed
    per_org = tally(votes, 3, Settings(count_by=CountBy.ORGANIZATION))
    assert per_org.voted == 3 and per_org.count(A) == "1" and per_org.count(D) == "2"
    assert not per_org.passed


def test_divided_organization_abstains_or_splits_as_configured() -> None:
    votes = ballots(A, A, D, D, orgs="xxxy")  # x divided 2:1, y disagrees
    abstained = tally(votes, 2, Settings(count_by=CountBy.ORGANIZATION, split_as=SplitAs.ABSTAIN))
    assert abstained.counts[AB] == 1 and abstained.counts[D] == 1 and abstained.split_units == ("x",)
    assert not abstained.passed
    split = tally(votes, 2, Settings(count_by=CountBy.ORGANIZATION, split_as=SplitAs.SPLIT))
    assert split.counts[A] == Fraction(2, 3) and split.counts[D] == Fraction(4, 3)
    assert split.count(A) == "0.67"


def test_organization_level_quorum() -> None:
    votes = ballots(A, A, A, orgs="xxx")  # three members, one organization
    settings = Settings(quorum=Quorum.parse("2"), count_by=CountBy.ORGANIZATION)
    result = tally(votes, 4, settings)
    assert result.voted == 1 and not result.quorum_met


def test_members_without_an_organization_count_alone() -> None:
    votes = [Ballot("a", A), Ballot("b", D), Ballot("c", A)]
    result = tally(votes, 3, Settings(count_by=CountBy.ORGANIZATION))
    assert result.voted == 3 and result.passed


def test_organization_names_match_regardless_of_case_and_spaces() -> None:
    votes = [Ballot("a", A, "Parents Together"), Ballot("b", A, " parents together ")]
    assert tally(votes, 1, Settings(count_by=CountBy.ORGANIZATION)).voted == 1


def test_a_block_under_split_counting_still_blocks_consent() -> None:
    votes = ballots(A, B, A, orgs="xxy")
    result = tally(votes, 2, Settings(rule=Rule.CONSENT, count_by=CountBy.ORGANIZATION, split_as=SplitAs.SPLIT))
    assert not result.passed
    abstain = tally(votes, 2, Settings(rule=Rule.CONSENT, count_by=CountBy.ORGANIZATION))
    assert abstain.passed  # the divided organization abstains, as configured


def test_proxy_votes_count_like_own_votes_and_are_reported() -> None:
    votes = [Ballot("a", A), Ballot("b", A, by_proxy=True), Ballot("c", D)]
    result = tally(votes, 3, Settings())
    assert result.passed and result.proxies == 1


def test_a_voter_twice_is_a_bug() -> None:
    with pytest.raises(ValueError):
        tally([Ballot("a", A), Ballot("a", D)], 2, Settings())


settings_strategy = st.builds(
    Settings,
    rule=st.sampled_from(list(Rule)),
    quorum=st.sampled_from([Quorum(), Quorum(count=2), Quorum.parse("50%"), Quorum.parse("75%")]),
    count_by=st.sampled_from(list(CountBy)),
    split_as=st.sampled_from(list(SplitAs)),
)
ballot_lists = st.lists(
    st.tuples(st.sampled_from(list(Choice)), st.sampled_from(["", "x", "y", "z"]), st.booleans()),
    max_size=25,
).map(lambda rows: [Ballot(f"m{i}", c, org, proxy) for i, (c, org, proxy) in enumerate(rows)])


@given(votes=ballot_lists, settings=settings_strategy, data=st.data())
def test_tally_never_depends_on_vote_order(votes: list[Ballot], settings: Settings, data: st.DataObject) -> None:
    shuffled = data.draw(st.permutations(votes))
    assert tally(shuffled, 25, settings) == tally(votes, 25, settings)
