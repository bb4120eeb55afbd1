from __future__ import annotations


def usage_estimate(customer, breakdown) -> dict | None:
    """Estimated bill for the usage so far (priced by billing.pricing)."""
    return None
