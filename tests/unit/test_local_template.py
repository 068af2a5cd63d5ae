"""How the local runtime reads routes and schedules from template.yaml."""

from __future__ import annotations

import pytest

from twinbridge_tools.local.template import HttpRoute, schedule_seconds

PEER = HttpRoute("ANY", "/peer/{proxy+}", iam_auth=False)
HOOKS = HttpRoute("POST", "/hooks/{tracker}", iam_auth=False)


@pytest.mark.parametrize("method", ["GET", "POST", "PUT", "DELETE", "get", "Post"])
def test_any_route_accepts_every_method(method):
    assert PEER.match(method, "/peer/v1/changes") == {"proxy": "v1/changes"}


def test_greedy_parameter_takes_the_rest_of_the_path():
    assert PEER.match("GET", "/peer/v1/connections/c-1/changes") == {"proxy": "v1/connections/c-1/changes"}


def test_greedy_parameter_needs_at_least_one_character():
    assert PEER.match("GET", "/peer/") is None
    assert PEER.match("GET", "/peer") is None


@pytest.mark.parametrize("path", ["/peers/v1", "/admin/peer/v1", "/PEER/v1", "peer/v1"])
def test_greedy_route_does_not_match_other_prefixes(path):
    assert PEER.match("GET", path) is None


def test_named_parameter_is_extracted():
    assert HOOKS.match("POST", "/hooks/jira-cloud") == {"tracker": "jira-cloud"}


def test_method_is_matched_case_insensitively():
    assert HOOKS.match("post", "/hooks/azure-devops") == {"tracker": "azure-devops"}


def test_route_refuses_other_methods():
    assert HOOKS.match("GET", "/hooks/jira-cloud") is None


@pytest.mark.parametrize("path", ["/hooks/", "/hooks/jira/extra", "/hooks", "/hooks/jira/", "/x/hooks/jira"])
def test_named_parameter_covers_exactly_one_segment(path):
    assert HOOKS.match("POST", path) is None


def test_several_named_parameters_are_extracted():
    route = HttpRoute("POST", "/hooks/{connection_id}/{tracker}", iam_auth=False)
    assert route.match("POST", "/hooks/c-1/jira") == {"connection_id": "c-1", "tracker": "jira"}


def test_route_without_parameters_matches_with_empty_parameters():
    route = HttpRoute("GET", "/health", iam_auth=False)
    assert route.match("GET", "/health") == {}
    assert route.match("GET", "/healthz") is None


def test_literal_characters_in_the_path_are_not_patterns():
    route = HttpRoute("GET", "/v1.0/{name}", iam_auth=False)
    assert route.match("GET", "/v1.0/x") == {"name": "x"}
    assert route.match("GET", "/v1x0/x") is None


def test_route_key_reads_like_api_gateway():
    assert PEER.route_key == "ANY /peer/{proxy+}"


@pytest.mark.parametrize(
    ("expression", "seconds"),
    [
        ("rate(1 minute)", 60),
        ("rate(5 minutes)", 300),
        ("rate(1 hour)", 3600),
        ("rate(2 hours)", 7200),
        ("rate(1 day)", 86400),
        (" rate(10 minutes) ", 600),
    ],
)
def test_rate_schedule_becomes_seconds(expression, seconds):
    assert schedule_seconds(expression) == seconds


@pytest.mark.parametrize(
    "expression",
    ["cron(0/5 * * * ? *)", "rate(30 seconds)", "rate(minute)", "rate(-1 minutes)", "every 5 minutes", ""],
)
def test_unsupported_schedule_is_refused(expression):
    with pytest.raises(ValueError, match="rate"):
        schedule_seconds(expression)
