"""`make bench` (App part): reviewing one pull request of a repository with 200 open ones.

The generated monorepo (20,000 trunk commits, 2,000 files) with its 200 most recently active
branches opened as pull requests, the mirror already fetched, GitHub faked on loopback (the
review's REST calls are real HTTP). One review measures the pull request and merges it with
trunk and with each other open pull request whose changes meet its own (`forecast(focus=)`),
then posts. Beside it, in the same run, the obvious alternative: the whole forecast of the 200
(every pair), from which one pull request's line would be read.
"""

from __future__ import annotations

import os
import shutil
import statistics
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import pygit2

from analyzers.divergence import scan
from analyzers.forecast import ForecastMemo, forecast
from analyzers.refs import PullHeads, PullRule, inventory
from bot.github.app import GitHubApp
from bot.policy import default_config
from bot.review.measure import _TRUNKS, figures
from bot.review.pull import review_pull_request
from bot.store import Store
from tests.bench.monorepo import END, Shape, generated
from tests.fakegithub import FakeGitHub, Pull, app_key_pair

OPEN = 200
REPOSITORY = "acme/mono"


def main() -> None:
    runs = int(os.environ.get("BENCH_RUNS", "5"))
    shape = Shape()
    scratch = Path(tempfile.mkdtemp(prefix="trunkguard-bench-review-"))
    private, public = app_key_pair()
    github = FakeGitHub(scratch / "mirrors", 1, public)
    real = os.environ.get("BENCH_MIRROR")  # a real GitHub mirror (bare, with refs/pull/*)
    try:
        mirror = github.add_repository(REPOSITORY, 7, "main")
        shutil.rmtree(mirror)
        if real:
            mirror.symlink_to(Path(real).resolve())  # read only: nothing is written into it
            repo = pygit2.Repository(str(mirror))
            heads = [r for r in repo.references if r.startswith("refs/pull/")]
            newest = sorted(
                heads,
                key=lambda r: -repo[repo.references[r].target].peel(pygit2.Commit).commit_time,
            )[:OPEN]
            for ref in newest:
                number = int(ref.split("/")[2])
                github.add_pull(REPOSITORY, Pull(number, "dev", f"pr-{number}", "main"))
            now = int(time.time())
        else:
            shutil.copytree(generated(shape), mirror)
            repo = pygit2.Repository(str(mirror))
            branches = sorted(
                (r for r in repo.references
                 if r.startswith("refs/heads/") and r != "refs/heads/main"),
                key=lambda r: -repo[repo.references[r].target].peel(pygit2.Commit).commit_time,
            )[:OPEN]  # fmt: skip
            for number, ref in enumerate(branches, 1):
                repo.references.create(f"refs/pull/{number}/head", repo.references[ref].target)
                name = ref.removeprefix("refs/heads/")
                github.add_pull(REPOSITORY, Pull(number, f"dev{number % 12}", name, "main"))
            now = END
        numbers = sorted(github.pulls[REPOSITORY])
        github.start()
        client = GitHubApp(1, private, github.url).installation(7)

        def review(number: int, store: Store) -> float:
            started = time.perf_counter()
            done = review_pull_request(
                client, store, github.root, REPOSITORY, number, now, fetch=False
            )
            assert done.evaluation is not None, done
            return time.perf_counter() - started

        cold, warm = [], []
        for n in range(runs):
            with Store(f"sqlite:///{scratch}/cold-{n}.db") as store:
                store.upgrade()
                _TRUNKS.clear()  # nothing kept from an earlier review: the first event
                cold.append(review(numbers[n], store))  # an empty merge cache
                warm.append(review(numbers[n + runs], store))  # trunk's merges cached
        posted = len(github.check_runs)
        rule = PullRule(PullHeads.NONE, 30, frozenset(numbers))

        # The analysis alone, like for like: this pull request's figures with the focused
        # forecast, against the whole forecast of the 200 read for one line.
        open_pulls = client.open_pulls(REPOSITORY)
        listing = []
        for _ in range(runs):
            started = time.perf_counter()
            client.open_pulls(REPOSITORY)
            listing.append(time.perf_counter() - started)
        config = default_config()
        focused, whole = [], []
        result = None
        for n in range(runs):
            _TRUNKS.clear()
            started = time.perf_counter()
            figures(repo, open_pulls[n], open_pulls, config, ForecastMemo(), now)
            focused.append(time.perf_counter() - started)
            started = time.perf_counter()
            found = inventory(repo, trunk="main", pulls=rule, now=now)
            found = replace(found, branches=tuple(b for b in found.branches if b.pulls))
            scan(repo, found, now)
            result = forecast(repo, found, now, active_days=30, memo=ForecastMemo())
            whole.append(time.perf_counter() - started)
        assert result is not None
        what = real or f"monorepo: {shape.trunk_commits:,} trunk commits, {shape.files:,} files"
        print(
            f"\nreview of one pull request, {OPEN} open ({what}); {runs} runs, "
            f"{posted} check runs posted; "
            f"{os.cpu_count()} cores; the whole forecast pairs {result.stats.pairs:,} and merges "
            f"{result.stats.pairs_merged:,} of them"
        )
        print(f"\n{'what':62} {'median s':>9}")
        for label, times in (
            ("review end to end, first of its repository (all cold)", cold),
            ("review end to end, the next one (trunk index, merges kept)", warm),
            ("  of which: list the 200 open pull requests (REST)", listing),
        ):
            print(f"{label:62} {statistics.median(times):9.2f}")
        base = statistics.median(whole)
        print(f"\n{'analysis alone (no REST, empty caches)':62} {'median s':>9} {'vs whole':>9}")
        for label, times in (
            ("this PR: scan + focused forecast (figures())", focused),
            ("whole: scan and forecast all 200, read one line", whole),
        ):
            median = statistics.median(times)
            print(f"{label:62} {median:9.2f} {base / median:8.1f}x")
    finally:
        github.stop()
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
