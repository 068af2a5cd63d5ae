"""What people did on both sides, and the invariants a settled pair must satisfy (docs/sync-model.md):

- exactly one counterpart per item, on the other side, and nothing else made by twinbridge;
- each synced field equal on both sides, at the value the conflict rule gives: the last edit when it was made on the
  side the item was created on, or made after the pair had settled since the other side's last edit; either of the
  two sides' last edits when they raced (both made between the same two settlings);
- every comment a person wrote exists once on the other side with its current text, none that was deleted;
- every file a person attached exists once on the other side (same name and size), none that was removed.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

from twinbridge.models.replica import FIELDS
from twinbridge.richtext import plain_text, to_canonical
from twinbridge.sync.basic_rules import shared_labels
from twinbridge_tools.convergence.pair import CONNECTION_ID, Pair, is_bot


@dataclass(frozen=True)
class Edit:
    side: str
    value: Any
    epoch: int  # how many times the pair had settled before the edit


@dataclass
class ItemModel:
    origin: str  # the side the item was created on
    twin_id: str
    keys: dict[str, str]  # side -> item key (the copy's once it is known)
    item_id: str
    edits: dict[str, list[Edit]]
    comments: dict[str, dict[str, str]] = field(default_factory=lambda: {"a": {}, "b": {}})  # side -> id -> text
    files: dict[str, dict[str, tuple[str, int]]] = field(default_factory=lambda: {"a": {}, "b": {}})

    def expected(self, name: str) -> list[Any]:
        """The values the conflict rule allows for field ``name`` once the pair has settled."""
        edits = self.edits[name]
        last = edits[-1]
        if last.side == self.origin:
            return [last.value]
        other = [e for e in edits if e.side == self.origin]
        if not other or other[-1].epoch < last.epoch:
            return [last.value]
        return [last.value, other[-1].value]  # raced: the origin's wins if they were concurrent, else the copy's


@dataclass
class World:
    items: list[ItemModel] = field(default_factory=list)
    epoch: int = 0
    _texts: Any = field(default_factory=lambda: itertools.count(1))

    def fresh(self, what: str) -> str:
        return f"{what}-{next(self._texts)}"

    def created(self, pair: Pair, side: str, key: str, item_id: str, summary: str, labels: list[str]) -> ItemModel:
        initial = {"summary": summary, "labels": sorted(labels), "type": "Task", "description": ""}
        model = ItemModel(origin=side, twin_id=f"{pair.nodes[side].spec.short}:{item_id}", keys={side: key},
                          item_id=item_id,
                          edits={name: [Edit(side, initial[name], self.epoch)] for name in FIELDS})
        self.items.append(model)
        return model

    def settled(self, pair: Pair) -> None:
        """The pair has quiesced: learn the copies' keys, and start a new epoch."""
        self.epoch += 1
        for item in self.items:
            other = "b" if item.origin == "a" else "a"
            if other not in item.keys:
                twin = pair.nodes[item.origin].deps.twins.get(CONNECTION_ID, item.twin_id)
                if twin is not None and twin.remote is not None:
                    item.keys[other] = twin.remote.key

    def violations(self, pair: Pair) -> list[str]:
        found: list[str] = []
        for side in ("a", "b"):
            made = pair.made_by_twinbridge(side)
            expected = sorted(i.keys.get(side, "?") for i in self.items if i.origin != side)
            if made != expected:
                found.append(f"side {side}: twinbridge made {made}, one copy per item of the other side is {expected}")
        for item in self.items:
            found += self._item_violations(pair, item)
        return found

    def _item_violations(self, pair: Pair, item: ItemModel) -> list[str]:
        if len(item.keys) < 2:
            return [f"{item.twin_id}: no copy on the other side"]
        got = {side: pair.nodes[side].person.get_item(key) for side, key in item.keys.items()}
        problems = []
        for name in FIELDS:
            values = {side: _field(name, value, pair.nodes[side].person.text_format) for side, value in got.items()}
            allowed = [_normal(name, v) for v in item.expected(name)]
            if values["a"] != values["b"] or values["a"] not in allowed:
                problems.append(f"{item.twin_id} {name}: a={values['a']!r} b={values['b']!r}, allowed {allowed!r}")
        for side in ("a", "b"):
            other = "b" if side == "a" else "a"
            wanted = sorted(item.comments[side].values())
            copies = sorted(_comment_texts(pair, other, item.keys[other], mine=False))
            if copies != wanted:
                problems.append(f"{item.twin_id} comments from {side}: {wanted!r} on {side}, {copies!r} on {other}")
            files = sorted(item.files[side].values())
            copied = sorted(_files(pair, other, item.keys[other], exclude=set(item.files[other])))
            if copied != files:
                problems.append(f"{item.twin_id} files from {side}: {files!r} on {side}, {copied!r} on {other}")
        return problems


def current_value(pair: Pair, side: str, key: str, name: str) -> Any:
    """Field ``name`` of ``side``'s item as the model compares it."""
    return _field(name, pair.nodes[side].person.get_item(key), "")


def _field(name: str, item: Any, text_format: str) -> Any:
    if name == "labels":
        return shared_labels(item.labels)
    if name == "description":
        return _plain(item.description)
    return getattr(item, name)


def _normal(name: str, value: Any) -> Any:
    return sorted(value) if name == "labels" else value


def _plain(text: Any) -> str:
    if text is None or text.is_empty:
        return ""
    return " ".join(plain_text(to_canonical(text.content, text.format).document).split())


def _comment_texts(pair: Pair, side: str, key: str, *, mine: bool) -> list[str]:
    """The comments on ``side``'s item: the people's own (``mine``) or the copies twinbridge made (without byline)."""
    texts = []
    for comment in pair.nodes[side].person.list_comments(key):
        by_bot = is_bot(pair.nodes[side], comment.author)
        text = _plain(comment.body)
        if by_bot != mine:
            texts.append(text.split("wrote:", 1)[1].strip() if "wrote:" in text else text)
    return texts


def _files(pair: Pair, side: str, key: str, exclude: set[str]) -> list[tuple[str, int]]:
    item = pair.nodes[side].person.get_item(key)
    return [(a.filename, a.size or 0) for a in item.attachments if a.id not in exclude]
