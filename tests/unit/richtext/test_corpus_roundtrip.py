"""Every valid corpus ADF document survives ADF, wiki and HTML round trips: schema-valid, text kept or reported."""

from __future__ import annotations

import pytest

from tests.unit.richtext.corpus import adf_visible_text, chars, round_trip, schema_errors, valid_documents

PAIRS = ("adf", "wiki", "html")


def test_corpus_has_the_documents_provenance_promises_all_of_them_loaded():
    names = {doc.name for doc in valid_documents()}
    # 75 + 4 renderer examples + 4 utils + 35 Confluence + 2 Jira Cloud (see PROVENANCE.md).
    assert len(names) == 120
    assert "jira-cloud-jira-cli/jira-cloud-v3-get-issue-response-with-adf-description.json" in names
    assert not any(name.startswith("atlaskit-v1-reference-invalid/") for name in names)
    assert "atlaskit-v1-reference-valid/applicationCard-minimal.json" not in names


@pytest.mark.parametrize("via", PAIRS)
def test_corpus_round_trip_through_format_produces_schema_valid_adf(via):
    failures = {}
    for doc in valid_documents():
        errors = schema_errors(round_trip(doc, via).output)
        if errors:
            failures[doc.name] = errors[:3]
    assert failures == {}


@pytest.mark.parametrize("via", PAIRS)
def test_corpus_round_trip_through_format_keeps_or_reports_every_character(via):
    unexplained = {}
    for doc in valid_documents():
        trip = round_trip(doc, via)
        if trip.unexplained:
            unexplained[doc.name] = (round(trip.kept * 100, 2), dict(trip.unexplained), trip.losses)
    assert unexplained == {}


@pytest.mark.parametrize("via", ("adf", "html"))
def test_corpus_round_trip_through_format_keeps_all_text(via):
    below = {d.name: round(t.kept * 100, 2) for d in valid_documents() if (t := round_trip(d, via)).kept < 1}
    assert below == {}


def test_corpus_round_trip_through_wiki_loses_only_mention_names_and_says_so():
    for doc in valid_documents():
        trip = round_trip(doc, "wiki")
        if trip.kept < 1:
            dropped = [loss for loss in trip.losses if loss.dropped]
            assert dropped and {loss.kind for loss in dropped} == {"mention-name"}, doc.name


def test_corpus_round_trip_through_adf_reports_only_what_adf_itself_flattens():
    kinds = set()
    for doc in valid_documents():
        kinds |= {loss.kind for loss in round_trip(doc, "adf").losses}
    assert kinds <= {"structure", "card", "extension", "caption", "placeholder", "style", "unknown-node"}


def test_fast_validator_agrees_with_stock_draft4_on_the_invalid_reference_set():
    import json

    from jsonschema import Draft4Validator

    from tests.unit.richtext.corpus import ADF_CORPUS, SCHEMA_PATH, validator

    stock = Draft4Validator(json.loads(SCHEMA_PATH.read_text()))
    accepted = set()
    for path in sorted((ADF_CORPUS / "documents" / "atlaskit-v1-reference-invalid").glob("*.json")):
        document = json.loads(path.read_text())
        if len(path.read_bytes()) < 1000:  # stock jsonschema needs seconds on the few larger ones
            assert validator().is_valid(document) == stock.is_valid(document), path.name
        if validator().is_valid(document):
            accepted.add(path.name)
    # PROVENANCE.md: exactly these 14 of the 2018 negative cases pass today's schema.
    assert len(accepted) == 14 and "paragraph-with-marks.json" in accepted and "text-empty.json" not in accepted


def test_corpus_round_trip_character_preservation_is_reported(report_figure):
    docs = valid_documents()
    total = sum(sum(chars(adf_visible_text(d.adf)).values()) for d in docs)
    for via in PAIRS:
        trips = [(d, round_trip(d, via)) for d in docs]
        kept = sum(t.kept * sum(chars(adf_visible_text(d.adf)).values()) for d, t in trips)
        losses = sum(len(t.losses) for _, t in trips)
        label = "adf -> adf" if via == "adf" else f"adf -> {via} -> adf"
        report_figure(f"rich text {label:<18} {len(docs)} corpus documents, {total} characters: "
                      f"{kept / total:.3%} kept, {losses} losses listed, "
                      f"{sum(not schema_errors(t.output) for _, t in trips)}/{len(docs)} schema-valid")
        assert kept / total >= (0.99 if via == "wiki" else 1.0)
