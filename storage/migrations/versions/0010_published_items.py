"""what the backbone publishes on the initiative's public progress page

Revision ID: 0010
Revises: 0009
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.types

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "publisheditem",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("initiative_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("at", storage.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["initiative_id"], ["initiative.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("initiative_id", "kind", "key"),
    )
    op.create_index(op.f("ix_publisheditem_initiative_id"), "publisheditem", ["initiative_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_publisheditem_initiative_id"), table_name="publisheditem")
    op.drop_table("publisheditem")
