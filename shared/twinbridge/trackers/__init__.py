"""Tracker clients (Jira Cloud, Jira Data Center, Azure DevOps), their HTTP layer and webhook parsing."""
