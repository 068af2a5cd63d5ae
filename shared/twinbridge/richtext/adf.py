"""Atlassian Document Format (Jira Cloud): parse ADF JSON into the canonical tree and render it back, schema-valid."""

from __future__ import annotations

import re
import uuid
from typing import Any

from .degrade import (
    LossLog,
    date_text,
    flatten_blocks,
    image_fallback,
    join_lines,
    panel_label,
    task_prefix,
    with_mark,
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
    TaskItem,
    TaskList,
    Text,
)

PANEL_TYPES = {"info", "note", "tip", "warning", "error", "success", "custom"}
ATOM_KINDS = {"status", "date", "inlineCard", "inlineExtension"}
HEX = re.compile(r"^#[0-9a-fA-F]{6}$")
SHORT_HEX = re.compile(r"^#([0-9a-fA-F])([0-9a-fA-F])([0-9a-fA-F])$")
STYLE_MARKS = {"alignment", "indentation", "breakout", "fontSize", "border", "dataConsumer", "fragment"}

# ---------------------------------------------------------------- parse


def parse_adf(doc: dict[str, Any], log: LossLog) -> Document:
    """Read an ADF document (a dict) into the canonical tree, recording what it cannot hold in `log`."""
    if not isinstance(doc, dict) or doc.get("type") != "doc":
        raise ValueError("not an ADF document: expected an object with type 'doc'")
    return Document(_blocks(doc.get("content") or [], log))


def _blocks(nodes: list[Any], log: LossLog) -> list[Block]:
    out: list[Block] = []
    pending: list[Inline] = []  # stray inline nodes at block level
    for node in nodes:
        if not isinstance(node, dict):
            continue
        if node.get("type") in _INLINE_TYPES:
            pending.extend(_inline(node, log))
            continue
        if pending:
            out.append(Paragraph(pending))
            pending = []
        out.extend(_block(node, log))
    if pending:
        out.append(Paragraph(pending))
    return out


def _style_marks(node: dict[str, Any], log: LossLog) -> None:
    for mark in node.get("marks") or []:
        if isinstance(mark, dict) and mark.get("type") in STYLE_MARKS:
            log.add("style", f"{node.get('type')}: {mark.get('type')} mark not kept")


def _block(node: dict[str, Any], log: LossLog) -> list[Block]:
    kind = node.get("type")
    attrs = node.get("attrs") or {}
    content = node.get("content") or []
    _style_marks(node, log)
    if kind == "paragraph":
        return [Paragraph(_inlines(content, log))]
    if kind == "heading":
        return [Heading(int(attrs.get("level", 1)), _inlines(content, log))]
    if kind in ("bulletList", "orderedList"):
        items = [ListItem(_blocks(li.get("content") or [], log)) for li in content if isinstance(li, dict)]
        start = int(attrs.get("order", 1) or 1) if kind == "orderedList" else 1
        return [ListBlock(kind == "orderedList", items, start)]
    if kind in ("taskList", "decisionList"):
        return [TaskList(_task_items(node, log), "task" if kind == "taskList" else "decision",
                         attrs.get("localId", ""))]
    if kind == "codeBlock":
        text = "".join(t.get("text", "") for t in content if isinstance(t, dict))
        return [CodeBlock(text, attrs.get("language") or None)]
    if kind == "blockquote":
        return [Quote(_blocks(content, log))]
    if kind == "panel":
        return [Panel(attrs.get("panelType", "info"), _blocks(content, log))]
    if kind == "table":
        return [Table([_row(r, log) for r in content if isinstance(r, dict)])]
    if kind == "rule":
        return [Rule()]
    if kind in ("expand", "nestedExpand"):
        return [Expand(attrs.get("title", "") or "", _blocks(content, log))]
    if kind in ("mediaSingle", "mediaGroup"):
        return _media_block(node, log)
    if kind in ("blockCard", "embedCard"):
        url = attrs.get("url") or ""
        log.add("card", f"{kind} {url} kept as an inline link card")
        return [Paragraph([Atom("inlineCard", url, {"url": url})])] if url else []
    if kind in ("layoutSection", "layoutColumn", "bodiedExtension", "syncBlock", "bodiedSyncBlock"):
        if kind in ("layoutSection", "bodiedExtension", "syncBlock", "bodiedSyncBlock"):
            log.add("structure", f"{kind} flattened to its content")
        return _blocks(content, log)
    if kind == "extension":
        label = attrs.get("text") or attrs.get("extensionKey") or "extension"
        log.add("extension", f"extension {attrs.get('extensionKey', '')!r} shown as its name")
        return [Paragraph([Text(f"[{label}]")])]
    log.add("unknown-node", f"unknown block node {kind!r}: text kept")
    children = _blocks(content, log) if content else []
    if not children and isinstance(node.get("text"), str) and node["text"]:
        children = [Paragraph([Text(node["text"])])]
    return children


