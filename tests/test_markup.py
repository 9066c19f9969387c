"""The escaping functions, for any text: what CommonMark makes of their output is the text."""

from __future__ import annotations

import re
import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st
from markdown_it import MarkdownIt

from bot.markup import (
    WORD_JOINER,
    code,
    code_block,
    mention,
    mermaid_label,
    prose,
    shortened,
    visible,
)

MD = MarkdownIt("commonmark").enable("table")
PARAGRAPH = ["paragraph_open", "inline", "paragraph_close"]
BIDI_CONTROLS = {"LRE", "RLE", "LRO", "RLO", "PDF", "LRI", "RLI", "FSI", "PDI"}
# Text rich in what Markdown and terminals read: punctuation, spaces, controls, bidi.
NASTY = st.text(
    alphabet=st.sampled_from("ab1 `|\\*_~[]()<>!#@&$:-+=.\n\r\t\x1b\x00\u202e\u200b\u2028é")
    | st.characters(),
    max_size=60,
)


def inline(markdown: str) -> list:
    """The inline tokens of a one-paragraph document."""
    blocks = MD.parse(markdown)
    assert [t.type for t in blocks] == PARAGRAPH, markdown
    return blocks[1].children


@given(NASTY)
def test_visible_leaves_nothing_that_acts_or_hides(text):
    shown = visible(text)
    for char in shown:
        assert unicodedata.category(char) not in ("Cc", "Zl", "Zp"), repr(shown)
        assert unicodedata.bidirectional(char) not in BIDI_CONTROLS, repr(shown)
    assert visible(shown) == shown


def test_visible_says_which_character_it_hid():
    assert visible("a\nb\rc\td\x1b[2J\x00\x9b\u202e\u200b\U000e0041") == (
        "a\\nb\\rc\\td\\x1b[2J\\x00\\x9b\\u202e\\u200b\\U000e0041"
    )
    assert visible("a\nb\tc", keep="\n") == "a\nb\\tc"
    assert visible("Gül, 👩\u200d💻, می\u200cخواهم") == "Gül, 👩\u200d💻, می\u200cخواهم"


@given(NASTY)
def test_a_code_span_holds_the_text_and_nothing_else(text):
    tokens = inline(f"x {code(text)} y")
    assert [t.type for t in tokens] == ["text", "code_inline", "text"]
    assert tokens[1].content == (visible(shortened(text)) or " ")


@given(NASTY)
def test_a_code_span_in_a_table_cell_stays_in_its_cell(text):
    blocks = MD.parse(f"| a | b |\n|---|---|\n| {code(text, table=True)} | after |\n")
    cells = [t for t in blocks if t.type == "inline"][2:]
    assert len(cells) == 2 and cells[1].content == "after"
    assert [t.type for t in cells[0].children] == ["code_inline"]
    assert cells[0].children[0].content == (visible(shortened(text)) or " ")


@given(NASTY)
def test_prose_is_only_text_with_no_mention_or_reference(text):
    tokens = inline(f"x {prose(text)} y")
    assert all(t.type == "text" for t in tokens), [t.type for t in tokens]
    said = "".join(t.content for t in tokens)
    assert said.replace(WORD_JOINER, "") == f"x {visible(shortened(text))} y"
    assert all(said[i + 1] == WORD_JOINER for i, c in enumerate(said) if c in "@#")


@given(NASTY)
def test_prose_in_a_table_cell_stays_in_its_cell(text):
    blocks = MD.parse(f"| a | b |\n|---|---|\n| x {prose(text)} | after |\n")
    cells = [t for t in blocks if t.type == "inline"][2:]
    assert len(cells) == 2 and cells[1].content == "after"
    assert all(t.type == "text" for t in cells[0].children)


@pytest.mark.parametrize(
    "text",
    [
        "- item",
        "+ item",
        "1. first",
        "12. twelfth",
        "===",
        "> quote",
        " - item",
        "    code",
        "\t- x",
    ],
)
def test_prose_at_the_start_of_a_line_makes_no_block(text):
    assert [t.type for t in MD.parse(prose(text))] == PARAGRAPH


@given(NASTY)
def test_a_code_block_holds_the_text_and_nothing_else(text):
    blocks = MD.parse(f"{code_block(text)}\n\nafter\n")
    assert [t.type for t in blocks][:1] == ["fence"]
    assert blocks[0].content == visible(text, keep="\n") + "\n"
    assert blocks[-2].content == "after"


def test_a_long_name_keeps_its_start_and_end():
    name = "src/" + "x" * 10_000 + "/end.py"
    assert len(shortened(name)) == 200 and shortened(name).startswith("src/xx")
    assert shortened(name).endswith("x/end.py") and "…" in shortened(name)
    assert len(code(name)) == 202 and shortened("short") == "short"


def test_only_a_login_is_mentioned():
    assert mention("ada") == "@ada" and mention("bob-k2") == "@bob-k2"
    for not_a_login in ("dependabot[bot]", "-x", "a--b", "x" * 40, "acme/team", "a b", ""):
        assert not mention(not_a_login).startswith("@")


def test_a_mermaid_label_is_one_quoted_string():
    label = mermaid_label('x"] --> y["z\nw')
    assert label == "\"x'] --> y['z\\nw\"" and label.count('"') == 2


# GitHub's extended autolinks (GFM spec, "Autolinks (extension)"): markdown-it's CommonMark
# preset does not make them, so the rule is checked on the text itself.
EXTENDED_AUTOLINK = re.compile(r"(?i)(?:\b(?:https?|ftp)://|\bwww\.|[\w.+-]@[\w-]+\.\w)")


@pytest.mark.parametrize(
    "text",
    [
        "Security Team (re-authenticate at https://evil.example/login)",
        "see www.evil.example/login",
        "HTTPS://EVIL.EXAMPLE",
        "ftp://evil.example/x",
        "mail me: mallory@evil.example",
        "mailto:mallory@evil.example",
    ],
)
def test_prose_makes_no_bare_url_github_would_link(text):
    shown = prose(text)
    assert not EXTENDED_AUTOLINK.search(shown), shown
    assert shown.replace(WORD_JOINER, "").replace("\\", "") == text.replace("\\", "")


@given(st.text(alphabet=st.sampled_from("hts:/w.ep@xm a-"), max_size=40))
def test_prose_never_leaves_an_autolink(text):
    assert not EXTENDED_AUTOLINK.search(prose(text))
