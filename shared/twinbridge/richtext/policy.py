"""The content policy for what a partner sends: its canonical rich text is rebuilt node by node before any renderer
sees it (links only to http, https and mailto; no images, mentions, extensions or unknown nodes; field types and
ranges checked), and its short texts (names, titles, summaries, labels, file names) become one clean bounded line."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import unquote, urlsplit

from .degrade import LossLog, date_text
from .model import (
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
    Loss,
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

URL_SCHEMES = frozenset({"http", "https", "mailto"})
NAME_LIMIT = 80  # a person's name in a byline, an image's name, a mention
TITLE_LIMIT = 255  # panel and expand titles, link titles
FILENAME_LIMIT = 200
MAX_DEPTH = 24  # nested containers kept; deeper content becomes paragraphs of its text
MAX_SPAN = 100
PANEL_KINDS = frozenset({"info", "note", "warning", "tip", "error", "success", "custom", "panel"})
STATUS_COLORS = frozenset({"neutral", "purple", "blue", "red", "yellow", "green"})
SIMPLE_MARKS = frozenset({"strong", "em", "underline", "strike", "code", "sub", "sup"})
COLOR = re.compile(r"#[0-9a-fA-F]{3}|#[0-9a-fA-F]{6}|rgb\(\s*\d{1,3}\s*,\s*\d{1,3}\s*,\s*\d{1,3}\s*\)|[a-zA-Z]{3,20}")
SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*):")
LANGUAGE = re.compile(r"[\w+#.-]{1,40}")
IDENT = re.compile(r"[\w:.-]{1,64}")
FILENAME_RESERVED = re.compile(r'[/\\<>:"|?*]')
WINDOWS_DEVICE = re.compile(r"(?i)CON|PRN|AUX|NUL|COM[0-9]|LPT[0-9]")


@dataclass
class Policed:
    """A partner's document as it may reach our tracker, and what the policy changed (one loss per change)."""

    document: Document
    losses: list[Loss] = field(default_factory=list)


def partner_content(document: Document) -> Policed:
    """Apply the content policy to a document that came from the partner, before it is rendered for our tracker.

    Args:
        document: the canonical tree as loaded from the partner's JSON (field types not trusted).

    Returns:
        A new, well-typed tree holding only what our tracker may show, and a loss for each change.
    """
    log = LossLog()
    policy = _Policy(log)
    blocks = policy.blocks(document.blocks if isinstance(document, Document) else [], 0)
    if policy.removed:
        log.add("control-characters", f"{policy.removed} invisible control character(s) removed from the text")
    return Policed(Document(blocks), list(log))


def safe_url(value: object) -> str | None:
    """``value`` when it is an absolute http(s) URL with a host or a mailto address, else None.

    Anything with whitespace or control characters inside is refused (``java\\tscript:`` tricks), as is a relative
    URL, which would resolve against our tracker.
    """
    if not isinstance(value, str):
        return None
    url = value.strip()
    if not url or any(ch.isspace() or unicodedata.category(ch) in ("Cc", "Cf", "Cs") for ch in url):
        return None
    scheme = SCHEME.match(url)
    if scheme is None or scheme.group(1).lower() not in URL_SCHEMES:
        return None
    rest = url[scheme.end():]
    if scheme.group(1).lower() == "mailto":
        return url if rest else None
    try:
        host = urlsplit(url).hostname
    except ValueError:  # a malformed IPv6 host or port
        return None
    return url if rest.startswith("//") and host else None


def clean_line(value: object, limit: int, ellipsis: bool = True) -> str:
    """Partner text as one line: no control, format (bidi, zero-width) or surrogate characters, whitespace collapsed.

    Args:
        value: the text (anything else gives "").
        limit: the most characters returned.
        ellipsis: end a shortened text with "…" (else it is only cut).

    Returns:
        The clean text, possibly empty.
    """
    if not isinstance(value, str):
        return ""
    kept = []
    for ch in value:
        if ch.isspace():
            kept.append(" ")  # newlines, tabs, U+2028/2029 and other separators
        elif unicodedata.category(ch) not in ("Cc", "Cf", "Cs"):
            kept.append(ch)
    text = " ".join("".join(kept).split())
    if len(text) <= limit:
        return text
    return text[: limit - 1].rstrip() + "…" if ellipsis else text[:limit].rstrip()


