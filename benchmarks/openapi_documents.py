"""The OpenAPI 3.1 documents of the peer and admin APIs, generated from the handlers' routes and models.

    .venv/bin/python benchmarks/openapi_documents.py           # check: exit 1 when docs/openapi/*.json are stale
    .venv/bin/python benchmarks/openapi_documents.py --write   # regenerate them

The documents come from the code only (functions/*/app.py route decorators, the pydantic models, peers/signing.py
for the signature headers); tests/security/test_openapi_documents.py runs the same check in the test suite.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "docs" / "openapi"


def peer_api() -> dict[str, Any]:
    from functions.peer_api import app as handler
    from twinbridge.http import openapi
    from twinbridge.models import messages

    return openapi.openapi_document(
        handler.app,
        title="twinbridge peer API",
        description="The node-to-node protocol of a public twinbridge node (HttpApi route ANY /peer/{proxy+}). "
        + openapi.PEER_SECURITY_DESCRIPTION,
        models=_models(messages),
        security_schemes=openapi.PEER_SECURITY_SCHEMES,
        security=openapi.PEER_SECURITY,
    )


def admin_api() -> dict[str, Any]:
    from functions.admin_api import app as handler
    from twinbridge.http import openapi
    from twinbridge.models import admin, rules, sync_admin

    return openapi.openapi_document(
        handler.app,
        title="twinbridge admin API",
        description="A node's administration (HttpApi route ANY /admin/{proxy+}, AWS_IAM authorization): "
        "connections, invitations, manual keys, key rotation, connection tests, sync state, script-mode rules. "
        "The admin CLI "
        "(`twinbridge`) is its client.",
        models=[*_models(admin), *_models(sync_admin), *_models(rules)],
        security_schemes=openapi.ADMIN_SECURITY_SCHEMES,
        security=openapi.ADMIN_SECURITY,
    )


def _models(module: Any) -> list[Any]:
    from pydantic import BaseModel

    return [value for value in vars(module).values() if isinstance(value, type) and issubclass(value, BaseModel)]


DOCUMENTS: dict[str, Callable[[], dict[str, Any]]] = {"peer-api.json": peer_api, "admin-api.json": admin_api}


def rendered() -> dict[str, str]:
    """File name -> the text the code generates today."""
    from twinbridge.http.openapi import render

    return {name: render(build()) for name, build in DOCUMENTS.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="write docs/openapi/*.json instead of checking them")
    args = parser.parse_args(argv)
    stale = []
    for name, text in rendered().items():
        path = OUT / name
        if args.write:
            OUT.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            print(f"wrote {path.relative_to(REPO)} ({len(text)} bytes)")
        elif not path.is_file() or path.read_text(encoding="utf-8") != text:
            stale.append(name)
            print(f"{path.relative_to(REPO)}: differs from what the code generates")
        else:
            print(f"{path.relative_to(REPO)}: up to date")
    if stale:
        print("regenerate with: .venv/bin/python benchmarks/openapi_documents.py --write")
        return 1
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(REPO))  # functions/ is imported from the repository root, as pytest does
    sys.exit(main())
