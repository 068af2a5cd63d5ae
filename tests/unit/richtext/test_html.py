"""HTML for Azure DevOps: parsing real-world markup safely, rendering, and nh3 sanitization."""

from __future__ import annotations

from tests.unit.richtext.builders import doc, para, text
from tests.unit.richtext.corpus import schema_errors
from twinbridge.richtext import convert, from_canonical, plain_text, to_canonical
from twinbridge.richtext.model import Document, Image, Mark, Mention, Paragraph, Text

ADO_DESCRIPTION = """<div><b>Repro</b> steps:<br>
  <ol><li>Open <a href="https://dev.azure.com/org/p/_workitems/edit/7">#7</a></li>
      <li>Press <span style="color:rgb(255, 0, 0);font-weight:bold">Save</span>
        <ul><li>twice</li></ul></li></ol></div>
<div>Assigned to <a href="#" data-vss-mention="version:2.0,6f1c2e3a-0000-4000-8000-000000000001">@Dana Lee</a></div>
<table><thead><tr><th>Env</th><th>Result</th></tr></thead>
<tbody><tr><td>Edge</td><td><i>fails</i></td></tr></tbody></table>
<pre><code class="language-sql">SELECT *
FROM t;</code></pre>
<p>Screenshot: <img src="https://dev.azure.com/org/_apis/wit/attachments/1?fileName=a.png" alt="a.png"></p>
<h3>Notes</h3><blockquote>quoted <s>old</s></blockquote><hr>"""


def html_to_adf(source: str) -> dict:
    result = convert(source, "html", "adf")
    assert schema_errors(result.content) == []
    return result.content


def test_html_realistic_ado_description_parses_to_valid_adf_with_expected_structure():
    adf = html_to_adf(ADO_DESCRIPTION)
    assert [n["type"] for n in adf["content"]] == [
        "paragraph", "orderedList", "paragraph", "table", "codeBlock", "paragraph", "mediaSingle", "heading",
        "blockquote", "rule"]
    assert adf["content"][0]["content"] == [text("Repro", "strong"), text(" steps:"), {"type": "hardBreak"}]
    steps = adf["content"][1]["content"]
    assert steps[1]["content"][0]["content"] == [
        text("Press "), text("Save", {"type": "textColor", "attrs": {"color": "#ff0000"}}, "strong")]
    assert steps[1]["content"][1]["type"] == "bulletList"
    assert adf["content"][2]["content"][1] == {
        "type": "mention", "attrs": {"id": "6f1c2e3a-0000-4000-8000-000000000001", "text": "@Dana Lee"}}
    assert [c["type"] for c in adf["content"][3]["content"][0]["content"]] == ["tableHeader", "tableHeader"]
    assert adf["content"][4] == {"type": "codeBlock", "attrs": {"language": "sql"},
                                 "content": [text("SELECT *\nFROM t;")]}
    assert adf["content"][6]["content"][0]["attrs"]["url"].endswith("fileName=a.png")


def test_html_heading_inside_list_item_degrades_in_adf_with_loss():
    result = convert("<ul><li><h2>Title</h2><table><tr><td>x</td></tr></table></li></ul>", "html", "adf")
    assert schema_errors(result.content) == []
    item = result.content["content"][0]["content"][0]["content"]
    assert item == [para(text("Title", "strong")), para(text("x"))]
    assert [loss.kind for loss in result.losses] == ["structure", "structure"]


def test_html_unclosed_and_implicit_tags_still_parse():
    document = to_canonical("<p>one<p>two<ul><li>a<li>b</ul><table><tr><td>c<td>d</table>", "html").document
    assert plain_text(document) == "one\ntwo\na\nb\nc\td"


def test_html_script_and_style_content_is_dropped_on_parse_with_loss():
    parsed = to_canonical("<p>safe<script>alert('x')</script><style>p{}</style></p>", "html")
    assert plain_text(parsed.document) == "safe"
    assert [loss.kind for loss in parsed.losses] == ["unsafe-content", "unsafe-content"]


