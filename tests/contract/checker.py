"""Contract checks of tracker HTTP traffic against the vendored Jira Cloud, Jira DC and Azure DevOps API documents.

``Contract.for_api("jira-cloud" | "jira-dc" | "azure-devops")`` matches a method and URL to the documented
operation (most specific template wins; Jira DC paths carry the server's ``/rest`` base, Azure DevOps paths are
``/{organization}/{project}/_apis/...``), then ``check_request`` checks the path and query parameters (unknown,
missing, wrong type or enum, ADO ``api-version``), deprecation, content type and body schema, and
``check_response`` checks that the status is documented, the content type and the body schema. Problems raise
``ContractViolation`` (an ``AssertionError``) naming the api, operation id, method, template and JSON path.
In tests use the ``contract_session`` fixture or ``check_exchange`` from ``tests.contract.plugin``.
Spec defects are relaxed explicitly: schema patches in ``specs.SCHEMA_PATCHES``, the rest in the tables below.
"""

from __future__ import annotations

import email.parser
import email.policy
import functools
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from jsonschema.exceptions import ValidationError, best_match, relevance
from requests.structures import CaseInsensitiveDict

from tests.contract.specs import Api, Spec, load_spec

HTTP_METHODS = ("get", "put", "post", "delete", "patch", "head", "options")

# Rules the documents state only in prose (operation descriptions), keyed by (api, method, template).
_JIRA_ATTACH = {"X-Atlassian-Token": "no-check"}
REQUIRED_HEADERS: dict[tuple[str, str, str], dict[str, str]] = {
    ("jira-cloud", "POST", "/rest/api/3/issue/{issueIdOrKey}/attachments"): _JIRA_ATTACH,  # "must have ... no-check"
    ("jira-dc", "POST", "/rest/api/2/issue/{issueIdOrKey}/attachments"): _JIRA_ATTACH,
}
MULTIPART_FIELD: dict[tuple[str, str, str], str] = {
    ("jira-cloud", "POST", "/rest/api/3/issue/{issueIdOrKey}/attachments"): "file",  # "parameter ... must be `file`"
    ("jira-dc", "POST", "/rest/api/2/issue/{issueIdOrKey}/attachments"): "file",
}
# Jira DC (COMPATIBILITY notes 1, 7, 11, 13): these return a JSON array but the document types the response as one item.
DC_ARRAY_TYPED_AS_ITEM = frozenset({
    ("GET", "/rest/api/2/user/search"),
    ("POST", "/rest/api/2/issue/{issueIdOrKey}/attachments"),
    ("GET", "/rest/api/2/project"),
    ("GET", "/rest/api/2/field"),
    ("GET", "/rest/api/2/issuetype"),
    ("GET", "/rest/api/2/priority"),
    ("GET", "/rest/api/2/status"),
    ("GET", "/rest/api/2/user/assignable/search"),
})
# Jira DC (COMPATIBILITY note 8): a page {startAt, maxResults, total, isLast, values} typed as its item bean.
DC_PAGE_TYPED_AS_ITEM = frozenset({("GET", "/rest/api/2/issue/createmeta/{projectIdOrKey}/issuetypes")})
# Azure DevOps documents 200 for attachment upload, but it answers 201 (Microsoft's recorded example says so).
STATUS_ALIASES: dict[tuple[str, str, str], dict[int, str]] = {
    ("azure-devops", "POST", "/{organization}/{project}/_apis/wit/attachments"): {201: "200"},
}


class ContractViolation(AssertionError):
    """A request or response that the API document does not allow; ``problems`` lists each finding."""

    def __init__(self, api: str, operation: str, method: str, target: str, problems: Iterable[str]) -> None:
        self.api, self.operation, self.method, self.target = api, operation, method, target
        self.problems = list(problems)
        super().__init__(f"[{api}] {operation} {method} {target}: " + "; ".join(self.problems))


