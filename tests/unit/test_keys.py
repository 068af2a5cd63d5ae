"""Connection keys: X25519 agreement, key ids, admin-typed manual keys and possession proofs."""

from __future__ import annotations

import base64
import binascii

import pytest

from twinbridge.encoding import b64d, b64e
from twinbridge.peers.keys import (
    agree,
    check_proof,
    handshake_key,
    key_id,
    new_ephemeral,
    new_manual_key,
    parse_manual_key,
    proof,
)

CONTEXT = "c-0123456789abcdef0123456789abcdef"
BINDING = b"invitation-secret-0123456789abcd"


@pytest.fixture
def initiator():
    return new_ephemeral()


@pytest.fixture
def acceptor():
    return new_ephemeral()


def both_sides(initiator, acceptor, *, context=CONTEXT, binding=BINDING):
    first = agree(initiator.private, acceptor.public, context=context, binding_secret=binding, first_party=True)
    second = agree(acceptor.private, initiator.public, context=context, binding_secret=binding, first_party=False)
    return first, second


def test_both_sides_derive_mirrored_keys(initiator, acceptor):
    first, second = both_sides(initiator, acceptor)
    assert first.inbound == second.outbound
    assert first.outbound == second.inbound


def test_each_direction_has_its_own_32_byte_key(initiator, acceptor):
    first, _ = both_sides(initiator, acceptor)
    assert first.inbound != first.outbound
    assert len(first.inbound) == len(first.outbound) == 32


def test_derived_keys_are_not_the_exchanged_material(initiator, acceptor):
    first, _ = both_sides(initiator, acceptor)
    travelled = {initiator.public, acceptor.public, BINDING}
    assert not travelled & {first.inbound, first.outbound}


def test_different_context_gives_different_keys(initiator, acceptor):
    first, _ = both_sides(initiator, acceptor, context=CONTEXT)
    rotated, _ = both_sides(initiator, acceptor, context=CONTEXT + "|rotation-1")
    assert {first.inbound, first.outbound}.isdisjoint({rotated.inbound, rotated.outbound})


def test_different_binding_secret_gives_different_keys(initiator, acceptor):
    first, _ = both_sides(initiator, acceptor, binding=BINDING)
    other, _ = both_sides(initiator, acceptor, binding=b"another-invitation-secret-000000")
    assert {first.inbound, first.outbound}.isdisjoint({other.inbound, other.outbound})


def test_eavesdropper_with_public_halves_and_binding_secret_gets_other_keys(initiator, acceptor):
    first, second = both_sides(initiator, acceptor)
    eve = new_ephemeral()
    known = dict(context=CONTEXT, binding_secret=BINDING)
    posing_as_acceptor = agree(eve.private, initiator.public, first_party=False, **known)
    posing_as_initiator = agree(eve.private, acceptor.public, first_party=True, **known)
    genuine = {first.inbound, first.outbound}
    assert genuine.isdisjoint({posing_as_acceptor.inbound, posing_as_acceptor.outbound})
    assert genuine.isdisjoint({posing_as_initiator.inbound, posing_as_initiator.outbound})


def test_fresh_ephemeral_pairs_differ():
    a, b = new_ephemeral(), new_ephemeral()
    assert a.private != b.private and a.public != b.public
    assert len(a.private) == len(a.public) == 32


@pytest.mark.parametrize("length", [0, 31, 33, 64])
def test_peer_public_key_of_wrong_length_is_refused(initiator, length):
    with pytest.raises(ValueError, match="32 bytes"):
        agree(initiator.private, b"\x09" * length, context=CONTEXT, binding_secret=BINDING, first_party=True)


def test_all_zero_peer_public_key_is_refused(initiator):
    # a low-order point would make the shared secret predictable
    with pytest.raises(ValueError):
        agree(initiator.private, bytes(32), context=CONTEXT, binding_secret=BINDING, first_party=True)


def test_key_id_is_stable_for_a_key():
    key = bytes(range(32))
    assert key_id(key) == key_id(bytes(range(32)))


def test_key_id_differs_between_keys():
    assert key_id(bytes(32)) != key_id(bytes(31) + b"\x01")


def test_key_id_fits_the_header_limit():
    value = key_id(bytes(range(32)))
    assert value.startswith("k_") and len(value) <= 64