def test_html_javascript_link_and_image_are_not_kept_on_parse():
    parsed = to_canonical('<a href=" JavaScript:alert(1)">click</a><img src="javascript:x" alt="pic" onerror="x()">',
                          "html")
    assert parsed.document.blocks[0].children == [Text("click"), Text("pic")]
    assert {loss.kind for loss in parsed.losses} == {"unsafe-content"}


def test_html_render_escapes_text_that_looks_like_markup():
    html = convert(doc(para(text("<script>alert(1)</script> & <b>"))), "adf", "html").content
    assert html == "<p>&lt;script&gt;alert(1)&lt;/script&gt; &amp; &lt;b&gt;</p>"


def test_html_render_sanitizes_javascript_urls_and_handlers():
    document = Document([Paragraph([
        Text("x", (Mark("link", "javascript:alert(1)"),)),
        Image(src='x" onerror="alert(1)'),
        Text("y", (Mark("color", "red;background:url(javascript:alert(1))"),)),
    ])])
    result = from_canonical(document, "html")
    assert attributes_of(result.content) == [
        ("a", "rel", "noopener noreferrer"), ("img", "src", 'x" onerror="alert(1)')]
    assert "javascript" not in result.content.lower()
    assert [loss.kind for loss in result.losses] == ["mark"]


def test_html_render_strips_script_tags_smuggled_into_attributes_and_urls():
    document = Document([Paragraph([Image(src="https://e.x/a.png", alt="<script>x</script>"),
                                     Text("t", (Mark("link", "data:text/html,<script>"),))])])
    html = from_canonical(document, "html").content
    assert attributes_of(html) == [("img", "src", "https://e.x/a.png"), ("img", "alt", "<script>x</script>"),
                                   ("a", "rel", "noopener noreferrer")]


def attributes_of(html: str) -> list[tuple[str, str, str]]:
    """Every (tag, attribute, value) a browser would see."""
    from html.parser import HTMLParser

    found: list[tuple[str, str, str]] = []

    class Collect(HTMLParser):
        def handle_starttag(self, tag, attrs):
            found.extend((tag, name, value or "") for name, value in attrs)

    Collect().feed(html)
    return found


def test_html_mention_renders_as_ado_mention_anchor():
    html = from_canonical(Document([Paragraph([Mention("ado-guid", "@Dana", "ado")])]), "html").content
    assert html == '<p><a href="#" data-vss-mention="version:2.0,ado-guid" rel="noopener noreferrer">@Dana</a></p>'


def test_html_panel_degrades_to_labelled_blockquote_with_loss():
    result = convert(doc({"type": "panel", "attrs": {"panelType": "note"}, "content": [para(text("Read me"))]}),
                     "adf", "html")
    assert result.content == "<blockquote><p><strong>Note:</strong> Read me</p></blockquote>"
    assert result.losses[0].kind == "panel"
    back = convert(result.content, "html", "adf").content
    assert back == doc({"type": "blockquote", "content": [para(text("Note:", "strong"), text(" Read me"))]})


def test_html_nested_lists_and_ordered_start_render():
    source = doc({"type": "orderedList", "attrs": {"order": 3}, "content": [{"type": "listItem", "content": [
        para(text("c")), {"type": "bulletList", "content": [{"type": "listItem", "content": [para(text("c.1"))]}]}]}]})
    html = convert(source, "adf", "html").content
    assert html == '<ol start="3"><li>c<ul><li>c.1</li></ul></li></ol>'
    assert convert(html, "html", "adf").content == source


def test_html_code_block_keeps_language_and_whitespace():
    source = doc({"type": "codeBlock", "attrs": {"language": "python"}, "content": [text("def f():\n    return 1")]})
    html = convert(source, "adf", "html").content
    assert html == '<pre><code class="language-python">def f():\n    return 1</code></pre>'
    assert convert(html, "html", "adf").content == source


def test_html_whitespace_is_collapsed_like_a_browser():
    document = to_canonical("<p>  a\n   b  <b> c </b> </p>", "html").document
    assert document.blocks[0].children == [Text("a b "), Text("c", (Mark("strong"),))]
