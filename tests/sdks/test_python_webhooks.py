"""The Python SDK's webhook signature helper: what the server signs verifies; a tampered body,
an old timestamp, a wrong secret or a malformed header does not; any of several v1 values may
match (secret rotation)."""

from __future__ import annotations

import json
import time

import pytest
from petstore_sdk import WebhookSignatureError, construct_event, verify_signature
from petstore_sdk.webhooks import compute_signature

from alerts.webhooks.signing import signature_header

SECRET = "whsec_" + "k" * 43
BODY = json.dumps(
    {"id": "evt_1", "type": "plan.changed", "created": 1, "data": {"to_plan": "pro"}}
).encode()


def test_what_the_server_signs_verifies():
    header = signature_header(SECRET, BODY)  # the server's own signing (alerts/webhooks)
    event = construct_event(BODY, header, SECRET)
    assert event["id"] == "evt_1" and event["data"] == {"to_plan": "pro"}
    verify_signature(BODY.decode(), header, SECRET)  # str payloads too


def test_a_tampered_body_is_refused():
    header = signature_header(SECRET, BODY)
    with pytest.raises(WebhookSignatureError):
        construct_event(BODY.replace(b"pro", b"business"), header, SECRET)


def test_an_old_timestamp_is_refused_even_with_a_valid_signature():
    old = int(time.time()) - 301
    header = signature_header(SECRET, BODY, timestamp=old)
    with pytest.raises(WebhookSignatureError, match="tolerance"):
        verify_signature(BODY, header, SECRET)
    verify_signature(BODY, header, SECRET, tolerance=600)  # a wider tolerance accepts it
    verify_signature(BODY, header, SECRET, now=old + 10)


def test_a_wrong_secret_is_refused():
    header = signature_header(SECRET, BODY)
    with pytest.raises(WebhookSignatureError, match="No signature matches"):
        verify_signature(BODY, header, "whsec_someone_else")


def test_any_of_several_v1_values_may_match():
    now = int(time.time())
    good = compute_signature(BODY, SECRET, now)
    header = f"t={now},v1={'0' * 64},v1={good}"
    verify_signature(BODY, header, SECRET)
    with pytest.raises(WebhookSignatureError):
        verify_signature(BODY, f"t={now},v1={'0' * 64},v1={'1' * 64}", SECRET)


@pytest.mark.parametrize("header", [None, "", "v1=abc", "t=123", "t=abc,v1=def", "garbage"])
def test_malformed_headers_are_refused(header):
    with pytest.raises(WebhookSignatureError):
        verify_signature(BODY, header, SECRET)
