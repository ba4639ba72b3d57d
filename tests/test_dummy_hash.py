"""An unknown admin is checked against a dummy hash made without running argon2: it must
cost as much to check as a real hash, and no password may match it."""

from __future__ import annotations

import argon2

from bot.passwords import ARGON2, dummy_hash, hash_password, needs_rehash, verify_password


def test_the_dummy_hash_has_todays_argon2_cost() -> None:
    made = dummy_hash()
    assert argon2.extract_parameters(made) == argon2.extract_parameters(hash_password("x"))
    assert not needs_rehash(made)
    assert ARGON2.memory_cost == 19 * 1024


def test_no_password_matches_the_dummy_hash_and_each_is_new() -> None:
    made = dummy_hash()
    assert not verify_password("", made) and not verify_password("x", made)
    assert dummy_hash() != made
