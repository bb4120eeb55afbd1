"""Every operation of the API this SDK calls, by HTTP method and path template.

The resources dispatch through this table (nothing else holds a path), and the repository's
conformance test compares it with the live OpenAPI schema: an operation missing here fails that
test. `name` is the method on a client: "pets.list" is `client.pets.list()`.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Operation:
    name: str
    method: str
    path: str
    auth: bool = True


OPERATIONS: tuple[Operation, ...] = (
    Operation("auth.register", "POST", "/api/v1/auth/register", auth=False),
    Operation("pets.list", "GET", "/api/v1/pets"),
    Operation("pets.create", "POST", "/api/v1/pets"),
    Operation("pets.retrieve", "GET", "/api/v1/pets/{id}"),
    Operation("pets.replace", "PUT", "/api/v1/pets/{id}"),
    Operation("pets.update", "PATCH", "/api/v1/pets/{id}"),
    Operation("pets.delete", "DELETE", "/api/v1/pets/{id}"),
    Operation("pets.upload_image", "POST", "/api/v1/pets/{id}/image"),
    Operation("analytics.retrieve", "GET", "/api/v1/analytics"),
    Operation("usage.retrieve", "GET", "/api/v1/usage"),
    Operation("keys.list", "GET", "/api/v1/keys"),
    Operation("keys.create", "POST", "/api/v1/keys"),
    Operation("keys.retrieve", "GET", "/api/v1/keys/{id}"),
    Operation("keys.update", "PATCH", "/api/v1/keys/{id}"),
    Operation("keys.revoke", "DELETE", "/api/v1/keys/{id}"),
    Operation("keys.rotate", "POST", "/api/v1/keys/{id}/rotate"),
    Operation("billing.subscribe", "POST", "/api/v1/billing/subscribe"),
    Operation("billing.cancel", "POST", "/api/v1/billing/cancel"),
    Operation("invoices.list", "GET", "/api/v1/billing/invoices"),
    Operation("billing.credits", "GET", "/api/v1/billing/credits"),
    Operation("billing.buy_credits", "POST", "/api/v1/billing/credits"),
    Operation("webhooks.list", "GET", "/api/v1/webhooks"),
    Operation("webhooks.create", "POST", "/api/v1/webhooks"),
    Operation("webhooks.delete", "DELETE", "/api/v1/webhooks/{id}"),
    Operation("pricing.quote", "GET", "/api/v1/pricing/quote", auth=False),
    Operation("thumbnails.download", "GET", "/api/v1/thumbnails/{token}.jpg", auth=False),
)

_BY_NAME = {op.name: op for op in OPERATIONS}


def operation(name: str) -> Operation:
    return _BY_NAME[name]
