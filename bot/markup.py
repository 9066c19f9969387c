"""Text from git or a payload inside what trunkguard writes: one escaping function per format.

Anyone who can open a pull request from a fork chooses branch names, paths and author names.
`visible` shows their control characters instead of obeying them (terminals, plain-text
fields); `code`, `code_block` and `prose` put them in Markdown where they can format, link or
mention nothing (CommonMark as GitHub extends it: tables, autolinked @mentions and #refs);
`mention` names a GitHub login; `mermaid_label` quotes a chart label.
"""

from __future__ import annotations

import re

# Characters that move the cursor, clear or retitle a terminal, reorder what follows (bidi
# overrides and isolates, as in "Trojan Source"), or show nothing at all: C0, DEL, C1, line and
# paragraph separators, the invisible format characters. The zero-width (non-)joiners U+200C and
# U+200D are left alone: Persian names and emoji sequences need them.
_HIDDEN = re.compile(
    "[\x00-\x1f\x7f-\x9f\xad\u061c\u180e\u200b\u200e\u200f\u2028-\u202e"
    "\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb\U000e0000-\U000e007f]"
)
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
_BACKTICKS = re.compile("`+")
# Backslash-escaped in Markdown text: emphasis, code, links and images, raw HTML and
# autolinks, entities, table cells, headings, strikethrough, math.
_PUNCTUATION = re.compile(r"([\\`*_~\[\]()<>|#!&$])")
# A list item, a setext underline or (indented) a code block, if first on a line.
_LINE_START = re.compile(r"( *)([-+=]|\d+(?=\.))?")
_GH_REFERENCE = re.compile(r"(?i)\bgh-(?=\d)")  # GitHub links GH-123 like #123
# GitHub autolinks bare URLs and www. names in rendered text (its "extended autolinks"): a
# word joiner after the scheme or the "www" breaks the link and shows the same characters.
_AUTOLINK = re.compile(r"(?i)\b(?:[a-z][a-z0-9+.-]*(?=:/)|www(?=\.)|mailto(?=:)|xmpp(?=:))")
_LOGIN = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}")
WORD_JOINER = "\u2060"  # after '@' and '#': GitHub then sees no mention and no reference
LONGEST = 200  # characters of a name shown in Markdown; longer ones keep their start and end


def _escape(char: str) -> str:
    code = ord(char)
    if char in _NAMED:
        return _NAMED[char]
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def visible(text: str, keep: str = "") -> str:
    """Show control, bidi and invisible characters as escapes (ESC as \\x1b, a newline as \\n)
    instead of letting them act; characters in `keep` stay as they are."""
    return _HIDDEN.sub(lambda m: m[0] if m[0] in keep else _escape(m[0]), text)


def shortened(text: str, most: int = LONGEST) -> str:
    """Cut `text` longer than `most` characters to its start and end around an ellipsis."""
    if len(text) <= most:
        return text
    tail = (most - 1) // 2
    return text[: most - 1 - tail] + "…" + text[len(text) - tail :]


def _fence(text: str, least: int) -> str:
    return "`" * max(least, max(map(len, _BACKTICKS.findall(text)), default=0) + 1)


def code(text: str, table: bool = False) -> str:
    """Return a name or path as a Markdown code span that nothing inside can close or break
    (`table`: it stands in a table cell, where GitHub splits cells at every unescaped '|')."""
    shown = visible(shortened(text))
    if table:
        shown = shown.replace("|", "\\|")
    fence = _fence(shown, 1)
    # CommonMark strips one space from each end of a span that begins and ends with one: pad
    # then, and when a backtick would otherwise touch the fence.
    padded = shown[:1] == shown[-1:] == " " and shown.strip(" ")
    if shown[:1] == "`" or shown[-1:] == "`" or padded:
        shown = f" {shown} "
    return f"{fence}{shown or ' '}{fence}"


def code_block(text: str, most: int = 2000) -> str:
    """Return text of several lines as a fenced Markdown code block that no line can close."""
    shown = visible(shortened(text, most), keep="\n")
    fence = _fence(shown, 3)
    return f"{fence}\n{shown}\n{fence}"


def prose(text: str) -> str:
    """Return text as Markdown that formats, links, embeds and mentions nothing: an author's
    name, a commit's summary, a sentence of ours with names in it."""
    shown = _PUNCTUATION.sub(r"\\\1", visible(shortened(text)))
    start = _LINE_START.match(shown)
    if start and start[2]:  # "- x" and "1. x" escaped as "\- x" and "1\. x"
        at = start.end() - len(start[2]) if start[2] in "-+=" else start.end()
        shown = shown[:at] + "\\" + shown[at:]
    # Leading spaces would indent a code block: they are said as entities, last of all.
    indent = len(start[1]) if start else 0
    shown = shown[indent:]
    shown = _AUTOLINK.sub(lambda m: m[0] + WORD_JOINER, shown)
    # GitHub links @login, #123 and GH-123 in rendered text, after backslash escapes are gone.
    shown = _GH_REFERENCE.sub(lambda m: m[0] + WORD_JOINER, shown)
    shown = shown.replace("@", "@" + WORD_JOINER).replace("#", "#" + WORD_JOINER)
    return "&#32;" * indent + shown


def mention(login: str) -> str:
    """Mention a GitHub user in Markdown; anything that is not a login is said, not mentioned."""
    return f"@{login}" if _LOGIN.fullmatch(login) else prose(login)


def mermaid_label(text: str) -> str:
    """Return a label for a Mermaid chart: one line, in double quotes, with none inside."""
    return '"' + visible(text).replace('"', "'").replace("`", "'") + '"'
