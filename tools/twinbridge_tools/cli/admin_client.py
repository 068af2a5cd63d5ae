"""Talks to a node's admin API: SigV4-signed (AWS_IAM) for deployed stacks, plain HTTP on loopback."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit

from twinbridge.loopback import is_loopback


class CliError(Exception):
    def __init__(self, message: str, exit_code: int = 2) -> None:
        super().__init__(message)
        self.message = message
        self.exit_code = exit_code


def is_loopback_url(url: str) -> bool:
    return is_loopback(urlsplit(url).hostname or "")


class AdminClient:
    def __init__(
        self,
        base_url: str,
        *,
        sigv4: bool | None = None,
        region: str | None = None,
        profile: str | None = None,
        timeout: float = 60.0,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._sigv4 = (not is_loopback_url(base_url)) if sigv4 is None else sigv4
        self._region = region
        self._profile = profile
        self._timeout = timeout

    def request(self, method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        import requests

        url = self.base_url + path
        data = json.dumps(body).encode() if body is not None else None
        headers = {"content-type": "application/json", "accept": "application/json"}
        if self._sigv4:
            headers = self._signed_headers(method, url, data, headers)
        try:
            response = requests.request(method, url, data=data, headers=headers, timeout=self._timeout)
        except requests.RequestException as exc:
            raise CliError(
                f"cannot reach the node at {self.base_url} ({type(exc).__name__}); is it running?", 3
            ) from exc
        try:
            payload = response.json() if response.content else {}
        except ValueError:
            payload = {"message": response.text[:300]}
        if response.status_code >= 400:
            message = payload.get("message") or response.reason
            code = payload.get("error", "error")
            raise CliError(f"{message} (HTTP {response.status_code}, {code})", 2)
        return payload

    def _signed_headers(self, method: str, url: str, data: bytes | None, headers: dict[str, str]) -> dict[str, str]:
        import boto3
        from botocore.auth import SigV4Auth
        from botocore.awsrequest import AWSRequest

        session = boto3.Session(profile_name=self._profile, region_name=self._region)
        credentials = session.get_credentials()
        if credentials is None:
            raise CliError("no AWS credentials found to sign admin requests (AWS_PROFILE, env vars or SSO login)")
        region = self._region or session.region_name or _region_from_host(url)
        if not region:
            raise CliError("cannot tell the stack's AWS region: pass --region")
        request = AWSRequest(method=method, url=url, data=data, headers=headers)
        SigV4Auth(credentials.get_frozen_credentials(), "execute-api", region).add_auth(request)
        return dict(request.headers.items())


def _region_from_host(url: str) -> str | None:
    host = urlsplit(url).hostname or ""
    parts = host.split(".")
    if "execute-api" in parts and parts.index("execute-api") + 1 < len(parts):
        return parts[parts.index("execute-api") + 1]
    return None
