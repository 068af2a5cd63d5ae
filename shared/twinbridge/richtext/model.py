"""The canonical rich-text tree every format converts through, plus Loss and plain_text."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

MarkKind = Literal[
    "strong", "em", "underline", "strike", "code", "link", "sub", "sup", "color", "background", "annotation"
]
# Outermost first: the order renderers nest marks in.
MARK_ORDER: tuple[str, ...] = (
    "link", "annotation", "color", "background", "strong", "em", "underline", "strike", "sub", "sup", "code"
)


@dataclass(frozen=True)
class Mark:
    """A text mark; `value` holds the href (link), #rrggbb (color/background) or annotation id."""

    kind: MarkKind
    value: str = ""
    title: str = ""


@dataclass
class Text:
    text: str
    marks: tuple[Mark, ...] = ()


@dataclass
class HardBreak:
    pass


@dataclass
class Mention:
    """A user mention; `scheme` says what `id` is: a Jira Cloud account id, a Jira DC username, an ADO id."""

    id: str
    text: str = ""
    scheme: Literal["accountid", "username", "ado"] = "accountid"


@dataclass
class Emoji:
    short_name: str
    text: str = ""
    id: str = ""


@dataclass
class Image:
    """An image or attachment: an external `src`, or an ADF media `media_id` in `collection`."""

    src: str = ""
    alt: str = ""
    media_id: str = ""
    collection: str = ""
    media_type: Literal["external", "file", "link"] = "external"
    width: int | None = None
    height: int | None = None
    display: Literal["single", "group", "inline"] = "single"


@dataclass
class Atom:
    """An ADF-only inline node (status, date, inlineCard) kept for ADF and shown as `text` elsewhere."""

    kind: str
    text: str
    attrs: dict = field(default_factory=dict)


Inline = Text | HardBreak | Mention | Emoji | Image | Atom


@dataclass
class Paragraph:
    children: list[Inline] = field(default_factory=list)


@dataclass
class Heading:
    level: int
    children: list[Inline] = field(default_factory=list)


@dataclass
class ListItem:
    children: list[Block] = field(default_factory=list)


@dataclass
class ListBlock:
    ordered: bool
    items: list[ListItem] = field(default_factory=list)
    start: int = 1


@dataclass
class TaskItem:
    children: list[Inline] = field(default_factory=list)
    done: bool = False
    id: str = ""


@dataclass
class TaskList:
    """An ADF task list (`kind="task"`) or decision list (`kind="decision"`)."""

    items: list[TaskItem] = field(default_factory=list)
    kind: Literal["task", "decision"] = "task"
    id: str = ""


@dataclass
class CodeBlock:
    text: str
    language: str | None = None


@dataclass
class Quote:
    children: list[Block] = field(default_factory=list)


@dataclass
class Panel:
    """A callout: kind is info/note/warning/tip/error/success/custom, or "panel" (wiki's plain {panel})."""

    kind: str
    children: list[Block] = field(default_factory=list)
    title: str = ""


@dataclass
class TableCell:
    children: list[Block] = field(default_factory=list)
    header: bool = False
    colspan: int = 1
    rowspan: int = 1


@dataclass
class TableRow:
    cells: list[TableCell] = field(default_factory=list)


@dataclass
class Table:
    rows: list[TableRow] = field(default_factory=list)


@dataclass
class Rule:
    pass


@dataclass
class Expand:
    title: str = ""
    children: list[Block] = field(default_factory=list)


Block = Paragraph | Heading | ListBlock | TaskList | CodeBlock | Quote | Panel | Table | Rule | Expand


@dataclass
class Document:
    blocks: list[Block] = field(default_factory=list)


@dataclass(frozen=True)
class Loss:
    """Something the target format could not hold; `dropped` is any visible text that did not survive."""

    kind: str
    detail: str
    dropped: str = ""


def inline_text(children: list[Inline]) -> str:
    """The visible text of inline nodes."""
    parts: list[str] = []
    for node in children:
        if isinstance(node, Text):
            parts.append(node.text)
        elif isinstance(node, HardBreak):
            parts.append("\n")
        elif isinstance(node, Mention):
            parts.append(node.text or "@" + node.id)
        elif isinstance(node, Emoji):
            parts.append(node.text or node.short_name)
        elif isinstance(node, Atom):
            parts.append(node.text)
        elif isinstance(node, Image):
            parts.append(node.alt)
    return "".join(parts)


def block_text(block: Block) -> str:
    """The visible text of one block, lines separated by newlines."""
    if isinstance(block, (Paragraph, Heading)):
        return inline_text(block.children)
    if isinstance(block, CodeBlock):
        return block.text
    if isinstance(block, ListBlock):
        return "\n".join(blocks_text(item.children) for item in block.items)
    if isinstance(block, TaskList):
        return "\n".join(inline_text(item.children) for item in block.items)
    if isinstance(block, (Quote, Panel, Expand)):
        title: str = getattr(block, "title", "")
        head = [title] if title else []
        return "\n".join(head + [blocks_text(block.children)])
    if isinstance(block, Table):
        return "\n".join("\t".join(blocks_text(c.children) for c in row.cells) for row in block.rows)
    return ""


def blocks_text(blocks: list[Block]) -> str:
    return "\n".join(block_text(b) for b in blocks)


def plain_text(doc: Document) -> str:
    """The document's visible text (what a reader sees), for comparisons.

    Args:
        doc: a canonical document.

    Returns:
        The text with one newline between blocks, list items, table rows and hard breaks.
    """
    return blocks_text(doc.blocks)
