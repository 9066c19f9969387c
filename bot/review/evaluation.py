"""A pull request's verdict, check-run output and comment, built from figures by pure functions.

No I/O: the GitHub side fetches the pull request, runs the analyzers, calls these and posts
what they return, so that every text trunkguard writes is tested as text.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace

from analyzers.conflicts import Conflict
from analyzers.divergence import BranchReport
from analyzers.forecast import Forecast, PairForecast
from analyzers.resolve.records import Outcome, Resolved
from bot.github.records import CheckAction, CheckAnnotation, CheckRun, OpenPull
from bot.markup import code, prose, visible
from bot.policy import Policy
from bot.review.findings import (
    Annotation,
    Clash,
    Conclusion,
    Finding,
    clash_findings,
    trunk_findings,
)
from bot.text import DAY, humane_duration

CHECK_NAME = "trunkguard"  # the check run's name, which branch protection rules require
MARKER = "<!-- trunkguard:pr-comment -->"
RESOLVE_ACTION = "resolve"  # the button's identifier, sent back in check_run.requested_action
RESOLVE_LABEL = "Resolve conflicts"  # finds our one comment again, to edit it in place
MAX_ANNOTATIONS = 50  # GitHub takes at most 50 annotations in one check-run request
MAX_MARKDOWN = 65_000  # a summary and a comment take at most 65,535 characters on GitHub


@dataclass(frozen=True)
class PullRequest:
    """What the evaluation needs to know of a pull request."""

    number: int
    author: str
    branch: str  # the name of its entry in the scan and the forecast
    base: str
    draft: bool = False
    labels: tuple[str, ...] = ()

    @classmethod
    def of(cls, pull: OpenPull) -> PullRequest:
        """The pull request GitHub listed, as the evaluation sees it."""
        return cls(pull.number, pull.author, pull.head_ref, pull.base_ref, pull.draft, pull.labels)


@dataclass(frozen=True)
class Evaluation:
    """The check run trunkguard posts for one head commit: the title and `exempt` in plain
    text, the summary in Markdown."""

    conclusion: Conclusion
    title: str
    summary: str
    findings: tuple[Finding, ...]
    annotations: tuple[Annotation, ...]
    exempt: str | None = None  # why the pull request is exempt, if it is
    # what the "Resolve conflicts" button will do (None: no button): every conflict with the
    # base is one a machine resolves, the repository opted in and the App may push
    offer: str | None = None
    resolved_by: str | None = None  # the head is trunkguard's merge commit resolving conflicts


def clashes_for(
    branch: str,
    pairs: Sequence[PairForecast],
    pulls: Mapping[str, tuple[int, str]],
    pair_labels: Mapping[tuple[str, str, str], Outcome] | None = None,
) -> list[Clash]:
    """The forecast's conflicts between `branch` and other open pull requests.

    `pulls` maps a forecast entry's name to its pull request's number and author; pairs with
    a branch that is no open pull request are not this pull request's business.
    `pair_labels`: the engine's answers, by pair and path (resolve.labels).
    """
    known = pair_labels or {}
    out = []
    for pair in pairs:
        if branch not in (pair.a, pair.b):
            continue
        other = pair.b if pair.a == branch else pair.a
        if other in pulls:
            number, author = pulls[other]
            labels = {
                c.path: known[(pair.a, pair.b, c.path)]
                for c in pair.conflicts
                if (pair.a, pair.b, c.path) in known
            }
            out.append(Clash(number, author, pair.conflicts, pair.a == branch, labels))
    return out


def verdict(
    pull: PullRequest,
    entry: str,
    branch: BranchReport,
    predicted: Forecast,
    others: Mapping[str, tuple[int, str]],
    policy: Policy,
    release: Sequence[str] = (),
    labels: Mapping[tuple[str, str], Outcome] | None = None,
    pair_labels: Mapping[tuple[str, str, str], Outcome] | None = None,
) -> Evaluation:
    """Judge a pull request from its branch's figures and a forecast that holds its entry
    (`entry`: its name there); `others` as for clashes_for, `release` for exemption;
    `labels` and `pair_labels` the engine's answers (resolve.labels), where asked for."""
    on_trunk = next((t for t in predicted.with_trunk if t.branch == entry), None)
    clashes = clashes_for(entry, predicted.pairs, others, pair_labels)
    conflicts = on_trunk.conflicts if on_trunk else ()
    known = labels or {}
    trunk_labels = {c.path: known[(entry, c.path)] for c in conflicts if (entry, c.path) in known}
    return evaluate(pull, branch, conflicts, clashes, policy, release, trunk_labels)


