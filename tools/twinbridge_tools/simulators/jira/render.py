"""Rich text as HTML for the Jira simulator (``expand=renderedFields`` and the browse page); every text is escaped."""

from __future__ import annotations

import html
from typing import Any

_BLOCKS = {"paragraph": "p", "blockquote": "blockquote", "bulletList": "ul", "orderedList": "ol", "listItem": "li",
           "table": "table", "tableRow": "tr", "tableHeader": "th", "tableCell": "td", "panel": "div"}
_MARKS = {"strong": "b", "em": "em", "code": "code", "strike": "s", "underline": "u", "subsup": "sub"}


def render_html(value: Any) -> str | None:
    """An ADF document (Cloud) or wiki markup (Data Center, shown as plain text) as an HTML fragment."""
    if value is None or value == "":
        return None
    if isinstance(value, dict):
        return "".join(_node(value))
    lines = str(value).split("\n")
    return "<p>" + "<br/>".join(html.escape(line) for line in lines) + "</p>"


def _node(node: Any) -> list[str]:
    if not isinstance(node, dict):
        return []
    kind = node.get("type")
    if kind == "text":
        text = html.escape(str(node.get("text", "")))
        for mark in node.get("marks") or []:
            mark_type = mark.get("type") if isinstance(mark, dict) else None
            if mark_type == "link":
                href = str((mark.get("attrs") or {}).get("href", ""))
                safe = href if href.startswith(("http://", "https://", "mailto:")) else "#"
                text = f'<a href="{html.escape(safe, quote=True)}" rel="nofollow">{text}</a>'
            elif mark_type in _MARKS:
                text = f"<{_MARKS[mark_type]}>{text}</{_MARKS[mark_type]}>"
        return [text]
    if kind == "hardBreak":
        return ["<br/>"]
    if kind == "rule":
        return ["<hr/>"]
    if kind in ("mention", "emoji", "status", "date", "inlineCard"):
        attrs = node.get("attrs") or {}
        label = attrs.get("text") or attrs.get("shortName") or attrs.get("url") or attrs.get("timestamp") or ""
        return [html.escape(str(label))]
    inner = [part for child in node.get("content") or [] for part in _node(child)]
    if kind == "heading":
        level = (node.get("attrs") or {}).get("level", 1)
        tag = f"h{level}" if level in (1, 2, 3, 4, 5, 6) else "h6"
        return [f"<{tag}>", *inner, f"</{tag}>"]
    if kind == "codeBlock":
        return ["<pre>", *inner, "</pre>"]
    block = _BLOCKS.get(str(kind))
    return [f"<{block}>", *inner, f"</{block}>"] if block else inner
