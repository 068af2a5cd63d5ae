"""Canonical rich text survives the JSON trip between nodes exactly (replicas carry it)."""

from __future__ import annotations

import json

import pytest

from tests.support import CORPORA
from twinbridge.richtext import to_canonical
from twinbridge.richtext.serialize import from_json, to_json

DOCS = sorted((CORPORA / "adf" / "documents" / "confluence-cloud-real-atlas_doc_parser").glob("*.json")) + sorted(
    (CORPORA / "adf" / "documents" / "jira-cloud-jira-cli").glob("*issue-description*.json"))


@pytest.mark.parametrize("path", DOCS, ids=lambda p: p.name)
def test_canonical_documents_round_trip_through_json_unchanged(path):
    document = to_canonical(json.loads(path.read_text()), "adf").document
    wire = json.loads(json.dumps(to_json(document)))
    assert from_json(wire) == document


def test_unknown_node_types_are_refused_by_name():
    with pytest.raises(ValueError, match="unknown rich-text node type 'Script'"):
        from_json({"t": "Document", "v": 1, "blocks": [{"t": "Script"}]})


def test_non_documents_are_refused():
    with pytest.raises(ValueError, match="not a canonical rich-text document"):
        from_json({"t": "Paragraph", "v": 1})
