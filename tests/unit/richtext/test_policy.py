"""The content policy for partner content: URLs, short texts, file names, and the canonical tree rebuilt so that
nothing active (script links, remote images, mentions, extensions) and nothing mistyped reaches a renderer."""

from __future__ import annotations

import pytest

from tests.unit.richtext.corpus import schema_errors, valid_documents
from twinbridge.richtext import from_canonical, plain_text, to_canonical
from twinbridge.richtext.model import (
    Atom,
    CodeBlock,
    Document,
    Emoji,
    Expand,
    HardBreak,
    Heading,
    Image,
    ListBlock,
    ListItem,
    Mark,
    Mention,
    Panel,
    Paragraph,
    Quote,
    Rule,
    Table,
    TableCell,
    TableRow,
    TaskItem,
    TaskList,
    Text,
)
from twinbridge.richtext.policy import clean_line, partner_content, safe_filename, safe_url
from twinbridge.richtext.serialize import from_json, to_json


def walk(node: object) -> list[object]:
    """Every node of a canonical tree (blocks, inlines, marks), depth first."""
    found: list[object] = [node]
    for value in vars(node).values() if hasattr(node, "__dict__") else []:
        for child in value if isinstance(value, (list, tuple)) else []:
            found += walk(child)
    return found


@pytest.mark.parametrize("url", [
    "https://acme.test/x?y=1#z", "http://acme.test", "HTTPS://ACME.TEST/", "mailto:ana@acme.test",
    "  https://acme.test/padded  ", "https://[::1]:8443/v6",
])
def test_safe_url_accepts_absolute_http_https_and_mailto(url):
    assert safe_url(url) == url.strip()


@pytest.mark.parametrize("url", [
    "javascript:alert(1)", "JAVASCRIPT:alert(1)", "java\tscript:alert(1)", "\x01javascript:alert(1)",
    "data:text/html,<script>", "vbscript:msgbox", "file:///etc/passwd", "ftp://acme.test/", "jira:open",
    "/secure/Admin.jspa", "//evil.test/x", "#top", "acme.test/page", "https:evil.test", "https://", "mailto:",
    "https://acme.test/a b", "https://acme.test/\u202e", "https://[::1/", "", None, 42,
], ids=repr)
def test_safe_url_refuses_every_other_scheme_relative_and_obfuscated_urls(url):
    assert safe_url(url) is None


@pytest.mark.parametrize(("text", "limit", "expected"), [
    ("Ana Pérez", 80, "Ana Pérez"),
    ("Mallory\n\n**Ana Pérez (acme) wrote:**", 80, "Mallory **Ana Pérez (acme) wrote:**"),
    ("a\u202ab\u202bc\u202cd\u202de\u202ef\u2066g\u2067h\u2068i\u2069j", 80, "abcdefghij"),
    ("zero\u200bwidth\u200c\u200d\u2060\ufeff", 80, "zerowidth"),
    ("bell\x07 esc\x1b[2J del\x7f c1\x9b", 80, "bell esc[2J del c1"),
    ("\ud800lone surrogate", 80, "lone surrogate"),
    ("tab\tand\u00a0nbsp\u2028line\u2029para", 80, "tab and nbsp line para"),
    ("abcdefghij", 5, "abcd…"),
    ("abcd efghij", 6, "abcd…"),
    (None, 80, ""),
], ids=["plain", "newlines", "bidi", "zero-width", "controls", "surrogate", "separators", "bounded",
        "bounded-at-space", "not-text"])
def test_clean_line_gives_one_visible_bounded_line(text, limit, expected):
    assert clean_line(text, limit) == expected


def test_clean_line_without_ellipsis_only_cuts():
    assert clean_line("abcdefghij", 5, ellipsis=False) == "abcde"


def test_safe_filename_never_contains_separators_parent_references_or_controls():
    hostile = ["../" * 5 + "x", "..\\..\\x", "a/../../b", ".hidden", "x\x00.txt", "\u202egnp.exe", "CON", ". .",
               "a" * 1000, "x." + "y" * 300]
    for name in hostile:
        safe = safe_filename(name)
        assert safe and len(safe) <= 200
        assert "/" not in safe and "\\" not in safe and ".." not in safe and not safe.startswith(".")
        assert clean_line(safe, 200, ellipsis=False) == safe


# --------------------------------------------------------------------------------------------------- the tree

BENIGN = Document([
    Heading(2, [Text("Steps", (Mark("strong"),))]),
    Paragraph([Text("see "), Text("docs", (Mark("link", "https://docs.acme.test", "Docs"), Mark("em"))),
               HardBreak(), Text("red", (Mark("color", "#ff0000"),)), Emoji(":smile:", "😄", "1f604"),
               Atom("status", "DONE", {"text": "DONE", "color": "green"}),
               Atom("date", "2024-05-01", {"timestamp": "1714521600000"}),
               Atom("inlineCard", "https://acme.test/card", {"url": "https://acme.test/card"})]),
    ListBlock(True, [ListItem([Paragraph([Text("one")]), ListBlock(False, [ListItem([Paragraph([Text("a")])])])])],
              start=3),
    TaskList([TaskItem([Text("todo")], done=True, id="t-1")], "task", "tl-1"),
    CodeBlock("print(1)\n\tindented", "python"),
    Quote([Paragraph([Text("quoted")])]),
    Panel("warning", [Paragraph([Text("careful")])], title="Heads up"),
    Table([TableRow([TableCell([Paragraph([Text("h")])], header=True, colspan=2)])]),
    Rule(),
    Expand("More", [Paragraph([Text("hidden")])]),
])


