"""The public API: convert/to_canonical/from_canonical, loss reports, plain_text and import hygiene."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.unit.richtext.builders import doc, para, text
from twinbridge.richtext import Converted, Loss, convert, from_canonical, plain_text, to_canonical

PACKAGE = Path(__file__).resolve().parents[3] / "shared" / "twinbridge" / "richtext"


def test_convert_returns_content_and_losses_of_both_steps():
    result = convert("{info:title=T}\nbody\n{info}", "wiki", "html")
    assert isinstance(result, Converted)
    assert result.content == "<blockquote><p><strong>Info: T</strong> body</p></blockquote>"
    assert result.losses == [Loss("panel", "info panel rendered as a quote labelled 'Info: T'")]
    assert not result.lossless


def test_convert_same_format_without_losses_is_lossless():
    assert convert(doc(para(text("hi", "strong"))), "adf", "adf").lossless


def test_convert_accepts_adf_as_json_string():
    assert convert('{"version": 1, "type": "doc", "content": []}', "adf", "wiki").content == "\n"


@pytest.mark.parametrize("source,target", [("rtf", "adf"), ("adf", "markdown")])
def test_convert_unknown_format_raises_value_error(source, target):
    with pytest.raises(ValueError, match="unknown rich-text format"):
        convert(doc() if source == "adf" else "x", source, target)


def test_to_canonical_rejects_non_document_adf():
    with pytest.raises(ValueError, match="not an ADF document"):
        to_canonical({"type": "paragraph"}, "adf")


def test_plain_text_joins_blocks_cells_and_breaks():
    document = to_canonical("h1. Title\n\n||a||b||\n|c|d|\n\nx\\\\y [~bob] :)", "wiki").document
    assert plain_text(document) == "Title\na\tb\nc\td\nx\ny @bob 🙂"


def test_from_canonical_same_document_to_all_formats_keeps_text():
    document = to_canonical(doc(para(text("Ünïcödé ✓ <&> *_+"))), "adf").document
    for target in ("adf", "wiki", "html"):
        back = to_canonical(from_canonical(document, target).content, target).document
        assert plain_text(back) == "Ünïcödé ✓ <&> *_+", target


def test_richtext_imports_no_aws_http_or_heavy_modules():
    code = ("import sys, twinbridge.richtext as r; r.convert('x', 'wiki', 'adf'); "
            "print(sorted(m for m in ('boto3', 'requests', 'aws_lambda_powertools', 'nh3', 'jsonschema', 'pydantic')"
            " if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_richtext_sources_never_name_aws_or_http_libraries():
    pattern = re.compile(r"^\s*(import|from)\s+(boto3|botocore|requests|aws_lambda_powertools|jsonschema)\b", re.M)
    offenders = [p.name for p in PACKAGE.glob("*.py") if pattern.search(p.read_text())]
    assert offenders == []
