"""The default endpoint cost table (seeded by a data migration; edited in the admin after)."""

from __future__ import annotations

# The Pet Store's costs: reads 1, writes 2, image processing 10, analytics 5; account, usage
# and billing calls are free (weight 0) but still authenticated and rate-limited.
ENDPOINTS = [
    ("GET", "/api/v1/pets", 1, "", "read", "List pets"),
    ("POST", "/api/v1/pets", 2, "", "write", "Create a pet"),
    ("GET", "/api/v1/pets/{pk}", 1, "", "read", "Get a pet"),
    ("PUT", "/api/v1/pets/{pk}", 2, "", "write", "Replace a pet"),
    ("PATCH", "/api/v1/pets/{pk}", 2, "", "write", "Update a pet"),
    ("DELETE", "/api/v1/pets/{pk}", 2, "", "write", "Delete a pet"),
    ("POST", "/api/v1/pets/{pk}/image", 10, "images", "image", "Process a pet image"),
    ("GET", "/api/v1/analytics", 5, "analytics", "read", "Pet analytics"),
    ("GET", "/api/v1/usage", 0, "", "read", "Usage of the period"),
    ("GET", "/api/v1/keys", 0, "", "read", "List API keys"),
    ("POST", "/api/v1/keys", 0, "", "write", "Create an API key"),
    ("GET", "/api/v1/keys/{pk}", 0, "", "read", "Get an API key"),
    ("PATCH", "/api/v1/keys/{pk}", 0, "", "write", "Set an API key's monthly caps"),
    ("DELETE", "/api/v1/keys/{pk}", 0, "", "write", "Revoke an API key"),
    ("POST", "/api/v1/keys/{pk}/rotate", 0, "", "write", "Rotate an API key"),
    ("POST", "/api/v1/billing/subscribe", 0, "", "write", "Subscribe or change plan"),
    ("POST", "/api/v1/billing/cancel", 0, "", "write", "Cancel at period end"),
    ("GET", "/api/v1/billing/invoices", 0, "", "read", "List invoices"),
    ("GET", "/api/v1/billing/credits", 0, "", "read", "Prepaid credits balance"),
    ("POST", "/api/v1/billing/credits", 0, "", "write", "Buy a credit pack"),
    # Account endpoints of the webhooks feature: free, and refused (403) on plans without it.
    ("GET", "/api/v1/webhooks", 0, "webhooks", "read", "List webhook endpoints"),
    ("POST", "/api/v1/webhooks", 0, "webhooks", "write", "Add a webhook endpoint"),
    ("DELETE", "/api/v1/webhooks/{pk}", 0, "webhooks", "write", "Delete a webhook endpoint"),
]


def seed_endpoints(endpoint_model) -> int:
    """Create the default rows that are missing; existing rows keep their edited values."""
    created = 0
    for method, path, weight, feature, billable_class, description in ENDPOINTS:
        _, was_created = endpoint_model.objects.get_or_create(
            method=method,
            path=path,
            defaults={
                "weight": weight,
                "feature": feature,
                "billable_class": billable_class,
                "description": description,
            },
        )
        created += was_created
    return created