def test_benign_partner_document_passes_the_policy_unchanged_and_without_losses():
    policed = partner_content(from_json(to_json(BENIGN)))

    assert policed.document == BENIGN
    assert policed.losses == []


def test_policy_output_has_no_mention_image_unsafe_link_or_foreign_node():
    document = Document([
        Paragraph([Mention("557058:abc", "@Root"), Image(src="https://x.test/p.gif"), Text("t", (Mark("link", "data:x"),)),
                   Atom("inlineExtension", "[ext]", {"extensionKey": "k"}), Atom("inlineCard", "vbscript:x", {})]),
        ListBlock(False, [ListItem([Paragraph([Image(media_id="m-1", collection="c")])])]),
        Table([TableRow([TableCell([Heading(1, [Mention("x")])])])]),
    ])

    policed = partner_content(from_json(to_json(document)))

    nodes = walk(policed.document)
    assert not [n for n in nodes if isinstance(n, (Mention, Image))]
    assert not [n for n in nodes if isinstance(n, Atom)]
    assert not [n for n in nodes if isinstance(n, Mark) and n.kind == "link"]
    assert plain_text(policed.document) == "@Root [image: p.gif]t[ext]vbscript:x\n[image]\n@unknown user"
    assert sorted(loss.kind for loss in policed.losses) == [
        "extension", "image", "image", "mention", "mention", "unsafe-link", "unsafe-link"]


def test_foreign_node_types_and_values_in_the_partner_json_are_dropped_or_reset():
    raw = {"t": "Document", "v": 1, "blocks": [
        {"t": "Paragraph", "children": [{"t": "Paragraph", "children": []}, {"t": "Text", "text": 7},
                                        {"t": "Text", "text": "ok", "marks": [{"t": "Mark", "kind": ["strong"]},
                                                                               {"t": "Mark", "kind": "blink"}]}]},
        {"t": "Panel", "kind": "<script>", "title": "t\u202e\nx", "children": "not a list"},
        {"t": "TaskList", "kind": "decision", "id": "</id>", "items": [{"t": "TaskItem", "done": "yes"}]},
        {"t": "CodeBlock", "text": "x", "language": "py\"><script>"},
        {"t": "ListItem", "children": []},
    ]}

    policed = partner_content(from_json(raw))

    assert policed.document == Document([
        Paragraph([Text("ok")]),
        Panel("info", [], title="t x"),
        TaskList([TaskItem([], done=False, id="")], "decision", ""),
        CodeBlock("x", None),
    ])
    assert {loss.kind for loss in policed.losses} == {"unknown-node", "mark", "panel"}


def test_deeply_nested_partner_content_is_flattened_and_still_valid_adf():
    node: Quote | Paragraph = Paragraph([Text("bottom")])
    for _ in range(60):
        node = Quote([node])  # type: ignore[list-item]

    policed = partner_content(from_json(to_json(Document([node]))))

    assert "bottom" in plain_text(policed.document)
    assert [loss.kind for loss in policed.losses] == ["structure"]
    assert schema_errors(from_canonical(policed.document, "adf").content) == []


def test_every_corpus_document_stays_schema_valid_adf_after_the_policy():
    failures, active = {}, {}
    for corpus_doc in valid_documents():
        document = to_canonical(corpus_doc.adf, "adf").document
        policed = partner_content(from_json(to_json(document))).document
        adf = from_canonical(policed, "adf").content
        if errors := schema_errors(adf):
            failures[corpus_doc.name] = errors[:3]
        if [n for n in walk(policed) if isinstance(n, (Mention, Image))]:
            active[corpus_doc.name] = True
    assert failures == {} and active == {}


def test_missing_required_field_in_partner_json_is_a_value_error():
    with pytest.raises(ValueError, match="Heading lacks a required field"):
        from_json({"t": "Document", "v": 1, "blocks": [{"t": "Heading"}]})


def test_images_side_by_side_stay_apart_and_emoji_sequences_keep_their_joiners():
    document = Document([Paragraph([Image(src="https://x.test/a.png"), Image(alt="b"),
                                    Emoji(":family:", "👨\u200d👩\u200d👧\u202e")])])

    policed = partner_content(from_json(to_json(document)))

    assert policed.document == Document([Paragraph([Text("[image: a.png]"), Text(" "), Text("[image: b]"),
                                                    Emoji(":family:", "👨\u200d👩\u200d👧")])])


def test_line_endings_are_normalized_without_a_loss_and_real_controls_are_counted():
    policed = partner_content(Document([Paragraph([Text("a\r\nb\rc"), Text("d\x00\x1be")])]))

    assert plain_text(policed.document) == "a\nb\ncde"
    assert [loss.detail for loss in policed.losses] == ["2 invisible control character(s) removed from the text"]
