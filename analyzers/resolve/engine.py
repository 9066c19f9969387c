"""The resolution engine: one conflicted path's base, ours and theirs in; a resolution with the
rule that made it, or "needs a person" with a grade of difficulty and the reason, out.

The conflict is git's own (analyzers.resolve.diff3: `git merge-file --diff3`). Each conflict
hunk goes through the rules, safest first; the path is resolved only when every hunk is, and a
resolution is offered only after the checks: it keeps every line either side added, drops none
that both kept, invents none, parses where the sides parse (code), and comes out the same twice.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from analyzers.resolve import kinds, syntax
from analyzers.resolve.diff3 import Hunk, Lines, diff3, split_lines
from analyzers.resolve.records import Answer, Context, Grade, NeedsPerson, Outcome, Resolved
from analyzers.resolve.rules import HUNK_RULES, changes, clash, skeleton, squashed

# Every rule, safest first. `SHIPPED` are those measured at 95 % precision or more, byte for
# byte, on real history (seven public repositories, about 4,900 conflicted paths: see the
# README); the others run only when asked for by name (--rule, --all-rules), for measuring.
RULES = (
    "same-change",
    "line-merge",
    "whitespace",
    "superset",
    "versions",
    "changelog",
    "line-list",
    "imports",
    "syntax",
    "neighbouring",
)
SHIPPED = ("same-change", "line-merge")


# -- the checks -------------------------------------------------------------------------------


def keeps_lines(hunk: Hunk, answer: Answer) -> bool:
    """Every line either side added is there, none both kept is dropped, none is invented."""
    prepare: Callable[[Sequence[bytes]], tuple[bytes, ...]] = tuple
    if answer.normalize == "whitespace":
        prepare = squashed
    elif answer.normalize == "versions":
        prepare = skeleton
    base, ours, theirs = (Counter(prepare(x)) for x in (hunk.base, hunk.ours, hunk.theirs))
    result = Counter(prepare(answer.lines))
    added = (ours - base) | (theirs - base)
    kept = base & ours & theirs
    if (added | kept) - result:
        return False
    invented = result - (ours + theirs)
    return all(not line.strip() for line in invented)


def _whole_nodes(language: str, source: bytes, start: int, end: int) -> bool:
    """Whether bytes start..end (whitespace trimmed) are whole sibling syntax nodes."""
    text = source[start:end]
    start += len(text) - len(text.lstrip())
    end -= len(text) - len(text.rstrip())
    if start >= end:
        return True
    node = syntax.parser(language).parse(source).root_node
    while True:
        inner = None
        for child in node.children:
            if child.start_byte <= start and end <= child.end_byte and child != node:
                inner = child
                break
        if inner is None or (inner.start_byte == start and inner.end_byte == end):
            break
        node = inner
    starts = {child.start_byte for child in node.children}
    ends = {child.end_byte for child in node.children}
    if inner is not None and inner.start_byte == start and inner.end_byte == end:
        return True
    return start in starts and end in ends


# -- the engine -------------------------------------------------------------------------------


def _is_binary(data: bytes | None) -> bool:
    return data is not None and b"\0" in data[:8000]


def _overlap(hunk: Hunk) -> str:
    if not hunk.ours or not hunk.theirs:
        return "deletion vs edit"
    ours, theirs = changes(hunk.base, hunk.ours), changes(hunk.base, hunk.theirs)
    if hunk.base and not any(clash(o, t) for o in ours for t in theirs):
        return "neighbouring lines"
    return "same lines"


def grade(hunks: Sequence[Hunk], overlap: str | None = None) -> Grade:
    lines = sum(len(h.ours) + len(h.theirs) for h in hunks)
    if overlap is None:
        kinds_seen = {_overlap(h) for h in hunks}
        overlap = next(
            (
                k
                for k in ("deletion vs edit", "same lines", "neighbouring lines")
                if k in kinds_seen
            ),
            "same lines",
        )
    level = "easy" if len(hunks) <= 1 and lines <= 8 else "medium"
    if lines > 60 or len(hunks) > 5 or overlap == "whole file":
        level = "hard"
    return Grade(level, lines, len(hunks), overlap)


def _whole_file(reason: str, level: str = "hard") -> NeedsPerson:
    return NeedsPerson(Grade(level, 0, 1, "whole file"), reason)


@dataclass(frozen=True)
class Pass:
    """One pass of the rules over a file's chunks."""

    lines: list[bytes]
    blocks: list[tuple[int, int]]  # inserted blocks that must be whole syntax nodes
    used: list[str]  # the rule of each resolved hunk
    left: list[Hunk]  # hunks no rule resolved
    refused: list[str]  # rules that answered but failed the line check
    spans: list[tuple[int, int]]  # each resolved hunk's lines in the result