def exemption(pull: PullRequest, policy: Policy, release: Sequence[str] = ()) -> str | None:
    """Say why a pull request is exempt from checks, or None when it is not; `release` are
    the globs of release lines, whose pull requests (a line merged back) are not feature work."""
    if pull.draft and policy.exempt.drafts:
        return "Draft pull request: not checked until it is ready for review"
    for pattern in release:
        if fnmatch.fnmatchcase(pull.branch, pattern):
            return f"Release line (matches '{visible(pattern)}'): not held to feature work's limits"
    for label in pull.labels:
        if label in policy.exempt.labels:
            return f"Exempt: labelled '{visible(label)}'"
    for pattern in policy.exempt.branches:
        if fnmatch.fnmatchcase(pull.branch, pattern):
            return f"Exempt: branch matches '{visible(pattern)}'"
    return None


def evaluate(
    pull: PullRequest,
    branch: BranchReport,
    trunk_conflicts: Sequence[Conflict],
    clashes: Sequence[Clash],
    policy: Policy,
    release: Sequence[str] = (),
    trunk_labels: Mapping[str, Outcome] | None = None,
) -> Evaluation:
    """Judge one pull request against its repository's policy (`release`: see exemption;
    `trunk_labels`: the engine's answer for each conflicted path with trunk)."""
    exempt = exemption(pull, policy, release)
    findings: list[Finding] = []
    annotations: list[Annotation] = []

    days = branch.age_seconds / DAY
    if policy.age.fail_days is not None and days > policy.age.fail_days:
        findings.append(
            Finding(
                Conclusion.FAILURE,
                f"Branch is {_days(branch.age_seconds)} old; "
                f"the limit is {policy.age.fail_days} days",
                about=f"age over {policy.age.fail_days} days",
            )
        )
    elif policy.age.warn_days is not None and days > policy.age.warn_days:
        findings.append(
            Finding(
                Conclusion.NEUTRAL,
                f"Branch is {_days(branch.age_seconds)} old; "
                f"land it within {policy.age.warn_days} days when you can",
                about=f"age over {policy.age.warn_days} days",
            )
        )
    behind = branch.behind
    for limit, level in (
        (policy.behind.fail_commits, Conclusion.FAILURE),
        (policy.behind.warn_commits, Conclusion.NEUTRAL),
    ):
        if limit is not None and behind > limit:
            said = "Branch is {} commits behind {}; the limit is {}"
            findings.append(
                Finding(
                    level,
                    said.format(behind, prose(pull.base), limit),
                    plain_title=said.format(behind, visible(pull.base), limit),
                    about=f"behind over {limit}",
                )
            )
            break

    for found, marks in (
        trunk_findings(pull.base, trunk_conflicts, trunk_labels or {}, policy),
        clash_findings(clashes, policy),
    ):
        findings += found
        annotations += marks

    if exempt is not None:
        conclusion, title = Conclusion.NEUTRAL, exempt
    elif findings:
        worst = max(findings, key=lambda f: f.conclusion is Conclusion.FAILURE)
        conclusion = worst.conclusion
        others = len(findings) - 1
        title = worst.heading + (f" (and {others} more)" if others else "")
    else:
        conclusion = Conclusion.SUCCESS
        title = (
            f"Branch is {_age(branch)}, {behind} commits behind {visible(pull.base)}: all is well"
        )
    return Evaluation(
        conclusion,
        title,
        _summary(branch, pull, findings, exempt),
        tuple(findings),
        tuple(annotations[:MAX_ANNOTATIONS]),
        exempt,
    )


def _days(seconds: int) -> str:
    """Say an age in the unit the policy's limits use: whole days (hours under a day)."""
    if seconds < DAY:
        return humane_duration(seconds)
    days = seconds // DAY
    return f"{days} day{'s' if days != 1 else ''}"


def _age(branch: BranchReport) -> str:
    return "integrated" if branch.integrated else f"{_days(branch.age_seconds)} old"