def _task_items(node: dict[str, Any], log: LossLog) -> list[TaskItem]:
    items: list[TaskItem] = []
    for child in node.get("content") or []:
        if not isinstance(child, dict):
            continue
        kind = child.get("type")
        attrs = child.get("attrs") or {}
        if kind in ("taskList", "decisionList"):
            log.add("structure", f"nested {kind} flattened into its parent")
            items.extend(_task_items(child, log))
        elif kind == "blockTaskItem":
            lines = flatten_blocks(_blocks(child.get("content") or [], log))
            items.append(TaskItem(join_lines(lines), attrs.get("state") == "DONE", attrs.get("localId", "")))
        else:
            done = attrs.get("state") in ("DONE", "DECIDED")
            items.append(TaskItem(_inlines(child.get("content") or [], log), done, attrs.get("localId", "")))
    return items


def _row(node: dict[str, Any], log: LossLog) -> TableRow:
    cells = []
    for cell in node.get("content") or []:
        if not isinstance(cell, dict):
            continue
        attrs = cell.get("attrs") or {}
        cells.append(TableCell(_blocks(cell.get("content") or [], log), cell.get("type") == "tableHeader",
                               int(attrs.get("colspan", 1) or 1), int(attrs.get("rowspan", 1) or 1)))
    return TableRow(cells)


def _media_block(node: dict[str, Any], log: LossLog) -> list[Block]:
    display = "group" if node.get("type") == "mediaGroup" else "single"
    images: list[Inline] = []
    caption: list[Inline] = []
    for child in node.get("content") or []:
        if not isinstance(child, dict):
            continue
        if child.get("type") == "media":
            images.append(_media(child, display))
        elif child.get("type") == "caption":
            caption = _inlines(child.get("content") or [], log)
            log.add("caption", "media caption kept as a paragraph below the image")
    if any(isinstance(m, dict) and m.get("type") == "link" for m in node.get("marks") or []):
        log.add("media-link", "link on an image not kept")
    blocks: list[Block] = [Paragraph(images)] if images else []
    return blocks + ([Paragraph(caption)] if caption else [])


def _media(node: dict[str, Any], display: str) -> Image:
    attrs = node.get("attrs") or {}
    kind = attrs.get("type", "file")
    size = {k: int(attrs[k]) for k in ("width", "height") if isinstance(attrs.get(k), (int, float))}
    if kind == "external":
        return Image(src=attrs.get("url", ""), alt=attrs.get("alt", ""),
                     display=display, **size)  # type: ignore[arg-type]
    return Image(alt=attrs.get("alt", ""), media_id=attrs.get("id", ""), collection=attrs.get("collection", ""),
                 media_type="link" if kind == "link" else "file", display=display, **size)  # type: ignore[arg-type]


_INLINE_TYPES = {"text", "hardBreak", "mention", "emoji", "date", "status", "inlineCard", "placeholder",
                 "inlineExtension", "mediaInline"}


def _inlines(nodes: list[Any], log: LossLog) -> list[Inline]:
    out: list[Inline] = []
    for node in nodes:
        if isinstance(node, dict):
            out.extend(_inline(node, log))
    return out


