"""The canonical tree as JSON (what replicas carry between nodes): ``{"t": <node type>, ...fields}``, and back."""

from __future__ import annotations

import dataclasses
from typing import Any

from . import model

_NODE_TYPES: dict[str, type] = {
    name: cls for name, cls in vars(model).items()
    if isinstance(cls, type) and dataclasses.is_dataclass(cls) and cls.__module__ == model.__name__ and name != "Loss"
}
FORMAT_VERSION = 1


def to_json(document: model.Document) -> dict[str, Any]:
    return {"v": FORMAT_VERSION, **_dump(document)}


def from_json(data: dict[str, Any]) -> model.Document:
    """The Document in ``data``; ValueError naming the problem when it is not a canonical document."""
    if not isinstance(data, dict) or data.get("t") != "Document":
        raise ValueError("not a canonical rich-text document")
    if data.get("v") != FORMAT_VERSION:
        raise ValueError(f"unsupported canonical rich-text version {data.get('v')!r}")
    document = _load({key: value for key, value in data.items() if key != "v"})
    assert isinstance(document, model.Document)
    return document


def _dump(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        out: dict[str, Any] = {"t": type(value).__name__}
        for f in dataclasses.fields(value):
            item = getattr(value, f.name)
            if f.default is not dataclasses.MISSING and item == f.default:
                continue  # keep the JSON small: defaults are implied
            if f.default_factory is not dataclasses.MISSING and item == f.default_factory():
                continue
            out[f.name] = _dump(item)
        return out
    if isinstance(value, (list, tuple)):
        return [_dump(item) for item in value]
    if isinstance(value, dict):
        return {str(key): _dump(item) for key, item in value.items()}
    return value


def _load(value: Any) -> Any:
    if isinstance(value, dict) and "t" in value:
        name = value["t"]
        cls = _NODE_TYPES.get(name)
        if cls is None:
            raise ValueError(f"unknown rich-text node type {name!r}")
        names = {f.name: f for f in dataclasses.fields(cls)}
        kwargs = {}
        for key, item in value.items():
            if key == "t":
                continue
            if key not in names:
                raise ValueError(f"unknown field {key!r} on rich-text node {name}")
            loaded = _load(item)
            if key == "marks":
                if not isinstance(loaded, list):
                    raise ValueError(f"marks of rich-text node {name} are not a list")
                loaded = tuple(loaded)
            kwargs[key] = loaded
        try:
            return cls(**kwargs)
        except TypeError as exc:  # a required field is missing
            raise ValueError(f"rich-text node {name} lacks a required field") from exc
    if isinstance(value, list):
        return [_load(item) for item in value]
    if isinstance(value, dict):
        return {key: _load(item) for key, item in value.items()}
    return value
