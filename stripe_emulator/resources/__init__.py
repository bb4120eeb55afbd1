"""Handlers for Stripe's API resources, one module per resource family."""