def _inline(node: dict[str, Any], log: LossLog) -> list[Inline]:
    kind = node.get("type")
    attrs = node.get("attrs") or {}
    if kind == "text":
        text = node.get("text") or ""
        return [Text(text, _marks(node.get("marks") or [], log))] if text else []
    if kind == "hardBreak":
        return [HardBreak()]
    if kind == "mention":
        return [Mention(str(attrs.get("id", "")), attrs.get("text", "") or "")]
    if kind == "emoji":
        return [Emoji(attrs.get("shortName", ""), attrs.get("text", "") or "", attrs.get("id", "") or "")]
    if kind == "date":
        return [Atom("date", date_text(str(attrs.get("timestamp", ""))), dict(attrs))]
    if kind == "status":
        return [Atom("status", attrs.get("text", ""), dict(attrs))]
    if kind == "inlineCard":
        return [Atom("inlineCard", attrs.get("url", "") or "", dict(attrs))]
    if kind == "inlineExtension":
        return [Atom("inlineExtension", f"[{attrs.get('text') or attrs.get('extensionKey', 'extension')}]",
                     dict(attrs))]
    if kind == "mediaInline":
        return [Image(alt=attrs.get("alt", ""), media_id=attrs.get("id", ""),
                      collection=attrs.get("collection", ""), media_type="file", display="inline")]
    if kind == "placeholder":
        log.add("placeholder", f"editor placeholder {attrs.get('text', '')!r} dropped (hint, not content)")
        return []
    log.add("unknown-node", f"unknown inline node {kind!r}: text kept")
    text = node.get("text") or attrs.get("text") or ""
    return [Text(text)] if isinstance(text, str) and text else _inlines(node.get("content") or [], log)


def _marks(raw: list[Any], log: LossLog) -> tuple[Mark, ...]:
    marks: list[Mark] = []
    for mark in raw:
        if not isinstance(mark, dict):
            continue
        kind = mark.get("type")
        attrs = mark.get("attrs") or {}
        if kind in ("strong", "em", "underline", "strike", "code"):
            marks.append(Mark(kind))
        elif kind == "link":
            marks.append(Mark("link", attrs.get("href", ""), attrs.get("title", "") or ""))
        elif kind == "subsup":
            marks.append(Mark("sub" if attrs.get("type") == "sub" else "sup"))
        elif kind == "textColor":
            marks.append(Mark("color", attrs.get("color", "")))
        elif kind == "backgroundColor":
            marks.append(Mark("background", attrs.get("color", "")))
        elif kind == "annotation":
            marks.append(Mark("annotation", attrs.get("id", "")))
        else:
            log.add("mark", f"unknown mark {kind!r} dropped")
    return tuple(marks)


# ---------------------------------------------------------------- render

# What each ADF container accepts, in canonical terms (from the v1 full schema).
_ALLOWED: dict[str, set[str]] = {
    "doc": {"paragraph", "heading", "list", "task", "decision", "code", "quote", "panel", "table", "rule", "expand"},
    "listItem": {"paragraph", "list", "task", "code"},
    "blockquote": {"paragraph", "list", "code"},
    "panel": {"paragraph", "heading", "list", "code", "task", "decision", "rule"},
    "tableCell": {"paragraph", "panel", "quote", "list", "rule", "heading", "code", "task", "decision",
                  "nestedExpand"},
    "expand": {"paragraph", "panel", "quote", "list", "rule", "heading", "code", "task", "decision", "table",
               "nestedExpand"},
    "nestedExpand": {"paragraph", "heading", "code", "list", "task", "decision", "rule", "panel", "quote"},
}


