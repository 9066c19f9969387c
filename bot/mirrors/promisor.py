"""Objects a partial clone lacks, fetched from its promisor remote the way git itself does."""

from __future__ import annotations

import os
import shutil
import subprocess

FETCH_TIMEOUT = 120  # seconds for one fetch of missing objects


def fetch_objects(git_env: dict[str, str], remote: str, object_ids: list[str]) -> str | None:
    """Fetch objects by id from `remote` with git, into the store `git_env` names.

    The same fetch git runs for a missing object in a partial clone (promisor-remote.c), with
    everything it writes going to GIT_OBJECT_DIRECTORY: nothing is written into the repository
    itself. Returns None on success, else git's reason in one line.
    """
    git = shutil.which("git")
    if git is None:
        return "git is not installed"
    command = [
        git, "-c", "fetch.negotiationAlgorithm=noop", "fetch", remote, "--no-tags",
        "--no-write-fetch-head", "--recurse-submodules=no", "--filter=blob:none", "--stdin",
    ]  # fmt: skip
    try:
        done = subprocess.run(
            command,
            input="".join(f"{oid}\n" for oid in object_ids).encode(),
            capture_output=True,
            env={**os.environ, **git_env, "GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C"},
            timeout=FETCH_TIMEOUT,
        )
    except subprocess.TimeoutExpired:
        return f"no answer from '{remote}' in {FETCH_TIMEOUT} seconds"
    if done.returncode != 0:
        lines = [line for line in done.stderr.decode(errors="replace").splitlines() if line]
        # git's first "fatal:" line says what went wrong; the lines after it are advice.
        fatal = [line for line in lines if line.startswith(("fatal:", "error:"))]
        return (fatal or lines or [f"git fetch exited with {done.returncode}"])[0]
    return None