def _summary(
    branch: BranchReport, pull: PullRequest, findings: Sequence[Finding], exempt: str | None
) -> str:
    base = prose(pull.base)
    lines = [
        f"| age | behind {base} | ahead | files changed | files {base} changed too |",
        "| --- | --- | --- | --- | --- |",
        f"| {_age(branch)} | {branch.behind} | {branch.ahead} | "
        f"{'?' if branch.files_changed is None else branch.files_changed} | "
        f"{'?' if branch.overlap_files is None else len(branch.overlap_files)} |",
    ]
    if exempt is not None:
        lines += ["", f"{prose(exempt)}."]
    if findings:
        lines += ["", *(f"- {'❌' if f.conclusion is Conclusion.FAILURE else '⚠️'} {f.text}"
                        for f in findings)]  # fmt: skip
    return _fitted(lines)


def _fitted(lines: list[str]) -> str:
    """Join lines of Markdown, leaving out the last whole lines past what GitHub takes."""
    text = "\n".join(lines)
    if len(text) <= MAX_MARKDOWN:
        return text
    kept = text[:MAX_MARKDOWN].rpartition("\n")[0]
    left = text.count("\n") - kept.count("\n")
    return f"{kept}\n\n… and {left} more lines"


def comment_body(pull: PullRequest, evaluation: Evaluation, when: str) -> str | None:
    """Return the one comment to keep on the pull request, or None for no comment at all.

    With `when` "problems" there is a comment only while there is something to act on;
    "always" keeps one on every pull request; "never" none. The hidden marker finds it again.
    """
    if when == "never" or evaluation.exempt is not None:
        return None
    if not evaluation.findings:
        if when != "always":
            return None
        return f"{MARKER}\n**trunkguard**: all is well. {prose(evaluation.title)}."
    lines = [MARKER, f"**trunkguard** found something to act on in #{pull.number}:", ""]
    lines += [f"- {finding.text}" for finding in evaluation.findings]
    if evaluation.resolved_by:
        lines += ["", f"Conflicts resolved by trunkguard in {code(evaluation.resolved_by[:10])}."]
    lines += ["", "_This comment is kept up to date; it changes when the branch does._"]
    return _fitted(lines)


def resolved_body(resolved_by: str | None = None) -> str:
    """The comment's text once all is well again (policy `comment.resolved: edit`); with
    `resolved_by`, the merge commit trunkguard pushed to get there.

    It says no figures: they change with every push, and the check run shows them live.
    """
    by = f" by trunkguard in {code(resolved_by[:10])}" if resolved_by else ""
    return (
        f"{MARKER}\n**trunkguard**: resolved{by} — nothing to act on now. "
        "The `trunkguard` check shows the branch's figures."
    )


def check_run(evaluation: Evaluation, head_sha: str, external_id: str | None = None) -> CheckRun:
    """Return the check run that says `evaluation` on `head_sha` (`external_id`: our digest of
    its verdict, to find it again)."""
    return CheckRun(
        CHECK_NAME,
        head_sha,
        str(evaluation.conclusion),
        evaluation.title,
        evaluation.summary,
        annotations=tuple(
            CheckAnnotation(a.path, a.start_line, a.end_line, a.level, a.message)
            for a in evaluation.annotations
        ),
        external_id=external_id,
        actions=(
            (CheckAction(RESOLVE_LABEL, evaluation.offer, RESOLVE_ACTION),)
            if evaluation.offer
            else ()
        ),
    )


def resolve_offer(
    evaluation: Evaluation,
    conflicts: Sequence[Conflict],
    labels: Mapping[str, Outcome],
    offered: Callable[[], bool],
) -> Evaluation:
    """The evaluation with the "Resolve conflicts" button, where a machine resolves every
    conflict with the base and `offered` (the repository opted in and the App may push there:
    asked last, as it may ask GitHub)."""
    if evaluation.exempt is not None or not conflicts:
        return evaluation
    if not all(isinstance(labels.get(c.path), Resolved) for c in conflicts):
        return evaluation
    if not offered():
        return evaluation
    count = len(conflicts)
    said = f"Merge the base in, resolving {count} file{'s' if count != 1 else ''}"
    return replace(evaluation, offer=said[:40])
