"""The scheduler's stored jobs call bot.service.scheduler: bot/scheduler.py moved there

APScheduler keeps each job's callable as a textual reference ("module:function") in its
pickled state, and drops a job whose reference no longer imports, losing its missed runs.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04 20:00:00
"""

import pickle
from collections.abc import Mapping, Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLE = "scheduled_jobs"  # APScheduler's table (bot.service.scheduler.TABLE)
MOVED = {
    "bot.scheduler:queue_job": "bot.service.scheduler:queue_job",
    "bot.scheduler:sync_reports": "bot.service.scheduler:sync_reports",
}


def _rewrite(references: Mapping[str, str]) -> None:
    bind = op.get_bind()
    if not sa.inspect(bind).has_table(TABLE):
        return  # the scheduler never ran on this store: it creates its table itself
    jobs = sa.table(TABLE, sa.column("id", sa.Unicode(191)), sa.column("job_state", sa.LargeBinary))
    for row in bind.execute(sa.select(jobs.c.id, jobs.c.job_state)).all():
        state = pickle.loads(row.job_state)  # APScheduler's own rows, as it reads them
        moved = references.get(state.get("func"))
        if moved is None:
            continue
        state["func"] = moved
        pickled = pickle.dumps(state, pickle.HIGHEST_PROTOCOL)  # APScheduler's default
        bind.execute(jobs.update().where(jobs.c.id == row.id).values(job_state=pickled))


def upgrade() -> None:
    _rewrite(MOVED)


def downgrade() -> None:
    _rewrite({new: old for old, new in MOVED.items()})