def safe_filename(name: object, limit: int = FILENAME_LIMIT) -> str:
    """A partner's attachment file name made harmless to store and download: one clean line, no path separators or
    characters Windows refuses (each becomes ``_``), no ``..``, no leading or trailing dot, no Windows device name
    (``CON.txt`` becomes ``_CON.txt``), at most ``limit`` characters with the extension kept, never empty
    (``attachment``).
    """
    text = FILENAME_RESERVED.sub("_", clean_line(name, 10 * limit, ellipsis=False))
    text = re.sub(r"\.{2,}", ".", text).strip(". ")
    if WINDOWS_DEVICE.fullmatch(text.split(".", 1)[0]):
        text = "_" + text
    if len(text) > limit:
        stem, dot, extension = text.rpartition(".")
        if dot and stem and 0 < len(extension) <= 16:
            text = stem[: limit - len(extension) - 1].rstrip(". ") + "." + extension
        else:
            text = text[:limit].rstrip(". ")
    return text or "attachment"


def _body_text(value: object) -> tuple[str, int]:
    """Text of the body: line breaks and tabs stay, other control characters and lone surrogates go."""
    if not isinstance(value, str):
        return "", 0
    text = value.replace("\r\n", "\n").replace("\r", "\n")
    kept = "".join(ch for ch in text if ch in "\n\t" or unicodedata.category(ch) not in ("Cc", "Cs"))
    return kept, len(text) - len(kept)


def _emoji_text(value: object) -> str:
    """An emoji's characters: joiners and variation selectors stay (family and flag sequences), nothing else
    invisible does."""
    if not isinstance(value, str):
        return ""
    kept = "".join(ch for ch in value
                   if ch == "\u200d" or unicodedata.category(ch) not in ("Cc", "Cf", "Cs", "Zl", "Zp"))
    return kept if len(kept) <= 32 else ""


def _shown(value: object) -> str:
    """A partner's value as a loss shows it: short, quoted, control characters escaped."""
    return repr(value[:60]) if isinstance(value, str) else f"<{type(value).__name__}>"


def _one_of(value: object, choices: frozenset[str]) -> bool:
    return isinstance(value, str) and value in choices


def _int(value: object, default: int, low: int, high: int) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return min(max(value, low), high)
    return default


def _flag(value: object) -> bool:
    return value is True


def _ident(value: object) -> str:
    return value if isinstance(value, str) and IDENT.fullmatch(value) else ""


def _items(value: object) -> list[Any]:
    return value if isinstance(value, list) else []


