"""What was last posted on each pull request, so that unchanged results are not posted again

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25 14:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("pull_requests", schema=None) as batch_op:
        batch_op.add_column(sa.Column("check_digest", sa.String(64), nullable=True))
        batch_op.add_column(sa.Column("comment_digest", sa.String(64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("pull_requests", schema=None) as batch_op:
        batch_op.drop_column("comment_digest")
        batch_op.drop_column("check_digest")
