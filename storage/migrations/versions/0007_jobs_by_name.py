"""stored jobs name their function through the registry: clear jobs stored by module path

Jobs written before this revision point at "bot.meeting_jobs:fire"-style module
paths that no longer exist. The scheduler's reconcilers rebuild every job from the
database at start, so clearing the job store loses nothing.

Revision ID: 0007
Revises: 0006
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("DELETE FROM apscheduler_jobs")


def downgrade() -> None:
    op.execute("DELETE FROM apscheduler_jobs")