class _Policy:
    def __init__(self, log: LossLog) -> None:
        self.log = log
        self.removed = 0

    def text(self, value: object) -> str:
        text, removed = _body_text(value)
        self.removed += removed
        return text

    # ------------------------------------------------------------------------------------------- blocks

    def blocks(self, nodes: object, depth: int) -> list[Block]:
        out: list[Block] = []
        for node in _items(nodes):
            out.extend(self.block(node, depth))
        return out

    def block(self, node: object, depth: int) -> list[Block]:
        if depth >= MAX_DEPTH and isinstance(node, (ListBlock, TaskList, Quote, Panel, Table, Expand)):
            self.log.add("structure", f"{type(node).__name__} nested more than {MAX_DEPTH} deep: kept as its text")
            return [Paragraph([Text(line)]) for line in _loose_text(node) if line]
        inner = depth + 1
        if isinstance(node, Paragraph):
            return [Paragraph(self.inlines(node.children))]
        if isinstance(node, Heading):
            return [Heading(_int(node.level, 1, 1, 6), self.inlines(node.children))]
        if isinstance(node, ListBlock):
            items = [ListItem(self.blocks(item.children, inner)) for item in _items(node.items)
                     if isinstance(item, ListItem)]
            return [ListBlock(_flag(node.ordered), items, _int(node.start, 1, 0, 1_000_000))]
        if isinstance(node, TaskList):
            kind: Literal["task", "decision"] = "decision" if node.kind == "decision" else "task"
            tasks = [TaskItem(self.inlines(item.children), _flag(item.done), _ident(item.id))
                     for item in _items(node.items) if isinstance(item, TaskItem)]
            return [TaskList(tasks, kind, _ident(node.id))]
        if isinstance(node, CodeBlock):
            language = node.language if isinstance(node.language, str) and LANGUAGE.fullmatch(node.language) else None
            return [CodeBlock(self.text(node.text), language)]
        if isinstance(node, Quote):
            return [Quote(self.blocks(node.children, inner))]
        if isinstance(node, Panel):
            panel = node.kind if _one_of(node.kind, PANEL_KINDS) else "info"
            if panel != node.kind:
                self.log.add("panel", f"unknown panel kind {_shown(node.kind)} shown as an info panel")
            return [Panel(panel, self.blocks(node.children, inner), clean_line(node.title, TITLE_LIMIT))]
        if isinstance(node, Table):
            rows = [TableRow([self.cell(cell, inner) for cell in _items(row.cells) if isinstance(cell, TableCell)])
                    for row in _items(node.rows) if isinstance(row, TableRow)]
            return [Table(rows)]
        if isinstance(node, Rule):
            return [Rule()]
        if isinstance(node, Expand):
            return [Expand(clean_line(node.title, TITLE_LIMIT), self.blocks(node.children, inner))]
        if isinstance(node, (Text, HardBreak, Mention, Emoji, Image, Atom)):
            return [Paragraph(self.inlines([node]))]
        self.log.add("unknown-node", f"{type(node).__name__} where a block belongs: dropped")
        return []

    def cell(self, cell: TableCell, depth: int) -> TableCell:
        return TableCell(self.blocks(cell.children, depth), _flag(cell.header), _int(cell.colspan, 1, 1, MAX_SPAN),
                         _int(cell.rowspan, 1, 1, MAX_SPAN))

    # ------------------------------------------------------------------------------------------- inlines

    def inlines(self, nodes: object) -> list[Inline]:
        out: list[Inline] = []
        for node in _items(nodes):
            kept = self.inline(node)
            if isinstance(node, Image) and out and isinstance(out[-1], Text) and not out[-1].text[-1:].isspace():
                kept = [Text(" "), *kept]  # "[image: a] [image: b]", not "[image: a][image: b]"
            out.extend(kept)
        return out

    def inline(self, node: object) -> list[Inline]:
        if isinstance(node, Text):
            text = self.text(node.text)
            return [Text(text, self.marks(node.marks, text))] if text else []
        if isinstance(node, HardBreak):
            return [HardBreak()]
        if isinstance(node, Mention):
            return [self.mention(node)]
        if isinstance(node, Image):
            return [self.image(node)]
        if isinstance(node, Emoji):
            short_name, text = clean_line(node.short_name, 64), _emoji_text(node.text)
            return [Emoji(short_name, text, clean_line(node.id, 64))] if short_name or text else []
        if isinstance(node, Atom):
            return self.atom(node)
        self.log.add("unknown-node", f"{type(node).__name__} where text belongs: dropped")
        return []

    def mention(self, node: Mention) -> Text:
        """A partner's mention names someone on the partner's side: it must not notify or resolve to one of ours."""
        name = clean_line(node.text, NAME_LIMIT)
        if not name and node.scheme == "username":
            name = clean_line(node.id, NAME_LIMIT)
        label = (name if name.startswith("@") else "@" + name) if name else "@unknown user"
        self.log.add("mention", f"mention of {label!r} from the partner kept as plain text (it notifies no one here)")
        return Text(label)

    def image(self, node: Image) -> Text:
        """Our tracker never loads an image the partner points at (tracking pixels): it is shown by its name."""
        name = clean_line(node.alt, NAME_LIMIT)
        if not name and safe_url(node.src):
            name = clean_line(unquote(urlsplit(node.src.strip()).path.rsplit("/", 1)[-1]), NAME_LIMIT)
        label = f"[image: {name}]" if name else "[image]"
        self.log.add("image", f"image {label!r} from the partner not loaded: shown as its name")
        return Text(label)

    def atom(self, node: Atom) -> list[Inline]:
        attrs = node.attrs if isinstance(node.attrs, dict) else {}
        if node.kind == "inlineCard":
            url = safe_url(attrs.get("url") or node.text)
            if url is not None:
                return [Atom("inlineCard", url, {"url": url})]
            text = self.text(node.text or attrs.get("url"))
            self.log.add("unsafe-link", f"card to {_shown(text)} (not http, https or mailto) kept as plain text")
            return [Text(text)] if text else []
        if node.kind == "status":
            text = clean_line(attrs.get("text") or node.text, NAME_LIMIT)
            if not text:
                return []
            color = attrs["color"] if _one_of(attrs.get("color"), STATUS_COLORS) else "neutral"
            local_id = _ident(attrs.get("localId"))
            return [Atom("status", text, {"text": text, "color": color} | ({"localId": local_id} if local_id else {}))]
        timestamp = attrs.get("timestamp")
        timestamp = str(timestamp) if isinstance(timestamp, int) and not isinstance(timestamp, bool) else timestamp
        if node.kind == "date" and isinstance(timestamp, str) and re.fullmatch(r"\d{1,16}", timestamp):
            return [Atom("date", date_text(timestamp), {"timestamp": timestamp})]
        text = self.text(node.text)
        self.log.add("extension", f"{_shown(node.kind)} node from the partner kept as its text {_shown(text)}")
        return [Text(text)] if text else []

    def marks(self, marks: object, text: str) -> tuple[Mark, ...]:
        out: list[Mark] = []
        for mark in marks if isinstance(marks, (tuple, list)) else ():
            if not isinstance(mark, Mark):
                continue
            if _one_of(mark.kind, SIMPLE_MARKS):
                out.append(Mark(mark.kind))
            elif mark.kind == "link":
                url = safe_url(mark.value)
                if url is None:
                    self.log.add("unsafe-link", f"link to {_shown(mark.value)} (not http, https or mailto) on "
                                                f"{_shown(text)} kept as plain text")
                else:
                    out.append(Mark("link", url, clean_line(mark.title, TITLE_LIMIT)))
            elif mark.kind in ("color", "background"):
                if isinstance(mark.value, str) and COLOR.fullmatch(mark.value.strip()):
                    out.append(Mark(mark.kind, mark.value.strip()))
                else:
                    self.log.add("mark", f"colour {_shown(mark.value)} is not a plain colour: dropped")
            elif mark.kind == "annotation":
                self.log.add("annotation", f"inline comment anchor on {_shown(text)} refers to the partner's site: "
                                           "dropped")
            else:
                self.log.add("mark", f"unknown mark {_shown(mark.kind)} dropped")
        return tuple(out)


def _loose_text(node: object) -> list[str]:
    """The text lines anywhere under ``node``, walked without recursion (the tree may be deeper than the stack)."""
    lines: list[str] = []
    stack: list[object] = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, (Paragraph, Heading, TaskItem)):
            words = [node.text for node in _items(current.children) if isinstance(node, Text)]
            lines.append(clean_line("".join(word for word in words if isinstance(word, str)), 10_000, ellipsis=False))
        elif isinstance(current, CodeBlock):
            lines.append(clean_line(current.text, 10_000, ellipsis=False))
        elif isinstance(current, (list, tuple)):
            stack.extend(reversed(current))
        elif hasattr(current, "__dataclass_fields__") and not isinstance(current, (Mark, Text, Mention, Image, Atom)):
            stack.extend(reversed([getattr(current, name) for name in current.__dataclass_fields__]))
    return lines


__all__ = ["NAME_LIMIT", "TITLE_LIMIT", "URL_SCHEMES", "Policed", "clean_line", "partner_content", "safe_filename",
           "safe_url"]
