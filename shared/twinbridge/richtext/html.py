"""HTML (Azure DevOps): parse with the stdlib html.parser into the canonical tree; render sanitized HTML."""

from __future__ import annotations

import re
from html import escape
from html.parser import HTMLParser

from .degrade import (
    LossLog,
    atom_fallback,
    emoji_label,
    flatten_blocks,
    join_lines,
    mention_label,
    panel_label,
    task_prefix,
)
from .model import (
    MARK_ORDER,
    Atom,
    Block,
    CodeBlock,
    Document,
    Emoji,
    Expand,
    HardBreak,
    Heading,
    Image,
    Inline,
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
    TaskList,
    Text,
)

VOID = {"br", "hr", "img", "input", "meta", "link", "col", "wbr", "area", "base", "source", "embed", "param",
        "track"}
UNSAFE = {"script", "style", "iframe", "object", "embed", "noscript", "template", "frame", "frameset", "applet"}
SKIPPED = {"head", "title", "button", "select", "textarea"}
BLOCKS = {"p", "div", "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "li", "pre", "blockquote", "table", "hr",
          "details", "summary", "section", "article", "header", "footer", "main", "aside", "nav", "figure",
          "figcaption", "dl", "dt", "dd", "thead", "tbody", "tfoot", "tr", "td", "th", "caption", "center",
          "address", "body", "html"}
MARK_TAGS = {"strong": "strong", "b": "strong", "em": "em", "i": "em", "cite": "em", "u": "underline",
             "ins": "underline", "s": "strike", "del": "strike", "strike": "strike", "code": "code",
             "tt": "code", "kbd": "code", "samp": "code", "sub": "sub", "sup": "sup"}
SAFE_URL = re.compile(r"^(https?:|mailto:|#|/|\.|[^:/?#]*(?:[/?#]|$))", re.IGNORECASE)
STYLE_COLOR = re.compile(r"(?:^|;)\s*(background-color|color)\s*:\s*([^;]+)", re.IGNORECASE)
CSS_COLOR = re.compile(r"^(#[0-9a-fA-F]{3,8}|rgba?\([\d\s.,%]+\)|[a-zA-Z]{3,20})$")
MENTION = re.compile(r"version:[\d.]+,\s*(.+)")


class _Element:
    __slots__ = ("tag", "attrs", "children")

    def __init__(self, tag: str, attrs: dict[str, str]) -> None:
        self.tag = tag
        self.attrs = attrs
        self.children: list[_Element | str] = []


class _TreeBuilder(HTMLParser):
    """A forgiving DOM builder: implicit closes for p/li/td/tr, unsafe elements dropped with their content."""

    def __init__(self, log: LossLog) -> None:
        super().__init__(convert_charrefs=True)
        self.log = log
        self.root = _Element("root", {})
        self.stack = [self.root]
        self.skip_depth = 0
        self.skip_tag = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self.skip_depth:
            if tag == self.skip_tag:
                self.skip_depth += 1
            return
        if tag in UNSAFE or tag in SKIPPED:
            if tag in UNSAFE:
                self.log.add("unsafe-content", f"<{tag}> element dropped with its content")
            if tag not in VOID:
                self.skip_depth, self.skip_tag = 1, tag
            return
        if any(name.startswith("on") for name, _ in attrs):
            self.log.add("unsafe-content", f"event handler attribute on <{tag}> ignored")
        self._implicit_close(tag)
        element = _Element(tag, {k: v or "" for k, v in attrs})
        self.stack[-1].children.append(element)
        if tag not in VOID:
            self.stack.append(element)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag not in VOID and not self.skip_depth and self.stack[-1].tag == tag:
            self.stack.pop()

    def handle_endtag(self, tag: str) -> None:
        if self.skip_depth:
            if tag == self.skip_tag:
                self.skip_depth -= 1
            return
        for index in range(len(self.stack) - 1, 0, -1):
            if self.stack[index].tag == tag:
                del self.stack[index:]
                return

    def handle_data(self, data: str) -> None:
        if not self.skip_depth:
            self.stack[-1].children.append(data)

    def _implicit_close(self, tag: str) -> None:
        scopes = {"li": ({"li"}, {"ul", "ol"}), "td": ({"td", "th"}, {"tr", "table"}),
                  "th": ({"td", "th"}, {"tr", "table"}), "tr": ({"tr"}, {"table"}), "dt": ({"dt", "dd"}, {"dl"}),
                  "dd": ({"dt", "dd"}, {"dl"})}
        if tag in scopes:
            targets, stops = scopes[tag]
            for index in range(len(self.stack) - 1, 0, -1):
                if self.stack[index].tag in stops:
                    break
                if self.stack[index].tag in targets:
                    del self.stack[index:]
                    break
        if tag in BLOCKS and self.stack[-1].tag == "p":
            self.stack.pop()