@dataclass(frozen=True)
class Operation:
    """One documented operation; ``template`` is the effective path (server base path included)."""

    api: str
    method: str
    template: str
    operation_id: str
    pointer: str
    deprecated: bool = False
    discriminators: tuple[str, ...] = ()

    def __str__(self) -> str:
        return f"{self.operation_id} {self.method} {self.template}"


@dataclass(frozen=True)
class _Param:
    name: str
    location: str
    required: bool
    pointer: str  # the parameter object's pointer (Swagger 2.0: also its schema)
    schema_pointer: str | None  # OpenAPI 3.0 only
    api_version: str | None = None  # ADO: the value the description demands


@dataclass
class _Route:
    operation: Operation
    segments: list[str | tuple[re.Pattern[str], list[str]]]
    score: tuple[int, ...]
    params: list[_Param] = field(default_factory=list)


def _escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


def _media(content_type: str | None) -> str:
    return (content_type or "").split(";", 1)[0].strip().lower()


def _is_json(media: str) -> bool:
    return media == "application/json" or media.endswith("+json")


def _pick_media(media: str, documented: Iterable[str]) -> str | None:
    documented = list(documented)
    for candidate in documented:
        if candidate.lower() == media:
            return candidate
    for candidate in documented:
        kind = candidate.lower()
        if kind == "*/*" or (kind.endswith("/*") and media.startswith(kind[:-1])):
            return candidate
    return None


def _describe(errors: Iterable[ValidationError], where: str, limit: int = 3) -> list[str]:
    found = sorted(errors, key=relevance)
    problems = []
    for error in found[:limit]:
        deepest = best_match(error.context) if error.context else None
        error = deepest or error
        problems.append(f"{where} {error.json_path}: {error.message[:300]}")
    if len(found) > limit:
        problems.append(f"... and {len(found) - limit} more {where} errors")
    return problems


