"""The ADF reference corpus (read in place from ../shared/corpora/adf) and the text-preservation measure."""

from __future__ import annotations

import functools
import json
from collections import Counter
from dataclasses import dataclass
from typing import Any

from tests.support import CORPORA
from twinbridge_tools.simulators.jira.adf import validator  # the simulator's check of what Jira Cloud is given

ADF_CORPUS = CORPORA / "adf"
SCHEMA_PATH = ADF_CORPUS / "schema" / "adf-schema-v1-full.json"
SKIPPED_FOLDERS = ("atlaskit-v1-reference-invalid",)


def schema_errors(adf: dict[str, Any]) -> list[str]:
    """Every schema violation as 'path: message' (empty when the document is valid)."""
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message[:160]}" for e in validator().iter_errors(adf)]


@dataclass(frozen=True)
class CorpusDoc:
    name: str
    adf: dict[str, Any]


@functools.cache
def valid_documents() -> tuple[CorpusDoc, ...]:
    """Every corpus ADF document (issue responses unwrapped) that validates against today's schema."""
    docs = []
    for path in sorted((ADF_CORPUS / "documents").rglob("*.json")):
        if any(folder in path.parts for folder in SKIPPED_FOLDERS):
            continue
        data = json.loads(path.read_text())
        if data.get("type") != "doc":
            data = (data.get("fields") or {}).get("description")
        if isinstance(data, dict) and not schema_errors(data):
            docs.append(CorpusDoc(str(path.relative_to(ADF_CORPUS / "documents")), data))
    return tuple(docs)


def adf_visible_text(node: Any) -> str:
    """Text a reader sees in raw ADF (text, mention names, emoji, status), found independently of the converter."""
    if isinstance(node, list):
        return "".join(adf_visible_text(child) for child in node)
    if not isinstance(node, dict):
        return ""
    kind = node.get("type")
    attrs = node.get("attrs") or {}
    if kind == "text":
        return node.get("text", "")
    if kind == "mention":
        return attrs.get("text", "")
    if kind == "emoji":
        return attrs.get("text") or attrs.get("shortName", "")
    if kind == "status":
        return attrs.get("text", "")
    return adf_visible_text(node.get("content") or [])


def chars(text: str) -> Counter[str]:
    return Counter(ch for ch in text if not ch.isspace())


def kept_ratio(before: str, after: str, explained: str = "") -> tuple[float, Counter[str]]:
    """Share of `before`'s non-space characters found in `after`, and the missing ones not in `explained`."""
    source = chars(before)
    total = sum(source.values())
    missing = source - chars(after)
    unexplained = missing - chars(explained)
    return (1.0 if total == 0 else (total - sum(missing.values())) / total), unexplained


@dataclass(frozen=True)
class RoundTrip:
    name: str
    output: dict[str, Any]
    losses: tuple[Any, ...]
    kept: float
    unexplained: Counter[str]


def round_trip(doc: CorpusDoc, via: str) -> RoundTrip:
    """ADF -> `via` -> ADF (or ADF -> canonical -> ADF when via is "adf"), measured on visible text."""
    from twinbridge.richtext import convert

    if via == "adf":
        result = convert(doc.adf, "adf", "adf")
        output, losses = result.content, result.losses
    else:
        there = convert(doc.adf, "adf", via)
        back = convert(there.content, via, "adf")
        output, losses = back.content, there.losses + back.losses
    kept, unexplained = kept_ratio(adf_visible_text(doc.adf), adf_visible_text(output),
                                   "".join(loss.dropped for loss in losses))
    return RoundTrip(doc.name, output, tuple(losses), kept, unexplained)
