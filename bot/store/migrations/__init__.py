"""Alembic migrations of the metrics store."""

# The newest revision in versions/: the store checks it without loading Alembic (a test keeps
# it equal to Alembic's own head).
HEAD = "0009"
