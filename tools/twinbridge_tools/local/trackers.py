"""Simulated trackers for the local runtime: each local node gets a tracker of its own (Jira Cloud, Jira DC or
Azure DevOps simulator on loopback), with a technical user, a person to play with, a project, and webhooks
pointed at the node's own webhook route."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Any

TECHNICAL_USER_EMAIL = "twinbridge-bot@{domain}"


@dataclass
class Person:
    name: str
    email: str
    secret: str  # API token (Jira Cloud), PAT (Jira DC, Azure DevOps)
    account_id: str


@dataclass
class LocalTracker:
    kind: str
    simulator: Any
    base_url: str
    project: str  # the first of the projects
    technical_user: str
    credentials: dict[str, str]  # the node's tracker secret (TrackerCredentials JSON): the technical user only
    webhook_credentials: dict[str, str]  # the node's webhook secret (WebhookCredentials JSON)
    people: list[Person] = field(default_factory=list)

    def stop(self) -> None:
        self.simulator.stop()


def start_tracker(kind: str, node_name: str, node_url: str, projects: str) -> LocalTracker:
    """Start and seed the simulator for ``kind`` with ``projects`` (comma-separated keys, the first is the
    main one); webhooks go to ``node_url``/hooks/``kind``, authenticated."""
    keys = [key.strip() for key in projects.split(",") if key.strip()]
    project = keys[0]
    domain = f"{node_name}.local"
    hook_secret = secrets.token_urlsafe(24)
    bot = Person(
        "Twinbridge Bot", TECHNICAL_USER_EMAIL.format(domain=domain), secrets.token_urlsafe(18), "twinbridge-bot"
    )
    person = Person(
        "Ana Pérez" if kind != "azure-devops" else "Ben Okafor",
        f"{'ana' if kind != 'azure-devops' else 'ben'}@{domain}",
        secrets.token_urlsafe(18),
        "ana" if kind != "azure-devops" else "ben",
    )
    hook_url = f"{node_url}/hooks/{kind}"
    if kind == "azure-devops":
        from twinbridge_tools.simulators.azure_devops import AzureDevOpsSimulator

        ado = AzureDevOpsSimulator(organization=node_name, project=project)
        for key in keys[1:]:
            ado.add_project(key)
        ado.start()
        ado.add_user(bot.name, bot.email, pat=bot.secret)
        ado.add_user(person.name, person.email, pat=person.secret)
        ado.hooks.subscribe(hook_url, basic=("twinbridge", hook_secret))
        credentials = {"pat": bot.secret}
        webhook_credentials = {"webhook_secret": hook_secret, "webhook_username": "twinbridge"}
        technical_user = bot.email
        sim: Any = ado
    else:
        from twinbridge_tools.simulators.jira import JiraSimulator

        cloud = kind == "jira-cloud"
        jira = JiraSimulator(
            "cloud" if cloud else "dc",
            webhook_url=hook_url if cloud else f"{hook_url}?token={hook_secret}",
            webhook_secret=hook_secret if cloud else None,
        )
        jira.start()
        jira.add_user(bot.account_id, bot.name, bot.email, bot.secret)
        jira.add_user(person.account_id, person.name, person.email, person.secret)
        for key in keys:
            jira.add_project(key)
        credentials = {"email": bot.email, "api_token": bot.secret} if cloud else {"pat": bot.secret}
        webhook_credentials = {"webhook_secret": hook_secret}
        technical_user = bot.account_id
        sim = jira
    return LocalTracker(
        kind=kind,
        simulator=sim,
        base_url=sim.url,
        project=project,
        technical_user=technical_user,
        credentials=credentials,
        webhook_credentials=webhook_credentials,
        people=[bot, person],
    )
