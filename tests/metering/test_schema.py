"""The OpenAPI schema at /api/schema/: costs and features, stable operationIds, and every
operation documenting what it can answer (refusals included) and the headers it sends. An
endpoint added later fails here until its schema says the same."""

from __future__ import annotations

import re

import pytest

pytestmark = pytest.mark.django_db

# (method, path) → operationId. SDK generators and docs link by these: renaming one is a
# breaking change, and a new operation adds its line here.
OPERATION_IDS = {
    ("POST", "/api/v1/auth/register"): "auth_register",
    ("GET", "/api/v1/pets"): "pets_list",
    ("POST", "/api/v1/pets"): "pets_create",
    ("GET", "/api/v1/pets/{pk}"): "pets_retrieve",
    ("PUT", "/api/v1/pets/{pk}"): "pets_update",
    ("PATCH", "/api/v1/pets/{pk}"): "pets_partial_update",
    ("DELETE", "/api/v1/pets/{pk}"): "pets_destroy",
    ("POST", "/api/v1/pets/{pk}/image"): "pets_image_create",
    ("GET", "/api/v1/analytics"): "analytics_retrieve",
    ("GET", "/api/v1/usage"): "usage_retrieve",
    ("GET", "/api/v1/keys"): "keys_list",
    ("POST", "/api/v1/keys"): "keys_create",
    ("GET", "/api/v1/keys/{pk}"): "keys_retrieve",
    ("PATCH", "/api/v1/keys/{pk}"): "keys_update",
    ("DELETE", "/api/v1/keys/{pk}"): "keys_destroy",
    ("POST", "/api/v1/keys/{pk}/rotate"): "keys_rotate",
    ("POST", "/api/v1/billing/subscribe"): "billing_subscribe",
    ("POST", "/api/v1/billing/cancel"): "billing_cancel",
    ("GET", "/api/v1/billing/invoices"): "billing_invoices_list",
    ("GET", "/api/v1/billing/credits"): "billing_credits_get",
    ("POST", "/api/v1/billing/credits"): "billing_credits_buy",
    ("GET", "/api/v1/pricing/quote"): "pricing_quote",
    ("GET", "/api/v1/thumbnails/{token}.jpg"): "thumbnails_retrieve",
    ("GET", "/api/v1/webhooks"): "webhooks_list",
    ("POST", "/api/v1/webhooks"): "webhooks_create",
    ("DELETE", "/api/v1/webhooks/{pk}"): "webhooks_destroy",
}
WRITES = {"POST", "PUT", "PATCH", "DELETE"}
RATE_HEADERS = {"X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset"}
ERROR_COMPONENTS = {
    "Error",
    "ValidationError",
    "ParameterError",
    "RateLimitError",
    "KeyCapError",
    "QuotaError",
    "CreditsError",
    "FeatureError",
    "KeyLimitError",
    "CardError",
}


@pytest.fixture
def schema(client) -> dict:
    response = client.get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    return response.json()


def operations(schema):
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            yield method.upper(), path, operation


def error_components(response: dict) -> set[str]:
    schema = response["content"]["application/json"]["schema"]
    refs = schema.get("anyOf", [schema])
    return {ref["$ref"].rsplit("/", 1)[-1] for ref in refs}


def codes(response: dict) -> set[str]:
    return set(re.findall(r"^`([a-z_]+)`:", response["description"], re.MULTILINE))


def test_openapi_publishes_costs_features_and_key_auth(schema):
    paths = schema["paths"]
    assert paths["/api/v1/pets"]["get"]["x-cost"] == 1
    assert paths["/api/v1/pets"]["post"]["x-cost"] == 2
    assert paths["/api/v1/pets/{pk}"]["delete"]["x-cost"] == 2
    image = paths["/api/v1/pets/{pk}/image"]["post"]
    assert image["x-cost"] == 10 and image["x-feature"] == "images"
    assert paths["/api/v1/analytics"]["get"]["x-cost"] == 5
    assert paths["/api/v1/usage"]["get"]["x-cost"] == 0
    assert "x-cost" not in paths["/api/v1/auth/register"]["post"]
    schemes = schema["components"]["securitySchemes"]
    assert schemes["ApiKeyHeader"] == {"type": "apiKey", "in": "header", "name": "X-API-Key"}
    assert schemes["BearerKey"]["scheme"] == "bearer"
    assert paths["/api/v1/pets"]["get"]["security"] == [{"ApiKeyHeader": []}, {"BearerKey": []}]


def test_operation_ids_are_pinned(schema):
    found = {(method, path): op["operationId"] for method, path, op in operations(schema)}
    assert found == OPERATION_IDS


def test_one_error_component_and_its_variants(schema):
    components = schema["components"]["schemas"]
    assert components["Error"]["required"] == ["error", "message"]
    for name in ERROR_COMPONENTS - {"Error"}:
        base, extra = components[name]["allOf"]
        assert base == {"$ref": "#/components/schemas/Error"}
        assert extra["required"], name
    rate = components["RateLimitError"]["allOf"][1]["properties"]
    assert {"limit", "window", "retry_after", "upgrade_url"} <= set(rate)
    key_cap = components["KeyCapError"]["allOf"][1]
    assert set(key_cap["required"]) == {"cap", "used", "cost", "key_id", "period_end"}
    quota = components["QuotaError"]["allOf"][1]["properties"]
    assert {"included", "used", "cost", "period_end", "upgrade_url"} <= set(quota)
    assert {"feature", "plan", "upgrade_url"} <= set(
        components["FeatureError"]["allOf"][1]["properties"]
    )
    assert "fields" in components["ValidationError"]["allOf"][1]["properties"]


