"""Median time to resolve one conflicted path (budget: 50 ms, tree-sitter parsing included).

Run: .venv/bin/python -m tests.bench.bench_resolve [RUNS]

The cases are the real triples under tests/fixtures/resolve and constructed code conflicts
that go through tree-sitter (the syntax rule and the parse checks), each resolved with every
rule on; a first run per case warms the parsers up and is not counted.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

from analyzers.resolve import resolve
from analyzers.resolve.engine import RULES

BUDGET = 0.050
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "resolve"


def _methods(names: list[str]) -> bytes:
    body = "".join(f"    def {name}(self):\n        return {name!r}\n\n" for name in names)
    return f"class A:\n{body}".encode()


def cases() -> list[tuple[str, str, bytes, bytes, bytes]]:
    found = []
    for folder in sorted(FIXTURES.iterdir()):
        if not folder.is_dir():
            continue
        path = (folder / "SOURCE").read_text().split("path: ", 1)[1].split("\n", 1)[0]
        parts = [(folder / part).read_bytes() for part in ("base", "ours", "theirs")]
        found.append((folder.name, path, *parts))
    base = [f"m{i}" for i in range(200)]  # a 600-line Python class
    found.append(
        (
            "syntax-python-600-lines",
            "a.py",
            _methods(base),
            _methods([*base, "x"]),
            _methods([*base, "y"]),
        )
    )
    go = "package p\n\n" + "".join(f"func F{i}() int {{ return {i} }}\n\n" for i in range(300))
    found.append(
        (
            "syntax-go-600-lines",
            "p.go",
            go.encode(),
            (go + "func X() int { return 1 }\n").encode(),
            (go + "func Y() int { return 2 }\n").encode(),
        )
    )
    return found


def main(runs: int = 25) -> int:
    worst = 0.0
    for name, path, base, ours, theirs in cases():
        outcome = resolve(path, base, ours, theirs, RULES)  # warm-up
        times = []
        for _ in range(runs):
            started = time.perf_counter()
            resolve(path, base, ours, theirs, RULES)
            times.append(time.perf_counter() - started)
        median = statistics.median(times)
        worst = max(worst, median)
        shown = getattr(outcome, "rule", None) or "needs a person"
        print(f"{name:40} {1000 * median:7.2f} ms median of {runs}  ({shown})")
    verdict = "within" if worst <= BUDGET else "OVER"
    print(f"worst median {1000 * worst:.2f} ms: {verdict} the {1000 * BUDGET:.0f} ms budget")
    return 0 if worst <= BUDGET else 1


if __name__ == "__main__":
    sys.exit(main(int(sys.argv[1]) if len(sys.argv) > 1 else 25))
