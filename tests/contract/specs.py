"""The vendored tracker API documents, loaded once per session with their known defects patched explicitly."""

from __future__ import annotations

import functools
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from jsonschema.protocols import Validator
from openapi_schema_validator import OAS30ReadValidator, OAS30Validator, OAS30WriteValidator
from referencing import Registry, Resource, Specification

from tests.support import CORPORA

Api = Literal["jira-cloud", "jira-dc", "azure-devops"]
Direction = Literal["request", "response"]

SPEC_ROOT = Path(os.environ.get("TWINBRIDGE_OPENAPI_DIR", CORPORA / "openapi"))
SPEC_FILES: dict[str, str] = {
    "jira-cloud": "jira-cloud/jira-cloud-platform-rest-v3.openapi.json",
    "jira-dc": "jira-dc/jira-software-dc-10.3.24.openapi.json",
    "azure-devops": "azure-devops/ado-wit-7.1-workItemTracking.json",
}

# Known defects of the published documents, patched at load time: (JSON pointer, replacement, why). Keep it short.
SCHEMA_PATCHES: dict[str, list[tuple[str, Any, str]]] = {
    "jira-dc": [
        # COMPATIBILITY note 2: IssueBean.fields values are strings, arrays, numbers and nulls, not only objects.
        ("/components/schemas/IssueBean/properties/fields/additionalProperties", {}, "fields are dynamic"),
        ("/components/schemas/IssueUpdateBean/properties/fields/additionalProperties", {}, "the same, for create/edit"),
        ("/components/schemas/IssueBean/properties/renderedFields/additionalProperties", {},
         "the same for expand=renderedFields: HTML strings and nulls"),
        # Jersey's StringList (only used by query parameters, e.g. search `expand`/`fields`) is typed `object`.
        ("/components/schemas/StringList", {"type": "string"}, "a comma-separated string"),
    ],
    "azure-devops": [
        # `type: object` wrapping an `allOf: [array]`: no instance can satisfy both; a JSON Patch document is an array.
        ("/definitions/JsonPatchDocument", {"type": "array", "items": {"$ref": "#/definitions/JsonPatchOperation"}},
         "JsonPatchDocument is an array of operations"),
    ],
}


def _relax_dotnet_schemas(node: Any) -> None:
    """Azure DevOps' document is generated from .NET types; two of its renderings are patched everywhere.

    A bare ``{"type": "object"}`` is .NET ``object`` (any JSON value: field values, patch values, attributes), and
    reference types are nullable, which Swagger 2.0 cannot say (Microsoft's examples send and return nulls).
    """
    if isinstance(node, list):
        for item in node:
            _relax_dotnet_schemas(item)
        return
    if not isinstance(node, dict):
        return
    for key, value in list(node.items()):
        if isinstance(value, dict) and value.get("type") == "object" and set(value) <= {"type", "description"}:
            node[key] = {"description": value.get("description", "")}
        else:
            _relax_dotnet_schemas(value)
    if isinstance(node.get("type"), str) and node.get("in") is None:  # a schema, not a parameter object
        node["nullable"] = True


@dataclass(eq=False)
class Spec:
    """One API document: its dialect, base path, a lazy `$ref` registry and cached validators by JSON pointer."""

    api: str
    document: dict[str, Any]
    dialect: Literal["openapi-3.0", "swagger-2.0"]
    base_path: str
    uri: str
    registry: Registry = field(repr=False)
    _validators: dict[tuple[str, str], Validator] = field(default_factory=dict, repr=False)

    def at(self, pointer: str) -> Any:
        """The document node at a JSON pointer (``""`` is the whole document)."""
        node: Any = self.document
        for token in pointer.split("/")[1:] if pointer else []:
            token = token.replace("~1", "/").replace("~0", "~")
            node = node[int(token)] if isinstance(node, list) else node[token]
        return node

    def deref(self, node: Any, pointer: str) -> tuple[Any, str]:
        """Follow local ``$ref``s of a non-schema object (parameter, requestBody, response); returns (node, its pointer)."""
        while isinstance(node, dict) and "$ref" in node:
            pointer = node["$ref"].removeprefix("#")
            node = self.at(pointer)
        return node, pointer

    def validator(self, pointer: str, direction: Direction) -> Validator:
        """A validator for the schema at ``pointer``; refs inside it resolve lazily against the whole document.

        OpenAPI 3.0 requests use the write rules (readOnly properties are not sent), responses the read rules.
        Formats are not asserted: Jira's timestamps (``2024-01-01T10:00:00.000+0000``) are not RFC 3339.
        """
        key = (pointer, direction)
        if key not in self._validators:
            cls = OAS30Validator
            if self.dialect == "openapi-3.0":
                cls = OAS30WriteValidator if direction == "request" else OAS30ReadValidator
            self._validators[key] = cls({"$ref": f"{self.uri}#{pointer}"}, registry=self.registry, format_checker=None)
        return self._validators[key]

    def inline_validator(self, key: str, schema: dict[str, Any]) -> Validator:
        """A cached validator for a schema built here (Swagger 2.0 parameters carry their schema keywords inline)."""
        cache_key = (key, "inline")
        if cache_key not in self._validators:
            self._validators[cache_key] = OAS30Validator(schema, registry=self.registry, format_checker=None)
        return self._validators[cache_key]


def _apply_patches(api: str, document: dict[str, Any]) -> None:
    for pointer, replacement, _why in SCHEMA_PATCHES.get(api, []):
        *parents, last = [t.replace("~1", "/").replace("~0", "~") for t in pointer.split("/")[1:]]
        node = document
        for token in parents:
            node = node[token]
        if last not in node:  # the document changed: the patch must be reviewed, not silently skipped
            raise KeyError(f"{api}: schema patch target {pointer} not found")
        node[last] = replacement


@functools.cache
def load_spec(api: Api) -> Spec:
    """Load (once per process) and patch the document for ``api``: "jira-cloud", "jira-dc" or "azure-devops"."""
    if api not in SPEC_FILES:
        raise ValueError(f"unknown api {api!r}; expected one of {sorted(SPEC_FILES)}")
    path = SPEC_ROOT / SPEC_FILES[api]
    with path.open("rb") as handle:
        document = json.load(handle)
    _apply_patches(api, document)
    if api == "azure-devops":
        _relax_dotnet_schemas(document["definitions"])
        _relax_dotnet_schemas(document["paths"])
        _relax_dotnet_schemas(document["x-ms-paths"])
    if "openapi" in document:
        dialect = "openapi-3.0"
        server = (document.get("servers") or [{"url": ""}])[0]["url"]
        base_path = urlsplit(server).path  # Jira DC: "http://{baseurl}/rest" -> "/rest"
    else:
        dialect = "swagger-2.0"
        base_path = document.get("basePath", "")
    uri = f"urn:twinbridge:contract:{api}"
    # OPAQUE: the document is not itself a schema; `#/...` refs resolve by JSON pointer, lazily, on first use.
    registry = Registry().with_resource(uri, Resource(contents=document, specification=Specification.OPAQUE))
    return Spec(
        api=api, document=document, dialect=dialect, base_path=base_path.rstrip("/"), uri=uri, registry=registry
    )
