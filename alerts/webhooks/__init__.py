"""Outbound webhooks to customers: endpoints (API and dashboard), events from core.events,
signed deliveries with retries (Celery), the delivery log, and the SSRF guard on URLs."""
