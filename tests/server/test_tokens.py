from __future__ import annotations

import pytest

from server.auth.aliases import random_alias
from server.auth.secret import load_or_create_secret
from server.auth.tokens import InvalidToken, TokenSigner

SECRET = b"s" * 32


def test_issue_and_verify_round_trip() -> None:
    signer = TokenSigner(SECRET, 60)
    token, claims = signer.issue("m_1", "Calm River 12", "member", "m_1", "dev", now_ms=1000)
    assert signer.verify(token, now_ms=2000) == claims
    assert claims.exp == 61_000


@pytest.mark.parametrize("mutate", [
    lambda t: t[:-2] + ("AA" if t[-2:] != "AA" else "BB"),
    lambda t: "v2" + t[2:],
    lambda t: t.split(".")[0],
    lambda t: "",
])
def test_tampered_tokens_are_refused(mutate) -> None:
    signer = TokenSigner(SECRET, 60)
    token, _ = signer.issue("m_1", "a", "member", "m_1")
    with pytest.raises(InvalidToken):
        signer.verify(mutate(token))


def test_another_secret_or_expiry_refuses() -> None:
    token, _ = TokenSigner(SECRET, 60).issue("m_1", "a", "member", "m_1", now_ms=0)
    with pytest.raises(InvalidToken):
        TokenSigner(b"o" * 32, 60).verify(token, now_ms=1)
    with pytest.raises(InvalidToken):
        TokenSigner(SECRET, 60).verify(token, now_ms=60_000)


def test_short_secrets_are_refused() -> None:
    with pytest.raises(ValueError):
        TokenSigner(b"short", 60)


def test_device_ids_are_stable_and_keyed() -> None:
    a, b = TokenSigner(SECRET, 60), TokenSigner(b"o" * 32, 60)
    assert a.device_id("k") == a.device_id("k") != b.device_id("k")
    assert "k" not in a.device_id("k")


def test_secret_is_generated_once_and_kept_private(tmp_path) -> None:
    first = load_or_create_secret(None, tmp_path)
    assert load_or_create_secret(None, tmp_path) == first and len(first) >= 32
    assert (tmp_path / "secret").stat().st_mode & 0o077 == 0
    assert load_or_create_secret("from-config" * 4, tmp_path) == b"from-config" * 4


def test_aliases_look_friendly() -> None:
    alias = random_alias()
    adjective, noun, number = alias.split(" ")
    assert adjective.istitle() and noun.istitle() and 10 <= int(number) < 100
