"""Round-trip text preservation of the rich-text layer over the ADF reference corpus.

For every ADF document in ../shared/corpora/adf that validates against today's schema, runs
ADF -> canonical -> ADF, ADF -> wiki -> ADF and ADF -> HTML -> ADF, then prints per pair: how many outputs
validate against the official schema, the share of the input's visible characters (non-space) found in the
output, the share kept or explained by a reported loss, and the losses by kind. The same measure is asserted
by tests/unit/richtext/test_corpus_roundtrip.py.

Usage: python benchmarks/richtext_roundtrip.py [--verbose]
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import time
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def load_corpus_helpers():
    """The corpus loader and measure the tests use (loaded by path: tests/ is not an installed package)."""
    sys.path.insert(0, str(REPO))  # corpus.py finds the corpora through tests.support
    spec = importlib.util.spec_from_file_location("richtext_corpus", REPO / "tests/unit/richtext/corpus.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is created
    spec.loader.exec_module(module)
    return module


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--verbose", action="store_true", help="list every document below 100% and its losses")
    args = parser.parse_args()
    corpus = load_corpus_helpers()
    docs = corpus.valid_documents()
    total_chars = sum(sum(corpus.chars(corpus.adf_visible_text(d.adf)).values()) for d in docs)
    print(f"{len(docs)} valid ADF documents, {total_chars} visible non-space characters\n")
    header = f"{'round trip':<20}{'schema-valid':>14}{'docs 100%':>11}{'chars kept':>12}{'kept+reported':>15}{'ms':>7}"
    print(header)
    print("-" * len(header))
    details = []
    for via in ("adf", "wiki", "html"):
        started = time.perf_counter()
        trips = [corpus.round_trip(d, via) for d in docs]
        elapsed = (time.perf_counter() - started) * 1000
        valid = sum(not corpus.schema_errors(t.output) for t in trips)
        missing = explained = 0
        for d, t in zip(docs, trips, strict=True):
            source = corpus.chars(corpus.adf_visible_text(d.adf))
            lost = source - corpus.chars(corpus.adf_visible_text(t.output))
            missing += sum(lost.values())
            explained += sum(lost.values()) - sum(t.unexplained.values())
        kept = 100 * (total_chars - missing) / total_chars
        reported = 100 * (total_chars - missing + explained) / total_chars
        full = sum(t.kept == 1 for t in trips)
        label = "adf -> adf" if via == "adf" else f"adf -> {via} -> adf"
        print(f"{label:<20}{valid:>9}/{len(docs):<4}{full:>7}/{len(docs):<3}{kept:>11.3f}%{reported:>14.3f}%"
              f"{elapsed:>7.0f}")
        losses = Counter(loss.kind for t in trips for loss in t.losses)
        details.append((label, losses, [t for t in trips if t.kept < 1]))
    print()
    for label, losses, below in details:
        print(f"{label}: losses by kind: {dict(sorted(losses.items())) or 'none'}")
        for trip in below:
            dropped = [f"{loss.kind}: {loss.dropped!r}" for loss in trip.losses if loss.dropped]
            print(f"    {trip.name}: {trip.kept * 100:.2f}% kept; reported: {', '.join(dropped) or 'NOTHING'}")
            if args.verbose:
                for loss in trip.losses:
                    print(f"        - {loss.kind}: {loss.detail}")


if __name__ == "__main__":
    main()
