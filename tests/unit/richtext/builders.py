"""Tiny ADF builders so tests state documents in one line."""

from __future__ import annotations

from typing import Any


def doc(*content: dict[str, Any]) -> dict[str, Any]:
    return {"version": 1, "type": "doc", "content": list(content)}


def para(*content: dict[str, Any]) -> dict[str, Any]:
    return {"type": "paragraph", "content": list(content)}


def text(value: str, *marks: str | dict[str, Any]) -> dict[str, Any]:
    node: dict[str, Any] = {"type": "text", "text": value}
    if marks:
        node["marks"] = [{"type": m} if isinstance(m, str) else m for m in marks]
    return node


def link(href: str) -> dict[str, Any]:
    return {"type": "link", "attrs": {"href": href}}


def bullet(*items: list[dict[str, Any]]) -> dict[str, Any]:
    return {"type": "bulletList", "content": [{"type": "listItem", "content": item} for item in items]}


def ordered(*items: list[dict[str, Any]]) -> dict[str, Any]:
    return {"type": "orderedList", "content": [{"type": "listItem", "content": item} for item in items]}


def mention(ident: str, name: str = "") -> dict[str, Any]:
    return {"type": "mention", "attrs": {"id": ident} | ({"text": name} if name else {})}
