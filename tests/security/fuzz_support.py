"""The fuzz pass's parts: operations and body strategies read from docs/openapi/*.json (hypothesis-jsonschema),
API Gateway v2 events built like the local runtime builds them and then spoiled (bad base64, lone surrogates, odd
content types, garbled or duplicated headers), and the checks every answer must pass."""

from __future__ import annotations

import base64
import functools
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis_jsonschema import from_schema

from tests.support import REPO, http_event
from twinbridge.peers import signing

DOCS = REPO / "docs" / "openapi"
MAX_SECONDS = 5.0  # no single request may take longer (the slowest legitimate one here is a ~50 ms long-poll)
MAX_BODY = 1024 * 1024

# Deterministic and bounded: the same examples on every run, no example database, no per-example deadline (moto's
# timing varies), and the function-scoped moto table is shared on purpose (each example snapshots it itself).
FUZZ = settings(
    max_examples=30,
    derandomize=True,
    database=None,
    deadline=None,
    print_blob=False,
    phases=[Phase.explicit, Phase.generate],  # no shrinking: a failure shows its first example, in seconds, not minutes
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much,
                           HealthCheck.function_scoped_fixture, HealthCheck.large_base_example],
)


@functools.cache
def document(name: str) -> dict[str, Any]:
    return json.loads((DOCS / name).read_text(encoding="utf-8"))


@dataclass(frozen=True)
class Operation:
    document: str
    method: str
    path: str  # template, e.g. /peer/v1/invitations/{connection_id}/accept
    body_schema: str | None
    query: tuple[str, ...]
    statuses: frozenset[int]
    success_schema: dict[str, Any] | None = field(default=None, compare=False, hash=False)

    @property
    def id(self) -> str:
        return f"{self.method} {self.path}"


def operations(name: str) -> list[Operation]:
    found = []
    for path, item in sorted(document(name)["paths"].items()):
        for method, op in sorted(item.items()):
            body = op.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema", {})
            ok = next((r for code, r in op["responses"].items() if code.startswith("2")), {})
            found.append(Operation(
                document=name, method=method.upper(), path=path,
                body_schema=body["$ref"].rsplit("/", 1)[-1] if "$ref" in body else None,
                query=tuple(p["name"] for p in op.get("parameters", []) if p["in"] == "query"),
                statuses=frozenset(int(code) for code in op["responses"]),
                success_schema=ok.get("content", {}).get("application/json", {}).get("schema"),
            ))
    return found


# --- bodies ------------------------------------------------------------------------------------------------------
def nested(depth: int, opening: bytes = b"[", closing: bytes = b"]") -> bytes:
    return opening * depth + closing * depth


SPECIAL_BODIES: dict[str, bytes] = {
    "empty": b"",
    "whitespace": b" \r\n\t ",
    "null": b"null",
    "array": b"[]",
    "string": b'"text"',
    "deep-array-10000": nested(10_000),
    "deep-object-10000": b'{"a":' * 10_000 + b"1" + b"}" * 10_000,
    "deep-array-150": nested(150),
    "invalid-utf8": b"\xff\xfe\xfd{\"a\": 1}",
    "utf8-truncated": '{"text": "caf\u00e9"}'.encode()[:-3],
    "utf16-bom": '{"a": 1}'.encode("utf-16"),
    "nul-bytes": b'{"a":"\x00"}\x00',
    "lone-surrogate-escape": b'{"connection_id": "\\udcff", "text": "\\ud800"}',
    "int-5000-digits": b'{"seq": ' + b"9" * 5000 + b"}",
    "float-overflow": b'{"seq": 1e999, "ack_seq": -1e999, "wait_seconds": NaN}',
    "duplicate-keys": b'{"connection_id": "a", "connection_id": "b"}',
    "wide-object": b"{" + b",".join(b'"k%d":%d' % (n, n) for n in range(20_000)) + b"}",
}


