"""Local git repositories: mirrors fetched, missing objects, commits written, git's own answers."""
