"""The endpoint cost table kept in step with the URLconf."""

from __future__ import annotations

from metering import selectors
from metering.models import Endpoint


def endpoints_sync() -> list[Endpoint]:
    """Create a row (weight 1) for every metered route the table does not know yet."""
    existing = set(Endpoint.objects.values_list("method", "path"))
    created = []
    for method, path in selectors.api_routes():
        if (method, path) not in existing:
            created.append(
                Endpoint.objects.create(
                    method=method,
                    path=path,
                    weight=1,
                    billable_class="read" if method == "GET" else "write",
                    description="added by sync_endpoints",
                )
            )
    return created
