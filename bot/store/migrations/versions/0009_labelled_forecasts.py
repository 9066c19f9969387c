"""Which rules labelled a stored forecast's conflicts on active branches

Each predicted conflict may carry what the resolution engine said of it; the scan says whether
the active branches' conflicts were all labelled, and with which rules, so that the weekly
report counts only a forecast labelled whole.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-05 04:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("scans", schema=None) as batch_op:
        batch_op.add_column(sa.Column("labelled_with", sa.JSON(), nullable=True))


def downgrade() -> None:
    # In place: SQLite's copy-and-move of the table would drop `scans` with foreign keys on,
    # and its branches and conflicts with it (SQLite 3.35 and later drop a column in place).
    with op.batch_alter_table("scans", schema=None, recreate="never") as batch_op:
        batch_op.drop_column("labelled_with")
