"""calendar feeds behind a per-group secret token; a presenter for agenda items

Revision ID: 0012
Revises: 0011
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.types

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "calendarfeed",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.Column("token", sa.String(length=64), nullable=False),
        sa.Column("rotated_at", storage.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["group_id"], ["group_.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("group_id"),
    )
    with op.batch_alter_table("agendaitem") as batch_op:
        batch_op.add_column(sa.Column("presenter_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key("fk_agendaitem_presenter_id_member", "member", ["presenter_id"], ["id"])


def downgrade() -> None:
    with op.batch_alter_table("agendaitem") as batch_op:
        batch_op.drop_constraint("fk_agendaitem_presenter_id_member", type_="foreignkey")
        batch_op.drop_column("presenter_id")
    op.drop_table("calendarfeed")