def _resolve_hunks(chunks: Sequence[Lines | Hunk], ctx: Context, rules: Sequence[str]) -> Pass:
    out: list[bytes] = []
    blocks: list[tuple[int, int]] = []
    used: list[str] = []
    left: list[Hunk] = []
    refused: list[str] = []
    spans: list[tuple[int, int]] = []
    for chunk in chunks:
        if not isinstance(chunk, Hunk):
            out.extend(chunk)
            continue
        for name in rules:
            rule = HUNK_RULES.get(name)
            if rule is None:
                continue
            answer = rule(chunk, ctx)
            if answer is None:
                continue
            if not keeps_lines(chunk, answer):
                refused.append(name)
                continue
            blocks.extend((len(out) + a, len(out) + b) for a, b in answer.blocks)
            spans.append((len(out), len(out) + len(answer.lines)))
            out.extend(answer.lines)
            used.append(name)
            break
        else:
            left.append(chunk)
            out.extend(chunk.ours)
    return Pass(out, blocks, used, left, refused, spans)


def _least_safe(used: Sequence[str]) -> str:
    return max(used, key=RULES.index)


def _fix_end(content: bytes, ours: bytes, theirs: bytes) -> bytes:
    # git merge-file ends a last line without a newline with one before its marker
    if ours and theirs and not ours.endswith(b"\n") and not theirs.endswith(b"\n"):
        if content.endswith(b"\r\n"):
            return content[:-2]
        if content.endswith(b"\n"):
            return content[:-1]
    return content


def resolve(
    path: str,
    base: bytes | None,
    ours: bytes | None,
    theirs: bytes | None,
    rules: Sequence[str] = SHIPPED,
) -> Outcome:
    """Resolve one conflicted path, or say why a person must, and how hard it is."""
    if ours == theirs:
        if "same-change" in rules:
            return Resolved(ours, "same-change", ("same-change",))
        return _whole_file("both sides made the same change", "easy")
    if ours is None or theirs is None:
        return _whole_file("one side deleted the file, the other changed it")
    if _is_binary(base) or _is_binary(ours) or _is_binary(theirs):
        return _whole_file("a binary file changed on both sides")
    chunks = diff3(base or b"", ours, theirs)
    hunks = [chunk for chunk in chunks if isinstance(chunk, Hunk)]
    if not hunks:
        if "line-merge" in rules:
            merged = b"".join(line for chunk in chunks for line in chunk)  # type: ignore[union-attr]
            return Resolved(_fix_end(merged, ours, theirs), "line-merge", ("line-merge",))
        return _whole_file("git's line merge is clean, but that rule is off", "easy")
    ctx = Context(path, kinds.kind(path), kinds.language(path), base is None)
    done = _resolve_hunks(chunks, ctx, rules)
    if done.left:
        overlap = grade(done.left).overlap
        reason = {
            "same lines": "both sides changed the same lines",
            "neighbouring lines": "both sides changed neighbouring lines",
            "deletion vs edit": "one side deleted lines the other changed",
        }[overlap]
        if base is None:
            reason = "both sides added the file with different contents"
        if done.refused:
            reason += f" (refused by the checks: {', '.join(sorted(set(done.refused)))})"
        return NeedsPerson(
            grade(done.left), reason, len(hunks) - len(done.left), tuple(done.refused)
        )
    content = _fix_end(b"".join(done.lines), ours, theirs)
    problem = _check_file(ctx, content, ours, theirs, done.lines, done.blocks, done.used)
    if problem is None and _resolve_hunks(chunks, ctx, rules) != done:
        problem = "the rules answered differently on a second run"
    if problem is not None:
        return NeedsPerson(grade(hunks), problem, 0, tuple(sorted(set(done.used))))
    return Resolved(content, _least_safe(done.used), tuple(done.used), tuple(done.spans))


def _check_file(
    ctx: Context,
    content: bytes,
    ours: bytes,
    theirs: bytes,
    lines: Sequence[bytes],
    blocks: Sequence[tuple[int, int]],
    used: Sequence[str],
) -> str | None:
    """Why the resolved file cannot be offered, or None."""
    language = ctx.language
    if language is None or ctx.kind != kinds.CODE:
        return None
    if not (syntax.parses(language, ours) and syntax.parses(language, theirs)):
        if any(rule in ("syntax", "neighbouring") for rule in used):
            return "a side does not parse, so a syntax-aware merge cannot be checked"
        return None
    if not syntax.parses(language, content):
        return "the merged file does not parse"
    names_o, names_t = syntax.member_names(language, ours), syntax.member_names(language, theirs)
    for name, count in syntax.member_names(language, content).items():
        if count > max(names_o[name], names_t[name]):
            return f"the merged file defines {b'.'.join(name).decode(errors='replace')} twice"
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line))
    for start, end in blocks:
        if not _whole_nodes(language, content, offsets[start], offsets[min(end, len(lines))]):
            return "an inserted block is not whole members of one container"
    return None


def split(data: bytes | None) -> Lines:
    """The lines of a content (none for a missing one)."""
    return split_lines(data or b"")