@functools.cache
def _schema_strategy(document_name: str, schema: str) -> st.SearchStrategy[Any]:
    components = document(document_name)["components"]
    return from_schema(
        {"$ref": f"#/components/schemas/{schema}", "components": components},
        custom_formats={"password": st.text(max_size=80)},
    )


_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=20,
)


def _dump(value: Any) -> bytes:
    return json.dumps(value).encode()


def _with_extra_field(value: Any) -> Any:
    return {**value, "unexpected_field": True} if isinstance(value, dict) else value


def _without_a_field(value: Any) -> Any:
    return dict(list(value.items())[1:]) if isinstance(value, dict) and value else value


def bodies(operation: Operation) -> st.SearchStrategy[bytes]:
    """Valid-looking JSON from the operation's schema (plus near misses), random JSON, random bytes, special cases."""
    options: list[st.SearchStrategy[bytes]] = [
        st.binary(max_size=256),
        _json_values.map(_dump),
        st.sampled_from(sorted(SPECIAL_BODIES.values())),
    ]
    if operation.body_schema:
        valid = _schema_strategy(operation.document, operation.body_schema)
        options += [
            valid.map(_dump),
            valid.map(_dump),  # twice: most examples should look legitimate enough to reach the handler's logic
            valid.map(_with_extra_field).map(_dump),
            valid.map(_without_a_field).map(_dump),
        ]
    return st.one_of(options)


# --- headers -------------------------------------------------------------------------------------------------------
_PATTERNS = {
    signing.HEADER_KEY_ID: signing.KEY_ID_PATTERN,
    signing.HEADER_TIMESTAMP: signing.TIMESTAMP_PATTERN,
    signing.HEADER_NONCE: signing.NONCE_PATTERN,
    signing.HEADER_SIGNATURE: signing.SIGNATURE_PATTERN,
}


def _header_value(name: str) -> st.SearchStrategy[str]:
    well_formed = st.from_regex(_PATTERNS[name], fullmatch=True) if name in _PATTERNS else st.text(max_size=40)
    return st.one_of(
        well_formed,
        st.text(max_size=80),
        st.tuples(well_formed, well_formed).map(", ".join),  # a duplicated header, as API Gateway joins it
        st.just("x" * 20_000),  # a huge header
        st.just(str(int(time.time()))),
    )


CONTENT_TYPES = ["application/json", "text/plain", "application/octet-stream", "multipart/form-data; boundary=x",
                 "application/x-www-form-urlencoded", "application/json; charset=utf-16", "", "\u00e9/\u00e9"]
WEBHOOK_HEADERS = ("x-hub-signature", "x-twinbridge-token", "authorization", "x-atlassian-webhook-identifier")


def header_mixes(names: tuple[str, ...] = signing.SIGNATURE_HEADERS) -> st.SearchStrategy[dict[str, str]]:
    """Some of ``names`` (missing, well-formed, garbled, duplicated, huge), a random content type, random extras."""
    return st.tuples(
        st.fixed_dictionaries({}, optional={name: _header_value(name) for name in names}),
        st.sampled_from(CONTENT_TYPES),
        st.dictionaries(st.from_regex(r"[a-z][a-z0-9-]{0,20}", fullmatch=True), st.text(max_size=60), max_size=3),
    ).map(lambda parts: {**parts[2], **parts[0], "content-type": parts[1]})


# --- transport: how the body travels in the event --------------------------------------------------------------
ENCODINGS = ("as-built", "base64", "not-base64", "surrogates")


def event(method: str, path: str, body: bytes, headers: dict[str, str], *, query: str = "",
          encoding: str = "as-built") -> dict[str, Any]:
    """An HTTP API v2 event; ``encoding`` spoils how the body travels (base64 flag on text that is not base64,
    invalid UTF-8 passed as lone surrogates in the event's JSON text)."""
    built = http_event(method, path, body or None, headers, query=query)
    built["headers"] = {name.lower(): value for name, value in headers.items()}  # no default content type
    if encoding == "base64" and body:
        built["body"], built["isBase64Encoded"] = base64.b64encode(body).decode(), True
    elif encoding == "not-base64":
        built["body"], built["isBase64Encoded"] = "%%% not base64 \u00e9 %%%", True
    elif encoding == "surrogates" and body:
        built["body"], built["isBase64Encoded"] = body.decode("utf-8", "surrogateescape"), False
    return built


