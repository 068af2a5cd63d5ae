"""Visible fallbacks shared by the renderers, and the LossLog they record into."""

from __future__ import annotations

from datetime import UTC, datetime

from .model import (
    Atom,
    Block,
    CodeBlock,
    Emoji,
    Expand,
    HardBreak,
    Heading,
    Image,
    Inline,
    ListBlock,
    Loss,
    Mark,
    Mention,
    Panel,
    Paragraph,
    Quote,
    Rule,
    Table,
    TaskItem,
    TaskList,
    Text,
)

PANEL_LABELS = {
    "info": "Info", "note": "Note", "warning": "Warning", "tip": "Tip", "error": "Error",
    "success": "Success", "custom": "Panel", "panel": "Panel",
}


class LossLog(list[Loss]):
    """The losses of one conversion, in the order they happened."""

    def add(self, kind: str, detail: str, dropped: str = "") -> None:
        self.append(Loss(kind, detail, dropped))


def panel_label(panel: Panel) -> str:
    label = PANEL_LABELS.get(panel.kind, panel.kind.capitalize() or "Panel")
    return f"{label}: {panel.title}" if panel.title else f"{label}:"


def date_text(timestamp: str) -> str:
    """An ADF date (epoch milliseconds) as YYYY-MM-DD, or the raw value when it is not a number."""
    try:
        return datetime.fromtimestamp(int(timestamp) / 1000, tz=UTC).strftime("%Y-%m-%d")
    except (ValueError, OverflowError, OSError):
        return timestamp


def atom_fallback(atom: Atom) -> Inline:
    """The visible text an ADF-only inline node becomes in formats without it."""
    if atom.kind == "inlineCard" and atom.text:
        return Text(atom.text, (Mark("link", atom.text),))
    if atom.kind == "status":
        return Text(f"[{atom.text}]", (Mark("strong"),))
    return Text(atom.text)


def task_prefix(item: TaskItem, kind: str) -> str:
    if kind == "decision":
        return "Decision: " if item.done else "Undecided: "
    return "[x] " if item.done else "[ ] "


def image_fallback(image: Image) -> Text:
    """An image shown as its name (linked when it has a URL), where no image fits."""
    label = image.alt or image.src or image.media_id or "image"
    if image.src.startswith(("http://", "https://")):
        return Text(label, (Mark("link", image.src),))
    return Text(f"[{label}]")


def with_mark(children: list[Inline], mark: Mark) -> list[Inline]:
    out: list[Inline] = []
    for node in children:
        if isinstance(node, Text) and mark not in node.marks:
            out.append(Text(node.text, node.marks + (mark,)))
        else:
            out.append(node)
    return out


def flatten_blocks(blocks: list[Block]) -> list[list[Inline]]:
    """Any blocks as lines of inline nodes, keeping every piece of text visible."""
    lines: list[list[Inline]] = []
    for block in blocks:
        lines.extend(flatten_block(block))
    return lines


def flatten_block(block: Block, depth: int = 0) -> list[list[Inline]]:
    if isinstance(block, Paragraph):
        return [list(block.children)] if block.children else []
    if isinstance(block, Heading):
        return [with_mark(block.children, Mark("strong"))]
    if isinstance(block, CodeBlock):
        return [[Text(line, (Mark("code"),))] for line in block.text.split("\n") if line]
    if isinstance(block, ListBlock):
        lines: list[list[Inline]] = []
        for number, item in enumerate(block.items, start=block.start):
            bullet = f"{number}. " if block.ordered else "• "
            inner = flatten_blocks(item.children) or [[]]
            lines.append([Text("  " * depth + bullet)] + inner[0])
            lines.extend(inner[1:])
        return lines
    if isinstance(block, TaskList):
        return [[Text(task_prefix(item, block.kind))] + list(item.children) for item in block.items]
    if isinstance(block, Quote):
        return [[Text("> ")] + line for line in flatten_blocks(block.children)]
    if isinstance(block, Panel):
        label: list[list[Inline]] = [[Text(panel_label(block), (Mark("strong"),))]]
        return label + flatten_blocks(block.children)
    if isinstance(block, Expand):
        head: list[list[Inline]] = [[Text(block.title, (Mark("strong"),))]] if block.title else []
        return head + flatten_blocks(block.children)
    if isinstance(block, Table):
        rows: list[list[Inline]] = []
        for row in block.rows:
            line: list[Inline] = []
            for index, cell in enumerate(row.cells):
                if index:
                    line.append(Text(" | "))
                for number, part in enumerate(flatten_blocks(cell.children)):
                    if number:
                        line.append(Text(" "))
                    line.extend(part)
            rows.append(line)
        return rows
    if isinstance(block, Rule):
        return [[Text("----")]]
    return []


def join_lines(lines: list[list[Inline]]) -> list[Inline]:
    out: list[Inline] = []
    for index, line in enumerate(lines):
        if index:
            out.append(HardBreak())
        out.extend(line)
    return out


def describe(node: object) -> str:
    return type(node).__name__


def mention_label(mention: Mention) -> str:
    return mention.text or "@" + mention.id


def emoji_label(emoji: Emoji) -> str:
    return emoji.text or emoji.short_name

