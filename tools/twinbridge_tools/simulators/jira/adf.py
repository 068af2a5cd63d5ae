"""Jira Cloud's check of the ADF it is given: the official schema (atlaskit's adf-schema v1 "full", read in place
from ``../shared/corpora/adf/schema``; ``TWINBRIDGE_CORPORA`` overrides where the corpora are)."""

from __future__ import annotations

import functools
import json
import os
from pathlib import Path
from typing import Any

_REPO = Path(__file__).resolve().parents[4]
SCHEMA_NAME = "adf/schema/adf-schema-v1-full.json"


def schema_path() -> Path:
    """The schema file: ``$TWINBRIDGE_CORPORA``, else ``../shared/corpora`` beside the repo, else /work/shared."""
    explicit = os.environ.get("TWINBRIDGE_CORPORA")
    roots = [Path(explicit)] if explicit else [_REPO.parent / "shared" / "corpora", Path("/work/shared/corpora")]
    for root in roots:
        if (root / SCHEMA_NAME).is_file():
            return root / SCHEMA_NAME
    raise FileNotFoundError(f"the ADF schema is not at {roots[0] / SCHEMA_NAME} (set TWINBRIDGE_CORPORA to the "
                            "folder holding adf/schema/)")


@functools.cache
def validator() -> Any:
    """Draft 4 (as the schema declares), with an ``anyOf`` that only descends into the alternatives whose node
    ``type`` can match: exact (any other branch fails on ``type``), and fast on large documents."""
    from jsonschema import Draft4Validator, ValidationError, validators

    schema = json.loads(schema_path().read_text())
    definitions = schema["definitions"]

    def node_types(subschema: dict[str, Any]) -> frozenset[str] | None:
        while "$ref" in subschema:
            subschema = definitions[subschema["$ref"].rsplit("/", 1)[1]]
        if "allOf" in subschema:
            return node_types(subschema["allOf"][0])
        enum = subschema.get("properties", {}).get("type", {}).get("enum")
        return frozenset(enum) if enum else None

    def any_of(validator: Any, alternatives: list[Any], instance: Any, subschema: Any) -> Any:
        kind = instance.get("type") if isinstance(instance, dict) else None
        candidates = [alt for alt in alternatives if kind is None or (t := node_types(alt)) is None or kind in t]
        if not candidates:
            yield ValidationError(f"unknown node type {kind!r}")
            return
        found = []
        for index, alternative in enumerate(candidates):
            errors = list(validator.descend(instance, alternative, schema_path=index))
            if not errors:
                return
            found.extend(errors)
        yield ValidationError(f"{instance!r:.120} is not valid under any of the given schemas", context=found)

    return validators.extend(Draft4Validator, {"anyOf": any_of})(schema)


def adf_problem(document: Any) -> str | None:
    """The first schema violation of ``document`` as "path: message", or None when it is valid ADF."""
    from jsonschema.exceptions import best_match

    error = best_match(validator().iter_errors(document))
    if error is None:
        return None
    while error.context:  # the deepest reason inside an anyOf says what is actually wrong
        error = best_match(error.context)
    where = "/".join(str(p) for p in error.absolute_path) or "(document)"
    return f"{where}: {error.message[:200]}"
