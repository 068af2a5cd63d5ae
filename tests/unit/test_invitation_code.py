"""Invitation codes as admins copy and paste them between nodes."""

from __future__ import annotations

import datetime as dt
import hashlib
import json

import pytest

from twinbridge.encoding import b64d, b64e
from twinbridge.errors import MalformedInvitationError
from twinbridge.models.invitation import PREFIX, InvitationCode
from twinbridge.peers.keys import new_ephemeral


def _with_checksum(body: str) -> str:
    return f"{PREFIX}{body}.{hashlib.sha256(body.encode()).hexdigest()[:8]}"


def _invitation(public_key: bytes = bytes(range(32)), **changes) -> InvitationCode:
    fields = dict(
        connection_id="c-" + "ab" * 16,
        name="Acme <-> Globex support desk",
        initiator_node="acme-prod",
        initiator_short_name="Acme",
        acceptor_short_name="Globex",
        description="Escalations from Globex's ADO board",
        mode="basic",
        initiator_url="https://twinbridge.acme.example",
        expires_at=dt.datetime(2030, 1, 2, 3, 4, 5, tzinfo=dt.UTC),
        public_key=b64e(public_key),
        invitation_secret=b64e(b"binds-the-exchange-to-this-code!"),
    )
    fields.update(changes)
    return InvitationCode(**fields)


def _malformed(code: str) -> MalformedInvitationError:
    with pytest.raises(MalformedInvitationError) as caught:
        InvitationCode.decode(code)
    return caught.value


def _assert_not_echoed(error: MalformedInvitationError, code: str) -> None:
    body = code.removeprefix(PREFIX)
    assert code not in error.message
    for start in range(0, max(1, len(body) - 12), 12):
        assert body[start : start + 12] not in error.message


def test_encoded_invitation_decodes_to_the_same_invitation():
    invitation = _invitation()
    assert InvitationCode.decode(invitation.encode()) == invitation


def test_invitation_without_initiator_url_round_trips():
    invitation = _invitation(initiator_url=None, mode="script", description="")
    assert InvitationCode.decode(invitation.encode()) == invitation


def test_code_is_a_single_line_of_url_safe_text():
    code = _invitation().encode()
    assert code.startswith(PREFIX)
    assert code.isascii() and not any(c.isspace() for c in code)


def test_encoding_is_deterministic():
    assert _invitation().encode() == _invitation().encode()


@pytest.mark.parametrize(
    "mangle",
    [
        lambda c: "\n".join(c[i : i + 60] for i in range(0, len(c), 60)),
        lambda c: "\r\n".join(c[i : i + 76] for i in range(0, len(c), 76)) + "\r\n",
        lambda c: "  \t" + c + "  \n",
        lambda c: " ".join(c[i : i + 8] for i in range(0, len(c), 8)),
    ],
    ids=["wrapped-at-60", "crlf-wrapped", "padded", "spaces-every-8"],
)
def test_whitespace_from_copy_paste_is_tolerated(mangle):
    invitation = _invitation()
    assert InvitationCode.decode(mangle(invitation.encode())) == invitation


@pytest.mark.parametrize("keep", [0.5, 0.9], ids=["half", "most"])
def test_truncated_code_is_refused_without_echoing_it(keep):
    code = _invitation().encode()
    truncated = code[: int(len(code) * keep)]
    error = _malformed(truncated)
    assert "checksum" in error.message
    _assert_not_echoed(error, truncated)


def test_code_missing_its_last_character_is_refused():
    code = _invitation().encode()
    assert "checksum" in _malformed(code[:-1]).message


def test_changed_character_in_the_body_is_refused():
    code = _invitation().encode()
    position = len(PREFIX) + 40
    changed = code[:position] + ("B" if code[position] != "B" else "C") + code[position + 1 :]
    error = _malformed(changed)
    assert "checksum" in error.message
    _assert_not_echoed(error, changed)


def test_changed_character_in_the_checksum_is_refused():
    code = _invitation().encode()
    changed = code[:-1] + ("0" if code[-1] != "0" else "1")
    assert "checksum" in _malformed(changed).message


@pytest.mark.parametrize("prefix", ["tbinv2.", "TBINV1.", "tbinv1", "", "https://acme.example/invite?code="])
def test_wrong_prefix_is_refused_naming_the_expected_one(prefix):
    code = prefix + _invitation().encode().removeprefix(PREFIX)
    error = _malformed(code)
    assert PREFIX in error.message
    _assert_not_echoed(error, code)


def test_empty_code_is_refused():
    assert PREFIX in _malformed("").message


def test_code_without_checksum_is_refused():
    code = _invitation().encode()
    assert "checksum" in _malformed(code.rpartition(".")[0]).message


@pytest.mark.parametrize(
    "payload",
    [
        b"this is not json",
        b"\xff\xfe\x00binary",
        b"[1, 2, 3]",
        b'"a string"',
        b"{}",
        json.dumps({"connection_id": "c-1", "name": "x"}).encode(),
    ],
    ids=["text", "binary", "list", "string", "empty-object", "partial"],
)
def test_valid_checksum_over_invalid_content_is_refused(payload):
    code = _with_checksum(b64e(payload))
    error = _malformed(code)
    assert "not a valid invitation" in error.message
    _assert_not_echoed(error, code)


def test_valid_checksum_over_invalid_base64_is_refused():
    error = _malformed(_with_checksum("abcde"))
    assert "not a valid invitation" in error.message


def test_smuggled_extra_field_is_refused():
    data = _invitation().model_dump(mode="json")
    data["ephemeral_private"] = b64e(b"p" * 32)
    code = _with_checksum(b64e(json.dumps(data).encode()))
    assert "not a valid invitation" in _malformed(code).message


def test_invitation_with_bad_short_name_is_refused():
    data = _invitation().model_dump(mode="json")
    data["acceptor_short_name"] = "/etc/passwd"
    assert "not a valid invitation" in _malformed(_with_checksum(b64e(json.dumps(data).encode()))).message


def test_malformed_invitation_does_not_chain_the_validation_detail_into_the_message():
    data = _invitation().model_dump(mode="json")
    data["invitation_secret"] = 12345  # wrong type; pydantic's own text would quote the input
    error = _malformed(_with_checksum(b64e(json.dumps(data).encode())))
    assert "12345" not in error.message


def test_code_carries_only_the_invitation_fields_and_no_private_half():
    pair = new_ephemeral()
    code = _invitation(public_key=pair.public).encode()
    body = code.removeprefix(PREFIX).rpartition(".")[0]
    content = json.loads(b64d(body))
    assert set(content) == set(InvitationCode.model_fields)
    assert b64d(content["public_key"]) == pair.public
    decoded_text = b64d(body).decode()
    for secret in (b64e(pair.private), pair.private.hex(), pair.private.hex().upper()):
        assert secret not in code
        assert secret not in decoded_text