class Contract:
    """The operations of one API document, matched by method and URL and checked against their schemas."""

    def __init__(self, spec: Spec) -> None:
        self.api = spec.api
        self.spec = spec
        self._routes: dict[int, list[_Route]] = {}
        self._build()

    @classmethod
    @functools.cache
    def for_api(cls, api: Api) -> Contract:
        """The cached contract of ``api`` ("jira-cloud", "jira-dc" or "azure-devops")."""
        return cls(load_spec(api))

    # ---- building ---------------------------------------------------------------------------------------------

    def _build(self) -> None:
        doc = self.spec.document
        sections = [("paths", doc.get("paths", {})), ("x-ms-paths", doc.get("x-ms-paths", {}))]
        for section, paths in sections:
            for key, item in paths.items():
                path, _, query = key.partition("?")  # ADO x-ms-paths: "...?format={format}" selects an operation
                discriminators = tuple(k for k, _, _ in (p.partition("=") for p in query.split("&")) if k)
                item_ptr = f"/{section}/{_escape(key)}"
                shared = item.get("parameters", [])
                for method in HTTP_METHODS:
                    if method not in item:
                        continue
                    node = item[method]
                    op_ptr = f"{item_ptr}/{method}"
                    operation = Operation(
                        api=self.api, method=method.upper(), template=self.spec.base_path + path,
                        operation_id=node.get("operationId", f"{method.upper()} {path}"), pointer=op_ptr,
                        deprecated=bool(node.get("deprecated")), discriminators=discriminators,
                    )
                    params = self._params(shared, f"{item_ptr}/parameters") + self._params(
                        node.get("parameters", []), f"{op_ptr}/parameters")
                    for segments in self._variants(operation.template, params):
                        route = self._route(operation, segments, params)
                        self._routes.setdefault(len(route.segments), []).append(route)

    def _params(self, raw: list[Any], pointer: str) -> list[_Param]:
        params = []
        for index, node in enumerate(raw):
            node, ptr = self.spec.deref(node, f"{pointer}/{index}")
            if node.get("in") == "body":
                continue
            version = None
            if node.get("name") == "api-version":
                found = re.search(r"set to '([^']+)'", node.get("description", ""))
                version = found.group(1) if found else None
            schema_pointer = f"{ptr}/schema" if "schema" in node else None
            params.append(_Param(node["name"], node["in"], bool(node.get("required")), ptr, schema_pointer, version))
        by_key = {(p.name, p.location): p for p in params}  # operation-level parameters override path-level ones
        return list(by_key.values())

    def _variants(self, template: str, params: list[_Param]) -> list[list[str]]:
        """The template's segments; ADO path parameters marked ``x-ms-required: false`` may be left out (trailing ones)."""
        segments = template.split("/")[1:]
        if self.spec.dialect != "swagger-2.0":
            return [segments]
        optional = {
            p.name for p in params if p.location == "path" and self.spec.at(p.pointer).get("x-ms-required") is False
        }
        positions = [i for i, s in enumerate(segments) if s.startswith("{") and s.endswith("}") and s[1:-1] in optional]
        variants = [segments]
        for keep in range(len(positions) - 1, -1, -1):  # drop team, then project and team
            dropped = set(positions[keep:])
            variants.append([s for i, s in enumerate(segments) if i not in dropped])
        return variants

    def _route(self, operation: Operation, segments: list[str], params: list[_Param]) -> _Route:
        compiled: list[str | tuple[re.Pattern[str], list[str]]] = []
        score = []
        flags = re.IGNORECASE if self.spec.dialect == "swagger-2.0" else 0  # ADO routing ignores case
        for segment in segments:
            if "{" not in segment:
                compiled.append(segment.lower() if flags else segment)
                score.append(2)
                continue
            names = re.findall(r"\{([^}]+)\}", segment)
            pieces = re.split(r"(\{[^}]+\})", segment)  # ADO: "${type}" is a literal "$" and a parameter
            pattern = "".join("([^/]+)" if piece.startswith("{") else re.escape(piece) for piece in pieces)
            compiled.append((re.compile(f"^{pattern}$", flags), names))
            score.append(1 if segment != "{" + names[0] + "}" else 0)
        return _Route(operation, compiled, tuple(score), params)

    # ---- matching ---------------------------------------------------------------------------------------------

    def _split(self, url: str, prefix: str) -> tuple[str, dict[str, list[str]]]:
        parts = urlsplit(url)
        path = parts.path or "/"
        if prefix:
            if not path.startswith(prefix.rstrip("/") + "/"):
                raise ContractViolation(
                    self.api, "(no operation)", "?", path, [f"path is outside the mount {prefix!r}"]
                )
            path = path[len(prefix.rstrip("/")) :]
        query: dict[str, list[str]] = {}
        for name, value in parse_qsl(parts.query, keep_blank_values=True):
            query.setdefault(name, []).append(value)
        return path, query

    def _candidates(self, path: str) -> list[tuple[_Route, dict[str, str]]]:
        raw = path.split("/")[1:]
        found = []
        for route in self._routes.get(len(raw), []):
            values: dict[str, str] = {}
            for expected, actual in zip(route.segments, raw, strict=True):
                decoded = unquote(actual)
                if isinstance(expected, str):
                    if expected != (decoded.lower() if self.spec.dialect == "swagger-2.0" else decoded):
                        break
                    continue
                pattern, names = expected
                hit = pattern.match(decoded)
                if not hit:
                    break
                values.update(zip(names, hit.groups(), strict=True))
            else:
                found.append((route, values))
        return found

    def _resolve(self, method: str, url: str, prefix: str = "") -> tuple[_Route, dict[str, str], dict[str, list[str]]]:
        method = method.upper()
        path, query = self._split(url, prefix)
        candidates = self._candidates(path)
        if not candidates:
            raise ContractViolation(
                self.api, "(no operation)", method, path, ["unknown path: no template in the document matches"]
            )
        best = max(route.score for route, _ in candidates)
        top = [(r, v) for r, v in candidates if r.score == best]
        allowed = [(r, v) for r, v in top if r.operation.method == method]
        if not allowed:
            methods = sorted({r.operation.method for r, _ in top})
            raise ContractViolation(
                self.api,
                "(no operation)",
                method,
                top[0][0].operation.template,
                [f"method not allowed (documented: {', '.join(methods)})"],
            )
        if len(allowed) > 1:  # ADO x-ms-paths: the operation whose query parameters fit best
            allowed.sort(
                key=lambda rv: (
                    len(self._query_problems(rv[0], query)),
                    -sum(d in query for d in rv[0].operation.discriminators),
                )
            )
        route, values = allowed[0]
        return route, values, query

    def match(self, method: str, url: str, *, prefix: str = "") -> Operation:
        """The documented operation for ``method`` and ``url`` (a full URL or a path; ``prefix`` is a mount path).

        Raises:
            ContractViolation: unknown path or method not allowed.
        """
        return self._resolve(method, url, prefix)[0].operation

    # ---- requests ---------------------------------------------------------------------------------------------

    def check_request(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str] | None = None,
        body: bytes | None = b"",
        *,
        prefix: str = "",
    ) -> Operation:
        """Check a request against its operation; returns the operation or raises ``ContractViolation``."""
        route, values, query = self._resolve(method, url, prefix)
        operation = route.operation
        headers = CaseInsensitiveDict(headers or {})
        problems = []
        if operation.deprecated:
            problems.append(
                "operation is deprecated in the document: use its replacement"
                " (Jira Cloud search: POST /rest/api/3/search/jql with nextPageToken)"
            )
        problems += self._path_problems(route, values)
        problems += self._query_problems(route, query)
        problems += self._header_problems(route, headers)
        problems += self._body_problems(operation, headers, body or b"")
        if problems:
            raise ContractViolation(self.api, operation.operation_id, operation.method, operation.template, problems)
        return operation

    def check_request_body(self, operation: Operation, content_type: str, body: bytes) -> None:
        """Check only a request body (e.g. a recorded example) against ``operation``; raises ``ContractViolation``."""
        problems = self._body_problems(operation, CaseInsensitiveDict({"Content-Type": content_type}), body)
        if problems:
            raise ContractViolation(self.api, operation.operation_id, operation.method, operation.template, problems)

    def operations(self) -> list[Operation]:
        """Every documented operation, once each."""
        return list(dict.fromkeys(route.operation for routes in self._routes.values() for route in routes))

    def _value_problems(self, param: _Param, raw: list[str], what: str) -> list[str]:
        if self.spec.dialect == "swagger-2.0":
            node = self.spec.at(param.pointer)
            schema = {
                k: v
                for k, v in node.items()
                if k in ("type", "format", "enum", "items", "minimum", "maximum", "pattern", "minLength", "maxLength")
            }
            validator = self.spec.inline_validator(param.pointer, schema)
        elif param.schema_pointer is None:  # a `content`-typed parameter: not used by the operations we call
            return []
        else:
            schema, _ = self.spec.deref(self.spec.at(param.schema_pointer), param.schema_pointer)
            validator = self.spec.validator(param.schema_pointer, "request")
        if schema.get("type") == "array":  # repeated (form, explode) or comma-separated: Jira and ADO accept both
            item_schema, _ = self.spec.deref(schema.get("items", {}), "")
            value: Any = [_coerce(v, item_schema.get("type")) for joined in raw for v in joined.split(",")]
        elif len(raw) > 1:
            return [f"{what} {param.name!r} given {len(raw)} times"]
        else:
            value = _coerce(raw[0], schema.get("type"))
        return [f"{what} {param.name}={','.join(raw)!r}: {e.message[:200]}" for e in validator.iter_errors(value)]

    def _path_problems(self, route: _Route, values: dict[str, str]) -> list[str]:
        problems = []
        for param in route.params:
            if param.location == "path" and param.name in values:
                problems += self._value_problems(param, [values[param.name]], "path parameter")
        return problems

    def _query_problems(self, route: _Route, query: dict[str, list[str]]) -> list[str]:
        known = {p.name: p for p in route.params if p.location == "query"}
        problems = [
            f"unknown query parameter {name!r} (documented: {', '.join(sorted(known)) or 'none'})"
            for name in query
            if name not in known
        ]
        for name, param in known.items():
            if name not in query:
                if param.required:
                    problems.append(f"missing required query parameter {name!r}")
                continue
            problems += self._value_problems(param, query[name], "query parameter")
            if param.api_version and not _version_ok(query[name][0], param.api_version):
                problems.append(
                    f"api-version={query[name][0]!r} but this operation is documented for {param.api_version!r}"
                )
        return problems

    def _header_problems(self, route: _Route, headers: CaseInsensitiveDict) -> list[str]:
        problems = [
            f"missing required header {p.name!r}"
            for p in route.params
            if p.location == "header" and p.required and p.name not in headers
        ]
        op = route.operation
        for name, value in REQUIRED_HEADERS.get((self.api, op.method, op.template), {}).items():
            if headers.get(name) != value:
                problems.append(f"header {name}: {value} is required (documented in the operation description)")
        return problems

    def _request_body(self, operation: Operation) -> tuple[bool, dict[str, str | None]] | None:
        """(required, {media type: schema pointer or None}) or None when the operation takes no body."""
        node = self.spec.at(operation.pointer)
        if self.spec.dialect == "openapi-3.0":
            if "requestBody" not in node:
                return None
            body, ptr = self.spec.deref(node["requestBody"], f"{operation.pointer}/requestBody")
            return bool(body.get("required")), {
                media: f"{ptr}/content/{_escape(media)}/schema" if "schema" in entry else None
                for media, entry in body.get("content", {}).items()
            }
        for index, param in enumerate(node.get("parameters", [])):
            if param.get("in") == "body":
                consumes = node.get("consumes") or self.spec.document.get("consumes") or ["application/json"]
                schema_ptr = f"{operation.pointer}/parameters/{index}/schema"
                return bool(param.get("required")), {media: schema_ptr for media in consumes}
        return None

    def _body_problems(self, operation: Operation, headers: CaseInsensitiveDict, body: bytes) -> list[str]:
        documented = self._request_body(operation)
        if documented is None:
            return ["the operation documents no request body, but one was sent"] if body else []
        required, media_types = documented
        if not body:
            return ["request body is required"] if required else []
        media = _media(headers.get("Content-Type"))
        chosen = _pick_media(media, media_types)
        if chosen is None:
            return [
                f"request content type {media or '(none)'!r} is not documented (documented: {', '.join(media_types)})"
            ]
        if media.startswith("multipart/"):
            return self._multipart_problems(operation, headers.get("Content-Type", ""), body)
        schema_ptr = media_types[chosen]
        if not _is_json(media) or schema_ptr is None:
            return []
        try:
            instance = json.loads(body)
        except ValueError as exc:
            return [f"request body is not JSON: {exc}"]
        return _describe(self.spec.validator(schema_ptr, "request").iter_errors(instance), "request body")

    def _multipart_problems(self, operation: Operation, content_type: str, body: bytes) -> list[str]:
        if "boundary=" not in content_type:
            return ["multipart request without a boundary"]
        message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
            b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n" + body
        )
        parts = list(message.iter_parts()) if message.is_multipart() else []
        if not parts:
            return ["multipart request has no parts"]
        names = [part.get_param("name", header="content-disposition") for part in parts]
        wanted = MULTIPART_FIELD.get((self.api, operation.method, operation.template))
        if wanted and any(name != wanted for name in names):
            return [
                f"multipart field names {names} but the operation requires {wanted!r} (documented in its description)"
            ]
        return []

    # ---- responses --------------------------------------------------------------------------------------------

    def check_response(
        self, operation: Operation, status: int, headers: Mapping[str, str] | None = None, body: bytes | None = b""
    ) -> None:
        """Check a response to ``operation``; raises ``ContractViolation`` listing every problem."""
        problems = self._response_problems(operation, status, CaseInsensitiveDict(headers or {}), body or b"")
        if problems:
            raise ContractViolation(
                self.api,
                operation.operation_id,
                operation.method,
                operation.template,
                [f"response {status}: {p}" for p in problems],
            )

    def _response_problems(
        self, operation: Operation, status: int, headers: CaseInsensitiveDict, body: bytes
    ) -> list[str]:
        responses = self.spec.at(operation.pointer).get("responses", {})
        key = STATUS_ALIASES.get((self.api, operation.method, operation.template), {}).get(status, str(status))
        for candidate in (key, f"{status // 100}XX", "default"):
            if candidate in responses:
                key = candidate
                break
        else:
            return [f"undocumented status (documented: {', '.join(responses)})"]
        response, ptr = self.spec.deref(responses[key], f"{operation.pointer}/responses/{key}")
        if self.spec.dialect == "openapi-3.0":
            media_types = {
                m: f"{ptr}/content/{_escape(m)}/schema" for m, e in response.get("content", {}).items() if "schema" in e
            }
        else:
            produces = (
                self.spec.at(operation.pointer).get("produces")
                or self.spec.document.get("produces")
                or ["application/json"]
            )
            media_types = {m: f"{ptr}/schema" for m in produces} if "schema" in response else {}
        if not media_types:
            return []  # no schema documented (e.g. Jira's 401/404): any body is acceptable
        if not body:
            return [] if status == 204 or operation.method == "HEAD" else ["empty body, but the document describes one"]
        media = _media(headers.get("Content-Type"))
        chosen = _pick_media(media, media_types)
        if chosen is None:
            return [f"content type {media or '(none)'!r} is not documented (documented: {', '.join(media_types)})"]
        if not _is_json(media):
            return []
        try:
            instance = json.loads(body)
        except ValueError as exc:
            return [f"body is not JSON: {exc}"]
        return self._validate_response(operation, media_types[chosen], instance)

    def _validate_response(self, operation: Operation, schema_ptr: str, instance: Any) -> list[str]:
        validator = self.spec.validator(schema_ptr, "response")
        where = (operation.method, operation.template)
        if self.api == "jira-dc" and where in DC_ARRAY_TYPED_AS_ITEM and isinstance(instance, list):
            problems = []
            for index, item in enumerate(instance):
                problems += [
                    p.replace("body $", f"body $[{index}]", 1) for p in _describe(validator.iter_errors(item), "body")
                ]
            return problems
        if (
            self.api == "jira-dc"
            and where in DC_PAGE_TYPED_AS_ITEM
            and isinstance(instance, dict)
            and "values" in instance
        ):
            problems = [
                f"body $.{k}: missing from the page" for k in ("startAt", "maxResults", "values") if k not in instance
            ]
            for index, item in enumerate(instance.get("values") or []):
                problems += [
                    p.replace("body $", f"body $.values[{index}]", 1)
                    for p in _describe(validator.iter_errors(item), "body")
                ]
            return problems
        if (
            self.api == "azure-devops"
            and isinstance(instance, dict)
            and "value" in instance
            and self.spec.at(schema_ptr).get("type") == "array"
        ):
            # ADO wraps every collection as {"count": n, "value": [...]}; the document types only the bare array.
            problems = [] if isinstance(instance.get("count"), int) else ["body $.count: missing or not an integer"]
            return problems + [
                p.replace("body $", "body $.value", 1)
                for p in _describe(validator.iter_errors(instance["value"]), "body")
            ]
        return _describe(validator.iter_errors(instance), "body")


def _coerce(raw: str, kind: str | None) -> Any:
    """A query/path string as the schema's type would hold it; left as-is when it does not convert (reported later)."""
    try:
        if kind == "integer":
            return int(raw)
        if kind == "number":
            return float(raw)
    except ValueError:
        return raw
    if kind == "boolean" and raw.lower() in ("true", "false"):
        return raw.lower() == "true"
    return raw


def _version_ok(given: str, documented: str) -> bool:
    # "7.1-preview" (no revision) selects the latest preview revision, which ADO accepts for a "7.1-preview.4" operation.
    return given == documented or ("-preview" in documented and given == documented.rsplit(".", 1)[0])
