import hmac

import pytest

from accounts import keys
from accounts.models import ApiKey


def test_generated_key_format_and_checksum():
    generated = keys.generate_key("live")
    assert generated.raw.startswith("ps_live_")
    assert len(generated.raw) == len("ps_live_") + keys.BODY_LENGTH + keys.CHECKSUM_LENGTH
    assert keys.is_well_formed(generated.raw)
    assert generated.prefix == generated.raw[:16]
    assert generated.hashed == keys.hash_key(generated.raw)
    assert keys.generate_key("test").raw.startswith("ps_test_")


def test_checksum_catches_a_single_wrong_character():
    raw = keys.generate_key().raw
    position = 20
    wrong = "A" if raw[position] != "A" else "B"
    tampered = raw[:position] + wrong + raw[position + 1 :]
    assert not keys.is_well_formed(tampered)
    assert not keys.is_well_formed(raw[:-1])
    assert not keys.is_well_formed("ps_prod_" + raw[8:])
    assert not keys.is_well_formed("")


def test_keys_are_random():
    assert len({keys.generate_key().raw for _ in range(200)}) == 200


@pytest.mark.django_db
def test_database_holds_only_prefix_and_hash(make_customer):
    customer, raw = make_customer()
    row = ApiKey.objects.get(customer=customer)
    stored = [str(v) for v in ApiKey.objects.filter(pk=row.pk).values_list()[0]]
    assert all(raw not in value for value in stored)
    assert row.key_hash == keys.hash_key(raw) and len(row.key_hash) == 64
    assert raw.startswith(row.prefix) and len(row.prefix) < len(raw) / 2


@pytest.mark.django_db
def test_verification_is_constant_time(make_customer, monkeypatch):
    customer, raw = make_customer()
    row = ApiKey.objects.get(customer=customer)
    calls = []
    real = hmac.compare_digest

    def spy(a, b):
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(keys.hmac, "compare_digest", spy)
    assert row.matches(raw)
    other = keys.generate_key().raw
    assert not row.matches(other)
    assert len(calls) == 2  # every comparison went through hmac.compare_digest


def test_routed_keys_carry_their_customer_under_the_checksum():
    generated = keys.generate_key("live", customer_id=123_456)
    assert keys.is_well_formed(generated.raw)
    assert keys.routed_customer(generated.raw) == 123_456
    assert generated.prefix == generated.raw[:16]  # the lookup prefix is still random
    body, _, rest = generated.raw[len("ps_live_") :].partition("_")
    assert len(body) == keys.BODY_LENGTH and rest[: -keys.CHECKSUM_LENGTH] == "W7E"
    # Another customer's tag with the old checksum is a typo, refused without a lookup.
    other = generated.raw.replace("_W7E", "_W7F")
    assert not keys.is_well_formed(other)
    assert keys.routed_customer(other) == 123_457  # only the hash check can tell it is no key
    assert keys.routed_customer(keys.generate_key("live").raw) is None  # issued before tags
    assert keys.routed_customer("ps_live_short") is None
    assert keys.routed_customer("ps_live_" + "A" * 32 + "_!!!" + "B" * 6) is None
