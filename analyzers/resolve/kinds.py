"""What kind of file a path is, for the rules: a changelog, a line list, code in a language."""

from __future__ import annotations

import posixpath
import re

CHANGELOG = "changelog"
LINE_LIST = "line-list"
CODE = "code"
OTHER = "other"

_CHANGELOG = re.compile(
    r"^(changelog|changes|news|history|release[-_ ]?notes|releasenotes|whatsnew|whats[-_]new)"
    r"([-_.][\w.-]*)?$",
    re.IGNORECASE,
)
_LIST_NAMES = {
    ".gitignore",
    ".dockerignore",
    ".npmignore",
    ".eslintignore",
    ".prettierignore",
    ".hgignore",
    "codeowners",
    "manifest.in",
    ".mailmap",
    "authors",
    "contributors",
    "constraints.txt",
}
_REQUIREMENTS = re.compile(r"^requirements([-_.][\w.-]*)?\.(txt|in)$", re.IGNORECASE)
LANGUAGES = {
    ".py": "python",
    ".pyi": "python",
    ".rb": "ruby",
    ".rake": "ruby",
    ".gemspec": "ruby",
    ".go": "go",
    ".js": "javascript",
    ".mjs": "javascript",
    ".cjs": "javascript",
    ".jsx": "javascript",
    ".ts": "typescript",
    ".tsx": "tsx",
    ".java": "java",
    ".c": "c",
    ".h": "c",
}
_RUBY_NAMES = {"gemfile", "rakefile", "guardfile", "podfile", "fastfile"}


def language(path: str) -> str | None:
    """The tree-sitter language of a path's name, or None."""
    name = posixpath.basename(path)
    if name.lower() in _RUBY_NAMES:
        return "ruby"
    return LANGUAGES.get(posixpath.splitext(name)[1].lower())


def kind(path: str) -> str:
    """CHANGELOG, LINE_LIST, CODE or OTHER, from the path alone."""
    name = posixpath.basename(path)
    lower = name.lower()
    folder = posixpath.dirname(path).lower()
    if _CHANGELOG.match(name) or (
        lower.endswith((".md", ".rst", ".txt", ".adoc"))
        and re.search(r"(^|/)(relnotes|release[-_]?notes|changelogs?|changes)(/|$)", folder)
    ):
        return CHANGELOG
    if lower in _LIST_NAMES or _REQUIREMENTS.match(name) or lower.endswith(".gitignore"):
        return LINE_LIST
    if language(path) is not None:
        return CODE
    return OTHER


def file_type(path: str) -> str:
    """A short label for reports per file type: the extension, or the name if it has none."""
    name = posixpath.basename(path)
    ext = posixpath.splitext(name)[1].lower()
    if kind(path) == CHANGELOG:
        return "changelog"
    return ext or name.lower()
