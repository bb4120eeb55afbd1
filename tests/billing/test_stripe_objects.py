"""Stripe objects are read with stripe-python's own API (attribute or `[]` access, `in`), never
with the dict methods dj-stripe patches onto StripeObject: tests/conftest.py's guard fails any
test whose code path calls one from a module of ours. These tests check the guard itself."""

import stripe

from tests import conftest


def _run_as(module: str, source: str, obj: stripe.StripeObject):
    namespace = {"__name__": module, "obj": obj}
    exec(compile(source, f"<{module}>", "exec"), namespace)
    return namespace.get("result")


def test_a_get_from_our_code_is_recorded_and_the_library_api_is_not():
    obj = stripe.StripeObject.construct_from({"id": "in_1", "number": None}, "sk_test_x")
    assert _run_as("billing.example", "result = obj.get('number', 'n/a')", obj) is None
    assert conftest.stripe_object_misuse == ["billing.example:1 calls StripeObject.get()"]
    conftest.stripe_object_misuse.clear()  # this test made it on purpose
    # The library's own API is not recorded, nor is dj-stripe's (or anyone else's) use.
    assert _run_as("billing.example", "result = (obj.id, obj['number'], 'x' in obj)", obj) == (
        "in_1",
        None,
        False,
    )
    _run_as("djstripe.models.core", "result = obj.get('id')", obj)
    assert conftest.stripe_object_misuse == []