class _Renderer:
    def __init__(self, log: LossLog) -> None:
        self.log = log
        self.ids = 0

    def local_id(self, given: str = "") -> str:
        if given:
            return given
        self.ids += 1
        return str(uuid.uuid5(uuid.NAMESPACE_URL, f"twinbridge:richtext:{self.ids}"))

    def blocks(self, blocks: list[Block], ctx: str) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for block in blocks:
            out.extend(self.block(block, ctx))
        return out

    def block(self, block: Block, ctx: str) -> list[dict[str, Any]]:
        kind = _kind(block, ctx)
        if kind not in _ALLOWED[ctx]:
            return self.blocks(self.degrade(block, ctx), ctx)
        if isinstance(block, Paragraph):
            return self.paragraph(block.children, ctx)
        if isinstance(block, Heading):
            node: dict[str, Any] = {"type": "heading", "attrs": {"level": min(max(block.level, 1), 6)}}
            content = self.inlines(block.children)
            return [node | ({"content": content} if content else {})]
        if isinstance(block, ListBlock):
            return self.list_block(block)
        if isinstance(block, TaskList):
            return self.task_list(block)
        if isinstance(block, CodeBlock):
            node = {"type": "codeBlock"}
            if block.language:
                node["attrs"] = {"language": block.language}
            if block.text:
                node["content"] = [{"type": "text", "text": block.text}]
            return [node]
        if isinstance(block, Quote):
            return [{"type": "blockquote", "content": self.blocks(block.children, "blockquote") or _empty()}]
        if isinstance(block, Panel):
            return [self.panel(block)]
        if isinstance(block, Table):
            return self.table(block)
        if isinstance(block, Rule):
            return [{"type": "rule"}]
        if isinstance(block, Expand):
            inner = "nestedExpand" if kind == "nestedExpand" else "expand"
            node = {"type": inner, "attrs": {"title": block.title},
                    "content": self.blocks(block.children, inner) or _empty()}
            return [node]
        return []

    def degrade(self, block: Block, ctx: str) -> list[Block]:
        """Rewrite a block the container cannot hold into blocks it can, keeping all text visible."""
        name = type(block).__name__
        self.log.add("structure", f"{name} not allowed inside ADF {ctx}: rendered as plain blocks")
        if isinstance(block, Heading):
            return [Paragraph(with_mark(block.children, Mark("strong")))]
        if isinstance(block, Quote):
            return _prefix_first(block.children, [Text("> ")])
        if isinstance(block, Panel):
            return _prefix_first(block.children, [Text(panel_label(block), (Mark("strong"),)), Text(" ")])
        if isinstance(block, Expand):
            head: list[Block] = [Paragraph([Text(block.title, (Mark("strong"),))])] if block.title else []
            return head + block.children
        if isinstance(block, TaskList):
            items = [ListItem([Paragraph([Text(task_prefix(i, block.kind))] + list(i.children))])
                     for i in block.items]
            return [ListBlock(False, items)]
        return [Paragraph(line) for line in flatten_blocks([block])]

    def paragraph(self, children: list[Inline], ctx: str) -> list[dict[str, Any]]:
        """A paragraph; images in it become mediaSingle/mediaGroup blocks around the text."""
        out: list[dict[str, Any]] = []
        run: list[Inline] = []
        images: list[Image] = []

        def flush_text() -> None:
            content = self.inlines(run)
            if content or (not out and not images):
                out.append({"type": "paragraph", "content": content} if content else {"type": "paragraph"})
            run.clear()

        def flush_images() -> None:
            group: list[dict[str, Any]] = []
            for image in images:
                media = self.media(image)
                if image.display == "group" and image.media_type != "external" and ctx != "listItem":
                    group.append(media)
                    continue
                if group:
                    out.append({"type": "mediaGroup", "content": group})
                    group = []
                out.append({"type": "mediaSingle", "attrs": {"layout": "center"}, "content": [media]})
            if group:
                out.append({"type": "mediaGroup", "content": group})
            images.clear()

        for node in children:
            if isinstance(node, Image) and not (node.display == "inline" and node.media_id and node.collection):
                if not (node.src or node.media_id):
                    self.log.add("media", "image without a source dropped", node.alt)
                    continue
                while run and isinstance(run[-1], HardBreak):
                    run.pop()  # the line break before an image becomes the block boundary
                if any(not (isinstance(n, Text) and not n.text.strip()) for n in run):
                    flush_text()
                run.clear()
                images.append(node)
            else:
                if images and isinstance(node, HardBreak):
                    continue
                if images and not (isinstance(node, Text) and not node.text.strip()):
                    flush_images()
                run.append(node)
        if images:
            flush_images()
        if run or not out:
            flush_text()
        return out

    def media(self, image: Image) -> dict[str, Any]:
        if image.media_id and image.media_type != "external":
            attrs: dict[str, Any] = {"type": image.media_type, "id": image.media_id,
                                     "collection": image.collection}
        else:
            attrs = {"type": "external", "url": image.src or image.media_id}
        if image.alt:
            attrs["alt"] = image.alt
        attrs |= {k: v for k, v in (("width", image.width), ("height", image.height)) if v}
        return {"type": "media", "attrs": attrs}

    def list_block(self, block: ListBlock) -> list[dict[str, Any]]:
        items = [{"type": "listItem", "content": self.blocks(i.children, "listItem") or _empty()}
                 for i in block.items]
        if not items:
            return []
        node: dict[str, Any] = {"type": "orderedList" if block.ordered else "bulletList", "content": items}
        if block.ordered and block.start != 1:
            node["attrs"] = {"order": max(block.start, 0)}
        return [node]

    def task_list(self, block: TaskList) -> list[dict[str, Any]]:
        if not block.items:
            return []
        task = block.kind == "task"
        items = []
        for item in block.items:
            state = ("DONE" if item.done else "TODO") if task else ("DECIDED" if item.done else "UNDECIDED")
            node: dict[str, Any] = {"type": "taskItem" if task else "decisionItem",
                                    "attrs": {"localId": self.local_id(item.id), "state": state}}
            content = self.inlines(item.children)
            items.append(node | ({"content": content} if content else {}))
        return [{"type": "taskList" if task else "decisionList", "attrs": {"localId": self.local_id(block.id)},
                 "content": items}]

    def panel(self, block: Panel) -> dict[str, Any]:
        kind = block.kind
        children = block.children
        if kind not in PANEL_TYPES:
            self.log.add("panel", f"{kind!r} panel rendered as an info panel")
            kind = "info"
        if block.title:
            self.log.add("panel", "panel title rendered as a bold first paragraph")
            children = [Paragraph([Text(block.title, (Mark("strong"),))])] + children
        return {"type": "panel", "attrs": {"panelType": kind}, "content": self.blocks(children, "panel") or _empty()}

    def table(self, block: Table) -> list[dict[str, Any]]:
        rows = []
        for row in block.rows:
            cells = []
            for cell in row.cells:
                node: dict[str, Any] = {"type": "tableHeader" if cell.header else "tableCell",
                                        "content": self.blocks(cell.children, "tableCell") or _empty()}
                attrs = {k: v for k, v in (("colspan", cell.colspan), ("rowspan", cell.rowspan)) if v != 1}
                if attrs:
                    node["attrs"] = attrs
                cells.append(node)
            rows.append({"type": "tableRow", "content": cells})
        return [{"type": "table", "content": rows}] if rows else []

    def inlines(self, children: list[Inline]) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for node in children:
            if isinstance(node, Text):
                out.extend(self.text(node))
            elif isinstance(node, HardBreak):
                out.append({"type": "hardBreak"})
            elif isinstance(node, Mention):
                attrs = {"id": node.id or "unknown"} | ({"text": node.text} if node.text else {})
                out.append({"type": "mention", "attrs": attrs})
            elif isinstance(node, Emoji):
                attrs = {"shortName": node.short_name or node.text}
                attrs |= {k: v for k, v in (("id", node.id), ("text", node.text)) if v}
                out.append({"type": "emoji", "attrs": attrs})
            elif isinstance(node, Atom):
                if node.kind in ATOM_KINDS and node.attrs:
                    out.append({"type": node.kind, "attrs": dict(node.attrs)})
                elif node.text:
                    out.append({"type": "text", "text": node.text})
            elif isinstance(node, Image):
                if node.display == "inline" and node.media_id and node.collection:
                    attrs = {"type": "file", "id": node.media_id, "collection": node.collection}
                    out.append({"type": "mediaInline", "attrs": attrs | ({"alt": node.alt} if node.alt else {})})
                else:
                    self.log.add("media", "image inside a heading or task rendered as its name")
                    out.extend(self.text(image_fallback(node)))
        return out

    def text(self, node: Text) -> list[dict[str, Any]]:
        if not node.text:
            return []
        marks = self.marks(node.marks, node.text)
        out: dict[str, Any] = {"type": "text", "text": node.text}
        if marks:
            out["marks"] = marks
        return [out]

    def marks(self, marks: tuple[Mark, ...], text: str) -> list[dict[str, Any]]:
        kinds = {m.kind for m in marks}
        keep = [m for m in sorted(set(marks), key=lambda m: MARK_ORDER.index(m.kind))]
        if "code" in kinds:
            dropped = [m.kind for m in keep if m.kind not in ("code", "link", "annotation")]
            if dropped:
                self.log.add("mark", f"ADF code text cannot also be {', '.join(dropped)}: dropped on {text[:40]!r}")
            keep = [m for m in keep if m.kind in ("code", "link", "annotation")]
        out: list[dict[str, Any]] = []
        seen: set[str] = set()
        for mark in keep:
            key = "subsup" if mark.kind in ("sub", "sup") else mark.kind
            if key in seen:
                continue
            seen.add(key)
            if mark.kind in ("strong", "em", "underline", "strike", "code"):
                out.append({"type": mark.kind})
            elif mark.kind == "link":
                attrs = {"href": mark.value} | ({"title": mark.title} if mark.title else {})
                out.append({"type": "link", "attrs": attrs})
            elif mark.kind in ("sub", "sup"):
                out.append({"type": "subsup", "attrs": {"type": mark.kind}})
            elif mark.kind in ("color", "background"):
                color = _hex(mark.value)
                if color is None:
                    self.log.add("mark", f"colour {mark.value!r} is not #rrggbb: dropped")
                    continue
                out.append({"type": "textColor" if mark.kind == "color" else "backgroundColor",
                            "attrs": {"color": color}})
            elif mark.kind == "annotation":
                out.append({"type": "annotation", "attrs": {"id": mark.value, "annotationType": "inlineComment"}})
        return out