# ---------------------------------------------------------------- parse


def parse_html(html: str, log: LossLog) -> Document:
    """Read HTML (e.g. an Azure DevOps description) into the canonical tree; nothing in it is executed."""
    builder = _TreeBuilder(log)
    builder.feed(html)
    builder.close()
    return Document(_Reader(log).blocks(builder.root.children, ()))


def _has_block(element: _Element) -> bool:
    return any(isinstance(c, _Element) and (c.tag in BLOCKS or _has_block(c)) for c in element.children)


class _Reader:
    def __init__(self, log: LossLog) -> None:
        self.log = log

    def blocks(self, nodes: list[_Element | str], marks: tuple[Mark, ...]) -> list[Block]:
        out: list[Block] = []
        run: list[Inline] = []

        def flush() -> None:
            inlines = _trim(run)
            if inlines:
                out.append(Paragraph(inlines))
            run.clear()

        for node in nodes:
            if isinstance(node, str):
                run.extend(self.inlines([node], marks))
            elif node.tag in BLOCKS:
                flush()
                out.extend(self.block(node, marks))
            elif _has_block(node):
                flush()
                out.extend(self.blocks(node.children, marks + self.marks_of(node)))
            else:
                run.extend(self.inlines([node], marks))
        flush()
        return out

    def block(self, el: _Element, marks: tuple[Mark, ...]) -> list[Block]:
        tag = el.tag
        if tag in ("h1", "h2", "h3", "h4", "h5", "h6"):
            return [Heading(int(tag[1]), _trim(self.inline_children(el, marks)))]
        if tag in ("ul", "ol"):
            items: list[ListItem] = []
            for child in el.children:
                if isinstance(child, _Element) and child.tag == "li":
                    items.append(ListItem(self.blocks(child.children, marks)))
                elif isinstance(child, _Element) and child.tag in ("ul", "ol") and items:
                    items[-1].children.extend(self.block(child, marks))
                else:
                    stray = self.blocks([child], marks)
                    if stray:
                        items.append(ListItem(stray))
            start = el.attrs.get("start", "1")
            return [ListBlock(tag == "ol", items, int(start) if start.isdigit() else 1)] if items else []
        if tag == "li":
            return [ListBlock(False, [ListItem(self.blocks(el.children, marks))])]
        if tag == "pre":
            return [CodeBlock(_text_content(el).strip("\n"), _language(el))]
        if tag == "blockquote":
            return [Quote(self.blocks(el.children, marks))]
        if tag == "table":
            return self.table(el, marks)
        if tag == "hr":
            return [Rule()]
        if tag == "details":
            summary = next((c for c in el.children if isinstance(c, _Element) and c.tag == "summary"), None)
            rest = [c for c in el.children if c is not summary]
            title = re.sub(r"\s+", " ", _text_content(summary)).strip() if summary else ""
            return [Expand(title, self.blocks(rest, marks))]
        return self.blocks(el.children, marks)

    def table(self, el: _Element, marks: tuple[Mark, ...]) -> list[Block]:
        rows: list[TableRow] = []
        before: list[Block] = []

        def walk(node: _Element) -> None:
            for child in node.children:
                if not isinstance(child, _Element):
                    continue
                if child.tag == "tr":
                    cells = [TableCell(self.blocks(c.children, marks), c.tag == "th", _span(c, "colspan"),
                                       _span(c, "rowspan"))
                             for c in child.children if isinstance(c, _Element) and c.tag in ("td", "th")]
                    rows.append(TableRow(cells))
                elif child.tag in ("thead", "tbody", "tfoot"):
                    walk(child)
                elif child.tag == "caption":
                    before.extend(self.blocks(child.children, marks))

        walk(el)
        return before + ([Table(rows)] if rows else [])

    def inline_children(self, el: _Element, marks: tuple[Mark, ...]) -> list[Inline]:
        return self.inlines(el.children, marks)

    def inlines(self, nodes: list[_Element | str], marks: tuple[Mark, ...]) -> list[Inline]:
        out: list[Inline] = []
        for node in nodes:
            if isinstance(node, str):
                text = re.sub(r"\s+", " ", node)
                if text:
                    out.append(Text(text, marks))
                continue
            tag = node.tag
            if tag == "br":
                out.append(HardBreak())
            elif tag == "img":
                out.extend(self.image(node))
            elif tag == "a" and node.attrs.get("data-vss-mention"):
                match = MENTION.match(node.attrs["data-vss-mention"])
                ident = match.group(1).strip() if match else node.attrs["data-vss-mention"]
                out.append(Mention(ident, re.sub(r"\s+", " ", _text_content(node)).strip(), "ado"))
            elif tag in BLOCKS:
                lines = flatten_blocks(self.block(node, marks))
                out.extend(join_lines(lines))
            else:
                out.extend(self.inlines(node.children, marks + self.marks_of(node)))
        return out

    def image(self, el: _Element) -> list[Inline]:
        src = el.attrs.get("src", "").strip()
        alt = el.attrs.get("alt", "")
        if not SAFE_URL.match(src):
            self.log.add("unsafe-content", f"image with a non-http source dropped: {src[:40]!r}", alt)
            return [Text(alt)] if alt else []
        size = {k: int(el.attrs[k]) for k in ("width", "height") if el.attrs.get(k, "").isdigit()}
        return [Image(src=src, alt=alt, **size)]  # type: ignore[arg-type]

    def marks_of(self, el: _Element) -> tuple[Mark, ...]:
        marks: list[Mark] = []
        kind = MARK_TAGS.get(el.tag)
        if kind:
            marks.append(Mark(kind))  # type: ignore[arg-type]
        if el.tag == "a" and "href" in el.attrs:
            href = el.attrs["href"].strip()
            if SAFE_URL.match(href):
                marks.append(Mark("link", href, el.attrs.get("title", "")))
            else:
                self.log.add("unsafe-content", f"link with an unsafe URL kept as text: {href[:40]!r}")
        for prop, value in STYLE_COLOR.findall(el.attrs.get("style", "")):
            marks.append(Mark("background" if prop.lower() == "background-color" else "color", value.strip()))
        if el.tag == "font" and el.attrs.get("color"):
            marks.append(Mark("color", el.attrs["color"]))
        for style, kind2 in (("bold", "strong"), ("italic", "em"), ("underline", "underline"),
                             ("line-through", "strike")):
            if style in el.attrs.get("style", "").lower():
                marks.append(Mark(kind2))  # type: ignore[arg-type]
        return tuple(marks)


