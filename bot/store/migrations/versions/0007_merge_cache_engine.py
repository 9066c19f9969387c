"""The merge cache keyed by the engine that answered (engine version, libgit2's and git's)

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04 19:00:00
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# The merge cache is a cache: its rows are dropped, not converted (an engine version alone does
# not say which git answered), and the table is made anew, as a column of its key changes.
def upgrade() -> None:
    op.drop_table("merge_cache")
    _create_merge_cache("engine", sa.String(128))


def downgrade() -> None:
    op.drop_table("merge_cache")
    _create_merge_cache("engine_version", sa.Integer())


def _create_merge_cache(engine: str, kind: sa.types.TypeEngine[Any]) -> None:
    op.create_table(
        "merge_cache",
        sa.Column("base", sa.String(length=64), nullable=False),
        sa.Column("ours", sa.String(length=64), nullable=False),
        sa.Column("theirs", sa.String(length=64), nullable=False),
        sa.Column(engine, kind, nullable=False),
        sa.Column("result", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("base", "ours", "theirs", engine),
    )
