"""A normal form of the canonical tree for comparisons: the same content written differently (marks in another
order, one text run split in two, an invisible trailing line break) normalizes to the same document."""

from __future__ import annotations

import dataclasses
from typing import Any

from .model import MARK_ORDER, Document, HardBreak, Text

_ORDER = {kind: index for index, kind in enumerate(MARK_ORDER)}


def normalized(document: Document) -> Document:
    return _walk(document)


def _walk(node: Any) -> Any:
    if isinstance(node, list):
        return _inline_run([_walk(child) for child in node])
    if dataclasses.is_dataclass(node) and not isinstance(node, type):
        if isinstance(node, Text):
            return Text(node.text, tuple(sorted(set(node.marks), key=lambda m: (_ORDER.get(m.kind, 99), m.value))))
        return dataclasses.replace(node, **{
            f.name: _walk(getattr(node, f.name)) for f in dataclasses.fields(node)
            if isinstance(getattr(node, f.name), list)
        })
    return node


def _inline_run(children: list[Any]) -> list[Any]:
    """Merge neighbouring texts with equal marks; drop empty texts and line breaks that end a run."""
    merged: list[Any] = []
    for child in children:
        if isinstance(child, Text):
            if not child.text:
                continue
            if merged and isinstance(merged[-1], Text) and merged[-1].marks == child.marks:
                merged[-1] = Text(merged[-1].text + child.text, child.marks)
                continue
        merged.append(child)
    while merged and isinstance(merged[-1], HardBreak):
        merged.pop()
    return merged
