"""ADF parsing and rendering: constructs, schema rules, and degradations with losses."""

from __future__ import annotations

from tests.unit.richtext.builders import bullet, doc, link, mention, ordered, para, text
from tests.unit.richtext.corpus import schema_errors
from twinbridge.richtext import convert, from_canonical, plain_text, to_canonical
from twinbridge.richtext.model import (
    CodeBlock,
    Document,
    Heading,
    Image,
    ListBlock,
    ListItem,
    Mark,
    Panel,
    Paragraph,
    Quote,
    Table,
    TableCell,
    TableRow,
    Text,
)


def render(*blocks) -> tuple[dict, list]:
    result = from_canonical(Document(list(blocks)), "adf")
    assert schema_errors(result.content) == []
    return result.content, result.losses


def test_adf_heading_levels_survive_round_trip_unchanged():
    source = doc(*[{"type": "heading", "attrs": {"level": n}, "content": [text(f"H{n}")]} for n in range(1, 7)])
    result = convert(source, "adf", "adf")
    assert result.content == source and result.losses == []


def test_adf_nested_lists_round_trip_unchanged():
    source = doc(bullet([para(text("a")), ordered([para(text("a.1"))], [para(text("a.2"))])], [para(text("b"))]))
    assert convert(source, "adf", "adf").content == source


def test_adf_code_mark_with_strong_drops_strong_and_reports_it():
    content, losses = render(Paragraph([Text("x()", (Mark("code"), Mark("strong"), Mark("link", "https://e.x")))]))
    node = content["content"][0]["content"][0]
    assert node["marks"] == [{"type": "link", "attrs": {"href": "https://e.x"}}, {"type": "code"}]
    assert [loss.kind for loss in losses] == ["mark"] and "strong" in losses[0].detail


def test_adf_empty_text_and_empty_containers_are_never_emitted():
    content, _ = render(
        Paragraph([Text("")]), Quote([]), ListBlock(False, [ListItem([])]),
        Table([TableRow([TableCell([], header=True)])]), Panel("info", []),
    )
    assert "'text': ''" not in str(content)
    assert content["content"][1] == {"type": "blockquote", "content": [{"type": "paragraph"}]}
    header = content["content"][3]["content"][0]["content"][0]
    assert header == {"type": "tableHeader", "content": [{"type": "paragraph"}]}


def test_adf_heading_inside_list_item_becomes_bold_paragraph_with_loss():
    content, losses = render(ListBlock(False, [ListItem([Heading(2, [Text("Title")])])]))
    item = content["content"][0]["content"][0]["content"][0]
    assert item == {"type": "paragraph", "content": [text("Title", "strong")]}
    assert losses[0].kind == "structure" and "Heading" in losses[0].detail


def test_adf_panel_and_table_inside_quote_degrade_visibly_and_validly():
    quote = Quote([Panel("warning", [Paragraph([Text("careful")])]),
                   Table([TableRow([TableCell([Paragraph([Text("a")])]), TableCell([Paragraph([Text("b")])])])])])
    content, losses = render(quote)
    paragraphs = content["content"][0]["content"]
    assert paragraphs[0]["content"] == [text("Warning:", "strong"), text(" "), text("careful")]
    assert paragraphs[1]["content"] == [text("a"), text(" | "), text("b")]
    assert {loss.kind for loss in losses} == {"structure"} and len(losses) == 2


def test_adf_wiki_panel_title_becomes_bold_first_paragraph_with_loss():
    content, losses = render(Panel("tip", [Paragraph([Text("body")])], title="Hint"))
    assert content["content"][0]["attrs"] == {"panelType": "tip"}
    assert content["content"][0]["content"][0]["content"] == [text("Hint", "strong")]
    assert losses[0].kind == "panel"


def test_adf_plain_wiki_panel_maps_to_info_panel_with_loss():
    content, losses = render(Panel("panel", [Paragraph([Text("x")])]))
    assert content["content"][0]["attrs"] == {"panelType": "info"} and losses[0].kind == "panel"


def test_adf_image_in_text_splits_paragraph_around_media_single():
    content, _ = render(Paragraph([Text("before "), Image(src="https://e.x/a.png", alt="A"), Text(" after")]))
    assert [n["type"] for n in content["content"]] == ["paragraph", "mediaSingle", "paragraph"]
    assert content["content"][1]["content"][0]["attrs"] == {"type": "external", "url": "https://e.x/a.png", "alt": "A"}


def test_adf_file_media_keeps_id_type_and_collection():
    source = doc({"type": "mediaSingle", "attrs": {"layout": "center"}, "content": [
        {"type": "media", "attrs": {"type": "file", "id": "abc-1", "collection": "jira-1-2"}}]})
    assert convert(source, "adf", "adf").content == source


