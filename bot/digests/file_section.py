"""The initiative file's `digest:` setting of a group: how often its digest is posted.

    groups:
      - key: data
        name: Data working group
        kind: working_group
        digest: month          # week (the default), month or off

A group without the setting keeps the cadence it has (`/ci digest every` changes it too).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.digests.digest import cadence_of, set_cadence
from bot.initiative_file.report import Tally
from storage.ids import id_of
from storage.types import utcnow

if TYPE_CHECKING:
    from bot.initiative_file.sync import Run


def sync_digest_section(run: Run) -> Tally | None:
    """Set each group's digest cadence where the file says one; report the groups whose cadence changed.

    None (nothing to report) when no group in the file says how often.
    """
    if not any(spec.digest for spec in run.spec.groups):
        return None
    tally = Tally("digest cadences", gone_word="")
    for spec in run.spec.groups:
        if not spec.digest:
            continue
        group_id = id_of(run.groups[spec.key])
        if cadence_of(run.session, group_id) == spec.digest:
            tally.unchanged += 1
            continue
        set_cadence(run.session, group_id, spec.digest, utcnow())
        tally.updated.append(f"{spec.key}: every {spec.digest}" if spec.digest != "off" else f"{spec.key}: off")
    return tally
