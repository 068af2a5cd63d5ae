"""pytest plugin: ``requests`` sessions whose every exchange is checked against the tracker's API document."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
import requests
from requests.adapters import HTTPAdapter

from tests.contract.checker import Contract, ContractViolation, Operation
from tests.contract.specs import Api

_CALL_FAILED_BY_VIOLATION = pytest.StashKey[bool]()


@dataclass(frozen=True)
class Exchange:
    """One checked request/response; ``operation_id`` is None when the request matched no operation."""

    api: str
    method: str
    url: str
    operation_id: str | None
    status: int | None
    violation: ContractViolation | None = None


@dataclass
class ContractRecorder:
    """What the checking adapters saw: every exchange and the violations not yet taken."""

    exchanges: list[Exchange] = field(default_factory=list)
    violations: list[ContractViolation] = field(default_factory=list)

    @property
    def checked(self) -> int:
        """How many requests were checked (each request sent, or refused by the checker before sending)."""
        return len(self.exchanges)

    def operations(self) -> list[str]:
        """The operation ids of the checked exchanges, in order (unmatched requests are left out)."""
        return [e.operation_id for e in self.exchanges if e.operation_id]

    def take_violations(self) -> list[ContractViolation]:
        """Return and forget the recorded violations (a test that provokes one on purpose takes it)."""
        taken, self.violations = self.violations, []
        return taken


def request_body_bytes(prepared: requests.PreparedRequest) -> bytes:
    """The body of a prepared request as bytes; a file or generator body is read once and replaced by its bytes."""
    body = prepared.body
    if body is None:
        return b""
    if isinstance(body, bytes):
        return body
    if isinstance(body, str):
        return body.encode("utf-8")
    data = body.read() if hasattr(body, "read") else b"".join(
        chunk.encode("utf-8") if isinstance(chunk, str) else chunk for chunk in body)
    data = data.encode("utf-8") if isinstance(data, str) else data
    prepared.body = data
    return data


class ContractAdapter(HTTPAdapter):
    """An ``HTTPAdapter`` that checks each request before sending it and each response after (real HTTP in between).

    ``strict`` (default) raises the ``ContractViolation`` at once, so the traceback points at the offending call; a
    request that violates the contract is then not sent. Either way every violation is recorded in ``recorder``.
    """

    def __init__(
        self, api: Api, recorder: ContractRecorder, *, prefix: str = "", strict: bool = True, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.api, self.recorder, self.prefix, self.strict = api, recorder, prefix, strict

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        contract = Contract.for_api(self.api)
        method, url = request.method or "", request.url or ""
        violation: ContractViolation | None = None
        try:
            operation = contract.check_request(
                method, url, request.headers, request_body_bytes(request), prefix=self.prefix
            )
        except ContractViolation as exc:
            violation, operation = exc, _safe_match(self.api, method, url, self.prefix)
            self._record(method, url, operation, None, exc)
            if self.strict:
                raise
        response = super().send(request, **kwargs)
        try:
            if operation is not None:
                contract.check_response(operation, response.status_code, response.headers, response.content)
        except ContractViolation as exc:
            self._record(method, url, operation, response.status_code, exc)
            if self.strict:
                raise
        else:
            if violation is None:
                self._record(method, url, operation, response.status_code, None)
        return response

    def _record(
        self,
        method: str,
        url: str,
        operation: Operation | None,
        status: int | None,
        violation: ContractViolation | None,
    ) -> None:
        if violation is not None:
            self.recorder.violations.append(violation)
        operation_id = operation.operation_id if operation else None
        self.recorder.exchanges.append(Exchange(self.api, method, url, operation_id, status, violation))


def _safe_match(api: Api, method: str, url: str, prefix: str) -> Operation | None:
    try:
        return Contract.for_api(api).match(method, url, prefix=prefix)
    except ContractViolation:
        return None


def check_exchange(api: Api, response: requests.Response, *, prefix: str = "", check_request: bool = True) -> Operation:
    """Check a finished ``requests`` exchange (e.g. a raw ``requests.get`` against a simulator).

    Args:
        api: "jira-cloud", "jira-dc" or "azure-devops".
        response: the response; its ``.request`` is the request that was sent.
        prefix: a mount path in front of the API paths (e.g. "/jira").
        check_request: False to check only the response (a simulator's answer to a deliberately bad request).

    Returns:
        The matched operation. Raises ``ContractViolation``.
    """
    contract = Contract.for_api(api)
    prepared = response.request
    if check_request:
        operation = contract.check_request(
            prepared.method or "", prepared.url or "", prepared.headers, request_body_bytes(prepared), prefix=prefix
        )
    else:
        operation = contract.match(prepared.method or "", prepared.url or "", prefix=prefix)
    contract.check_response(operation, response.status_code, response.headers, response.content)
    return operation


def contract_hook(api: Api, *, prefix: str = "", check_request: bool = True) -> Callable[..., requests.Response]:
    """A ``requests`` response hook running ``check_exchange``: ``requests.get(url, hooks={"response": contract_hook(api)})``."""

    def hook(response: requests.Response, *args: Any, **kwargs: Any) -> requests.Response:
        check_exchange(api, response, prefix=prefix, check_request=check_request)
        return response

    return hook


class ContractSessions(ContractRecorder):
    """The ``contract_session`` fixture: call it for a checked ``requests.Session``; it records for all of them."""

    def __init__(self) -> None:
        super().__init__()
        self._sessions: list[requests.Session] = []

    def __call__(
        self, api: Api, *, prefix: str = "", strict: bool = True, session: requests.Session | None = None
    ) -> requests.Session:
        """A session (new, or ``session`` re-mounted) whose http(s) traffic is checked against ``api``'s document."""
        session = session or requests.Session()
        adapter = ContractAdapter(api, self, prefix=prefix, strict=strict)
        session.mount("http://", adapter)
        session.mount("https://", adapter)
        self._sessions.append(session)
        return session

    def close(self) -> None:
        for session in self._sessions:
            session.close()


@pytest.fixture
def contract_session(request: pytest.FixtureRequest):
    """Factory ``contract_session(api, prefix="", strict=True) -> requests.Session``; fails the test at teardown
    if violations were recorded that the test neither failed on nor took with ``contract_session.take_violations()``.
    """
    sessions = ContractSessions()
    yield sessions
    sessions.close()
    pending = sessions.take_violations()
    if pending and not request.node.stash.get(_CALL_FAILED_BY_VIOLATION, False):
        listing = "\n".join(f"  - {violation}" for violation in pending)
        pytest.fail(f"{len(pending)} contract violation(s) during the test:\n{listing}", pytrace=False)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):
    """Remember whether the test body already failed on a ContractViolation (then teardown does not report it twice)."""
    report = yield
    if call.when == "call":
        item.stash[_CALL_FAILED_BY_VIOLATION] = call.excinfo is not None and call.excinfo.errisinstance(
            ContractViolation
        )
    return report