def test_key_id_does_not_reveal_the_key():
    key = bytes(range(100, 132))
    value = key_id(key)
    for encoding in (key.hex(), key.hex().upper(), b64e(key), base64.b64encode(key).decode()):
        assert encoding not in value
        assert encoding[:16] not in value


def test_manual_key_in_house_format_is_accepted():
    key = bytes(range(32))
    assert parse_manual_key("tbk1_" + b64e(key)) == key


def test_manual_key_as_bare_base64url_is_accepted():
    key = bytes(range(200, 240))
    assert parse_manual_key(b64e(key)) == key


@pytest.mark.parametrize("to_hex", [bytes.hex, lambda b: b.hex().upper()], ids=["lower", "upper"])
def test_manual_key_as_hex_is_accepted(to_hex):
    key = bytes(range(32))
    assert parse_manual_key(to_hex(key)) == key


def test_manual_key_pasted_with_surrounding_whitespace_is_accepted():
    key = bytes(range(32))
    assert parse_manual_key("  tbk1_" + b64e(key) + "\n") == key


@pytest.mark.parametrize(
    "text",
    ["tbk1_" + b64e(bytes(range(31))), b64e(bytes(range(31))), bytes(range(31)).hex()],
    ids=["tbk1", "base64url", "hex"],
)
def test_manual_key_of_31_bytes_is_refused_without_echoing_it(text):
    with pytest.raises(ValueError) as caught:
        parse_manual_key(text)
    message = str(caught.value)
    assert "32" in message
    assert text not in message and text.removeprefix("tbk1_") not in message


@pytest.mark.parametrize("text", ["", "   ", "%%%%%%%%", "tbk1_", "tbk1_" + "!" * 44, "ключ-ключ-ключ"])
def test_manual_key_that_is_not_a_key_is_refused_without_echoing_it(text):
    with pytest.raises(ValueError) as caught:
        parse_manual_key(text)
    if text.strip():
        assert text.strip() not in str(caught.value)


def test_manual_key_that_is_a_sentence_is_refused():
    # An admin pasting the wrong clipboard content gets a silently accepted, meaningless key today.
    with pytest.raises(ValueError):
        parse_manual_key("this is not a key at all, just some words typed by an admin ok")


def test_new_manual_key_parses_back_to_32_random_bytes():
    text = new_manual_key()
    assert text.startswith("tbk1_")
    assert len(parse_manual_key(text)) >= 32


def test_new_manual_keys_differ():
    assert len({new_manual_key() for _ in range(5)}) == 5


def test_new_manual_key_is_plain_ascii_for_copy_paste():
    text = new_manual_key()
    assert text.isascii() and text.strip() == text and "=" not in text


def test_proof_checks_with_the_same_key_and_parts():
    key = bytes(range(32))
    assert check_proof(key, proof(key, "accept", CONTEXT), "accept", CONTEXT)


def test_proof_made_with_another_key_fails():
    assert not check_proof(bytes(range(32)), proof(bytes(range(1, 33)), "accept", CONTEXT), "accept", CONTEXT)


def test_proof_over_other_parts_fails():
    key = bytes(range(32))
    value = proof(key, "rotate", CONTEXT, "r-1")
    assert not check_proof(key, value, "rotate", CONTEXT, "r-2")
    assert not check_proof(key, value, "rotate", "r-1", CONTEXT)


def test_garbage_proof_fails():
    key = bytes(range(32))
    assert not check_proof(key, "", "accept")
    assert not check_proof(key, "0" * 64, "accept")


def test_non_ascii_proof_from_partner_fails_cleanly():
    # rotation.py and invitations.py pass the partner's proof string straight in
    assert not check_proof(bytes(range(32)), "é" * 64, "rotate")


def test_handshake_key_is_bound_to_the_connection():
    secret = b"s" * 32
    assert handshake_key(secret, "c-1") == handshake_key(secret, "c-1")
    assert handshake_key(secret, "c-1") != handshake_key(secret, "c-2")
    assert handshake_key(secret, "c-1") != handshake_key(b"t" * 32, "c-1")


def test_b64_helpers_round_trip_without_padding():
    for size in range(0, 40):
        data = bytes(range(size))
        assert "=" not in b64e(data)
        assert b64d(b64e(data)) == data


def test_b64d_refuses_impossible_length():
    with pytest.raises((binascii.Error, ValueError)):
        b64d("abcde")
