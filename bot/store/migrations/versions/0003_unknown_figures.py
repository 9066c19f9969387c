"""Unknown figures, pull request numbers, lead time of merged work

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25 12:00:00
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_NULLABLE_NOW: list[tuple[str, sa.types.TypeEngine[Any]]] = [
    ("files_changed", sa.Integer()),
    ("lines_added", sa.BigInteger()),
    ("lines_deleted", sa.BigInteger()),
    ("trunk_files_changed", sa.Integer()),
    ("overlap_files", sa.JSON()),
]


def upgrade() -> None:
    with op.batch_alter_table("branch_snapshots", schema=None) as batch_op:
        for name, kind in _NULLABLE_NOW:
            batch_op.alter_column(name, existing_type=kind, nullable=True)
        batch_op.add_column(sa.Column("pull_requests", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("unknown", sa.JSON(), nullable=True))
    with op.batch_alter_table("predicted_conflicts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("unknown", sa.JSON(), nullable=True))
    with op.batch_alter_table("merged_work", schema=None) as batch_op:
        batch_op.alter_column("conflicted", existing_type=sa.Boolean(), nullable=True)
        batch_op.alter_column("lines_added", existing_type=sa.BigInteger(), nullable=True)
        batch_op.alter_column("lines_deleted", existing_type=sa.BigInteger(), nullable=True)
        batch_op.add_column(
            sa.Column("first_warning_at", sa.DateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("merged_work", schema=None) as batch_op:
        batch_op.drop_column("first_warning_at")
        batch_op.alter_column("conflicted", existing_type=sa.Boolean(), nullable=False)
        batch_op.alter_column("lines_added", existing_type=sa.BigInteger(), nullable=False)
        batch_op.alter_column("lines_deleted", existing_type=sa.BigInteger(), nullable=False)
    with op.batch_alter_table("predicted_conflicts", schema=None) as batch_op:
        batch_op.drop_column("unknown")
    with op.batch_alter_table("branch_snapshots", schema=None) as batch_op:
        batch_op.drop_column("unknown")
        batch_op.drop_column("pull_requests")
        for name, kind in _NULLABLE_NOW:
            batch_op.alter_column(name, existing_type=kind, nullable=False)
