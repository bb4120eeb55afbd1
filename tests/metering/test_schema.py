import pytest


@pytest.mark.django_db
def test_openapi_publishes_costs_features_and_key_auth(client):
    response = client.get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    schema = response.json()
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


@pytest.mark.django_db
def test_api_docs_are_served_offline(client):
    response = client.get("/api/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "swagger-ui" in html
    assert "cdn" not in html.lower() and "unpkg" not in html.lower()
    assert "/static/drf_spectacular_sidecar/" in html
