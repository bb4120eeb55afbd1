"""API routes of this app, included under /api/v1/ by petstore/urls.py."""

from django.urls import path

from alerts.webhooks import api

api_urlpatterns = [
    path("webhooks", api.WebhookListCreateApi.as_view(), name="api-webhooks"),
    path("webhooks/<int:pk>", api.WebhookDestroyApi.as_view(), name="api-webhook"),
]
