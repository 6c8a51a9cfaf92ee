"""disclosure control: the minimum number of partners behind a shown figure; per-period submission totals

The initiative gets `min_contributors` (3) and an indicator may override it. Progress
reads `submissiontotal` (one row per indicator and period, kept in step with every write
of submissions) instead of aggregating the submission table; it is filled from the
submissions already stored.

Revision ID: 0011
Revises: 0010
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

from storage.types import UTCDateTime

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("initiative") as batch_op:
        batch_op.add_column(sa.Column("min_contributors", sa.Integer(), nullable=False, server_default="3"))
    with op.batch_alter_table("indicator") as batch_op:
        batch_op.add_column(sa.Column("min_contributors", sa.Integer(), nullable=True))
    op.create_table(
        "submissiontotal",
        sa.Column("indicator_id", sa.Integer(), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("period", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("submitted", sa.Integer(), nullable=False),
        sa.Column("total", sa.Float(), nullable=False),
        sa.Column("last_in", UTCDateTime(timezone=True), nullable=False),
        sa.Column("corrected_at", UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["indicator_id"], ["indicator.id"]),
        sa.PrimaryKeyConstraint("indicator_id", "period_start"),
    )
    op.execute(
        "INSERT INTO submissiontotal (indicator_id, period_start, period, submitted, total, last_in, corrected_at) "
        "SELECT indicator_id, period_start, min(period), count(*), sum(value), max(submitted_at), "
        "max(CASE WHEN updated_at > submitted_at THEN updated_at END) "
        "FROM submission GROUP BY indicator_id, period_start"
    )


def downgrade() -> None:
    op.drop_table("submissiontotal")
    # Plain ALTER TABLE ... DROP COLUMN (SQLite 3.35+): a batch copy would have to drop
    # `initiative`, which every other table refers to.
    op.drop_column("indicator", "min_contributors")
    op.drop_column("initiative", "min_contributors")
