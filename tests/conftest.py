"""Shared fixtures: the test environment, moto's AWS, a Deps wired to it, Lambda contexts."""

from __future__ import annotations

import pytest

from tests.support import TEST_ENV, FakeLambdaContext, create_table
from tests.support import load_event as _load_event

# contract_session: every tracker request/response checked against the real OpenAPI documents
pytest_plugins = ["tests.contract.plugin"]


_FIGURES: list[str] = []


@pytest.fixture
def report_figure():
    """Tests that measure something call this with one line; the lines are printed at the end of the run."""
    return _FIGURES.append


def pytest_terminal_summary(terminalreporter):
    if _FIGURES:
        terminalreporter.section("figures reported by tests")
        for line in _FIGURES:
            terminalreporter.write_line(line)


@pytest.fixture(autouse=True)
def env(monkeypatch):
    for key, value in TEST_ENV.items():
        monkeypatch.setenv(key, value)
    from twinbridge.settings import settings
    from twinbridge.wiring import wiring

    settings.cache_clear()
    wiring.cache_clear()
    yield
    settings.cache_clear()
    wiring.cache_clear()


@pytest.fixture
def aws(env):
    """moto's in-process AWS with the node table created from template.yaml."""
    import boto3
    from moto import mock_aws

    with mock_aws():
        yield create_table(boto3.resource("dynamodb"), TEST_ENV["TABLE_NAME"])


@pytest.fixture
def table(aws):
    return aws


@pytest.fixture
def deps(table):
    """The node's wiring as handlers get it: the same table, and the in-process job queue (no SYNC_QUEUE_URL)."""
    from twinbridge.wiring import wiring

    return wiring()


@pytest.fixture
def lambda_context():
    return FakeLambdaContext()


@pytest.fixture
def load_event():
    return _load_event


@pytest.fixture
def table_snapshot(table):
    """A function returning every item of the table, to prove a refused request changed nothing."""

    def snapshot() -> list[dict]:
        items, kwargs = [], {}
        while True:
            page = table.scan(ConsistentRead=True, **kwargs)
            items.extend(page["Items"])
            if "LastEvaluatedKey" not in page:
                return sorted(items, key=lambda item: (item["PK"], item["SK"]))
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    return snapshot
