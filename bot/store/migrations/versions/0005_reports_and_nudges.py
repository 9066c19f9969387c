"""Weekly reports published, nudges posted, each repository's report schedule, head authors

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25 15:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("repositories", schema=None) as batch_op:
        batch_op.add_column(sa.Column("report_schedule", sa.JSON(), nullable=True))
    with op.batch_alter_table("branch_snapshots", schema=None) as batch_op:
        batch_op.add_column(sa.Column("last_author", sa.String(1024), nullable=True))
    op.create_table(
        "reports",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "repository_id",
            sa.Integer(),
            sa.ForeignKey("repositories.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("week", sa.String(8), nullable=False),
        sa.Column("issue_number", sa.BigInteger(), nullable=True),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("repository_id", "week"),
    )
    op.create_table(
        "nudges",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "repository_id",
            sa.Integer(),
            sa.ForeignKey("repositories.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("head_sha", sa.String(64), nullable=False),
        sa.Column("comment_id", sa.BigInteger(), nullable=True),
        sa.Column("nudged_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("repository_id", "number", "head_sha"),
    )


def downgrade() -> None:
    op.drop_table("nudges")
    op.drop_table("reports")
    with op.batch_alter_table("branch_snapshots", schema=None) as batch_op:
        batch_op.drop_column("last_author")
    with op.batch_alter_table("repositories", schema=None) as batch_op:
        batch_op.drop_column("report_schedule")