def test_adf_colour_marks_are_normalised_or_dropped_with_loss():
    content, losses = render(Paragraph([Text("r", (Mark("color", "#F00"),)), Text("x", (Mark("color", "tomato?"),))]))
    nodes = content["content"][0]["content"]
    assert nodes[0]["marks"] == [{"type": "textColor", "attrs": {"color": "#ff0000"}}]
    assert "marks" not in nodes[1] and losses[0].kind == "mark"


def test_adf_unknown_node_keeps_its_text_and_reports_it():
    source = doc({"type": "fancyWidget", "content": [para(text("keep me"))]},
                 para(text("a "), {"type": "sparkle", "text": "inline kept"}))
    parsed = to_canonical(source, "adf")
    assert plain_text(parsed.document) == "keep me\na inline kept"
    assert [loss.kind for loss in parsed.losses] == ["unknown-node", "unknown-node"]


def test_adf_status_date_and_card_render_as_text_in_wiki_with_losses():
    source = doc(para(
        {"type": "status", "attrs": {"text": "IN PROGRESS", "color": "blue"}}, text(" due "),
        {"type": "date", "attrs": {"timestamp": "1582156800000"}}, text(" see "),
        {"type": "inlineCard", "attrs": {"url": "https://e.x/1"}},
    ))
    result = convert(source, "adf", "wiki")
    assert result.content == "*\\[IN PROGRESS\\]* due 2020-02-20 see [https://e.x/1]\n"
    assert [loss.kind for loss in result.losses] == ["status", "date", "inlineCard"]
    assert convert(source, "adf", "adf").content == source


def test_adf_task_and_decision_lists_degrade_to_marked_bullets_in_wiki():
    source = doc(
        {"type": "taskList", "attrs": {"localId": "t"}, "content": [
            {"type": "taskItem", "attrs": {"localId": "1", "state": "DONE"}, "content": [text("ship")]},
            {"type": "taskItem", "attrs": {"localId": "2", "state": "TODO"}, "content": [text("test")]}]},
        {"type": "decisionList", "attrs": {"localId": "d"}, "content": [
            {"type": "decisionItem", "attrs": {"localId": "3", "state": "DECIDED"}, "content": [text("go")]}]},
    )
    result = convert(source, "adf", "wiki")
    assert result.content == "* \\[x\\] ship\n* \\[ \\] test\n\n* Decision: go\n"
    assert [loss.kind for loss in result.losses] == ["task-list", "decision-list"]
    assert convert(source, "adf", "adf").content == source


def test_adf_expand_keeps_title_and_body_everywhere():
    source = doc({"type": "expand", "attrs": {"title": "More"}, "content": [para(text("hidden"))]})
    assert convert(source, "adf", "adf").content == source
    wiki = convert(source, "adf", "wiki")
    assert wiki.content == "*More*\n\nhidden\n" and wiki.losses[0].kind == "expand"


def test_adf_mentions_and_links_round_trip_unchanged():
    source = doc(para(mention("5b10a2844c20165700ede21g", "@Ann"), text(" see "), text("docs", link("https://e.x"))))
    assert convert(source, "adf", "adf").content == source


def test_adf_hard_break_round_trips_through_every_format():
    source = doc(para(text("line one"), {"type": "hardBreak"}, text("line two")))
    for via in ("wiki", "html"):
        there = convert(source, "adf", via)
        assert convert(there.content, via, "adf").content == source, via


def test_adf_code_block_language_round_trips_through_every_format():
    source = doc({"type": "codeBlock", "attrs": {"language": "python"}, "content": [text("print('*hi*')\n  x = {1}")]})
    for via in ("wiki", "html"):
        there = convert(source, "adf", via)
        assert convert(there.content, via, "adf").content == source, via


def test_adf_table_header_cells_round_trip_through_every_format():
    row = lambda kind, *values: {"type": "tableRow", "content": [  # noqa: E731
        {"type": kind, "content": [para(text(v))]} for v in values]}
    source = doc({"type": "table", "content": [row("tableHeader", "Key", "Value"), row("tableCell", "a|b", "[c]")]})
    for via in ("wiki", "html"):
        there = convert(source, "adf", via)
        assert convert(there.content, via, "adf").content == source, via


def test_adf_marks_combination_round_trips_through_every_format():
    source = doc(para(
        text("bold italic", "strong", "em"), text(" "), text("under", "underline"), text(" "),
        text("gone", "strike"), text(" H"), text("2", {"type": "subsup", "attrs": {"type": "sub"}}), text("O "),
        text("red", {"type": "textColor", "attrs": {"color": "#ff0000"}}), text(" "), text("f()", "code"),
    ))
    for via in ("wiki", "html"):
        there = convert(source, "adf", via)
        back = convert(there.content, via, "adf")
        assert back.content == source, (via, there.content)


def test_adf_canonical_model_is_usable_directly():
    document = Document([CodeBlock("x", "go")])
    assert from_canonical(document, "wiki").content == "{code:go}\nx\n{code}\n"
