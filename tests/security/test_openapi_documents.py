"""docs/openapi/*.json are generated from the code (benchmarks/openapi_documents.py) and must never drift from it."""

from __future__ import annotations

import json
import runpy

import pytest

from tests.support import REPO

GENERATOR = REPO / "benchmarks" / "openapi_documents.py"
NAMES = ["peer-api.json", "admin-api.json"]


@pytest.fixture(scope="module")
def generated() -> dict[str, str]:
    return runpy.run_path(str(GENERATOR))["rendered"]()


@pytest.mark.parametrize("name", NAMES)
def test_committed_document_equals_what_the_code_generates(generated, name):
    committed = (REPO / "docs" / "openapi" / name).read_text(encoding="utf-8")
    assert committed == generated[name], (
        f"docs/openapi/{name} is stale: run .venv/bin/python benchmarks/openapi_documents.py --write"
    )


@pytest.mark.parametrize("name", NAMES)
def test_document_is_valid_openapi_3_1(generated, name):
    from openapi_spec_validator import validate
    from openapi_spec_validator.validation.validators import OpenAPIV31SpecValidator

    validate(json.loads(generated[name]), cls=OpenAPIV31SpecValidator)


def bounded(schema: dict) -> bool:
    """A string with a length limit (or a closed set, a format, a pattern), an array with maxItems, an integer with
    a maximum; anything else (objects, booleans, numbers, references) is checked elsewhere or needs no bound."""
    kind = schema.get("type")
    if kind == "string":
        return bool({"maxLength", "enum", "const", "format", "pattern"} & set(schema))
    if kind == "array":
        return "maxItems" in schema
    if kind == "integer":
        return "maximum" in schema
    return True


# Request fields allowed to stay unbounded (none: every id that reaches a DynamoDB key has a length limit).
KNOWN_GAPS: list[str] = []  # every request field is bounded now


def test_every_field_of_every_request_body_is_bounded(generated):
    """Task of the fuzz pass: strings and arrays carry a maximum, integers a range, in every request model."""
    unbounded = []
    for name in NAMES:
        document = json.loads(generated[name])
        schemas = document["components"]["schemas"]
        requests = {op["requestBody"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]
                    for item in document["paths"].values() for op in item.values() if "requestBody" in op}
        seen: set[str] = set()
        while requests:
            model = requests.pop()
            seen.add(model)
            for field, schema in schemas[model].get("properties", {}).items():
                for option in schema.get("anyOf", [schema]):
                    if "$ref" in option:
                        nested = option["$ref"].rsplit("/", 1)[-1]
                        requests |= {nested} - seen
                    elif not bounded(option):
                        unbounded.append(f"{name} {model}.{field}")
                    elif option.get("type") == "array" and not bounded(option.get("items", {})):
                        unbounded.append(f"{name} {model}.{field}[]")
    assert sorted(unbounded) == KNOWN_GAPS