_NAMED_COLORS = {
    "red": "#ff0000", "green": "#008000", "blue": "#0000ff", "black": "#000000", "white": "#ffffff",
    "gray": "#808080", "grey": "#808080", "orange": "#ffa500", "yellow": "#ffff00", "purple": "#800080",
}


def _hex(value: str) -> str | None:
    value = value.strip().lower()
    value = _NAMED_COLORS.get(value, value)
    if HEX.match(value):
        return value
    short = SHORT_HEX.match(value)
    if short:
        return "#" + "".join(c * 2 for c in short.groups())
    rgb = re.match(r"^rgb\(\s*(\d+)\s*,\s*(\d+)\s*,\s*(\d+)\s*\)$", value)
    if rgb:
        return "#" + "".join(f"{min(int(c), 255):02x}" for c in rgb.groups())
    return None


def _kind(block: Block, ctx: str) -> str:
    if isinstance(block, TaskList):
        return block.kind if block.kind == "decision" else "task"
    if isinstance(block, Expand):
        return "expand" if ctx == "doc" else "nestedExpand"
    return {
        Paragraph: "paragraph", Heading: "heading", ListBlock: "list", CodeBlock: "code", Quote: "quote",
        Panel: "panel", Table: "table", Rule: "rule",
    }[type(block)]


def _prefix_first(blocks: list[Block], prefix: list[Inline]) -> list[Block]:
    if blocks and isinstance(blocks[0], Paragraph):
        return [Paragraph(prefix + list(blocks[0].children))] + blocks[1:]
    return [Paragraph(prefix)] + blocks


def _empty() -> list[dict[str, Any]]:
    return [{"type": "paragraph"}]


def render_adf(doc: Document, log: LossLog) -> dict[str, Any]:
    """Render the canonical tree as an ADF document that validates against the v1 schema."""
    return {"version": 1, "type": "doc", "content": _Renderer(log).blocks(doc.blocks, "doc")}


__all__ = ["parse_adf", "render_adf"]