def test_every_refusal_is_a_documented_error(schema):
    for method, path, operation in operations(schema):
        for status, response in operation["responses"].items():
            if status.startswith("2"):
                continue
            where = f"{method} {path} {status}"
            assert error_components(response) <= ERROR_COMPONENTS, where
            assert codes(response), f"{where} names no error code"


def test_every_operation_documents_the_refusals_of_the_layers_it_crosses(schema):
    for method, path, operation in operations(schema):
        responses = operation["responses"]
        where = f"{method} {path}"
        locations = {p["in"] for p in operation.get("parameters", [])}
        if "security" in operation:  # metered
            assert codes(responses["401"]) == {"invalid_api_key"}, where
            assert {"rate_limit_exceeded", "quota_exceeded", "credits_exhausted"} <= codes(
                responses["429"]
            ), where
            # A key's own cap counts units: operations that cost some can meet it.
            capped = {"KeyCapError"} if operation["x-cost"] > 0 else set()
            assert error_components(responses["429"]) == {
                "RateLimitError",
                "QuotaError",
                "CreditsError",
                *capped,
            }, where
            assert ("key_cap_exceeded" in codes(responses["429"])) is bool(capped), where
            assert "metering_unavailable" in codes(responses["503"]), where
            if "x-feature" in operation:
                assert "feature_not_in_plan" in codes(responses["403"]), where
        if "requestBody" in operation:
            assert {"validation_error", "malformed_request"} <= codes(responses["400"]), where
            assert codes(responses["413"]) >= {"payload_too_large"}, where
            assert codes(responses["415"]) == {"unsupported_media_type"}, where
        if "path" in locations:
            assert "404" in responses, where
        if "query" in locations:
            assert "invalid_request" in codes(responses["400"]), where


def test_every_write_takes_an_idempotency_key(schema):
    for method, path, operation in operations(schema):
        if method not in WRITES or "security" not in operation:
            continue
        where = f"{method} {path}"
        (header,) = [p for p in operation["parameters"] if p["name"] == "Idempotency-Key"]
        assert header["in"] == "header" and not header["required"], where
        assert header["schema"]["maxLength"] == 255, where
        assert {"idempotency_key_reused", "idempotency_key_in_use"} <= codes(
            operation["responses"]["409"]
        ), where
        assert "invalid_idempotency_key" in codes(operation["responses"]["400"]), where
        for status, response in operation["responses"].items():
            if status.startswith("2"):
                assert "Idempotent-Replayed" in response["headers"], where
    register = schema["paths"]["/api/v1/auth/register"]["post"]
    assert "Idempotency-Key" not in {p["name"] for p in register.get("parameters", [])}


def test_every_metered_answer_documents_its_headers(schema):
    for method, path, operation in operations(schema):
        if "security" not in operation:
            continue
        responses = operation["responses"]
        for status, response in responses.items():
            where = f"{method} {path} {status}"
            headers = response.get("headers", {})
            if status.startswith("2"):
                assert RATE_HEADERS | {"X-Usage-Cost", "X-Quota-Remaining"} <= set(headers), where
                assert headers["X-Usage-Cost"]["required"], where
                # A read's answer always carries them; a write's may be a replay, sent unmetered.
                assert headers["X-RateLimit-Limit"]["required"] is (method not in WRITES), where
            elif status == "429":
                # key_cap_exceeded has no Retry-After: retrying does not help before the renewal.
                capped = "key_cap_exceeded" in codes(response)
                assert headers["Retry-After"]["required"] is not capped, where
                assert all(headers[name]["required"] for name in RATE_HEADERS), where
            elif status in ("401", "413"):
                assert not headers, where  # refused before metering counted anything
    register = schema["paths"]["/api/v1/auth/register"]["post"]["responses"]
    assert register["429"]["headers"]["Retry-After"]["required"]


def test_list_answers_are_documented_as_they_are_sent(schema):
    components = schema["components"]["schemas"]
    for path, name in [("/api/v1/keys", "KeyList"), ("/api/v1/billing/invoices", "InvoiceList")]:
        ok = schema["paths"][path]["get"]["responses"]["200"]["content"]["application/json"]
        assert ok["schema"] == {"$ref": f"#/components/schemas/{name}"}
        assert components[name]["required"] == ["results"]
        assert components[name]["properties"]["results"]["type"] == "array"
    subscribe = schema["paths"]["/api/v1/billing/subscribe"]["post"]["responses"]["200"]
    result = subscribe["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]
    assert sorted(components[result]["properties"]) == ["plan", "subscription"]


def test_request_bodies_say_what_the_server_enforces(schema):
    components = schema["components"]["schemas"]
    pet = components["PetRequest"]
    assert pet["additionalProperties"] is False
    assert pet["properties"]["name"]["minLength"] == 1
    assert pet["properties"]["tags"]["items"]["minLength"] == 1
    payment = components["SubscribeInputRequest"]["properties"]["payment_method"]
    assert payment["minLength"] == 1
    assert components["KeyCreateInputRequest"]["properties"]["name"]["minLength"] == 1
    limit = {p["name"]: p for p in schema["paths"]["/api/v1/pets"]["get"]["parameters"]}["limit"]
    assert limit["schema"] == {"type": "integer", "minimum": 1, "maximum": 1000, "default": 50}
    quote = {p["name"]: p for p in schema["paths"]["/api/v1/pricing/quote"]["get"]["parameters"]}
    assert quote["plan"]["required"] and quote["plan"]["schema"]["minLength"] == 1


def test_the_description_mentions_idempotency(schema):
    assert "Idempotency-Key" in schema["info"]["description"]


def test_api_docs_are_served_offline(client):
    response = client.get("/api/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "swagger-ui" in html
    assert "cdn" not in html.lower() and "unpkg" not in html.lower()
    assert "/static/drf_spectacular_sidecar/" in html
