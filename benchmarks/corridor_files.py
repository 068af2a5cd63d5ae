"""Which source files does one change walk through, from the Jira webhook to the Azure DevOps copy?

Runs the in-process pair of benchmarks/sync_bench_support.py (a Jira Cloud node and an Azure DevOps node, moto,
simulators on loopback), links one issue (not traced), then renames it as a person and traces the change through
the webhook use case, the sending sync job, the hand-over to the partner and the applying sync job. Every file of
the product (shared/twinbridge, functions/) with a function that ran is listed, by package. The peer HTTP hop is
done in-process here (no signed request), so the files of that hop are not in the count; docs/architecture.md
lists them.

    .venv/bin/python benchmarks/corridor_files.py
"""

from __future__ import annotations

import sys
from collections import defaultdict
from pathlib import Path

from sync_bench_support import run, sync_pair

from twinbridge.models.tracker import ItemFields

REPO = Path(__file__).resolve().parents[1]
ROOTS = (REPO / "shared" / "twinbridge", REPO / "functions")


def _product_file(filename: str) -> str | None:
    path = Path(filename).resolve()
    for root in ROOTS:
        if root in path.parents:
            return str(path.relative_to(REPO))
    return None


def main() -> int:
    with sync_pair() as pair:
        [(key, _)] = pair.link(1)
        pair.public.person.update_item(key, ItemFields(summary=f"{key} renamed"))
        seen: set[str] = set()

        def tracer(frame, event, arg):
            if event == "call" and (name := _product_file(frame.f_code.co_filename)):
                seen.add(name)

        sys.setprofile(tracer)
        try:
            pair.ingest_webhooks()
            run(pair.public, "tracker.change")
            pair.transfer(pair.public, pair.private)
            run(pair.private, "sync.apply")
        finally:
            sys.setprofile(None)
    by_package: dict[str, list[str]] = defaultdict(list)
    for name in sorted(seen):
        parts = Path(name).parts
        package = parts[0] if parts[0] == "functions" else "/".join(parts[1:3]).removesuffix(".py")
        by_package[package].append(name)
    for package, files in sorted(by_package.items()):
        print(f"{package:<28} {len(files):>3}  {', '.join(Path(f).name for f in files)}")
    richtext = len(by_package.get("twinbridge/richtext", []))
    print(f"\none change crosses {len(seen)} product files ({len(seen) - richtext + 1 if richtext else len(seen)} "
          f"counting richtext/ as one), not counting the peer HTTP hop")
    return 0


if __name__ == "__main__":
    sys.exit(main())