def _span(el: _Element, name: str) -> int:
    value = el.attrs.get(name, "1")
    return max(int(value), 1) if value.isdigit() else 1


def _language(el: _Element) -> str | None:
    for node in [el] + [c for c in el.children if isinstance(c, _Element)]:
        for cls in node.attrs.get("class", "").split():
            if cls.startswith(("language-", "lang-")):
                return cls.split("-", 1)[1] or None
    return None


def _text_content(el: _Element | None) -> str:
    if el is None:
        return ""
    parts: list[str] = []
    for child in el.children:
        if isinstance(child, str):
            parts.append(child)
        elif child.tag == "br":
            parts.append("\n")
        else:
            parts.append(_text_content(child))
    return "".join(parts)


def _trim(inlines: list[Inline]) -> list[Inline]:
    """Drop whitespace at line edges, as a browser would render it."""
    out: list[Inline] = []
    for node in inlines:
        if isinstance(node, Text):
            text = node.text
            if not out or isinstance(out[-1], HardBreak):
                text = text.lstrip()
            if out and isinstance(out[-1], Text) and out[-1].text.endswith(" ") and text.startswith(" "):
                text = text[1:]
            if text:
                out.append(Text(text, node.marks))
        else:
            if isinstance(node, HardBreak) and out and isinstance(out[-1], Text):
                out[-1] = Text(out[-1].text.rstrip(), out[-1].marks)
                if not out[-1].text:
                    out.pop()
            out.append(node)
    while out and isinstance(out[-1], Text) and not out[-1].text.strip():
        out.pop()
    if out and isinstance(out[-1], Text):
        out[-1] = Text(out[-1].text.rstrip(), out[-1].marks)
    return out


# ---------------------------------------------------------------- render


def render_html(doc: Document, log: LossLog) -> str:
    """Render the canonical tree as HTML for Azure DevOps, sanitized with nh3."""
    from .html_sanitize import sanitize

    return sanitize("".join(_Writer(log).block(b) for b in doc.blocks))


