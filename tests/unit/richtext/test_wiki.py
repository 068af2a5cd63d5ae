"""Jira wiki markup: parsing realistic Jira DC text, rendering, escaping and stable round trips."""

from __future__ import annotations

import pytest

from tests.unit.richtext.builders import doc, para, text
from tests.unit.richtext.corpus import schema_errors
from twinbridge.richtext import convert, from_canonical, plain_text, to_canonical
from twinbridge.richtext.model import Emoji, HardBreak, Image, Mark, Mention, Paragraph, Text

JIRA_DC_DESCRIPTION = """h2. Steps to reproduce
# Open the *admin* page
# Click _Save_ twice
## see [the log|https://ci.example.com/build/42]
# Ask [~jsmith] and [~accountid:5b10a2844c20165700ede21g]

||Env||Result||
|Chrome 120|+fails+ (x)|
|Firefox|works (/)|

{code:java}
if (a < b && c) { return *x*; }
{code}

{noformat}
raw *text*
{noformat}

{warning:title=Data loss}
Do -not- run on {{prod}}.
{warning}

bq. Quoted once

{quote}
Quoted block with H~2~O and E=mc^2^
{quote}
----
{color:#ff0000}Red{color} text \\\\ new line
!screenshot.png|thumbnail!
"""


def wiki_to_adf(source: str) -> dict:
    result = convert(source, "wiki", "adf")
    assert schema_errors(result.content) == []
    return result.content


def test_wiki_realistic_description_parses_to_valid_adf_with_expected_structure():
    adf = wiki_to_adf(JIRA_DC_DESCRIPTION)
    kinds = [n["type"] for n in adf["content"]]
    assert kinds == ["heading", "orderedList", "table", "codeBlock", "codeBlock", "panel", "blockquote",
                     "blockquote", "rule", "paragraph", "mediaSingle"]
    steps = adf["content"][1]["content"]
    assert steps[0]["content"][0]["content"] == [text("Open the "), text("admin", "strong"), text(" page")]
    nested = steps[1]["content"][1]
    assert nested["type"] == "orderedList"
    assert nested["content"][0]["content"][0]["content"][1] == text(
        "the log", {"type": "link", "attrs": {"href": "https://ci.example.com/build/42"}})
    assert steps[2]["content"][0]["content"][1:] == [
        {"type": "mention", "attrs": {"id": "jsmith"}}, text(" and "),
        {"type": "mention", "attrs": {"id": "5b10a2844c20165700ede21g"}}]
    table = adf["content"][2]["content"]
    assert [c["type"] for c in table[0]["content"]] == ["tableHeader", "tableHeader"]
    assert table[1]["content"][1]["content"][0]["content"][-1]["type"] == "emoji"
    assert adf["content"][3] == {"type": "codeBlock", "attrs": {"language": "java"},
                                 "content": [text("if (a < b && c) { return *x*; }")]}
    assert adf["content"][4] == {"type": "codeBlock", "content": [text("raw *text*")]}
    assert adf["content"][5]["attrs"] == {"panelType": "warning"}
    assert adf["content"][5]["content"][1]["content"] == [
        text("Do "), text("not", "strike"), text(" run on "), text("prod", "code"), text(".")]
    assert adf["content"][9]["content"] == [
        text("Red", {"type": "textColor", "attrs": {"color": "#ff0000"}}), text(" text "), {"type": "hardBreak"},
        text(" new line")]
    assert adf["content"][10]["content"][0]["attrs"] == {"type": "external", "url": "screenshot.png"}


def test_wiki_sub_and_superscript_parse_at_word_boundaries_only():
    parsed = to_canonical("H ~2~ O and x^2^", "wiki").document
    assert parsed.blocks[0].children == [Text("H "), Text("2", (Mark("sub"),)), Text(" O and x^2^")]


@pytest.mark.parametrize("literal", [
    "a*b* c", "*not bold*", "snake_case_name", "well-known - fine", "[brackets] {braces} |pipe|",
    "C:\\temp\\", "x \\\\ y", "h1. not a heading", "# not a list", "- not a list", "---- not a rule",
    "bq. not a quote", ":) (x) (/) not emoji", "!not image!", "{{not code}}", "??cite??", "&#65; entity",
    "-5 and +3", "~tilde~ ^caret^", "a\\b", "trailing \\",
])
def test_wiki_special_characters_in_text_survive_round_trip(literal):
    source = doc(para(text(literal)))
    wiki = convert(source, "adf", "wiki").content
    assert convert(wiki, "wiki", "adf").content == source, wiki


