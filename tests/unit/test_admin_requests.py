"""Admin API bodies: what an admin may submit, and how a refusal is explained without repeating secrets."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from twinbridge.http.errors import describe_validation_error
from twinbridge.models.admin import InitiateRequest, ManualConnectionRequest

LOCAL_KEY = "tbk1_LOCALsecretAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
REMOTE_KEY = "tbk1_REMOTEsecretBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB"


def _manual(**changes) -> dict:
    body = dict(
        name="Acme <-> Globex",
        local_short_name="Acme",
        remote_short_name="Globex",
        local_key=LOCAL_KEY,
        remote_key=REMOTE_KEY,
        remote_url="https://globex.example/tb",
    )
    body.update(changes)
    return {k: v for k, v in body.items() if v is not ...}


def _initiate(**changes) -> dict:
    body = dict(name="Acme <-> Globex", local_short_name="Acme", remote_short_name="Globex")
    body.update(changes)
    return body


def _refusal(model, body: dict) -> str:
    with pytest.raises(ValidationError) as caught:
        model.model_validate(body)
    return describe_validation_error(caught.value)


# --- ManualConnectionRequest ---------------------------------------------------------------------


def test_active_manual_connection_with_both_keys_and_url_is_accepted():
    request = ManualConnectionRequest.model_validate(_manual())
    assert request.remote_key.get_secret_value() == REMOTE_KEY
    assert request.remote_url == "https://globex.example/tb"


def test_passive_manual_connection_needs_neither_remote_key_nor_url():
    request = ManualConnectionRequest.model_validate(_manual(passive=True, remote_key=..., remote_url=...))
    assert request.remote_key is None and request.remote_url is None


def test_manual_connection_without_remote_key_is_refused_unless_passive():
    message = _refusal(ManualConnectionRequest, _manual(remote_key=...))
    assert "remote_key is required" in message


def test_manual_connection_without_remote_url_is_refused_unless_passive():
    message = _refusal(ManualConnectionRequest, _manual(remote_url=...))
    assert "remote_url is required" in message


def test_manual_connection_with_null_remote_url_is_refused_unless_passive():
    assert "remote_url is required" in _refusal(ManualConnectionRequest, _manual(remote_url=None))


def test_manual_connection_without_local_key_is_refused():
    assert "local_key: Field required" in _refusal(ManualConnectionRequest, _manual(local_key=...))


@pytest.mark.parametrize("field", ["remote_url", "alt_base_url"])
def test_manual_connection_with_plain_http_url_is_refused(field):
    message = _refusal(ManualConnectionRequest, _manual(**{field: "http://globex.example"}))
    assert message.startswith("invalid request body: ")
    assert f"{field}: " in message and "https" in message


def test_manual_connection_url_loses_its_trailing_slash():
    assert ManualConnectionRequest.model_validate(_manual(remote_url="https://globex.example/")).remote_url == (
        "https://globex.example"
    )


def test_misspelt_field_is_refused_not_ignored():
    message = _refusal(ManualConnectionRequest, _manual(pasive=True))
    assert "pasive" in message


def test_keys_are_hidden_when_the_request_is_printed():
    request = ManualConnectionRequest.model_validate(_manual())
    assert LOCAL_KEY not in repr(request) and REMOTE_KEY not in str(request)


# --- InitiateRequest -----------------------------------------------------------------------------


@pytest.mark.parametrize("short_name", ["Acme", "a", "Acme Corp", "acme_eu-1.prod", "9lives", "A" * 40])
def test_reasonable_short_name_is_accepted(short_name):
    assert InitiateRequest.model_validate(_initiate(local_short_name=short_name)).local_short_name == short_name


@pytest.mark.parametrize(
    "short_name", ["", " Acme", "-acme", ".acme", "A" * 41, "Acme/Globex", "Acme\n", "Acme#1", "Äcme", "<script>"]
)
def test_unsafe_short_name_is_refused_naming_the_field(short_name):
    message = _refusal(InitiateRequest, _initiate(remote_short_name=short_name))
    assert "remote_short_name: " in message


@pytest.mark.parametrize("hours", [0.5, 1, 72, 24 * 30])
def test_expiry_within_thirty_days_is_accepted(hours):
    assert InitiateRequest.model_validate(_initiate(expires_in_hours=hours)).expires_in_hours == hours


@pytest.mark.parametrize("hours", [0, -1, 24 * 30 + 0.01, 24 * 365])
def test_expiry_outside_thirty_days_is_refused(hours):
    assert "expires_in_hours: " in _refusal(InitiateRequest, _initiate(expires_in_hours=hours))


def test_expiry_defaults_to_three_days():
    assert InitiateRequest.model_validate(_initiate()).expires_in_hours == 72


def test_initiator_without_partner_url_is_accepted():
    assert InitiateRequest.model_validate(_initiate(partner_url=None)).partner_url is None


def test_insecure_partner_url_is_refused():
    assert "partner_url: " in _refusal(InitiateRequest, _initiate(partner_url="http://globex.example"))


def test_unknown_mode_is_refused():
    assert "mode: " in _refusal(InitiateRequest, _initiate(mode="bidirectional-magic"))


# --- validation messages never repeat what was submitted -----------------------------------------


def test_refusal_names_the_field_but_not_a_misplaced_secret():
    secret = "tbk1_ACCIDENTALLYpastedSECRETxxxxxxxxxxxxxxxxxxxxx"
    body = _manual(local_short_name=secret, remote_url=f"https://globex.example/?key={secret}")
    with pytest.raises(ValidationError) as caught:
        ManualConnectionRequest.model_validate(body)
    assert any(secret in str(error["input"]) for error in caught.value.errors())  # pydantic keeps the input ...
    message = describe_validation_error(caught.value)
    assert secret not in message  # ... ours does not
    assert "local_short_name: " in message and "remote_url: " in message


def test_refusal_does_not_repeat_a_key_of_the_wrong_type():
    secret = 123456789012345678901234567890
    message = _refusal(ManualConnectionRequest, _manual(local_key=secret))
    assert "local_key: " in message
    assert str(secret) not in message


def test_refusal_does_not_repeat_a_key_in_an_unknown_field():
    message = _refusal(ManualConnectionRequest, _manual(secret_key="tbk1_SHOULDnotBEechoedZZZZZZZZZZZZZZZZZZZZZZ"))
    assert "secret_key" in message
    assert "SHOULDnotBEechoed" not in message


def test_refusal_of_non_object_body_says_body():
    with pytest.raises(ValidationError) as caught:
        InitiateRequest.model_validate(["tbk1_secret-in-a-list"])
    message = describe_validation_error(caught.value)
    assert message.startswith("invalid request body: body: ")
    assert "tbk1_secret-in-a-list" not in message


def test_refusal_lists_at_most_ten_problems():
    body = {f"unknown_{i}": i for i in range(15)}
    with pytest.raises(ValidationError) as caught:
        InitiateRequest.model_validate(body)
    message = describe_validation_error(caught.value)
    assert message.count("; ") == 9