class _Writer:
    def __init__(self, log: LossLog) -> None:
        self.log = log

    def blocks(self, blocks: list[Block]) -> str:
        return "".join(self.block(b) for b in blocks)

    def block(self, block: Block) -> str:
        if isinstance(block, Paragraph):
            return f"<p>{self.inlines(block.children)}</p>"
        if isinstance(block, Heading):
            level = min(max(block.level, 1), 6)
            return f"<h{level}>{self.inlines(block.children)}</h{level}>"
        if isinstance(block, ListBlock):
            tag = "ol" if block.ordered else "ul"
            start = f' start="{block.start}"' if block.ordered and block.start != 1 else ""
            return f"<{tag}{start}>" + "".join(f"<li>{self.item(i.children)}</li>" for i in block.items) + f"</{tag}>"
        if isinstance(block, TaskList):
            self.log.add(f"{block.kind}-list", f"{block.kind} list rendered as a bullet list with text markers")
            items = "".join(f"<li>{escape(task_prefix(i, block.kind))}{self.inlines(i.children)}</li>"
                            for i in block.items)
            return f"<ul>{items}</ul>"
        if isinstance(block, CodeBlock):
            cls = f' class="language-{escape(block.language)}"' if block.language else ""
            return f"<pre><code{cls}>{escape(block.text)}</code></pre>"
        if isinstance(block, Quote):
            return f"<blockquote>{self.blocks(block.children)}</blockquote>"
        if isinstance(block, Panel):
            self.log.add("panel", f"{block.kind} panel rendered as a quote labelled {panel_label(block)!r}")
            label = f"<strong>{escape(panel_label(block))}</strong>"
            children = list(block.children)
            first = children[0] if children else None
            if isinstance(first, Paragraph):
                children.pop(0)
                head = f"<p>{label} {self.inlines(first.children)}</p>"
            else:
                head = f"<p>{label}</p>"
            return f"<blockquote>{head}{self.blocks(children)}</blockquote>"
        if isinstance(block, Table):
            rows = "".join("<tr>" + "".join(self.cell(c) for c in row.cells) + "</tr>" for row in block.rows)
            return f"<table><tbody>{rows}</tbody></table>"
        if isinstance(block, Rule):
            return "<hr>"
        if isinstance(block, Expand):
            self.log.add("expand", "expand rendered as a bold title followed by its content")
            head = f"<p><strong>{escape(block.title)}</strong></p>" if block.title else ""
            return head + self.blocks(block.children)
        return ""

    def item(self, blocks: list[Block]) -> str:
        if blocks and isinstance(blocks[0], Paragraph):
            return self.inlines(blocks[0].children) + self.blocks(blocks[1:])
        return self.blocks(blocks)

    def cell(self, cell: TableCell) -> str:
        tag = "th" if cell.header else "td"
        spans = "".join(f' {k}="{v}"' for k, v in (("colspan", cell.colspan), ("rowspan", cell.rowspan)) if v != 1)
        return f"<{tag}{spans}>{self.blocks(cell.children)}</{tag}>"

    def inlines(self, children: list[Inline]) -> str:
        parts: list[str] = []
        for node in children:
            if isinstance(node, Atom):
                self.log.add(node.kind, f"ADF {node.kind} rendered as text {node.text!r}")
                node = atom_fallback(node)
            if isinstance(node, Text):
                parts.append(self.text(node))
            elif isinstance(node, HardBreak):
                parts.append("<br>")
            elif isinstance(node, Mention):
                ident = escape(node.id)
                parts.append(f'<a href="#" data-vss-mention="version:2.0,{ident}">{escape(mention_label(node))}</a>')
            elif isinstance(node, Emoji):
                parts.append(escape(emoji_label(node)))
            elif isinstance(node, Image):
                parts.append(self.image(node))
        return "".join(parts)

    def image(self, node: Image) -> str:
        src = node.src
        if not src:
            src = node.media_id
            self.log.add("media-reference", f"ADF attachment {node.media_id} referenced by id; upload it to ADO")
        attrs = f' src="{escape(src)}"' + (f' alt="{escape(node.alt)}"' if node.alt else "")
        attrs += "".join(f' {k}="{v}"' for k, v in (("width", node.width), ("height", node.height)) if v)
        return f"<img{attrs}>"

    def text(self, node: Text) -> str:
        html = escape(node.text, quote=False).replace("\n", "<br>")
        for mark in sorted(set(node.marks), key=lambda m: MARK_ORDER.index(m.kind), reverse=True):
            if mark.kind == "link":
                title = f' title="{escape(mark.title)}"' if mark.title else ""
                html = f'<a href="{escape(mark.value)}"{title}>{html}</a>'
            elif mark.kind in ("color", "background"):
                if not CSS_COLOR.match(mark.value.strip()):
                    self.log.add("mark", f"colour {mark.value[:40]!r} is not a plain CSS colour: dropped")
                    continue
                prop = "color" if mark.kind == "color" else "background-color"
                html = f'<span style="{prop}:{escape(mark.value.strip())}">{html}</span>'
            elif mark.kind == "annotation":
                self.log.add("mark", f"inline comment anchor not supported in HTML: dropped on {node.text[:40]!r}")
            else:
                tag = {"strong": "strong", "em": "em", "underline": "u", "strike": "s", "sub": "sub", "sup": "sup",
                       "code": "code"}[mark.kind]
                html = f"<{tag}>{html}</{tag}>"
        return html
