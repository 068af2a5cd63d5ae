"""Jira Cloud OAuth 2.0 (3LO): bearer tokens only through the API gateway (/ex/jira/{cloudId}), API tokens only as
basic auth on the site; the product's client picks the right base URL and finds the cloud id."""

from __future__ import annotations

import base64

import pytest
import requests
from pydantic import ValidationError

from twinbridge.errors import TrackerAuthError
from twinbridge.models.tracker import ItemFields
from twinbridge.settings import Settings
from twinbridge.trackers.credentials import TrackerCredentials
from twinbridge.trackers.factory import build_client
from twinbridge_tools.simulators.jira import JiraSimulator

TOKEN = "oauth-Zq81-secret"


@pytest.fixture
def sim():
    with JiraSimulator("cloud") as simulator:
        simulator.add_user("bot", "Sync Bot", "bot@example.com", TOKEN)
        simulator.add_project("PRJ")
        yield simulator


def paths(sim) -> list[str]:
    return [r.path for r in sim.requests]


def test_an_oauth_token_is_sent_through_the_gateway_after_finding_the_sites_cloud_id(sim):
    client = build_client("jira-cloud", sim.site_url, TrackerCredentials(oauth_token=TOKEN),
                          jira_api_gateway=sim.gateway_url)

    me = client.whoami()
    item = client.create_item("PRJ", ItemFields(summary="through the gateway"))

    assert me.account_id == "bot"
    assert paths(sim)[:2] == ["/oauth/token/accessible-resources", f"/ex/jira/{sim.cloud_id}/rest/api/3/myself"]
    assert paths(sim).count("/oauth/token/accessible-resources") == 1  # looked up once, then remembered
    assert all(p.startswith(f"/ex/jira/{sim.cloud_id}/rest/api/3/") for p in paths(sim)[1:])
    assert item.url == f"{sim.site_url}/browse/{item.key}"  # people still get the site's links


def test_a_configured_cloud_id_skips_the_lookup(sim):
    credentials = TrackerCredentials(oauth_token=TOKEN, cloud_id=sim.cloud_id)
    client = build_client("jira-cloud", sim.site_url, credentials, jira_api_gateway=sim.gateway_url)

    assert client.whoami().account_id == "bot"
    assert paths(sim) == [f"/ex/jira/{sim.cloud_id}/rest/api/3/myself"]


def test_a_token_not_granted_for_this_site_is_refused_naming_the_site_not_the_token(sim):
    client = build_client("jira-cloud", "https://other.atlassian.net", TrackerCredentials(oauth_token=TOKEN),
                          jira_api_gateway=sim.gateway_url)

    with pytest.raises(TrackerAuthError) as caught:
        client.whoami()
    assert "https://other.atlassian.net" in str(caught.value) and sim.site_url in str(caught.value)
    assert TOKEN not in str(caught.value)
    report = client.check_access("PRJ")
    assert not report.authenticated and "authentication" in report.problems


def test_cloud_refuses_a_bearer_token_on_the_site_and_an_api_token_on_the_gateway(sim):
    basic = "Basic " + base64.b64encode(f"bot@example.com:{TOKEN}".encode()).decode()
    bearer = f"Bearer {TOKEN}"
    gateway = f"{sim.gateway_url}/ex/jira/{sim.cloud_id}/rest/api/3/myself"

    def status(url: str, authorization: str) -> int:
        return requests.get(url, headers={"Authorization": authorization}, timeout=5).status_code

    assert status(f"{sim.site_url}/rest/api/3/myself", bearer) == 401
    assert status(gateway, basic) == 401
    assert status(f"{sim.site_url}/rest/api/3/myself", basic) == 200
    assert status(gateway, bearer) == 200
    assert status(f"{sim.gateway_url}/ex/jira/another-cloud/rest/api/3/myself", bearer) == 404


def test_the_gateway_setting_must_be_https_except_on_loopback():
    base = {"NODE_NAME": "n", "TRACKER_TYPE": "jira-cloud", "TABLE_NAME": "t"}
    assert Settings.model_validate(base).jira_api_gateway_url == "https://api.atlassian.com"
    assert Settings.model_validate({**base, "JIRA_API_GATEWAY_URL": "http://127.0.0.1:9/"}).jira_api_gateway_url \
        == "http://127.0.0.1:9"
    with pytest.raises(ValidationError, match="https"):
        Settings.model_validate({**base, "JIRA_API_GATEWAY_URL": "http://api.example.com"})


def test_a_cloud_id_without_an_oauth_token_is_refused():
    with pytest.raises(ValidationError, match="cloud_id goes with oauth_token"):
        TrackerCredentials(email="a@example.com", api_token="t", cloud_id="abc")


def test_gateway_answers_link_to_the_gateway_while_webhooks_and_people_get_the_site():
    site = "https://acme.atlassian.net"
    with JiraSimulator("cloud", public_base_url=site) as sim:
        sim.add_user("bot", "Sync Bot", "bot@example.com", TOKEN)
        sim.add_project("PRJ")
        client = build_client("jira-cloud", site, TrackerCredentials(oauth_token=TOKEN),
                              jira_api_gateway=sim.gateway_url)
        item = client.create_item("PRJ", ItemFields(summary="linked"))
        gateway = f"{sim.gateway_url}/ex/jira/{sim.cloud_id}"
        raw = requests.get(f"{gateway}/rest/api/3/issue/{item.key}", headers={"Authorization": f"Bearer {TOKEN}"},
                           timeout=5).json()

    assert raw["self"].startswith(f"{gateway}/rest/api/3/issue/")
    assert item.url == f"{site}/browse/{item.key}"
    [created] = [w["payload"] for w in sim.webhooks if w["event"] == "jira:issue_created"]
    assert created["issue"]["self"].startswith(f"{site}/rest/api/2/issue/")
    assert created["user"]["self"].startswith(f"{site}/")
