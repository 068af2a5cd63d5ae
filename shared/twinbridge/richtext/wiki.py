"""Jira wiki markup (Jira Data Center): parse into the canonical tree and render it back."""

from __future__ import annotations

import re

from .degrade import LossLog, flatten_block, flatten_blocks, join_lines, panel_label, task_prefix
from .model import (
    Block,
    CodeBlock,
    Document,
    Expand,
    HardBreak,
    Heading,
    Inline,
    ListBlock,
    ListItem,
    Mark,
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
from .wiki_inline import find_unescaped, parse_inline, render_inline

PANEL_MACROS = ("panel", "info", "note", "warning", "tip")
TO_WIKI_PANEL = {"info": "info", "note": "note", "warning": "warning", "tip": "tip", "panel": "panel",
                 "error": "warning", "success": "tip", "custom": "panel"}
RAW_MACRO = re.compile(r"^\{(code|noformat)(?::([^}]*))?\}")
BODY_MACRO = re.compile(r"^\{(quote|panel|info|note|warning|tip)(?::([^}]*))?\}")
HEADING = re.compile(r"^h([1-6])\.(?:\s+|$)(.*)$")
QUOTE_LINE = re.compile(r"^bq\.(?:\s+|$)(.*)$")
LIST_LINE = re.compile(r"^([*#]+|-)(?:\s+(.*)|$)")

# ---------------------------------------------------------------- parse


def parse_wiki(text: str, log: LossLog) -> Document:
    """Read Jira wiki markup into the canonical tree."""
    return Document(_blocks(text.replace("\r\n", "\n").replace("\r", "\n").split("\n"), log))


def _params(raw: str | None) -> dict[str, str]:
    out: dict[str, str] = {}
    for index, part in enumerate(filter(None, (raw or "").split("|"))):
        key, sep, value = part.partition("=")
        if sep:
            out[key.strip()] = value.strip()
        elif index == 0:
            out[""] = part.strip()
    return out


def _find_close(lines: list[str], start: int, first_rest: str, name: str) -> tuple[list[str], int, str]:
    """Collect a macro body up to its closing tag; returns (body lines, index after, text after the tag)."""
    tag = "{" + name + "}"
    opener = re.compile(r"\{" + name + r"(?::[^}]*)?\}")
    depth = 0
    body: list[str] = []
    line, index = first_rest, start
    nestable = name not in ("code", "noformat")
    while True:
        pos = 0
        while True:
            close = line.find(tag, pos)
            if nestable:
                inner = opener.search(line, pos)
                if inner and (close == -1 or inner.start() < close) and inner.group(0) != tag:
                    depth += 1
                    pos = inner.end()
                    continue
            if close == -1:
                break
            if depth == 0:
                body.append(line[:close])
                return body, index + 1, line[close + len(tag):]
            depth -= 1
            pos = close + len(tag)
        body.append(line)
        index += 1
        if index >= len(lines):
            return body, index, ""
        line = lines[index]


def _blocks(lines: list[str], log: LossLog) -> list[Block]:
    out: list[Block] = []
    para: list[str] = []
    i = 0

    def flush() -> None:
        if para:
            out.append(Paragraph(parse_inline("\n".join(para), log)))
            para.clear()

    while i < len(lines):
        line = lines[i]
        stripped = line.strip()
        if not stripped:
            flush()
            i += 1
            continue
        raw = RAW_MACRO.match(stripped)
        body_macro = BODY_MACRO.match(stripped)
        if raw or body_macro:
            flush()
            match = raw or body_macro
            assert match is not None
            name, params = match.group(1), _params(match.group(2))
            body, i, rest = _find_close(lines, i, stripped[match.end():], name)
            if raw:
                text = "\n".join(body).strip("\n")
                language = (params.get("language") or params.get("")) if name == "code" else None
                out.append(CodeBlock(text, language or None))
            else:
                inner = _blocks(body, log)
                if name == "quote":
                    out.append(Quote(inner))
                else:
                    out.append(Panel(name, inner, params.get("title", "")))
            if rest.strip():
                lines = lines[:i] + [rest] + lines[i:]
            continue
        heading = HEADING.match(stripped)
        if heading:
            flush()
            out.append(Heading(int(heading.group(1)), parse_inline(heading.group(2).strip(), log)))
            i += 1
            continue
        quote = QUOTE_LINE.match(stripped)
        if quote:
            flush()
            out.append(Quote([Paragraph(parse_inline(quote.group(1).strip(), log))]))
            i += 1
            continue
        if re.fullmatch(r"-{4,}", stripped):
            flush()
            out.append(Rule())
            i += 1
            continue
        if LIST_LINE.match(stripped):
            flush()
            entries = []
            while i < len(lines) and LIST_LINE.match(lines[i].strip()):
                match = LIST_LINE.match(lines[i].strip())
                assert match is not None
                entries.append((match.group(1), parse_inline((match.group(2) or "").strip(), log)))
                i += 1
            out.extend(_build_lists(entries))
            continue
        if stripped.startswith("|"):
            flush()
            rows = []
            while i < len(lines) and lines[i].strip().startswith("|"):
                rows.append(_row(lines[i].strip(), log))
                i += 1
            out.append(Table(rows))
            continue
        para.append(line)
        i += 1
    flush()
    return out


def _build_lists(entries: list[tuple[str, list[Inline]]]) -> list[Block]:
    roots: list[Block] = []
    stack: list[ListBlock] = []
    for markers, inlines in entries:
        markers = "*" if markers == "-" else markers
        while len(stack) > len(markers):
            stack.pop()
        if stack and stack[-1].ordered != (markers[len(stack) - 1] == "#"):
            stack.pop()
        while len(stack) < len(markers):
            block = ListBlock(markers[len(stack)] == "#")
            if stack:
                parent = stack[-1]
                if not parent.items:
                    parent.items.append(ListItem([]))
                parent.items[-1].children.append(block)
            else:
                roots.append(block)
            stack.append(block)
        stack[-1].items.append(ListItem([Paragraph(inlines)]))
    return roots


def _row(line: str, log: LossLog) -> TableRow:
    cells: list[TableCell] = []
    header = False
    current: list[str] = []
    started = False
    j = 0
    while j < len(line):
        ch = line[j]
        if ch == "\\" and j + 1 < len(line) and line[j + 1] != "\\":
            current.append(line[j:j + 2])
            j += 2
            continue
        if ch == "[" or line.startswith("{{", j):
            close = find_unescaped(line, "]" if ch == "[" else "}}", j + (1 if ch == "[" else 2), len(line))
            if close != -1:
                end = close + (1 if ch == "[" else 2)
                current.append(line[j:end])
                j = end
                continue
        if ch == "|":
            if started:
                cells.append(_cell("".join(current), header, log))
            current = []
            started = True
            header = line.startswith("||", j)
            j += 2 if header else 1
            continue
        current.append(ch)
        j += 1
    if "".join(current).strip():
        cells.append(_cell("".join(current), header, log))
    return TableRow(cells)


def _cell(raw: str, header: bool, log: LossLog) -> TableCell:
    inlines = parse_inline(raw.strip(), log)
    return TableCell([Paragraph(inlines)] if inlines else [], header)


# ---------------------------------------------------------------- render


def render_wiki(doc: Document, log: LossLog) -> str:
    """Render the canonical tree as Jira wiki markup."""
    return "\n\n".join(part for part in _render_blocks(doc.blocks, log, nested=()) if part).strip("\n") + "\n"


def _render_blocks(blocks: list[Block], log: LossLog, nested: tuple[str, ...]) -> list[str]:
    return [_render(block, log, nested) for block in blocks]


def _render(block: Block, log: LossLog, nested: tuple[str, ...]) -> str:
    if isinstance(block, Paragraph):
        return render_inline(block.children, log)
    if isinstance(block, Heading):
        return f"h{min(max(block.level, 1), 6)}. " + render_inline(block.children, log)
    if isinstance(block, ListBlock):
        return "\n".join(_list_lines(block, "", log))
    if isinstance(block, TaskList):
        log.add(f"{block.kind}-list", f"{block.kind} list rendered as a bullet list with text markers")
        items = [ListItem([Paragraph([Text(task_prefix(i, block.kind))] + list(i.children))]) for i in block.items]
        return "\n".join(_list_lines(ListBlock(False, items), "", log))
    if isinstance(block, CodeBlock):
        return _code(block, log)
    if isinstance(block, Quote):
        if "quote" in nested:
            log.add("structure", "quote inside a quote flattened (wiki cannot nest {quote})")
            return _join(_render_blocks(block.children, log, nested))
        return "{quote}\n" + _join(_render_blocks(block.children, log, nested + ("quote",))) + "\n{quote}"
    if isinstance(block, Panel):
        return _panel(block, log, nested)
    if isinstance(block, Table):
        if "table" in nested:
            log.add("structure", "table inside a table flattened to lines")
            return render_inline(join_lines(flatten_block(block)), log)
        return "\n".join(_table_row(row, log) for row in block.rows)
    if isinstance(block, Rule):
        return "----"
    if isinstance(block, Expand):
        log.add("expand", "expand rendered as a bold title followed by its content")
        head = [render_inline([Text(block.title, (Mark("strong"),))], log)] if block.title else []
        return _join(head + _render_blocks(block.children, log, nested))
    return ""


def _join(parts: list[str]) -> str:
    return "\n\n".join(p for p in parts if p)


def _code(block: CodeBlock, log: LossLog) -> str:
    text = block.text
    if block.language and "{code}" not in text:
        return "{code:" + re.sub(r"[^\w+#.-]", "", block.language) + "}\n" + text + "\n{code}"
    if block.language:
        log.add("code", "code contains {code}: written as {noformat} without its language")
    if "{noformat}" in text:
        log.add("code", "code contains {noformat}: the marker was broken with a space", "")
        text = text.replace("{noformat}", "{ noformat}")
    return "{noformat}\n" + text + "\n{noformat}"


def _panel(block: Panel, log: LossLog, nested: tuple[str, ...]) -> str:
    macro = TO_WIKI_PANEL.get(block.kind, "panel")
    if macro != block.kind:
        log.add("panel", f"{block.kind!r} panel written as {{{macro}}}")
    if nested and any(n in PANEL_MACROS for n in nested):
        log.add("structure", "panel inside a panel flattened to a labelled paragraph")
        lines = _render_blocks(block.children, log, nested)
        return _join([render_inline([Text(panel_label(block), (Mark("strong"),))], log)] + lines)
    title = block.title.replace("}", "").replace("|", "")
    opener = "{" + macro + (f":title={title}" if title else "") + "}"
    body = _join(_render_blocks(block.children, log, nested + (macro,)))
    return opener + "\n" + body + "\n{" + macro + "}"


def _list_lines(block: ListBlock, prefix: str, log: LossLog) -> list[str]:
    marker = prefix + ("#" if block.ordered else "*")
    if block.ordered and block.start != 1:
        log.add("list-start", f"ordered list starting at {block.start} restarts at 1 in wiki")
    lines: list[str] = []
    for item in block.items:
        first: list[Inline] = []
        rest: list[Block] = list(item.children)
        lead = rest[0] if rest else None
        if isinstance(lead, Paragraph):
            rest.pop(0)
            first = list(lead.children)
        nested_lists: list[ListBlock] = []
        for child in rest:
            if isinstance(child, ListBlock):
                nested_lists.append(child)
                continue
            if nested_lists:
                log.add("structure", "content after a nested list moved onto the item line")
            if not isinstance(child, Paragraph):
                log.add("structure", f"{type(child).__name__} inside a list item flattened to lines")
            lines_of = flatten_block(child)
            for line in lines_of:
                first = first + ([HardBreak()] if first else []) + line
        lines.append(marker + " " + _cell_inline(first, log))
        for sub in nested_lists:
            lines.extend(_list_lines(sub, marker, log))
    return lines


def _cell_inline(children: list[Inline], log: LossLog) -> str:
    return render_inline(children, log)


def _table_row(row: TableRow, log: LossLog) -> str:
    parts: list[str] = []
    delim = "|"
    for cell in row.cells:
        delim = "||" if cell.header else "|"
        structured = [b for b in cell.children if not isinstance(b, Paragraph)]
        if structured:
            log.add("structure", "table cell content flattened to lines (wiki cells hold inline text)")
        lines = flatten_blocks(cell.children)
        text = render_inline(join_lines(lines), log) if lines else ""
        parts.append(f"{delim} {text or ' '} ")
        if cell.colspan > 1 or cell.rowspan > 1:
            log.add("table-span", "merged cells are not supported in wiki: padded with empty cells")
            parts.extend(f"{delim}   " for _ in range(cell.colspan - 1))
    return "".join(parts) + delim

