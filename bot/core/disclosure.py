"""Statistical disclosure control: which figures built from partners' values may be shown.

The rules statistics offices apply, for every path that shows partners' numbers to
someone who is not backbone staff:

- threshold: a figure built from fewer than `minimum` contributors is withheld;
- complementary suppression: when one cell of a breakdown is withheld, another is too,
  so that the shown total minus the shown cells cannot recover it;
- finality: a period's figure is shown only once every reporter has submitted, or the
  due date has passed with at least `minimum` contributors.

These functions know nothing of indicators or viewers; `bot.measures.visibility`
applies them.
"""

from __future__ import annotations

from collections.abc import Mapping

DEFAULT_MIN_CONTRIBUTORS = 3
TOO_FEW = "withheld: fewer than {minimum} partners"
SINGLES_OUT = "withheld: it would single out one partner"


def too_few(contributors: int, minimum: int) -> bool:
    """True when a figure from `contributors` contributors falls under the threshold `minimum`."""
    return contributors < minimum


def withheld_reason(minimum: int) -> str:
    """Why a figure under the threshold is not shown, as readers see it."""
    return TOO_FEW.format(minimum=minimum)


def is_final(submitted: int, expected: int, past_due: bool, minimum: int) -> bool:
    """True when a period's figure may be published: everyone is in, or the due date passed with enough."""
    return (expected > 0 and submitted >= expected) or (past_due and submitted >= minimum)


def suppressed(cells: Mapping[str, tuple[int, float]], minimum: int) -> set[str]:
    """The cells to withhold from `cells` (key -> (contributors, value)) of one breakdown of a shown total.

    Every cell under the threshold is withheld; if exactly one is, the smallest other
    cell (fewest contributors, then smallest value, never a 0 while another will do:
    withholding a 0 would protect nothing) is withheld with it, so that the total minus
    the shown cells gives only the sum of two withheld cells.
    """
    hidden = {key for key, (count, _) in cells.items() if too_few(count, minimum)}
    if len(hidden) == 1:
        others = sorted((value == 0, count, value, key) for key, (count, value) in cells.items() if key not in hidden)
        if others:
            hidden.add(others[0][3])
    return hidden