def path_for(template: str, value: str, direction: str = "outgoing") -> str:
    return template.replace("{connection_id}", quote(value, safe="")).replace("{direction}", quote(direction, safe=""))


directions = st.one_of(st.sampled_from(["outgoing", "incoming"]), st.sampled_from(["", "in", "OUTGOING", "x" * 300]),
                       st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="/?#"), max_size=20))


path_values = st.one_of(
    st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="/?#"), min_size=1, max_size=40),
    st.just("c-" + "0" * 32),
    st.just("x" * 3000),
    st.just("..%2F..%2Fadmin"),
)


# --- checks ----------------------------------------------------------------------------------------------------------
@dataclass
class Reply:
    status: int
    text: str
    seconds: float


def invoke(handler: Callable[[dict, Any], dict], built: dict[str, Any], context: Any) -> Reply:
    started = time.monotonic()
    response = handler(built, context)
    elapsed = time.monotonic() - started
    text = response.get("body") or ""
    if response.get("isBase64Encoded"):
        text = base64.b64decode(text).decode("utf-8", "replace")
    return Reply(response["statusCode"], text, elapsed)


@functools.cache
def _validator(document_name: str) -> Any:
    from jsonschema import Draft202012Validator
    from referencing import Registry, Resource

    registry = Registry().with_resource("urn:doc", Resource.from_contents(
        {"$schema": "https://json-schema.org/draft/2020-12/schema", **document(document_name)}))
    return lambda schema: Draft202012Validator({"$ref": "urn:doc" + schema["$ref"]}, registry=registry)


def check(reply: Reply, operation: Operation | None, what: str) -> None:
    """What every answer must be: not a 5xx (except a documented 502/503 saying the partner or tracker failed), no
    trace, on time, a JSON {"error", "message"} body for every error, a status the OpenAPI document lists, and a 2xx
    body that matches its documented schema."""
    if reply.status >= 500:  # only "the partner or the tracker failed", where the route documents it
        upstream = reply.status in (502, 503) and operation is not None and reply.status in operation.statuses
        code = json.loads(reply.text).get("error", "") if upstream else ""
        assert code == "remote_error" or code.startswith("tracker_"), f"{what}: {reply.status} {reply.text[:300]}"
    assert "Traceback" not in reply.text and 'File "' not in reply.text, f"{what}: trace in the body"
    assert reply.seconds < MAX_SECONDS, f"{what}: took {reply.seconds:.1f} s"
    if reply.status >= 400:
        data = json.loads(reply.text)
        assert isinstance(data, dict) and set(data) == {"error", "message"}, f"{what}: {reply.text[:300]}"
        assert all(isinstance(v, str) for v in data.values()), f"{what}: {reply.text[:300]}"
    if operation is not None:
        assert reply.status in operation.statuses, f"{what}: {reply.status} is not documented ({reply.text[:200]})"
        if 200 <= reply.status < 300 and operation.success_schema is not None:
            errors = list(_validator(operation.document)(operation.success_schema).iter_errors(json.loads(reply.text)))
            assert not errors, f"{what}: answer does not match the document: {errors[0].message[:300]}"


def without_nonces(items: list[dict]) -> list[dict]:
    """Everything but what an authenticated attempt itself leaves, whatever its body: its nonce (replay protection)
    and the connection's quota counters (an attempt counts against a quota even when its body is refused)."""
    return [item for item in items
            if not str(item["PK"]).startswith("NONCE#") and not str(item.get("SK", "")).startswith("QUOTA#")]