def test_wiki_marks_inside_words_use_braced_form():
    wiki = convert(doc(para(text("un"), text("believ", "strong"), text("able"))), "adf", "wiki").content
    assert wiki == "un{*}believ{*}able\n"
    assert plain_text(to_canonical(wiki, "wiki").document) == "unbelievable"


def test_wiki_render_is_stable_after_one_round_trip():
    first = convert(JIRA_DC_DESCRIPTION, "wiki", "wiki").content
    assert convert(first, "wiki", "wiki").content == first


def test_wiki_nested_mixed_lists_render_with_marker_prefixes():
    source = doc({"type": "bulletList", "content": [{"type": "listItem", "content": [
        para(text("one")), {"type": "orderedList", "content": [
            {"type": "listItem", "content": [para(text("one.a"))]}]}]}]})
    assert convert(source, "adf", "wiki").content == "* one\n*# one.a\n"


def test_wiki_mentions_render_as_account_id_and_report_the_name():
    result = from_canonical(to_canonical(doc(para({"type": "mention", "attrs": {"id": "abc", "text": "@Ann"}})),
                                         "adf").document, "wiki")
    assert result.content == "[~accountid:abc]\n"
    assert result.losses[0].kind == "mention-name" and result.losses[0].dropped == "@Ann"


def test_wiki_username_mention_stays_a_username():
    document = to_canonical("ping [~jsmith]", "wiki").document
    assert document.blocks[0].children[1] == Mention("jsmith", "", "username")
    assert from_canonical(document, "wiki").content == "ping [~jsmith]\n"


def test_wiki_emoticons_map_to_adf_emoji_and_back():
    document = to_canonical("ok (y) :)", "wiki").document
    assert document.blocks[0].children[1] == Emoji(":thumbsup:", "👍", "1f44d")
    assert from_canonical(document, "wiki").content == "ok (y) :)\n"


def test_wiki_unicode_emoji_without_emoticon_is_written_as_text():
    result = convert(doc(para({"type": "emoji", "attrs": {"shortName": ":rocket:", "text": "🚀"}})), "adf", "wiki")
    assert result.content == "🚀\n" and result.losses == []


def test_wiki_image_attributes_parse_and_render():
    document = to_canonical('!https://e.x/a.png|alt="A cat",width=300!', "wiki").document
    assert document.blocks[0].children == [Image(src="https://e.x/a.png", alt="A cat", width=300)]
    assert from_canonical(document, "wiki").content == '!https://e.x/a.png|alt="A cat",width=300!\n'


def test_wiki_adf_attachment_is_referenced_by_name_with_loss():
    source = doc({"type": "mediaSingle", "attrs": {"layout": "center"}, "content": [
        {"type": "media", "attrs": {"type": "file", "id": "f-1", "collection": "c", "alt": "diagram.png"}}]})
    result = convert(source, "adf", "wiki")
    assert result.content == "!diagram.png!\n" and result.losses[0].kind == "media-reference"


def test_wiki_quote_nested_in_quote_is_flattened_with_loss():
    source = doc({"type": "blockquote", "content": [para(text("outer"))]})
    document = to_canonical(source, "adf").document
    document.blocks[0].children.append(document.blocks[0])  # a quote inside itself, once
    inner = document.blocks[0].children.pop()
    document.blocks[0].children.append(type(inner)([Paragraph([Text("inner")])]))
    result = from_canonical(document, "wiki")
    assert result.content == "{quote}\nouter\n\ninner\n{quote}\n"
    assert result.losses[0].kind == "structure"


def test_wiki_list_item_with_code_block_flattens_to_inline_code_with_loss():
    source = doc({"type": "bulletList", "content": [{"type": "listItem", "content": [
        para(text("run")), {"type": "codeBlock", "content": [text("make test")]}]}]})
    result = convert(source, "adf", "wiki")
    assert result.content == "* run\\\\{{make test}}\n"
    assert result.losses[0].kind == "structure"


def test_wiki_hard_break_in_table_cell_stays_in_cell():
    document = to_canonical("|a\\\\b|c|", "wiki").document
    cell = document.blocks[0].rows[0].cells[0]
    assert cell.children[0].children == [Text("a"), HardBreak(), Text("b")]


def test_wiki_unclosed_macros_keep_their_text():
    document = to_canonical("{code}\nnever closed", "wiki").document
    assert plain_text(document) == "never closed"
